"""The payment admin: the list, the search, a payment's page with its story and actions."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from payments import selectors
from payments.admin import views
from payments.admin.actions import ADMIN_ACTIONS, BY_NAME
from payments.admin.base import (
    ViewOnlyAdmin,
    badge,
    data,
    flag,
    flag_column,
    moment,
    preformatted,
    short_id,
    uzs,
)
from payments.admin.listing import CreatedBetweenFilter, EstimatedCountPaginator
from payments.admin.sayings import said
from payments.admin.story import flag_reason, story_of
from payments.logformat import mask_phone
from payments.models import FiscalStatus, Payment, PaymentStatus
from payments.selectors import payment_by_transaction_id, register_by_name

# The payer's phone as whoever may not see personal data sees it.
PHONE_MASKED = {"payer_phone": "payer_phone_masked"}


def personal_data_shown(request: HttpRequest) -> bool:
    """Whether this operator sees payers' phones and cards whole (elsewhere masked)."""
    return request.user.has_perm("payments.view_personal_data")


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    # What an operator searches and reads by, narrow enough for a 1366-pixel screen: the
    # ids are cut short (whole on hover, whole in the search box), the flag is a mark.
    list_display = [
        "created",
        "register",
        "provider",
        "amount_uzs",
        "status_badge",
        "fiscal_badge",
        "transaction",
        "provider_id",
        "attention",
    ]
    list_display_links = ["created", "transaction"]
    list_select_related = ["register"]
    list_filter = [
        "register",
        "provider",
        "status",
        "fiscal_status",
        "needs_attention",
        ("created_at", CreatedBetweenFilter),
    ]
    search_fields = ["transaction_id"]  # the box; get_search_results does the real lookup
    search_help_text = _(
        "Transaction id, the provider's id or RRN, the scanned code, the payer's phone, or a "
        "register's name"
    )
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    date_hierarchy = None
    actions = ADMIN_ACTIONS
    change_list_template = "admin/payments/payment/change_list.html"
    # The page ends with the payment's story (story.py): its timeline, its journal and the
    # operators' actions in one time line, instead of three tables.
    change_form_template = "admin/payments/payment/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "transaction_id",
                    "register",
                    "provider",
                    "operation",
                    "amount_uzs",
                    "reversed_uzs",
                    "status_badge",
                    "attention_why",
                    "related",
                ]
            },
        ),
        (
            _("Provider"),
            {
                "fields": [
                    "provider_payment_id",
                    "provider_status",
                    "provider_code",
                    "provider_words",
                    "scanned_code",
                    "payer_phone",
                    "masked_card",
                    "auth_code",
                    "terminal_id",
                ]
            },
        ),
        (
            _("Fiscal receipt"),
            {
                "fields": [
                    "fiscal_badge",
                    "receipt_url",
                    "fiscal_error",
                    "fiscal_attempts",
                    "fiscal_next_attempt_at",
                ]
            },
        ),
        (_("Slip"), {"fields": ["slip"]}),
        (_("Time"), {"fields": ["created_at", "updated_at", "paid_at"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        if personal_data_shown(request):
            return self.fieldsets
        # The payer's phone masked, as in the logs and the CSV, for whoever may not see it.
        return [
            (name, {"fields": [PHONE_MASKED.get(str(f), str(f)) for f in options["fields"]]})
            for name, options in self.fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        # The actions this operator may run and that apply to this payment, as buttons.
        payment = self.get_object(request, object_id)
        allowed = self.get_actions(request)
        buttons = [
            (name, entry[2])
            for name, entry in allowed.items()
            if entry is not None
            and (payment is None or name not in BY_NAME or BY_NAME[name].applies(payment))
        ]
        context = {
            **(extra_context or {}),
            "payment_actions": buttons,
            "story": story_of(payment, personal=personal_data_shown(request))
            if payment is not None
            else [],
        }
        return super().change_view(request, object_id, form_url, context)

    # --- columns -------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.with_flag_reason(super().get_queryset(request))

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, payment: Payment) -> str:
        return moment(payment.created_at)

    @admin.display(description=_("transaction"), ordering="transaction_id")
    def transaction(self, payment: Payment) -> str:
        return short_id(payment.transaction_id)

    @admin.display(description=_("provider's id"))
    def provider_id(self, payment: Payment) -> str:
        return short_id(payment.provider_payment_id, keep=10) if payment.provider_payment_id else ""

    @admin.display(
        description=flag_column(_("needs attention")), ordering="needs_attention", empty_value=""
    )
    def attention(self, payment: Payment) -> str:
        return flag(True, flag_reason(payment)) if payment.needs_attention else ""

    @admin.display(description=_("needs attention"))
    def attention_why(self, payment: Payment) -> str:
        if not payment.needs_attention:
            return str(_("no"))
        return format_html("{} {}", flag(True, flag_reason(payment)), flag_reason(payment))

    @admin.display(description=_("amount, UZS"), ordering="amount")
    def amount_uzs(self, payment: Payment) -> str:
        # Money given back reads as such: below zero.
        return ("\u2212" if payment.is_refund else "") + uzs(payment.amount)

    @admin.display(description=_("given back, UZS"))
    def reversed_uzs(self, payment: Payment) -> str:
        return uzs(payment.reversed_amount) if payment.reversed_amount else "—"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, payment: Payment) -> str:
        if payment.is_refund and payment.status == PaymentStatus.PAID:
            return badge("reversed", gettext("refund done"))
        return badge(payment.status, payment.get_status_display())

    @admin.display(description=_("fiscal"), ordering="fiscal_status")
    def fiscal_badge(self, payment: Payment) -> str:
        if payment.fiscal_status == FiscalStatus.NOT_REQUIRED:
            return "—"  # nothing to read where no receipt is wanted
        return badge(payment.fiscal_status, payment.get_fiscal_status_display())

    @admin.display(description=_("provider's message"))
    def provider_words(self, payment: Payment) -> str:
        return said(payment.provider_message) if payment.provider_message else "—"

    @admin.display(description=_("scanned code"))
    def scanned_code(self, payment: Payment) -> str:
        return data(payment.qr_code or "")

    @admin.display(description=_("fiscal receipt's address"))
    def receipt_url(self, payment: Payment) -> str:
        return data(payment.fiscal_receipt_url)

    @admin.display(description=_("payer phone"))
    def payer_phone_masked(self, payment: Payment) -> str:
        return mask_phone(payment.payer_phone) if payment.payer_phone else "—"

    @admin.display(description=_("slip"))
    def slip(self, payment: Payment) -> str:
        return preformatted(payment.slip_text) if payment.slip_text else "—"

    @admin.display(description=_("purchase / reversals"))
    def related(self, payment: Payment) -> str:
        links = []
        if payment.reverses is not None:
            links.append((_("reverses purchase"), payment.reverses))
        links += [(_("reversed by"), reversal) for reversal in payment.reversals.all()]
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
        # The register and the payment by our id are found first, so that every part of the
        # match is an index of the payments table: an OR across a join would scan them all.
        register = register_by_name(term)  # a register's payments, by its exact name
        if register is not None:
            match |= Q(register=register.pk)
        found = payment_by_transaction_id(term)
        if found is not None:
            match |= Q(pk=found.pk)
        return queryset.filter(match), False

    def has_check_status_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.check_status")

    def has_retry_fiscal_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.retry_fiscal")

    def has_reverse_payment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.reverse_payment")

    def has_settle_payment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.settle_payment")

    # --- more pages: overview, CSV ---------------------------------------------------------------

    def get_urls(self) -> list:
        own = [
            path(
                "overview/",
                self.admin_site.admin_view(lambda request: views.overview(self, request)),
                name="payments_overview",
            ),
            path(
                "export.csv",
                self.admin_site.admin_view(lambda request: views.export_csv(self, request)),
                name="payments_export",
            ),
        ]
        return own + super().get_urls()
