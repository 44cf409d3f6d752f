"""`POST /payment/refund`: a purchase's money given back, whole or in part where the
provider allows, once per request, never more than the purchase."""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from payments.models import Operation, Payment, PaymentStatus
from tests.helpers import post_json

pytestmark = pytest.mark.django_db

UZUM_CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:refund-api"


def bought(api, provider: str, code: str, amount: int = 100000) -> str:
    paid = post_json(api, f"/payment/{provider}", {"amount": amount, "qr_code": code})
    assert paid["is_success"], paid
    return paid["data"]["transaction_id"]


def refund(api, transaction_id: str, amount: int | None = None, key: str = "") -> dict:
    body: dict = {"transaction_id": transaction_id}
    if amount is not None:
        body["amount"] = amount
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = api.post("/payment/refund", body, format="json", **headers)
    assert response.status_code == 200
    return response.json()


def status_of(api, transaction_id: str) -> dict:
    return api.get(f"/payment/status/{transaction_id}").json()["data"]


def test_a_click_purchase_refunded_in_two_parts_then_refused_for_a_third(api, click) -> None:
    purchase = bought(api, "click", "7700220001")
    first = refund(api, purchase, 30000)["data"]
    assert (first["amount"], first["reversed_amount"], first["status"]) == (
        30000,
        30000,
        "reversed",
    )
    assert first["refunded_transaction_id"] == purchase
    assert first["transaction_id"] != purchase
    assert "message" not in first  # a QR refund has no slip
    second = refund(api, purchase)["data"]  # all that is left
    assert (second["amount"], second["reversed_amount"]) == (70000, 100000)
    third = refund(api, purchase, 1)
    assert third["error"]["code"] == 106
    assert third["error"]["data"]["reason"] == "already_reversed"
    assert status_of(api, purchase)["status"] == "reversed"
    assert status_of(api, first["transaction_id"])["status"] == "reversed"
    operations = [r.split()[1] for r in click.stats()["requests"] if r.startswith("DELETE")]
    assert [o.split("/")[1] for o in operations] == ["partial_reversal", "partial_reversal"]
    assert click.stats()["reversals"] == 2


def test_more_than_is_left_is_refused_before_anything_is_sent(api, click) -> None:
    purchase = bought(api, "click", "7700220002")
    assert refund(api, purchase, 60000)["is_success"]
    over = refund(api, purchase, 40001)
    assert over["error"]["data"] == {
        "reason": "amount_exceeds",
        "transaction_id": purchase,
        "reversible_amount": 40000,
        "purchase_amount": 100000,
    }
    assert click.stats()["reversal_requests"] == 1


@pytest.mark.parametrize(("provider", "code"), [("payme", "5050110011"), ("uzum", UZUM_CODE)])
def test_payme_and_uzum_refund_whole_and_refuse_a_part(request, api, provider, code) -> None:
    emulator = request.getfixturevalue(provider)
    purchase = bought(api, provider, code)
    part = refund(api, purchase, 50000)
    assert part["error"]["code"] == 106
    assert part["error"]["data"]["reason"] == "partial_reversal_not_supported"
    assert emulator.stats()["reversal_requests"] == 0  # nothing sent
    assert not Payment.objects.filter(operation=Operation.REVERSAL).exists()
    whole = refund(api, purchase)["data"]
    assert (whole["amount"], whole["provider"]) == (100000, provider)
    assert emulator.stats()["reversals"] == 1


def test_payme_is_processing_until_its_receipt_is_cancelled(api, payme, settings) -> None:
    from io import StringIO

    from django.core.management import call_command

    payme.reversal_seconds = 3600  # Payme takes its time
    purchase = bought(api, "payme", "5050110012")
    answer = refund(api, purchase)["data"]
    assert (answer["status"], answer["reversed_amount"]) == ("processing", 0)
    call_command("reconcile", "--min-age", "0", stdout=StringIO(), stderr=StringIO())
    assert status_of(api, answer["transaction_id"])["status"] == "processing"  # still 21
    payme.reversal_seconds = 0
    call_command("reconcile", "--min-age", "0", stdout=StringIO(), stderr=StringIO())
    assert status_of(api, answer["transaction_id"])["status"] == "reversed"
    assert status_of(api, purchase)["status"] == "reversed"
    assert payme.stats()["reversal_requests"] == 1


def test_a_humo_purchase_refunds_through_the_same_endpoint(api, pinpad) -> None:
    purchase = post_json(api, "/payment/xumo", {"amount": 100000})["data"]
    answer = refund(api, purchase["transaction_id"], 40000)["data"]
    assert answer["amount"] == 40000
    assert answer["ppt_id"]
    assert answer["ppt_id"] != purchase["ppt_id"]  # the cancel's own
    assert "CANCEL" in answer["message"]  # its slip
    assert status_of(api, purchase["transaction_id"])["reversed_amount"] == 40000
    assert [a for a, _, _ in pinpad.requests] == ["0", "2"]


def test_a_refund_repeated_with_its_key_is_one_refund(api, click) -> None:
    purchase = bought(api, "click", "7700220003")
    first = refund(api, purchase, 10000, key="return-1")
    again = refund(api, purchase, 10000, key="return-1")
    assert again == first
    assert click.stats()["reversal_requests"] == 1
    other = refund(api, purchase, 20000, key="return-1")  # the same key, another body
    assert other["error"]["code"] == 106
    assert Payment.objects.filter(operation=Operation.REVERSAL).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "transaction_id"),
        ({"transaction_id": "not-a-uuid"}, "transaction_id"),
        ({"transaction_id": "3e46c5d6-921d-4271-8100-ded01fe6d3b8", "amount": 0}, "amount"),
        ({"transaction_id": "3e46c5d6-921d-4271-8100-ded01fe6d3b8", "amount": 1.5}, "amount"),
    ],
)
def test_a_bad_request_is_code_7_and_changes_nothing(api, body, field) -> None:
    answer = post_json(api, "/payment/refund", body)
    assert answer["error"]["code"] == 7
    assert field in answer["error"]["message"]
    assert list(answer["error"]["data"]["fields"]) == [field]
    assert not Payment.objects.exists()


def test_refunds_of_what_cannot_be_refunded_are_106(api, click) -> None:
    unknown = refund(api, "3e46c5d6-921d-4271-8100-ded01fe6d3b8")
    assert unknown["error"]["data"]["reason"] == "not_found"
    declined = post_json(api, "/payment/click", {"amount": 500, "qr_code": "99015017"})
    failed = Payment.objects.get(status=PaymentStatus.FAILED)
    assert declined["error"]["code"] == 104
    not_paid = refund(api, str(failed.transaction_id))
    assert not_paid["error"]["data"]["reason"] == "not_paid"
    purchase = bought(api, "click", "7700220004")
    made = refund(api, purchase, 100)["data"]["transaction_id"]
    of_a_refund = refund(api, made)
    assert of_a_refund["error"]["data"]["reason"] == "not_found"


def test_click_refuses_a_purchase_of_an_earlier_month(api, click) -> None:
    purchase = bought(api, "click", "9912000002")
    answer = refund(api, purchase)
    assert answer["error"]["code"] == 104
    assert answer["error"]["data"]["code"] == -406
    assert status_of(api, purchase)["status"] == "paid"


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_give_back_more_than_the_purchase(api, click) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time; the race is proven on PostgreSQL")
    purchase = bought(api, "click", "7700220005")
    click.hang_seconds = 0.3
    answers: list[dict] = []
    start = threading.Barrier(2)

    def ask() -> None:
        client = APIClient()
        client.credentials(**api._credentials)
        start.wait(timeout=5)
        try:
            answers.append(refund(client, purchase, 60000))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    reasons = sorted(a["error"]["data"]["reason"] if a["error"] else "refunded" for a in answers)
    assert reasons in (["refund_in_progress", "refunded"], ["amount_exceeds", "refunded"])
    assert click.stats()["reversals"] == 1
    assert status_of(api, purchase)["reversed_amount"] == 60000
