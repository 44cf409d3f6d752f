"""The back office's own pages: the overview of the day and the list as CSV."""

import csv
from collections.abc import Iterator

from django.contrib import admin
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments import selectors
from payments.admin import charts
from payments.admin import overview as pictures
from payments.admin.base import uzs
from payments.admin.story import flag_reason
from payments.logformat import mask_card, mask_phone
from payments.models import Payment, PaymentStatus, label_of, provider_choices
from payments.models.payment import OPERATION_CHOICES
from providers.money import to_uzs

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


def home(request: HttpRequest) -> HttpResponse:
    """The operator's first page: the overview, which leads to the rest (the sections are
    in every page's header); whoever may not see payments gets Django's index."""
    if request.user.has_perm("payments.view_payment"):
        return HttpResponseRedirect(reverse("admin:payments_overview"))
    return admin.site.index(request)


def overview(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        return HttpResponse(status=403)
    today = timezone.localdate()
    providers = provider_choices()
    titles = dict(providers)
    operations = dict(OPERATION_CHOICES)
    totals = selectors.totals_since(selectors.start_of(today))
    context = {
        **model_admin.admin_site.each_context(request),
        **pictures.overview(
            today=today,
            series=charts.series_of(providers),
            list_url=reverse("admin:payments_payment_changelist"),
            accounts_url=reverse("admin:payments_provideraccount_changelist"),
        ),
        "title": _("Overview"),
        "opts": model_admin.model._meta,
        "totals": [
            {
                **row,
                "amount": uzs(row["amount"] or 0),
                "provider_title": titles.get(row["provider"], row["provider"]),
                "status_label": label_of(PaymentStatus, row["status"]),
                "operation_label": operations.get(row["operation"], row["operation"]),
            }
            for row in totals
        ],
        "attention": [
            (payment, flag_reason(payment))
            for payment in selectors.needing_attention().select_related("register")[:100]
        ],
        "overdue": selectors.overdue_receipts()
        .select_related("register")
        .order_by("-paid_at")[:100],
    }
    return TemplateResponse(request, "admin/payments/payment/overview.html", context)


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"): a register's
# scanned code is any printable text, and `=HYPERLINK(...)` or `=cmd|...` in it would run
# on the operator's machine when the export is opened.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """Text that would start a formula, kept as text: a leading apostrophe, which a
    spreadsheet shows as nothing and reads as "this is text". Numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


class _Echo:
    """A file that hands back what is written: csv.writer's rows become the stream."""

    def write(self, value: str) -> str:
        return value


def _verbose_name(name: str) -> str:
    field = Payment._meta.get_field(name)
    assert isinstance(field, Field)  # a column of the payment itself
    return str(field.verbose_name)


def export_csv(
    model_admin: admin.ModelAdmin, request: HttpRequest
) -> HttpResponse | StreamingHttpResponse:
    """The list as filtered and searched on the page, as CSV, streamed. Behind its own
    permission (a file leaves the back office); payers' phones and cards are masked unless
    the operator may also see personal data."""
    if not request.user.has_perm("payments.export_payments"):
        return HttpResponse(status=403)
    personal = request.user.has_perm("payments.view_personal_data")
    changelist = model_admin.get_changelist_instance(request)
    rows = changelist.get_queryset(request).values_list(*CSV_COLUMNS)
    writer = csv.writer(_Echo())
    # Headed in the operator's language (written now: the rows stream after this returns);
    # the values stay as stored, so a file reads the same whatever language exported it.
    # The amount goes out in UZS, so its column says so.
    header = [str(_("amount, UZS")) if c == "amount" else _verbose_name(c) for c in CSV_COLUMNS]

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for created, provider, amount, *rest, phone, card in rows.iterator(chunk_size=2000):
            local = timezone.localtime(created).isoformat()
            if not personal:
                phone, card = mask_phone(phone), mask_card(card)
            cells = [local, provider, to_uzs(amount), *rest, phone, card]
            yield writer.writerow([spreadsheet_safe(cell) for cell in cells])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="payments.csv"'
    return response
