"""The Uzum gateway's exact requests and how it reads each kind of answer, with the HTTP
layer answered by `responses` (no emulator, no database)."""

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
from django.utils import timezone

from providers.base import OfdReceipt, Outcome, PaymentData, RegisterInfo
from providers.uzum import gateway
from providers.uzum.gateway import GATEWAY as UZUM
from providers.uzum.gateway import UzumAccount, auth_header
from tests.factories import refund_data

BASE = "https://uzum.test/api/apelsin-pay/merchant/"
ACCOUNT = UzumAccount(BASE, service_id=4012, merchant_service_user_id="8461", secret_key="S3CRET")
CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="
PAYMENT_ID = "c4f89d18-62b1-4b08-9256-3a8d7d60f28a"
PAYMENT = PaymentData(
    transaction_id="0b0f6a3e-6f53-4a63-9c55-2f8f3c1f9e21",
    amount=2500000,
    created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    account=ACCOUNT,
    register=RegisterInfo(inn="123456789", kkm_id="K1", device_id="D1", cashbox_code="POS-07"),
    qr_code=CODE,
)
PAID = {
    "payment_id": PAYMENT_ID,
    "payment_status": "SUCCESS",
    "error_code": 0,
    "error_message": None,
    "client_phone_number": "998901112233",
    "card_type": 2,
    "processing_reference_number": "524818898472",
}


# The time printed on the receipt: local, as the OFD URL carries it.
ISSUED = datetime(2023, 1, 4, 12, 18, 1)  # noqa: DTZ001


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sent(http, n: int = 0) -> tuple[dict, dict]:
    call = http.calls[n].request
    return dict(call.headers), json.loads(call.body)


# --- the Authorization header ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("now_ms", "shift_ms", "expected"),
    [
        # The reference's test vector, under both readings of "UTC+5".
        (1700000000000, 0, "8461:8aee76bbb89527d4213dcca279bd5f70b6dc30c9:1700000000000"),
        (1700000000000, 18000000, "8461:7ee478922b33ccb0b7aaabfe5aeaaa58f9fbb3bb:1700018000000"),
    ],
)
def test_the_header_matches_the_reference_vector(now_ms, shift_ms, expected) -> None:
    assert auth_header("8461", "TEST_SECRET_KEY", now_ms, shift_ms) == expected


def test_each_request_signs_the_current_millisecond_with_the_accounts_reading(
    http, monkeypatch
) -> None:
    monkeypatch.setattr(gateway.clock, "time", lambda: 1700000000.123)
    http.post(BASE + "v2/payment", json=PAID)
    UZUM.charge(replace(PAYMENT, account=replace(ACCOUNT, timestamp_shift_ms=18000000)))
    headers, _ = sent(http)
    user, digest, timestamp = headers["Authorization"].split(":")
    assert (user, timestamp) == ("8461", "1700018000123")
    assert digest == hashlib.sha1(b"1700018000123S3CRET").hexdigest()


def test_the_account_takes_digits_only_and_a_known_reading(settings) -> None:
    values = {"service_id": "4012", "merchant_service_user_id": "8461", "secret_key": "s"}
    assert UZUM.account(values).timestamp_shift_ms == 0
    assert UZUM.account(values | {"timestamp_reading": "tashkent"}).timestamp_shift_ms == 18000000
    with pytest.raises(ValueError, match="digits"):
        UZUM.account(values | {"merchant_service_user_id": "84a1"})
    with pytest.raises(ValueError, match="reading"):
        UZUM.account(values | {"timestamp_reading": "utc+5"})


# --- the charge -----------------------------------------------------------------------------


def test_the_charge_sends_tiyin_our_id_twice_and_the_code_as_scanned(http) -> None:
    http.post(BASE + "v2/payment", json=PAID)
    result = UZUM.charge(PAYMENT)
    headers, body = sent(http)
    assert body == {
        "amount": 2500000,
        "cashbox_code": "POS-07",
        "otp_data": CODE,
        "order_id": PAYMENT.transaction_id,
        "transaction_id": PAYMENT.transaction_id,
        "service_id": 4012,
    }
    assert headers["Accept"] == "application/json"
    assert result.outcome is Outcome.SUCCESS
    assert (result.provider_payment_id, result.payer_phone) == (PAYMENT_ID, "998901112233")
    journal = result.exchanges[0]
    assert journal.request_headers["Authorization"] == "[redacted]"
    assert "S3CRET" not in json.dumps(journal.request_body)


@pytest.mark.parametrize(
    ("code", "key"),
    [
        (400, "operation.failed"),
        (416, "apelsin.pay.safe.mode.on"),
        (400, "apelsin.pay.user.otp.data.expired"),
        (400, "qr.duplicated"),  # the customer's code paid something before: not ours
        (503, "apelsin.pay.service.not.working"),
        (401, "apelsin.pay.authorization.error"),
        (403, None),
    ],
)
def test_a_decline_in_a_200_is_failed_with_uzums_code_and_key(http, code, key) -> None:
    http.post(BASE + "v2/payment", json={"error_code": code, "error_message": key})
    result = UZUM.charge(PAYMENT)
    assert result.outcome is Outcome.FAILED
    assert (result.code, result.message) == (code, key or "")


def test_a_real_http_401_is_failed(http) -> None:
    http.post(BASE + "v2/payment", status=401, body="")
    result = UZUM.charge(PAYMENT)
    assert (result.outcome, result.code) == (Outcome.FAILED, 401)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 502, "body": "<html>Bad gateway</html>"},
        {"status": 500, "body": "oops"},
        {"status": 200, "body": '{"payment_id": "c4f8'},
        {"status": 200, "json": {}},
        {"body": requests.ConnectionError("reset by peer")},
        {"body": requests.ReadTimeout("read timed out")},
    ],
    ids=["proxy 502", "500", "truncated", "empty object", "reset", "timeout"],
)
def test_no_readable_answer_is_unknown_never_failed(http, answer) -> None:
    http.post(BASE + "v2/payment", **answer)
    assert UZUM.charge(PAYMENT).outcome is Outcome.UNKNOWN


def test_in_process_with_an_id_is_pending_and_without_one_unknown(http) -> None:
    busy = {"error_code": 0, "error_message": "operation.is.inProcess"}
    http.post(BASE + "v2/payment", json=busy | {"payment_id": PAYMENT_ID})
    assert UZUM.charge(PAYMENT).outcome is Outcome.PENDING
    http.replace(responses.POST, BASE + "v2/payment", json=busy)
    assert UZUM.charge(PAYMENT).outcome is Outcome.UNKNOWN


def test_a_duplicated_order_is_settled_by_the_earlier_operations_status(http) -> None:
    http.post(
        BASE + "v2/payment",
        json={"payment_id": PAYMENT_ID, "payment_status": "DUPLICATED", "error_code": 0},
    )
    http.post(
        BASE + "payment/status",
        json={"payment_id": PAYMENT_ID, "payment_status": "SUCCESS", "error_code": 0},
    )
    result = UZUM.charge(PAYMENT)
    assert (result.outcome, result.provider_payment_id) == (Outcome.SUCCESS, PAYMENT_ID)
    assert [e.operation for e in result.exchanges] == ["v2/payment", "payment/status"]
    _, body = sent(http, 1)
    assert body == {"payment_id": PAYMENT_ID, "service_id": 4012}


# --- a lost answer: the identical charge, once Uzum's window has shut ----------------------------


def test_a_lost_answer_is_not_asked_about_while_the_first_charge_could_still_run(http) -> None:
    young = replace(PAYMENT, created_at=timezone.now() - timedelta(seconds=20))
    result = UZUM.check(young)
    assert result.outcome is Outcome.UNKNOWN
    assert "repeated in" in result.message
    assert len(http.calls) == 0
    assert result.exchanges == ()


def test_the_repeat_is_the_identical_request_and_success_means_it_never_ran(http) -> None:
    http.post(BASE + "v2/payment", json=PAID)
    UZUM.charge(PAYMENT)
    result = UZUM.check(PAYMENT)  # made hours ago
    _, first = sent(http, 0)
    _, repeat = sent(http, 1)
    assert repeat == first
    assert (result.outcome, result.provider_payment_id) == (Outcome.SUCCESS, PAYMENT_ID)


@pytest.mark.parametrize("key", ["order.id.duplicated", "transaction.duplicated", "qr.duplicated"])
def test_a_repeat_refused_as_a_duplicate_goes_to_a_person(http, key) -> None:
    http.post(BASE + "v2/payment", json={"error_code": 400, "error_message": key})
    result = UZUM.check(PAYMENT)
    assert result.outcome is Outcome.UNKNOWN
    assert result.needs_attention is True
    assert "merchant cabinet" in result.message
    assert len(http.calls) == 1


def test_an_unanswered_repeat_is_unknown_even_if_it_never_left(http) -> None:
    http.post(BASE + "v2/payment", body=requests.ConnectionError("refused"))
    assert UZUM.check(PAYMENT).outcome is Outcome.UNKNOWN


# --- status, reversal, fiscal ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("SUCCESS", Outcome.SUCCESS),
        ("FAILED", Outcome.FAILED),
        ("HOLD", Outcome.PENDING),
        ("REVERSED", Outcome.FAILED),
        ("CANCELLED", Outcome.UNKNOWN),
    ],
)
def test_the_status_is_read_by_uzums_id(http, status, outcome) -> None:
    http.post(
        BASE + "payment/status",
        json={"payment_id": PAYMENT_ID, "payment_status": status, "error_code": 0},
    )
    result = UZUM.check(replace(PAYMENT, provider_payment_id=PAYMENT_ID))
    assert (result.outcome, result.provider_status) == (outcome, status)


def test_a_status_that_finds_nothing_is_unknown_and_says_so(http) -> None:
    http.post(
        BASE + "payment/status", json={"error_code": 404, "error_message": "operation.not.found"}
    )
    result = UZUM.check(replace(PAYMENT, provider_payment_id=PAYMENT_ID))
    assert (result.outcome, result.not_found) == (Outcome.UNKNOWN, True)


def test_the_reversal_puts_to_our_order_with_uzums_id(http) -> None:
    url = BASE + f"v2/payment/reversal/{PAYMENT.transaction_id}"
    http.put(url, json={"payment_id": PAYMENT_ID, "payment_status": "REVERSED", "error_code": 0})
    result = UZUM.reverse(refund_data(replace(PAYMENT, provider_payment_id=PAYMENT_ID)))
    _, body = sent(http)
    assert body == {"service_id": 4012, "payment_id": PAYMENT_ID}
    assert result.outcome is Outcome.SUCCESS
    http.replace(
        responses.PUT,
        url,
        json={"error_code": 400, "error_message": "apelsin.pay.reverse.not.allowed"},
    )
    refused = UZUM.reverse(refund_data(replace(PAYMENT, provider_payment_id=PAYMENT_ID)))
    assert (refused.outcome, refused.message) == (Outcome.FAILED, "apelsin.pay.reverse.not.allowed")


def test_the_fiscal_link_is_the_receipt_url_as_it_came(http) -> None:
    url = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2421&c=20230104121801&s=514343190161"
    receipt = OfdReceipt(url, "UZ170703100597", "2421", ISSUED, "514343190161")
    http.post(
        BASE + "payment/fiscal",
        json={"payment_id": PAYMENT_ID, "payment_status": "SUCCESS", "error_code": 0},
    )
    result = UZUM.submit_fiscal(replace(PAYMENT, provider_payment_id=PAYMENT_ID), receipt)
    _, body = sent(http)
    assert body == {"payment_id": PAYMENT_ID, "service_id": 4012, "fiscal_url": url}
    assert result.outcome is Outcome.SUCCESS
    http.replace(
        responses.POST,
        BASE + "payment/fiscal",
        json={"error_code": 400, "error_message": "unsupported.fiscal.url"},
    )
    assert (
        UZUM.submit_fiscal(replace(PAYMENT, provider_payment_id=PAYMENT_ID), receipt).outcome
        is Outcome.FAILED
    )
