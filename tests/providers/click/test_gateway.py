"""The CLICK gateway against the emulator: what it sends, how it reads the answers."""

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from providers.base import Outcome, PaymentData
from providers.click.gateway import GATEWAY as CLICK
from tests.factories import data_of, make_payment, refund_data

pytestmark = pytest.mark.django_db


def charged(qr_code: str) -> PaymentData:
    data = data_of(make_payment(qr_code=qr_code, status="processing"))
    result = CLICK.charge(data)
    return replace(data, provider_payment_id=result.provider_payment_id)


def test_a_result_carries_the_exchanges_it_made(click) -> None:
    data = data_of(make_payment(qr_code="7700112200", status="processing"))
    result = CLICK.charge(data)
    assert [e.operation for e in result.exchanges] == ["click_pass/payment"]
    assert result.exchanges[0].request_headers["Auth"] == "[redacted]"


def test_reverse_a_paid_payment_then_status_is_negative(click) -> None:
    payment = charged("7700112233")
    refund = refund_data(payment)
    done = CLICK.reverse(refund)
    assert (done.outcome, done.provider_payment_id) == (Outcome.SUCCESS, "")
    assert [e.operation for e in done.exchanges] == ["payment/reversal"]
    assert CLICK.check(payment).outcome is Outcome.FAILED
    assert CLICK.check(refund).outcome is Outcome.SUCCESS  # the refund: done
    # A second reversal is refused by CLICK.
    again = CLICK.reverse(refund_data(payment))
    assert again.outcome is Outcome.FAILED
    assert again.code == -1


def test_parts_given_back_until_none_is_left(click) -> None:
    payment = charged("7700112234")  # 500 tiyin
    first = CLICK.reverse(refund_data(payment, 200))
    assert first.outcome is Outcome.SUCCESS
    path = first.exchanges[0].url
    assert path.endswith(f"/payment/partial_reversal/40012/{payment.provider_payment_id}/2.00")
    assert CLICK.check(payment).outcome is Outcome.SUCCESS  # a part back: still paid
    # CLICK's status cannot tell a part given back: a person looks.
    asked = CLICK.check(refund_data(payment, 200))
    assert (asked.outcome, asked.needs_attention) == (Outcome.UNKNOWN, True)
    assert CLICK.reverse(refund_data(payment, 301)).outcome is Outcome.FAILED  # over
    assert CLICK.reverse(refund_data(payment, 300)).outcome is Outcome.SUCCESS
    assert CLICK.check(payment).outcome is Outcome.FAILED  # all of it back: reversed


def test_a_payment_of_an_earlier_month_is_not_reversed(click) -> None:
    payment = charged("9912000001")
    refused = CLICK.reverse(refund_data(payment))
    assert (refused.outcome, refused.code) == (Outcome.FAILED, -406)
    assert "месяце" in refused.message
    assert click.counters.stats()["reversals"] == 0


def test_check_without_payment_id_uses_status_by_mti(click) -> None:
    payment = charged("7700112244")
    known_id = payment.provider_payment_id
    result = CLICK.check(replace(payment, provider_payment_id=""))
    assert result.outcome is Outcome.SUCCESS
    assert result.provider_payment_id == known_id
    assert [e.operation for e in result.exchanges] == ["payment/status_by_mti"]


def test_lookup_that_finds_nothing_is_unknown_not_failed(click) -> None:
    result = CLICK.check(data_of(make_payment(qr_code="7700112255", status="processing")))
    assert result.outcome is Outcome.UNKNOWN
    assert result.code == -404


def test_confirmation_window_expiry_cancels(click, monkeypatch) -> None:
    monkeypatch.setattr(click, "confirm_window", 0)
    data = data_of(make_payment(qr_code="9909000001", status="processing"))
    # The confirm comes too late: CLICK has cancelled the payment.
    result = CLICK.charge(data)
    assert result.outcome is Outcome.PENDING
    checked = CLICK.check(replace(data, provider_payment_id=result.provider_payment_id))
    assert checked.outcome is Outcome.FAILED


def test_near_midnight_status_by_mti_asks_the_neighbouring_day_too(click) -> None:
    payment = charged("7700112266")
    known_id = payment.provider_payment_id
    # Made at 23:55 the day before, by our clock; CLICK filed it under today.
    yesterday = timezone.localdate() - timedelta(days=1)
    made = timezone.make_aware(datetime.combine(yesterday, time(23, 55)))
    result = CLICK.check(replace(payment, provider_payment_id="", created_at=made))
    assert result.outcome is Outcome.SUCCESS
    assert result.provider_payment_id == known_id
    asked = [r.split("/")[-1] for r in click.stats()["requests"] if "status_by_mti" in r]
    assert asked == [yesterday.isoformat(), timezone.localdate().isoformat()]
