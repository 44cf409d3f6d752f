"""Reversals of a HUMO purchase, partial or whole, and requests that must run nothing."""

import pytest

from payments.errors import ApplicationError
from payments.models import Operation, Payment, PaymentStatus
from payments.services import reversals
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def xumo(api, **body) -> dict:
    return post_json(api, "/payment/xumo", body)


def status_of(api, transaction_id: str) -> dict:
    return api.get(f"/payment/status/{transaction_id}").json()["data"]


def test_partial_reversals_add_up_and_the_last_one_reverses_the_purchase(api, pinpad) -> None:
    bought = xumo(api, amount=100000)["data"]
    rrn = bought["ppt_id"]
    assert xumo(api, amount=30000, request_id=rrn, is_return=True)["is_success"] is True
    after_one = status_of(api, bought["transaction_id"])
    assert (after_one["status"], after_one["reversed_amount"]) == ("paid", 30000)
    # More than is left is refused before the terminal hears of it.
    too_much = xumo(api, amount=70001, request_id=rrn, is_return=True)
    assert too_much["error"]["code"] == 106
    assert too_much["error"]["data"] == {
        "reason": "amount_exceeds_purchase",
        "purchase_amount": 100000,
        "returnable_amount": 70000,
    }
    assert xumo(api, amount=70000, request_id=rrn, is_return=True)["is_success"] is True
    done = status_of(api, bought["transaction_id"])
    assert (done["status"], done["reversed_amount"]) == ("reversed", 100000)
    again = xumo(api, amount=1, request_id=rrn, is_return=True)
    assert again["error"]["data"]["reason"] == "already_reversed"
    assert [a for a, _, _ in pinpad.requests] == ["0", "2", "2"]
    reversals = Payment.objects.filter(operation=Operation.REVERSAL, status=PaymentStatus.PAID)
    assert sum(r.amount for r in reversals) == 100000


def test_a_stale_view_of_the_purchase_cannot_give_back_more_than_is_left(api, pinpad) -> None:
    bought = xumo(api, amount=100000)["data"]
    purchase = Payment.objects.get(operation=Operation.PURCHASE)  # read before the first
    xumo(api, amount=60000, request_id=bought["ppt_id"], is_return=True)
    with pytest.raises(ApplicationError, match="amount_exceeds"):
        reversals.refund(purchase, amount=60000)
    assert len(pinpad.requests) == 2  # the second reversal never reached the terminal
    refused = Payment.objects.filter(operation=Operation.REVERSAL, status=PaymentStatus.FAILED)
    assert refused.count() == 1


def test_a_request_id_without_is_return_is_a_validation_error_not_a_purchase(api, pinpad) -> None:
    body = xumo(api, amount=50000, request_id="231511584547")
    assert body["error"] == {
        "code": 7,
        "message": '{"request_id":["Send it only with is_return: true."]}',
        "data": {"fields": {"request_id": ["Send it only with is_return: true."]}},
    }
    assert pinpad.requests == []
    assert not Payment.objects.exists()


def test_head_of_the_end_of_day_runs_nothing(api, pinpad) -> None:
    response = api.head("/payment/xumo_close")
    assert response.status_code == 405
    assert "HEAD" not in response["Allow"]  # what the answer says agrees with what it did
    assert "GET" in response["Allow"]
    assert pinpad.requests == []
    assert pinpad.shift == 1
