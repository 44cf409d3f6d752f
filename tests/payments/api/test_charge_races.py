"""The same code from several registers at the same moment: one charge, one story, for
CLICK PASS, PAYME GO and Uzum Fast Pay alike.

Runs on PostgreSQL, where concurrent writers really race. SQLite serializes every writer
on one file lock, so the race this proves cannot happen there; the test is skipped.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 8


@pytest.mark.parametrize(
    ("provider", "code"),
    [
        # Both answer after 0.3 s, so the others arrive while the first is in flight.
        ("click", "990303000777"),
        ("payme", "980303000777"),
        ("uzum", "991403:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X"),
    ],
)
def test_same_code_at_once_charges_once(shop, click, payme, uzum, provider, code) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the race is proven on PostgreSQL")
    emulator = {"click": click, "payme": payme, "uzum": uzum}[provider]
    barrier = threading.Barrier(PARALLEL)

    def one_register(_: int) -> dict:
        try:
            barrier.wait(timeout=10)
            response = APIClient().post(
                f"/payment/{provider}", {"amount": 500, "qr_code": code}, format="json"
            )
            return response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(one_register, range(PARALLEL)))

    assert emulator.stats()["charges_by_code"] == {code: 1}
    assert emulator.stats()["charge_requests"] == 1  # not even a refused second send
    assert Payment.objects.count() == 1
    transaction_id = str(Payment.objects.get().transaction_id)
    paid = [a for a in answers if a["is_success"]]
    waiting = [a for a in answers if not a["is_success"]]
    assert paid, "the first request is paid"
    assert all(a["data"]["transaction_id"] == transaction_id for a in paid)
    assert all(a["error"]["code"] == 110 for a in waiting)
    assert all(a["error"]["data"]["transaction_id"] == transaction_id for a in waiting)
