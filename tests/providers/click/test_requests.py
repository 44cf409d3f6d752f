"""The CLICK gateway's exact requests and how it reads each kind of answer, with the HTTP
layer answered by `responses` (no emulator, no database): fast, and precise about shapes.
The flows against a real server are in tests/payments/api."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
import responses

from providers.base import OfdReceipt, Outcome, PaymentData, RegisterInfo
from providers.click.gateway import GATEWAY as CLICK
from providers.click.gateway import ClickAccount, digest

BASE = "https://click.test/v2/merchant/"
ACCOUNT = ClickAccount(BASE, service_id=40012, merchant_user_id="12345", secret_key="S3CRET")
PAYMENT = PaymentData(
    transaction_id="3e46c5d6-921d-4271-8100-ded01fe6d3b8",
    amount=1234567,
    created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    account=ACCOUNT,
    register=RegisterInfo(inn="123456789", kkm_id="K1", device_id="D1", cashbox_code="POS-7"),
    qr_code="880101698207133392",
)

# The time printed on the receipt: local, as the OFD URL carries it.
ISSUED = datetime(2023, 1, 4, 12, 18, 1)  # noqa: DTZ001


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_charge_sends_soum_exactly_our_ids_and_a_valid_auth(http) -> None:
    http.post(
        BASE + "click_pass/payment",
        json={"error_code": 0, "error_note": "Успешно", "payment_id": 77, "payment_status": 2},
    )
    result = CLICK.charge(PAYMENT)
    sent = http.calls[0].request
    assert sent.body.decode() == (
        '{"service_id": 40012, "otp_data": "880101698207133392", "amount": 12345.67, '
        '"cashbox_code": "POS-7", "transaction_id": "3e46c5d6-921d-4271-8100-ded01fe6d3b8"}'
    )
    user, signed, timestamp = sent.headers["Auth"].split(":")
    assert (user, signed) == ("12345", digest(int(timestamp), "S3CRET"))
    assert result.outcome is Outcome.SUCCESS
    assert result.provider_payment_id == "77"
    # The journal's copy: the secret header redacted, the amount exact.
    (exchange,) = result.exchanges
    assert exchange.request_headers["Auth"] == "[redacted]"
    assert exchange.request_body["amount"] == Decimal("12345.67")


@pytest.mark.parametrize(
    ("answer", "outcome", "code"),
    [
        (
            {"status": 200, "json": {"error_code": -5017, "error_note": "Нет денег"}},
            "failed",
            -5017,
        ),
        ({"status": 401, "json": {"error_code": -401}}, "failed", "HTTP 401"),
        ({"status": 500, "body": "oops"}, "unknown", None),
        ({"status": 200, "body": "<html>502</html>"}, "unknown", None),
        ({"status": 200, "json": {"payment_id": 5, "payment_status": 2}}, "unknown", None),
        ({"body": requests.ConnectionError("refused")}, "unknown", None),
        ({"body": requests.ConnectTimeout("no route")}, "failed", None),
        ({"body": requests.ReadTimeout("slow")}, "unknown", None),
    ],
    ids=[
        "declined",
        "refused by HTTP",
        "HTTP 500",
        "not JSON",
        "no error_code",
        "connection reset",
        "connect timeout",
        "read timeout",
    ],
)
def test_charge_answers_map_to_outcomes(http, answer: dict, outcome: str, code: object) -> None:
    http.post(BASE + "click_pass/payment", **answer)
    result = CLICK.charge(PAYMENT)
    assert (result.outcome, result.code) == (Outcome(outcome), code)
    # Sent once, whatever came back: a lost answer is never settled by sending again.
    assert [call.request.url for call in http.calls] == [BASE + "click_pass/payment"]


def test_a_decline_with_a_payment_id_is_verified_once(http) -> None:
    http.post(
        BASE + "click_pass/payment",
        json={"error_code": -5017, "error_note": "Отказ", "payment_id": 9, "payment_status": -1},
    )
    http.get(BASE + "payment/status/40012/9", json={"error_code": 0, "payment_status": 2})
    result = CLICK.charge(PAYMENT)
    assert result.outcome is Outcome.SUCCESS  # debited after all
    assert [e.operation for e in result.exchanges] == ["click_pass/payment", "payment/status"]


def test_confirm_mode_confirms_and_leaves_the_truth_to_the_status(http) -> None:
    http.post(
        BASE + "click_pass/payment",
        json={"error_code": 0, "payment_id": 9, "payment_status": 1, "confirm_mode": 1},
    )
    http.post(BASE + "click_pass/confirm", json={"error_code": 0, "error_note": "OK"})
    result = CLICK.charge(PAYMENT)
    assert result.outcome is Outcome.PENDING
    assert json.loads(http.calls[1].request.body) == {"service_id": 40012, "payment_id": 9}


def test_fiscal_receipt_url_goes_to_submit_qrcode(http) -> None:
    url = "https://ofd.soliq.uz/check?t=UZ1&r=2421&c=20230104121801&s=514343190161"
    receipt = OfdReceipt(url, "UZ1", "2421", ISSUED, "514343190161")
    http.post(BASE + "payment/ofd_data/submit_qrcode", json={"error_code": 0})
    result = CLICK.submit_fiscal(replace(PAYMENT, provider_payment_id="77"), receipt)
    assert result.outcome is Outcome.SUCCESS
    assert json.loads(http.calls[0].request.body) == {
        "service_id": 40012,
        "payment_id": 77,
        "qrcode": url,
    }
