"""The operators' back office: find a payment, see everything that happened to it, fix it.

Payments and journal rows are read-only here; only the actions change them, each through
the same services the commands use, each behind its own permission, confirmed with a
reason and written to the audit trail (OperatorAction).
"""

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from payments.errors import ApplicationError
from payments.models import (
    OperatorAction,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderExchange,
)
from payments.selectors import payment_by_transaction_id
from payments.services import fiscal, operations

BADGE_COLOURS = {
    "created": "#6c757d",
    "processing": "#0d6efd",
    "paid": "#198754",
    "failed": "#dc3545",
    "unknown": "#fd7e14",
    "reversed": "#6f42c1",
    "not_required": "#adb5bd",
    "pending": "#6c757d",
    "submitted": "#198754",
}


def badge(value: str, label: str) -> str:
    colour = BADGE_COLOURS.get(value, "#6c757d")
    return format_html('<span class="badge" style="background:{}">{}</span>', colour, label)


def uzs(tiyin: int) -> str:
    """500000 tiyin -> "5 000.00" (thousands apart, as cashiers read them)."""
    return f"{tiyin // 100:,}".replace(",", "\u00a0") + f".{tiyin % 100:02d}"


class CreatedBetweenFilter(admin.FieldListFilter):
    """A date range (from, to, inclusive, Tashkent days) that keeps the index on created_at."""

    template = "admin/payments/created_between_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:  # noqa: ANN001
        self.since_key, self.until_key = f"{field_path}_from", f"{field_path}_to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = "created between"

    def expected_parameters(self) -> list[str]:
        return [self.since_key, self.until_key]

    def _day(self, key: str) -> Any:
        value = self.used_parameters.get(key)
        value = value[-1] if isinstance(value, list) else value
        return parse_date(value) if value else None

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        since, until = self._day(self.since_key), self._day(self.until_key)
        if since:
            queryset = queryset.filter(created_at__gte=_start_of(since))
        if until:
            queryset = queryset.filter(created_at__lt=_start_of(until + timedelta(days=1)))
        return queryset

    def choices(self, changelist) -> Iterator[dict]:  # noqa: ANN001
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


def _start_of(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list takes the planner's row estimate instead of
    counting a million rows on every page."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


# --- inlines: the payment's story ------------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Part of the payment's page: whoever may see the payment sees its story.
        return request.user.has_perm("payments.view_payment")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TimelineInline(ReadOnlyInline):
    model = PaymentEvent
    verbose_name_plural = "Timeline"
    fields = readonly_fields = ["created_at", "change", "actor", "reason"]

    @admin.display(description="change")
    def change(self, event: PaymentEvent) -> str:
        parts = []
        if event.to_status:
            parts.append(f"{event.from_status} → {event.to_status}")
        if event.to_fiscal_status:
            parts.append(f"fiscal {event.from_fiscal_status} → {event.to_fiscal_status}")
        return "; ".join(parts)


class JournalInline(ReadOnlyInline):
    model = ProviderExchange
    verbose_name_plural = "Journal (every exchange with the provider or the PIN pad)"
    fields = readonly_fields = [
        "created_at",
        "operation",
        "response_status",
        "error",
        "duration_ms",
        "request",
        "response",
    ]

    @admin.display(description="request")
    def request(self, row: ProviderExchange) -> str:
        shown = {"url": row.url, "headers": row.request_headers, "body": row.request_body}
        return _pre(json.dumps(shown, indent=2, ensure_ascii=False))

    @admin.display(description="response")
    def response(self, row: ProviderExchange) -> str:
        try:
            return _pre(json.dumps(json.loads(row.response_body), indent=2, ensure_ascii=False))
        except ValueError:
            return _pre(row.response_body)


class AuditInline(ReadOnlyInline):
    model = OperatorAction
    verbose_name_plural = "Operator actions"
    fields = readonly_fields = ["created_at", "user", "action", "reason", "outcome"]


def _pre(text: str) -> str:
    return format_html('<pre class="mono">{}</pre>', text)


# --- the payment admin -------------------------------------------------------------------------


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows that nobody adds, edits or deletes by hand: only services write them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def operator_action(
    name: str,
    permission: str,
    description: str,
    explains: str,
    run: Callable[[Payment, str, str, str], str],
    *,
    choose_status: bool = False,
) -> Callable:
    """An admin action behind its own permission that first asks for confirmation and a
    reason; `run(payment, reason, chosen_status, username)` says what came of it."""

    @admin.action(description=description, permissions=[permission])
    def action(modeladmin: "PaymentAdmin", request: HttpRequest, queryset: QuerySet) -> Any:
        return modeladmin._confirmed(
            request,
            queryset,
            name,
            description,
            explains,
            lambda p, reason, form: run(p, reason, form["status"], request.user.username),
            choose_status,
        )

    action.__name__ = name
    return action


CSV_COLUMNS = [
    "created_at",
    "provider",
    "amount",
    "status",
    "fiscal_status",
    "transaction_id",
    "provider_payment_id",
    "qr_code",
    "payer_phone",
    "masked_card",
]

OPERATOR_ACTIONS = [
    operator_action(
        "check_status",
        "check_status",
        "Ask the provider for the status",
        "The provider (or, for HUMO, the PIN pad's last transaction) is asked what became of "
        "each payment, and its answer is recorded on the payment. Nothing is charged.",
        lambda p, reason, status, user: operations.ask_status(p, actor=user),
    ),
    operator_action(
        "retry_fiscal",
        "retry_fiscal",
        "Retry the fiscal submission",
        "The register's receipt URL on each payment is sent to the provider again (for "
        "CLICK, only if CLICK does not have it already). Payments without a refused receipt "
        "are left as they are.",
        lambda p, reason, status, user: operations.retry_fiscal(p, actor=user),
    ),
    operator_action(
        "reverse_payments",
        "reverse_payment",
        "Reverse (give the money back)",
        "Each paid payment is undone at its provider: a CLICK reversal, a Payme "
        "receipts.cancel, or a cancel on the HUMO PIN pad. The customer gets the money back; "
        "the register must issue its own refund receipt.",
        lambda p, reason, status, user: operations.reverse(p, actor=user),
    ),
    operator_action(
        "settle_by_hand",
        "settle_payment",
        "Settle an unknown payment by hand",
        "Each open (unknown or processing) payment is set to what you found in the "
        "provider's cabinet or the terminal's journal. No provider is called.",
        lambda p, reason, status, user: operations.settle_by_hand(
            p, status, reason=reason, actor=user
        ),
        choose_status=True,
    ),
]


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    list_display = [
        "created_at",
        "provider",
        "amount_uzs",
        "status_badge",
        "fiscal_badge",
        "transaction_id",
        "provider_payment_id",
        "needs_attention",
    ]
    list_display_links = ["created_at", "transaction_id"]
    list_filter = [
        "provider",
        "status",
        "fiscal_status",
        "needs_attention",
        ("created_at", CreatedBetweenFilter),
    ]
    search_fields = ["transaction_id"]  # the box; get_search_results does the real lookup
    search_help_text = (
        "Transaction id, the provider's id or RRN, the scanned code, or the payer's phone"
    )
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    date_hierarchy = None
    inlines = [TimelineInline, JournalInline, AuditInline]
    actions = OPERATOR_ACTIONS
    change_list_template = "admin/payments/payment/change_list.html"
    change_form_template = "admin/payments/payment/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "transaction_id",
                    "provider",
                    "operation",
                    "amount_uzs",
                    "status_badge",
                    "needs_attention",
                    "related",
                ]
            },
        ),
        (
            "Provider",
            {
                "fields": [
                    "provider_payment_id",
                    "provider_status",
                    "provider_code",
                    "provider_message",
                    "qr_code",
                    "payer_phone",
                    "masked_card",
                    "auth_code",
                    "terminal_id",
                ]
            },
        ),
        (
            "Fiscal receipt",
            {
                "fields": [
                    "fiscal_badge",
                    "fiscal_receipt_url",
                    "fiscal_error",
                    "fiscal_attempts",
                    "fiscal_next_attempt_at",
                ]
            },
        ),
        ("Slip", {"fields": ["slip"]}),
        ("Time", {"fields": ["created_at", "updated_at", "paid_at"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # The actions this operator may run, as buttons on the payment's page.
        allowed = self.get_actions(request)
        buttons = [(name, description) for name, (_, _, description) in allowed.items()]
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "payment_actions": buttons}
        )

    # --- columns -------------------------------------------------------------------------

    @admin.display(description="amount, UZS", ordering="amount")
    def amount_uzs(self, payment: Payment) -> str:
        return uzs(payment.amount)

    @admin.display(description="status", ordering="status")
    def status_badge(self, payment: Payment) -> str:
        return badge(payment.status, payment.get_status_display())

    @admin.display(description="fiscal", ordering="fiscal_status")
    def fiscal_badge(self, payment: Payment) -> str:
        return badge(payment.fiscal_status, payment.get_fiscal_status_display())

    @admin.display(description="slip")
    def slip(self, payment: Payment) -> str:
        return _pre(payment.slip_text) if payment.slip_text else "—"

    @admin.display(description="purchase / cancels")
    def related(self, payment: Payment) -> str:
        links = []
        if payment.reverses_id:
            links.append(("cancels purchase", payment.reverses))
        links += [("cancelled by", cancel) for cancel in payment.reversals.all()]
        if not links:
            return "—"
        return format_html_join(
            ", ",
            '{} <a href="{}">{}</a>',
            (
                (label, reverse("admin:payments_payment_change", args=[p.pk]), p.transaction_id)
                for label, p in links
            ),
        )

    # --- search: exact lookups on indexed fields, never a scan ---------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(provider_payment_id=term) | Q(qr_code=term) | Q(payer_phone=term)
        if term.isdigit() and len(term) == 9:
            match |= Q(payer_phone="998" + term)  # a phone typed without the country code
        found = payment_by_transaction_id(term)
        if found is not None:
            match |= Q(pk=found.pk)
        return queryset.filter(match), False

    # --- actions ---------------------------------------------------------------------------

    def has_check_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.check_status")

    def has_retry_fiscal_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.retry_fiscal")

    def has_reverse_payment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.reverse_payment")

    def has_settle_payment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.settle_payment")

    def _confirmed(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        name: str,
        title: str,
        explains: str,
        run: Callable[[Payment, str, dict], str],
        choose_status: bool = False,
    ) -> Any:
        """A confirmation page that says what will happen and asks why; then the action,
        one audit row per payment."""
        reason = request.POST.get("reason", "").strip()
        status = request.POST.get("status", "")
        if request.POST.get("confirmed") == "yes":
            if not reason:
                self.message_user(
                    request, "Say why: the reason goes to the audit trail.", messages.ERROR
                )
            elif choose_status and status not in (PaymentStatus.PAID, PaymentStatus.FAILED):
                self.message_user(request, "Choose paid or failed.", messages.ERROR)
            else:
                for payment in queryset:
                    try:
                        outcome = run(payment, reason, {"status": status})
                        level = messages.SUCCESS
                    except ApplicationError as exc:
                        outcome, level = (
                            f"refused: {exc.message} {exc.data or ''}".strip(),
                            messages.ERROR,
                        )
                    OperatorAction.objects.create(
                        user=request.user,
                        action=name,
                        payment=payment,
                        reason=reason,
                        outcome=outcome[:255],
                    )
                    self.message_user(request, f"{payment.transaction_id}: {outcome}", level)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explains": explains,
            "payments": queryset,
            "action": request.POST.get("action"),
            "choose_status": choose_status,
            "opts": self.model._meta,
            "reason": reason,
        }
        return TemplateResponse(request, "admin/payments/payment/confirm_action.html", context)

    # --- more pages: overview, CSV ---------------------------------------------------------------

    def get_urls(self) -> list:
        own = [
            path("overview/", self.admin_site.admin_view(self.overview), name="payments_overview"),
            path("export.csv", self.admin_site.admin_view(self.export_csv), name="payments_export"),
        ]
        return own + super().get_urls()

    def overview(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        today = _start_of(timezone.localdate())
        totals = (
            Payment.objects.filter(created_at__gte=today)
            .values("provider", "status")
            .annotate(count=Count("id"), amount=Sum("amount"))
            .order_by("provider", "status")
        )
        stale = timezone.now() - timedelta(minutes=5)
        attention = Payment.objects.filter(
            Q(needs_attention=True)
            | Q(status=PaymentStatus.UNKNOWN)
            | Q(status=PaymentStatus.PROCESSING, created_at__lt=stale)
        ).order_by("-created_at")[:100]
        context = {
            **self.admin_site.each_context(request),
            "title": "Overview",
            "opts": self.model._meta,
            "totals": [{**row, "amount": uzs(row["amount"] or 0)} for row in totals],
            "attention": attention,
            "overdue": fiscal.overdue_receipts().order_by("-paid_at")[:100],
        }
        return TemplateResponse(request, "admin/payments/payment/overview.html", context)

    def export_csv(self, request: HttpRequest) -> HttpResponse:
        """The list as filtered and searched on the page, as CSV, streamed."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        changelist = self.get_changelist_instance(request)
        rows = changelist.get_queryset(request).values_list(*CSV_COLUMNS)

        class Echo:
            def write(self, value: str) -> str:
                return value

        writer = csv.writer(Echo())
        # The amount goes out in UZS, so its column says so.
        header = ["amount_uzs" if c == "amount" else c for c in CSV_COLUMNS]

        def lines() -> Iterator[str]:
            yield writer.writerow(header)
            for row in rows.iterator(chunk_size=2000):
                created, provider, amount, *rest = row
                yield writer.writerow(
                    [
                        timezone.localtime(created).isoformat(),
                        provider,
                        f"{amount / 100:.2f}",
                        *rest,
                    ]
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="payments.csv"'
        return response


@admin.register(OperatorAction)
class OperatorActionAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "user", "action", "payment", "reason", "outcome"]
    list_filter = ["action"]
    search_fields = ["payment__transaction_id", "user__username"]
