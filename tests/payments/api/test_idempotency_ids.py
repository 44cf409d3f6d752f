"""An Idempotency-Key knows its payment from the moment the payment exists: no replay of a
request that made one answers without its transaction id."""

import json
import threading
import time

import pytest
from django.db import OperationalError, connections
from rest_framework.test import APIClient

from payments.models import IdempotencyKey, Payment
from payments.store import change_payment
from providers.click.gateway import GATEWAY as CLICK
from tests.payments.api.test_idempotency import SEED, post

pytestmark = pytest.mark.django_db


def test_a_103_after_the_payment_existed_replays_from_the_payment(api, click, monkeypatch) -> None:
    def crashes_after_sending(payment: object) -> object:
        raise RuntimeError("the process failed while the charge was out")

    monkeypatch.setattr(CLICK, "charge", crashes_after_sending)
    status, first = post(api, "/payment/click", SEED, "k-103")
    assert (status, json.loads(first)["error"]["code"]) == (500, 103)
    payment = Payment.objects.get()
    assert IdempotencyKey.objects.get().transaction_id == payment.transaction_id
    _, again = post(api, "/payment/click", SEED, "k-103")
    assert json.loads(again)["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    change_payment(payment, status="paid", reason="reconcile: CLICK says paid")
    _, settled = post(api, "/payment/click", SEED, "k-103")
    assert json.loads(settled)["is_success"] is True


def test_a_103_before_any_payment_forgets_the_key_and_the_replay_runs(
    api, click, monkeypatch
) -> None:
    def fails_before_anything(**given: object) -> object:
        raise RuntimeError("the database was away")

    monkeypatch.setattr("payments.api.views.charge", fails_before_anything)
    assert json.loads(post(api, "/payment/click", SEED, "k-early")[1])["error"]["code"] == 103
    assert not IdempotencyKey.objects.exists()
    monkeypatch.undo()
    assert json.loads(post(api, "/payment/click", SEED, "k-early")[1])["is_success"] is True


@pytest.mark.django_db(transaction=True)
def test_a_replay_while_a_slow_charge_runs_gets_its_transaction_id(shop, click) -> None:
    slow = {**SEED, "qr_code": "990320000001"}  # CLICK answers after 2 s

    def first() -> None:
        try:
            post(APIClient(), "/payment/click", slow, "k-slow")
        finally:
            connections.close_all()

    runner = threading.Thread(target=first)
    runner.start()
    deadline = time.monotonic() + 10
    while not payment_made():
        assert time.monotonic() < deadline, "the first request made no payment"
        time.sleep(0.02)
    made = Payment.objects.get()
    # Known from the moment the payment exists, while the charge is still out.
    assert IdempotencyKey.objects.get().transaction_id == made.transaction_id
    assert runner.is_alive()
    _, replay = post(APIClient(), "/payment/click", slow, "k-slow")
    runner.join()
    assert json.loads(replay)["error"]["data"] == {
        "transaction_id": str(Payment.objects.get().transaction_id)
    }


def payment_made() -> bool:
    try:
        return Payment.objects.exists()
    except OperationalError:
        # pytest's SQLite database is a shared in-memory one, whose readers are refused
        # (not made to wait) while another thread writes the table.
        return False
