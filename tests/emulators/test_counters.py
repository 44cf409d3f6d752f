"""Every emulator counts alike: each charge request it receives (refused repeats too, so a
test sees a second send) and each charge that moved money."""

import pytest
import requests

from tests.conftest import PAYME_CASHBOX, PAYME_KEY
from tests.factories import pinpad_account

COUNTERS = {"charge_requests", "charges", "charges_by_code", "requests"}


def rpc(server, method: str, params: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    headers = {"X-Auth": f"{PAYME_CASHBOX}:{PAYME_KEY}"}
    return requests.post(server.url, json=body, headers=headers, timeout=5).json()


def test_payme_counts_a_refused_second_pay(payme_server) -> None:
    payme_server.emulator.reset()
    receipt = rpc(payme_server, "receipts.create", {"amount": 50000, "account": {"a": "1"}})
    receipt_id = receipt["result"]["receipt"]["_id"]
    for _ in range(2):
        rpc(payme_server, "receipts.pay", {"id": receipt_id, "token": "50501010793410803298"})
    stats = payme_server.emulator.stats()
    assert set(stats) >= COUNTERS
    assert (stats["charge_requests"], stats["charges"]) == (2, 1)


@pytest.mark.django_db
def test_the_pinpad_counts_a_declined_purchase_as_a_request_not_a_charge(pinpad) -> None:
    pad = pinpad_account().pinpad()
    pad.purchase(50116, "a" * 32)  # declined: no funds
    pad.purchase(50000, "b" * 32)
    stats = pinpad.stats()
    assert set(stats) >= COUNTERS
    assert (stats["charge_requests"], stats["charges"]) == (2, 1)
    assert stats["charges_by_code"] == {"b" * 32: 1}
