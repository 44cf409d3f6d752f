"""What operators do with Uzum Fast Pay payments in the back office, as with the others:
find, filter, check, reverse, and settle by hand what Uzum could not tell."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from payments.admin.outcomes import action_outcome
from payments.models import OperatorAction, Payment, PaymentStatus
from tests.helpers import post_json
from tests.payments.admin.test_back_office import CHANGELIST, run_action

pytestmark = pytest.mark.django_db

CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="


@pytest.fixture
def paid(api, uzum) -> Payment:
    assert post_json(api, "/payment/uzum", {"amount": 250000, "qr_code": CODE})["is_success"]
    return Payment.objects.get()


def test_the_provider_filter_and_the_search_box_know_uzum(staff, paid, api, click) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})
    only_uzum = staff.get(CHANGELIST, {"provider": "uzum"}).content.decode()
    assert str(paid.transaction_id) in only_uzum
    assert "7700112233" not in only_uzum
    assert "?provider__exact=uzum" in staff.get(CHANGELIST).content.decode()  # the filter's choice
    for term in (paid.provider_payment_id, CODE):
        found = staff.get(CHANGELIST, {"q": term}).content.decode()
        assert str(paid.transaction_id) in found
        assert "7700112233" not in found


def test_check_status_asks_uzum_by_its_payment_id(staff, paid, uzum) -> None:
    run_action(staff, "check_status", paid, confirmed="yes", reason="customer called")
    assert uzum.stats()["requests"][-1] == "POST payment/status"
    assert "still Paid" in action_outcome(OperatorAction.objects.get())


def test_reverse_gives_the_money_back_at_uzum(staff, paid, uzum) -> None:
    run_action(staff, "reverse_payments", paid, confirmed="yes", reason="wrong amount")
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.REVERSED
    assert paid.reversed_amount == 250000
    assert uzum.payments[paid.provider_payment_id].status == "REVERSED"
    reversal = paid.reversals.get().exchanges.get(operation="payment/reversal")
    assert reversal.url.endswith(f"v2/payment/reversal/{paid.transaction_id}")
    assert action_outcome(OperatorAction.objects.get()) == "Reversed"


def test_what_uzum_cannot_tell_waits_flagged_with_its_reason_then_is_settled_by_hand(
    staff, api, uzum
) -> None:
    uzum.duplicate_answer = "key"  # the repeat is refused without the first payment's id
    assert (
        post_json(api, "/payment/uzum", {"amount": 500, "qr_code": "9907" + CODE[4:]})["error"][
            "code"
        ]
        == 110
    )
    Payment.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=StringIO(), stderr=StringIO())
    flagged = Payment.objects.get()
    assert flagged.needs_attention
    reason = "Uzum refused the repeat, so the first charge ran"
    page = staff.get(reverse("admin:payments_payment_change", args=[flagged.pk]))
    assert reason in page.content.decode()
    overview = staff.get(reverse("admin:payments_overview")).content.decode()
    assert "order.id.duplicated: Uzum refused the repeat" in overview
    assert (
        str(flagged.transaction_id)
        in staff.get(CHANGELIST, {"needs_attention__exact": "1"}).content.decode()
    )

    run_action(
        staff,
        "settle_by_hand",
        flagged,
        confirmed="yes",
        reason="paid in Uzum's merchant cabinet",
        status="paid",
    )
    flagged.refresh_from_db()
    assert (flagged.status, flagged.needs_attention) == (PaymentStatus.PAID, False)
    assert uzum.stats()["charges"] == 1
