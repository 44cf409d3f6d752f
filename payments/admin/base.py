"""What every page of the back office builds on: rows nobody edits by hand."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import formats
from django.utils.html import format_html

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


def preformatted(text: str) -> str:
    return format_html('<pre class="mono">{}</pre>', text)


class ViewOnlyAdmin(admin.ModelAdmin):
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
