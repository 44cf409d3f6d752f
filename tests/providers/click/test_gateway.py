"""CLICK gateway functions against the emulator."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import Payment
from providers.click import gateway
from providers.results import Outcome

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("tiyin", "soum"),
    [(500, "5.00"), (50000, "500.00"), (1, "0.01"), (1234567, "12345.67"), (10**12, "1E+10")],
)
def test_soum_is_exact(tiyin: int, soum: str) -> None:
    assert gateway.soum(tiyin) == Decimal(soum)


def charged(qr_code: str) -> Payment:
    payment = Payment.objects.create(provider="click", amount=500, qr_code=qr_code)
    result = gateway.charge(payment)
    payment.provider_payment_id = result.provider_payment_id
    payment.save()
    return payment


def test_reverse_a_paid_payment_then_status_is_negative(click) -> None:  # noqa: ANN001
    payment = charged("7700112233")
    assert gateway.reverse(payment).outcome is Outcome.SUCCESS
    assert gateway.check(payment).outcome is Outcome.FAILED
    # A second reversal is refused by CLICK.
    again = gateway.reverse(payment)
    assert again.outcome is Outcome.FAILED
    assert again.code == -1


def test_check_without_payment_id_uses_status_by_mti(click) -> None:  # noqa: ANN001
    payment = charged("7700112244")
    known_id = payment.provider_payment_id
    payment.provider_payment_id = ""
    result = gateway.check(payment)
    assert result.outcome is Outcome.SUCCESS
    assert result.provider_payment_id == known_id
    assert list(payment.exchanges.values_list("operation", flat=True))[-1] == (
        "payment/status_by_mti"
    )


def test_lookup_that_finds_nothing_is_unknown_not_failed(click) -> None:  # noqa: ANN001
    payment = Payment.objects.create(provider="click", amount=500, qr_code="7700112255")
    result = gateway.check(payment)
    assert result.outcome is Outcome.UNKNOWN
    assert result.code == -404


def test_confirmation_window_expiry_cancels(click, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(click, "confirm_window", 0)
    payment = Payment.objects.create(provider="click", amount=500, qr_code="9909000001")
    # The confirm comes too late: CLICK has cancelled the payment.
    result = gateway.charge(payment)
    assert result.outcome is Outcome.PENDING
    payment.provider_payment_id = result.provider_payment_id
    assert gateway.check(payment).outcome is Outcome.FAILED


def test_near_midnight_status_by_mti_asks_the_neighbouring_day_too(click) -> None:  # noqa: ANN001
    payment = charged("7700112266")
    known_id = payment.provider_payment_id
    payment.provider_payment_id = ""
    # Made at 23:55 the day before, by our clock; CLICK filed it under today.
    yesterday = timezone.localdate() - timedelta(days=1)
    payment.created_at = timezone.make_aware(datetime.combine(yesterday, time(23, 55)))
    result = gateway.check(payment)
    assert result.outcome is Outcome.SUCCESS
    assert result.provider_payment_id == known_id
    asked = [r.split("/")[-1] for r in click.stats()["requests"] if "status_by_mti" in r]
    assert asked == [yesterday.isoformat(), timezone.localdate().isoformat()]
