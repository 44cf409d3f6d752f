"""A terminal that says wrong things about money: the register is never told paid or
declined unless the answer is about our very request and says so clearly."""

import json

import pytest

from emulators.pinpad import FULL_PAN
from payments.models import Payment, PaymentStatus, ProviderExchange
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def xumo(api, **body) -> dict:
    return post_json(api, "/payment/xumo", body)


@pytest.mark.parametrize(
    ("amount", "mismatch"),
    [(50920, "amount 100, ours is 50920"), (50921, "currency 978, ours is 860")],
    ids=["another amount", "another currency"],
)
def test_an_approval_of_something_else_is_unknown_never_paid(api, pinpad, amount, mismatch) -> None:
    body = xumo(api, amount=amount)
    payment = Payment.objects.get()
    assert body["error"]["code"] == 110
    assert body["error"]["data"] == {"transaction_id": str(payment.transaction_id)}
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.needs_attention
    assert payment.provider_payment_id == ""  # nothing of that answer is believed
    purchase = ProviderExchange.objects.filter(operation="purchase").get()
    assert purchase.error == f"not our request: {mismatch}"
    assert json.loads(purchase.response_body)["unmatched_answer"]["amount"] in (100, amount)


def test_an_approval_in_public_v3_tags_alone_is_paid_not_declined(api, pinpad) -> None:
    body = xumo(api, amount=50922)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_code == ""  # the terminal gave no host code of ours


def test_control_bytes_in_an_approval_are_a_garbled_answer_not_a_crash(api, pinpad) -> None:
    body = xumo(api, amount=50923)
    payment = Payment.objects.get()
    assert body["error"]["code"] == 110  # not 103: the money may have moved
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.needs_attention
    assert "\x00" not in payment.provider_payment_id


def test_a_full_card_number_is_masked_everywhere(api, pinpad) -> None:
    body = xumo(api, amount=50924)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert payment.masked_card == "986009******7856"
    assert FULL_PAN not in body["data"]["message"]
    assert "986009******7856" in body["data"]["message"]
    assert FULL_PAN not in payment.slip_text
    for row in ProviderExchange.objects.all():
        assert FULL_PAN not in row.response_body + json.dumps(row.request_body)
