"""manage.py reconcile against the emulators."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.models import Payment, PaymentStatus, ProviderExchange
from payments.store import change_payment
from providers.click.gateway import GATEWAY as CLICK
from providers.payme.gateway import GATEWAY as PAYME
from providers.uzum.gateway import GATEWAY as UZUM
from tests.factories import data_of, make_payment, refund_data
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def reconcile(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile", "--min-age", "0", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()


def processing(provider: str, qr_code: str, amount: int = 500) -> Payment:
    return make_payment(provider=provider, amount=amount, qr_code=qr_code, status="processing")


def test_a_charge_whose_answer_never_arrived_is_found_paid(click) -> None:
    payment = processing("click", "7700112233")
    CLICK.charge(data_of(payment))  # CLICK charged; the process died before recording it
    code, out, err = reconcile()
    payment.refresh_from_db()
    assert code == 0
    assert payment.status == PaymentStatus.PAID
    assert payment.events.last().actor == "reconcile"
    assert "click     processing  paid  1" in out
    assert "open payments [" in err
    assert "1/1" in err


def test_a_payment_never_sent_is_failed(click) -> None:
    payment = make_payment(qr_code="7700112233")
    code, _, _ = reconcile()
    payment.refresh_from_db()
    assert (code, payment.status) == (0, PaymentStatus.FAILED)
    assert click.stats()["requests"] == []


def test_no_such_payment_at_the_provider(api, click, settings) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})  # nothing charged
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.UNKNOWN
    # By default "not found" proves nothing: the payment waits for a person.
    code, out, _ = reconcile()
    payment.refresh_from_db()
    assert code == 2
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.needs_attention
    assert "needs attention" in out
    # Where the provider's "not found" is trusted, it is failed.
    settings.RECONCILE_NOT_FOUND_IS_FAILED = True
    code, _, _ = reconcile()
    payment.refresh_from_db()
    assert (code, payment.status) == (0, PaymentStatus.FAILED)


def test_a_trusted_not_found_is_failed_on_every_path(api, click, settings, monkeypatch) -> None:
    """The one-at-a-time path (a dry run, a batch that cannot be written together) reads a
    trusted "not found" as the batch does: failed, never paid."""
    from payments.services import reconciliation

    settings.RECONCILE_NOT_FOUND_IS_FAILED = True
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})  # nothing charged
    payment = Payment.objects.get()
    code, out, _ = reconcile("--dry-run")
    assert "click     unknown  failed  1" in out
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.UNKNOWN

    def batch_refused(changes):
        raise RuntimeError("a provider id another payment holds")

    monkeypatch.setattr(reconciliation, "write", batch_refused)
    code, out, _ = reconcile()
    payment.refresh_from_db()
    assert (code, payment.status) == (0, PaymentStatus.FAILED)
    assert click.stats()["charges"] == 0


def test_a_payme_receipt_still_waiting_is_cancelled(payme) -> None:
    payment = processing("payme", "50501010793410803298")
    prepared = PAYME.prepare(data_of(payment))
    payment = change_payment(payment, reason="x", provider_payment_id=prepared.provider_payment_id)
    code, _, _ = reconcile()
    payment.refresh_from_db()
    assert (code, payment.status) == (0, PaymentStatus.FAILED)
    assert payme.receipts[payment.provider_payment_id].state == 50


def test_dry_run_asks_but_changes_nothing(click, payme) -> None:
    paid_at_click = processing("click", "7700112233")
    CLICK.charge(data_of(paid_at_click))
    waiting = processing("payme", "50501010793410803298")
    prepared = PAYME.prepare(data_of(waiting))
    waiting = change_payment(waiting, reason="x", provider_payment_id=prepared.provider_payment_id)
    journal = ProviderExchange.objects.count()
    code, out, _ = reconcile("--dry-run")
    assert "dry run: nothing was changed" in out
    assert "click     processing  paid" in out
    for payment in (paid_at_click, waiting):
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.PROCESSING
    assert payme.receipts[waiting.provider_payment_id].state == 0  # not cancelled
    assert ProviderExchange.objects.count() == journal


def test_an_open_humo_payment_the_terminal_never_saw_is_failed(pinpad) -> None:
    payment = make_payment(provider="humo", amount=50000, status=PaymentStatus.PROCESSING)
    code, out, _ = reconcile("--provider", "humo")
    payment.refresh_from_db()
    assert (code, payment.status) == (0, PaymentStatus.FAILED)
    assert ProviderExchange.objects.filter(operation="last_transaction").count() == 1


def test_an_open_humo_payment_hidden_by_a_later_one_needs_a_person(api, pinpad) -> None:
    payment = make_payment(provider="humo", amount=50000, status=PaymentStatus.PROCESSING)
    post_json(api, "/payment/xumo", {"amount": 50000})  # the terminal's last is this one
    code, out, _ = reconcile("--provider", "humo")
    payment.refresh_from_db()
    assert code == 2
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.needs_attention
    assert str(payment.transaction_id) in out


def test_a_paid_payment_reversed_at_the_provider_is_marked_and_reported(api, click) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})
    payment = Payment.objects.get()
    CLICK.reverse(refund_data(data_of(payment)))  # someone reversed it in CLICK's cabinet
    code, out, _ = reconcile("--since", timezone.localdate().isoformat())
    payment.refresh_from_db()
    assert code == 2
    assert payment.status == PaymentStatus.REVERSED
    assert payment.needs_attention
    assert "click     paid  reversed  1" in out


def test_young_payments_are_left_alone(click) -> None:
    payment = processing("click", "7700112233")
    out = StringIO()
    call_command("reconcile", "--min-age", "3600", stdout=out, stderr=StringIO())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PROCESSING


def test_many_payments_in_parallel(click) -> None:
    payments = [processing("click", f"77001122{i:02d}") for i in range(20)]
    for payment in payments:
        CLICK.charge(data_of(payment))
    code, _, _ = reconcile("--workers", "8")
    assert code == 0
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.PAID}
    assert ProviderExchange.objects.filter(operation="payment/status_by_mti").count() == 20


def test_a_payme_receipt_whose_id_we_never_wrote_is_found_by_our_id(payme) -> None:
    """The process died between receipts.create's answer and our record of the id (and Payme
    then took the payment): reconcile finds the receipt by our transaction id."""
    payment = processing("payme", "50501010793410803298")
    receipt = PAYME.prepare(data_of(payment))  # made at Payme; its id never reached our row
    PAYME.charge(
        data_of(
            change_payment(payment, reason="x", provider_payment_id=receipt.provider_payment_id)
        )
    )
    Payment.objects.filter(pk=payment.pk).update(provider_payment_id="")
    code, out, _ = reconcile()
    payment.refresh_from_db()
    assert code == 0, out
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == receipt.provider_payment_id


UZUM_CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="


def test_an_uzum_charge_whose_answer_never_arrived_is_found_by_its_repeat(uzum) -> None:
    """Uzum took the charge; the process died before recording it. Uzum has no lookup by our
    id: the identical request is sent again once its window has shut, and names the first."""
    payment = processing("uzum", UZUM_CODE, amount=250000)
    UZUM.charge(data_of(payment))
    code, _, _ = reconcile()  # within Uzum's window: nothing may be repeated yet
    assert code == 2
    assert uzum.stats()["charge_requests"] == 1
    Payment.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    code, out, _ = reconcile()
    payment.refresh_from_db()
    assert code == 0, out
    assert payment.status == PaymentStatus.PAID
    assert "uzum      processing  paid  1" in out
    assert uzum.stats()["charges_by_code"] == {UZUM_CODE: 1}


def test_a_paid_uzum_payment_reversed_in_its_cabinet_is_marked(api, uzum) -> None:
    post_json(api, "/payment/uzum", {"amount": 500, "qr_code": UZUM_CODE})
    payment = Payment.objects.get()
    uzum.payments[payment.provider_payment_id].status = "REVERSED"
    code, out, _ = reconcile("--since", timezone.localdate().isoformat())
    payment.refresh_from_db()
    assert code == 2
    assert (payment.status, payment.needs_attention) == (PaymentStatus.REVERSED, True)
    assert "uzum      paid  reversed  1" in out
