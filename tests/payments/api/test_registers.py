"""Two registers of one shop chain, each with its own CLICK service, Payme cashbox and PIN
pad: each charges through its own accounts, and neither ever sees the other's payments."""

import json
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from payments.models import Payment, Register
from payments.services.registers import add_register, issue_key, put_account
from tests.conftest import running_pinpad
from tests.helpers import SEED_URL, post_json

pytestmark = pytest.mark.django_db

OTHER_CLICK = {
    "service_id": "40777",
    "merchant_user_id": "67890",
    "secret_key": "PROVIDER_SECRET_CLICK_B",
}
OTHER_PAYME = {"cashbox_id": "7a1b2c3d4e5f60718293a4b5", "key": "PROVIDER_SECRET_PAYME_B"}
OTHER_UZUM = {
    "service_id": "4077",
    "merchant_service_user_id": "8462",
    "secret_key": "PROVIDER_SECRET_UZUM_B",
    "timestamp_reading": "epoch",
}
CLICK_B_SECRET = "TEST_CLICK_SECRET_B_55d1"
PAYME_B_KEY = "TEST_PAYME_KEY_B_c0de"
UZUM_B_SECRET = "TEST_UZUM_SECRET_B_77aa"
UZUM_CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:"


@pytest.fixture
def other_pinpad(tmp_path) -> Iterator:
    with running_pinpad(tmp_path / "pinpad-b") as emulator:
        yield emulator


@pytest.fixture
def other(settings, click, payme, uzum, other_pinpad, tmp_path) -> Register:
    """The second register: its own CLICK service, Payme cashbox and Uzum service (known to
    the emulators under their own credentials) and its own PIN pad."""
    settings.PROVIDER_SECRETS = {
        **settings.PROVIDER_SECRETS,
        "PROVIDER_SECRET_CLICK_B": CLICK_B_SECRET,
        "PROVIDER_SECRET_PAYME_B": PAYME_B_KEY,
        "PROVIDER_SECRET_UZUM_B": UZUM_B_SECRET,
    }
    click.add_service(40777, "67890", CLICK_B_SECRET)
    payme.add_cashbox("7a1b2c3d4e5f60718293a4b5", PAYME_B_KEY)
    uzum.add_service(4077, "8462", UZUM_B_SECRET)
    return add_register(
        name="Register 2",
        inn="309876543",
        kkm_id="KKM-B",
        device_id="DEV-B",
        cashbox_code="POS-02",
        accounts=[
            put_account("click", "CLICK service B", OTHER_CLICK),
            put_account("payme", "Payme cashbox B", OTHER_PAYME),
            put_account("uzum", "Uzum service B", OTHER_UZUM),
            put_account("humo", "PIN pad B", {"url": str(tmp_path / "pinpad-b")}),
        ],
    )


def client_of(register: Register) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_key(register)[1]}")
    return client


def test_each_register_charges_through_its_own_accounts(
    api, other, click, payme, uzum, pinpad, other_pinpad
) -> None:
    b = client_of(other)
    a_click = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700000001"})
    b_click = post_json(b, "/payment/click", {"amount": 700, "qr_code": "7700000002"})
    a_payme = post_json(api, "/payment/payme", {"amount": 500, "qr_code": "5050000001"})
    b_payme = post_json(b, "/payment/payme", {"amount": 700, "qr_code": "5050000002"})
    a_humo = post_json(api, "/payment/xumo", {"amount": 50000})
    b_humo = post_json(b, "/payment/xumo", {"amount": 70000})
    assert all(x["is_success"] for x in (a_click, b_click, a_payme, b_payme, a_humo, b_humo))

    assert click.stats()["charges_by_account"] == {"40012": 1, "40777": 1}
    assert payme.stats()["charges_by_account"] == {
        "6f0c0e0a1b2c3d4e5f607182": 1,
        "7a1b2c3d4e5f60718293a4b5": 1,
    }
    assert [t.amount for t in pinpad.transactions] == [50000]
    assert [t.amount for t in other_pinpad.transactions] == [70000]
    a_uzum = post_json(api, "/payment/uzum", {"amount": 500, "qr_code": UZUM_CODE + "A"})
    b_uzum = post_json(b, "/payment/uzum", {"amount": 700, "qr_code": UZUM_CODE + "B"})
    assert a_uzum["is_success"]
    assert b_uzum["is_success"]
    assert uzum.stats()["charges_by_account"] == {"4012": 1, "4077": 1}
    sent = Payment.objects.get(provider="uzum", amount=700).exchanges.get().request_body
    assert (sent["service_id"], sent["cashbox_code"]) == (4077, "POS-02")
    # The register's own identity goes out with its payments.
    assert b_payme["data"]["inn"] == "309876543"
    assert b_payme["data"]["kkm_id"] == "KKM-B"
    receipt = payme.receipts[b_payme["data"]["payment_id"]]
    assert {"name": "kkm_id", "title": "kkm_id", "value": "KKM-B"} in receipt.account


def test_returns_and_the_end_of_day_reach_the_registers_own_pin_pad(
    api, other, pinpad, other_pinpad
) -> None:
    b = client_of(other)
    rrn = post_json(b, "/payment/xumo", {"amount": 70000})["data"]["ppt_id"]
    # Register 1 cannot return register 2's purchase, even knowing its RRN.
    refused = post_json(
        api, "/payment/xumo", {"amount": 70000, "request_id": rrn, "is_return": True}
    )
    assert refused["error"] == {
        "code": 106,
        "message": "PAYMENT_ERROR",
        "data": {"reason": "not_found", "request_id": rrn},
    }
    returned = post_json(
        b, "/payment/xumo", {"amount": 70000, "request_id": rrn, "is_return": True}
    )
    assert returned["is_success"] is True
    assert len(pinpad.transactions) == 0
    assert len(other_pinpad.transactions) == 2

    closed = api.get("/payment/xumo_close").json()
    assert closed["is_success"] is True
    assert (pinpad.shift, other_pinpad.shift) == (2, 1)  # only register 1's terminal closed


def test_no_answer_of_one_register_carries_the_others_payment(api, other, click) -> None:
    b = client_of(other)
    charged = post_json(b, "/payment/click", {"amount": 700, "qr_code": "7700000003"})["data"]
    transaction_id, payment_id = charged["transaction_id"], charged["payment_id"]

    status = api.get(f"/payment/status/{transaction_id}").json()
    assert status == {
        "data": None,
        "error": {
            "code": 106,
            "message": "PAYMENT_ERROR",
            "data": {"reason": "not_found", "transaction_id": transaction_id},
        },
        "is_success": False,
    }
    confirm = post_json(
        api, "/payment/click_confirm", {"payment_id": payment_id, "qrcode": SEED_URL}
    )
    assert confirm["error"]["data"] == {"reason": "not_found", "payment_id": payment_id}
    refund = post_json(api, "/payment/refund", {"transaction_id": transaction_id})
    assert refund["error"]["data"] == {"reason": "not_found", "transaction_id": transaction_id}
    assert click.stats()["reversal_requests"] == 0
    # The same code from register 1: refused, and nothing of register 2's payment in it.
    again = post_json(api, "/payment/click", {"amount": 700, "qr_code": "7700000003"})
    assert again["error"] == {
        "code": 106,
        "message": "PAYMENT_ERROR",
        "data": {"reason": "qr_code_used"},
    }
    assert transaction_id not in json.dumps(again)
    assert str(payment_id) not in json.dumps(again)
    assert click.stats()["charge_requests"] == 1
    # Register 2 still sees its own.
    assert client_of(other).get(f"/payment/status/{transaction_id}").json()["is_success"]


def test_idempotency_keys_are_per_register(api, other, click) -> None:
    b = client_of(other)
    body = {"amount": 500, "qr_code": "7700000004"}
    first = api.post("/payment/click", body, format="json", HTTP_IDEMPOTENCY_KEY="till-1")
    # The same key from register 2, with its own request: its own, charged anew.
    other_body = {"amount": 900, "qr_code": "7700000005"}
    second = b.post("/payment/click", other_body, format="json", HTTP_IDEMPOTENCY_KEY="till-1")
    assert first.json()["data"]["transaction_id"] != second.json()["data"]["transaction_id"]
    assert second.json()["data"]["amount"] == 900
    assert click.stats()["charges"] == 2
    # Register 2 replaying register 1's exact request under that key is not answered with
    # register 1's payment: it is its own request, and the code is another register's.
    replay = b.post("/payment/click", body, format="json", HTTP_IDEMPOTENCY_KEY="till-1")
    assert replay.json()["error"]["code"] == 106


def test_a_code_replayed_after_the_window_is_106_without_the_first_payment(
    api, click, settings
) -> None:
    first = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700000006"})
    assert first["is_success"]
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 0  # the replay window has passed
    again = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700000006"})
    assert again["error"]["data"] == {"reason": "qr_code_used"}
    assert click.stats()["charge_requests"] == 1


def test_a_register_without_an_account_at_the_provider_is_refused_before_anything(
    click,
) -> None:
    bare = add_register(name="Register 3", inn="1", kkm_id="K3", networks="")
    body = post_json(client_of(bare), "/payment/click", {"amount": 500, "qr_code": "7700000007"})
    assert body["error"]["data"] == {"reason": "no_account", "provider": "click"}
    assert not Payment.objects.exists()
    assert click.stats()["requests"] == []
