"""The payment list: a date-range filter that keeps the index, and a paginator that does
not count a million rows on every page."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.dateparse import parse_date
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from payments.selectors import start_of


class CreatedBetweenFilter(admin.FieldListFilter):
    """A date range (from, to, inclusive, Tashkent days) that keeps the index on created_at."""

    template = "admin/payments/created_between_filter.html"

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: dict[str, Any],
        model: type,
        model_admin: admin.ModelAdmin,
        field_path: str,
    ) -> None:
        self.since_key, self.until_key = f"{field_path}_from", f"{field_path}_to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = _("created between")

    def expected_parameters(self) -> list[str | None]:
        return [self.since_key, self.until_key]

    def _day(self, key: str) -> Any:
        value = self.used_parameters.get(key)
        value = value[-1] if isinstance(value, list) else value
        return parse_date(str(value)) if value else None

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        since, until = self._day(self.since_key), self._day(self.until_key)
        if since:
            queryset = queryset.filter(created_at__gte=start_of(since))
        if until:
            queryset = queryset.filter(created_at__lt=start_of(until + timedelta(days=1)))
        return queryset

    def choices(self, changelist: Any) -> Iterator[Any]:
        kept = {
            k: v
            for k, v in changelist.get_filters_params().items()
            if k not in self.expected_parameters()
        }
        yield {
            "since": self._day(self.since_key) or "",
            "until": self._day(self.until_key) or "",
            "since_key": self.since_key,
            "until_key": self.until_key,
            "kept": [(k, v[-1] if isinstance(v, list) else v) for k, v in kept.items()],
        }

    def has_output(self) -> bool:
        return True


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list takes the planner's row estimate instead of
    counting a million rows on every page."""

    @cached_property
    def count(self) -> int:
        objects = self.object_list
        if (
            connection.vendor == "postgresql"
            and isinstance(objects, QuerySet)
            and not objects.query.where
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [objects.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count
