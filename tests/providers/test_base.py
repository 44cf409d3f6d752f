"""The gateway contract's shared part: a step hands up every exchange it made, even when it
fails in a way nobody planned for."""

import pytest

from payments.models import Payment, PaymentStatus
from providers.click import gateway as click_gateway
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def test_a_step_that_raises_after_sending_is_unknown_and_journaled(api, click, monkeypatch) -> None:
    """CLICK charged, then our parser broke on its answer: the register hears 110 with our
    transaction id (never 103), the exchange is in the journal, and the lookup that follows
    settles the payment."""
    real = click_gateway._payment_result
    broken = []

    def parser_that_breaks(exchange):
        if not broken:
            broken.append(exchange)
            raise KeyError("an answer shaped as never seen")
        return real(exchange)

    monkeypatch.setattr(click_gateway, "_payment_result", parser_that_breaks)
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})
    payment = Payment.objects.get()
    assert broken, "the parser was not reached"
    assert click.stats()["charge_requests"] == 1
    assert payment.exchanges.filter(operation="click_pass/payment").count() == 1
    # The lookup after the lost answer found it paid at CLICK.
    assert body["is_success"] is True, body
    assert body["data"]["transaction_id"] == str(payment.transaction_id)
    assert payment.status == PaymentStatus.PAID
