"""The Payme gateway's exact JSON-RPC requests and how it reads each answer, with the HTTP
layer answered by `responses` (no emulator, no database)."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses

from providers.base import OfdReceipt, Outcome, PaymentData, RegisterInfo
from providers.payme.gateway import GATEWAY as PAYME
from providers.payme.gateway import PaymeAccount

URL = "https://payme.test/api"
ACCOUNT = PaymeAccount(
    URL,
    cashbox_id="5e730e8e0b852a417aa49ceb",
    key="K3Y",
    receipt_account=(("kkm_id", "{kkm_id}"), ("document", "{transaction_id}")),
)
PAYMENT = PaymentData(
    transaction_id="114c1f02-4849-41eb-8b32-3412e6aab6af",
    amount=50000,
    created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    account=ACCOUNT,
    register=RegisterInfo(inn="123456789", kkm_id="K1", device_id="D1", cashbox_code="POS-7"),
    qr_code="50501010793410803298",
    provider_payment_id="6b09c8290006614602272337",
)
RECEIPT = {"_id": "6b09c8290006614602272337", "state": 4, "payer": {"phone": "998901234567"}}

# The time printed on the receipt: local, as the OFD URL carries it.
ISSUED = datetime(2023, 1, 4, 12, 18, 1)  # noqa: DTZ001


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def rpc(http, *results: dict) -> None:
    for result in results:
        http.post(URL, json={"jsonrpc": "2.0", "id": 1, **result})


def sent(http, call: int = 0) -> dict:
    return json.loads(http.calls[call].request.body)


def test_create_asks_for_the_amount_in_tiyin_with_our_account_values(http) -> None:
    rpc(http, {"result": {"receipt": {"_id": "r1", "state": 0}}})
    result = PAYME.prepare(replace(PAYMENT, provider_payment_id=""))
    request = sent(http)
    assert request["method"] == "receipts.create"
    assert request["params"] == {
        "amount": 50000,
        "account": {"kkm_id": "K1", "document": "114c1f02-4849-41eb-8b32-3412e6aab6af"},
    }
    assert http.calls[0].request.headers["X-Auth"] == "5e730e8e0b852a417aa49ceb:K3Y"
    assert (result.outcome, result.provider_payment_id) == (Outcome.SUCCESS, "r1")
    assert result.exchanges[0].request_headers["X-Auth"] == "[redacted]"


def test_pay_sends_the_code_as_token_and_reads_the_payer(http) -> None:
    rpc(http, {"result": {"receipt": {**RECEIPT, "card": {"number": "860006******6311"}}}})
    result = PAYME.charge(PAYMENT)
    assert sent(http)["params"] == {
        "id": "6b09c8290006614602272337",
        "token": "50501010793410803298",
    }
    assert result.outcome is Outcome.SUCCESS
    assert (result.payer_phone, result.masked_card) == ("998901234567", "860006******6311")


def test_a_certain_decline_is_failed_and_the_receipt_cancelled(http) -> None:
    rpc(
        http,
        {"error": {"code": -31630, "message": {"ru": "Отказ", "en": "Declined"}}},
        {"result": {"receipt": {"_id": RECEIPT["_id"], "state": 50}}},
    )
    result = PAYME.charge(PAYMENT)
    assert (result.outcome, result.code, result.message) == (Outcome.FAILED, -31630, "Отказ")
    assert sent(http, 1)["method"] == "receipts.cancel"


@pytest.mark.parametrize("code", [-32400, -31099 + 100, -1])
def test_an_error_that_does_not_prove_nothing_was_charged_is_unknown(http, code: int) -> None:
    rpc(http, {"error": {"code": code, "message": "?"}})
    result = PAYME.charge(PAYMENT)
    assert result.outcome is Outcome.UNKNOWN
    assert len(http.calls) == 1  # no cancel: the money may have moved


@pytest.mark.parametrize(
    ("state", "outcome", "attention"),
    [(4, "success", False), (2, "pending", False), (20, "unknown", True), (50, "failed", False)],
)
def test_receipt_states(http, state: int, outcome: str, attention: bool) -> None:
    rpc(http, {"result": {"state": state}})
    result = PAYME.check(replace(PAYMENT, payer_phone="998901234567"))
    assert (result.outcome, result.needs_attention) == (Outcome(outcome), attention)


def test_fiscal_data_is_read_from_the_receipt_url(http) -> None:
    url = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2421&c=20230104121801&s=514343190161"
    receipt = OfdReceipt(url, "UZ170703100597", "2421", ISSUED, "514343190161")
    rpc(http, {"result": {"success": True}})
    result = PAYME.submit_fiscal(PAYMENT, receipt)
    assert result.outcome is Outcome.SUCCESS
    assert sent(http)["params"]["fiscal_data"] == {
        "status_code": 0,
        "terminal_id": "UZ170703100597",
        "receipt_id": 2421,
        "date": "20230104121801",
        "fiscal_sign": "514343190161",
        "qr_code_url": url,
    }
