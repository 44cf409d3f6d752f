"""One payment's trouble stays that payment's: a provider id we already hold, a lookup that
raises. It is recorded and flagged; the register gets 110 with the transaction id, and a
reconcile run goes on with the others."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.models import Payment, PaymentStatus
from payments.services import reconciliation
from providers.click.gateway import GATEWAY as CLICK
from tests.factories import make_payment
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def reconcile() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("reconcile", "--min-age", "0", stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def test_a_provider_id_we_already_hold_is_flagged_never_103(api, click) -> None:
    next_id = str(click._next_id + 1)  # what CLICK will call the next payment
    holder = make_payment(status=PaymentStatus.PAID, provider_payment_id=next_id)
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})
    payment = Payment.objects.exclude(pk=holder.pk).get()
    assert body["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    assert payment.status == PaymentStatus.UNKNOWN  # CLICK said paid, but not of this one
    assert payment.needs_attention
    assert f"already the provider's id of {holder.transaction_id}" in payment.provider_message
    assert payment.exchanges.filter(operation="click_pass/payment").exists()  # journaled


def test_a_lookup_that_raises_is_flagged_and_the_run_goes_on(click, monkeypatch) -> None:
    broken = make_payment(status=PaymentStatus.PROCESSING, provider_payment_id="1")
    fine = make_payment(status=PaymentStatus.PROCESSING)
    real_check = CLICK.check

    def check(payment: object) -> object:
        if payment.transaction_id == str(broken.transaction_id):
            raise ValueError("the answer broke the parser")
        return real_check(payment)

    monkeypatch.setattr(CLICK, "check", check)
    code, out = reconcile()
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert code == 2
    assert "could not be settled: ValueError" in out
    assert broken.needs_attention
    assert fine.status == PaymentStatus.PROCESSING  # asked and answered: CLICK has none
    assert str(fine.transaction_id) in out  # still open, so listed too, but it was asked
    assert fine.exchanges.exists()


def test_a_lookup_naming_an_id_we_hold_does_not_stop_reconcile(click) -> None:
    confused = make_payment(status=PaymentStatus.PROCESSING, qr_code="7700112299")
    fine = make_payment(status=PaymentStatus.PROCESSING, qr_code="7700112300")
    # CLICK charged both (their answers were lost); what it calls `confused` is an id that
    # another of our payments already holds.
    clicks_id = click.record_charge("7700112299", 5, str(confused.transaction_id))
    click.record_charge("7700112300", 5, str(fine.transaction_id))
    holder = make_payment(status=PaymentStatus.PAID, provider_payment_id=str(clicks_id))
    code, out = reconcile()
    confused.refresh_from_db()
    fine.refresh_from_db()
    assert code == 2
    assert (confused.status, confused.needs_attention) == (PaymentStatus.UNKNOWN, True)
    assert str(holder.transaction_id) in confused.provider_message
    assert fine.status == PaymentStatus.PAID  # the run went on


def test_a_payment_that_fails_to_settle_keeps_the_journal_of_its_lookup(click, monkeypatch) -> None:
    """The failure rolls back that payment's savepoint, journal rows included; the lookup's
    exchanges are written again with the flag, so the journal still shows what was asked."""
    payment = make_payment(status=PaymentStatus.PROCESSING)
    real_record = reconciliation.record_result

    def record_then_fail(*args, **kwargs):
        real_record(*args, **kwargs)  # the answer and its journal rows, in the savepoint
        raise RuntimeError("a failure after the journal was written")

    monkeypatch.setattr(reconciliation, "record_result", record_then_fail)
    code, out = reconcile()
    payment.refresh_from_db()
    assert code == 2
    assert "could not be settled: RuntimeError" in out
    assert payment.needs_attention
    assert payment.exchanges.filter(operation__startswith="payment/status").exists()
