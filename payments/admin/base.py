"""What every page of the back office builds on: rows nobody edits by hand."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from providers.money import format_uzs

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
    """An amount in UZS as the operator's language writes it: "5 000.00", "5 000,00"."""
    return format_uzs(tiyin, decimal_mark=formats.get_format("DECIMAL_SEPARATOR"))


def flag(raised: bool, why: str) -> str:
    """A flag an operator reads: a mark where something needs a person, with why on hover
    and for screen readers; nothing at all where all is well (not a red cross on every
    normal row)."""
    if not raised:
        return ""
    return format_html('<span class="flag" title="{}" aria-label="{}">⚑</span>', why, why)


def flag_column(meaning: Any) -> Any:
    """A flag column's head: the mark itself, what it means on hover (the column holds a
    mark or nothing, so a word would make it wider than all it shows). `meaning` is a lazy
    translation, said in the language of the page that shows the head."""
    return lazy(lambda: flag(True, str(meaning)), SafeString)()


def short_id(value: object, *, keep: int = 8) -> str:
    """A long id cut to its first characters, the whole one on hover (and in the search
    box, which takes it whole)."""
    text = str(value)
    if len(text) <= keep + 1:
        return format_html('<span class="id" translate="no">{}</span>', text)
    return format_html('<span class="id" translate="no" title="{}">{}…</span>', text, text[:keep])


def moment(value: Any) -> str:
    """A time in Tashkent, to the second, short enough for a column: 07.12.2026 18:56:03."""
    if value is None:
        return "—"
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def data(text: str) -> str:
    """A value shown as it is stored (an address, a code): no translation applies."""
    return format_html('<span translate="no">{}</span>', text) if text else "—"


def preformatted(text: str) -> str:
    return format_html('<pre class="mono" translate="no">{}</pre>', text)


class BackOfficeAdmin(admin.ModelAdmin):
    """Every list of the back office is titled with what it lists ("Кассы"), not with
    Django's "Select %s to change", which Russian and Uzbek cannot decline."""

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        title = capfirst(self.model._meta.verbose_name_plural)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})


class ViewOnlyAdmin(BackOfficeAdmin):
    """Rows that nobody adds, edits or deletes by hand: only services write them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Part of a payment's page: whoever may see the payment sees its story, nobody edits it."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("payments.view_payment")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
