"""POST /payment/payme_confirm through the Payme emulator."""

import json

import pytest

from payments.models import FiscalStatus, Payment
from tests.helpers import OTHER_URL, SEED_URL, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(api, payme) -> dict:
    body = post_json(api, "/payment/payme", {"amount": 500, "qr_code": "50501010793410803298"})
    assert body["is_success"] is True
    return body["data"]


def seed_confirm(receipt_id: str) -> dict:
    return {
        "payme_id": receipt_id,
        "receipt_id": "2421",
        "qr_code_url": SEED_URL,
        "fiscal_sign": "514343190161",
    }


def fiscal_calls(payme) -> int:
    return payme.stats()["requests"].count("receipts.set_fiscal_data")


def test_seed_confirm_answers_paymes_json_rpc_body(api, payme, paid) -> None:
    body = post_json(api, "/payment/payme_confirm", seed_confirm(paid["payment_id"]))
    receipt = payme.receipts[paid["payment_id"]]
    assert body["is_success"] is True
    assert body["error"] is None
    assert set(body["data"]) == {"id", "result", "error"}
    assert isinstance(body["data"]["id"], int)
    assert body["data"]["error"] is None
    assert body["data"]["result"] == {
        "receipt": {
            "_id": paid["payment_id"],
            "create_time": receipt.create_time,
            "pay_time": receipt.pay_time,
        }
    }
    # What Payme received, parsed from the OFD URL.
    assert receipt.fiscal_data == {
        "status_code": 0,
        "terminal_id": "UZ170703100597",
        "receipt_id": 2421,
        "date": "20230104121801",
        "fiscal_sign": "514343190161",
        "qr_code_url": SEED_URL,
    }
    status = api.get(f"/payment/status/{paid['transaction_id']}").json()["data"]
    assert (status["status"], status["fiscal_status"]) == ("paid", "submitted")


def test_aliases_and_fields_read_from_the_url(api, payme, paid) -> None:
    body = post_json(
        api, "/payment/payme_confirm", {"payment_id": paid["payment_id"], "qr_code": SEED_URL}
    )
    assert body["is_success"] is True
    assert payme.receipts[paid["payment_id"]].fiscal_data["receipt_id"] == 2421


def test_found_by_our_transaction_id(api, payme, paid) -> None:
    body = post_json(api, "/payment/payme_confirm", seed_confirm(paid["transaction_id"]))
    assert body["is_success"] is True


def test_seed_error_example_fiscal_sign_null(api, payme, paid) -> None:
    request = {**seed_confirm(paid["payment_id"]), "fiscal_sign": None}
    response = api.post("/payment/payme_confirm", request, format="json")
    assert json.loads(response.content) == {
        "data": None,
        "error": {
            "code": 7,
            "message": '{"fiscal_sign":["This field may not be null."]}',
            "data": {"fields": {"fiscal_sign": ["This field may not be null."]}},
        },
        "is_success": False,
    }
    assert fiscal_calls(payme) == 0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("receipt_id", "2422", "Does not match the receipt URL (r=2421)."),
        ("receipt_id", "24a1", "Does not match the receipt URL (r=2421)."),
        ("fiscal_sign", "514343190160", "Does not match the receipt URL (s=514343190161)."),
    ],
)
def test_receipt_fields_must_match_the_url(api, payme, paid, field, value, expected) -> None:
    body = post_json(
        api, "/payment/payme_confirm", {**seed_confirm(paid["payment_id"]), field: value}
    )
    assert body["error"]["code"] == 7
    assert json.loads(body["error"]["message"]) == {field: [expected]}
    assert fiscal_calls(payme) == 0


def test_receipt_id_as_a_number_with_leading_zero_matches(api, payme, paid) -> None:
    request = {**seed_confirm(paid["payment_id"]), "receipt_id": 2421}
    assert post_json(api, "/payment/payme_confirm", request)["is_success"] is True
    request = {**seed_confirm(paid["payment_id"]), "receipt_id": "02421"}
    assert post_json(api, "/payment/payme_confirm", request)["is_success"] is True


def test_same_url_again_answers_the_same_without_a_second_call(api, payme, paid) -> None:
    first = post_json(api, "/payment/payme_confirm", seed_confirm(paid["payment_id"]))
    second = post_json(api, "/payment/payme_confirm/", seed_confirm(paid["payment_id"]))
    assert second == first
    assert fiscal_calls(payme) == 1


def test_another_url_after_success_is_106(api, payme, paid) -> None:
    post_json(api, "/payment/payme_confirm", seed_confirm(paid["payment_id"]))
    body = post_json(
        api,
        "/payment/payme_confirm",
        {"payme_id": paid["payment_id"], "qr_code_url": OTHER_URL},
    )
    assert body["error"]["code"] == 106
    assert body["error"]["data"] == {"reason": "already_fiscalized", "qr_code": SEED_URL}
    assert fiscal_calls(payme) == 1


def test_the_success_true_answer_shape_counts_as_success(api, payme, paid) -> None:
    payme.fiscal_answer_shape = "success"
    body = post_json(api, "/payment/payme_confirm", seed_confirm(paid["payment_id"]))
    assert body["is_success"] is True
    assert body["data"]["result"] == {"success": True}
    assert Payment.objects.get().fiscal_status == FiscalStatus.SUBMITTED


def test_a_refused_submission_is_104_and_recorded(api, payme, paid) -> None:
    payme.receipts[paid["payment_id"]].state = 21  # reversed at Payme meanwhile
    body = post_json(api, "/payment/payme_confirm", seed_confirm(paid["payment_id"]))
    assert body["error"]["code"] == 104
    assert body["error"]["data"] == {"provider": "payme", "code": -31610, "note": "Чек не оплачен"}
    payment = Payment.objects.get()
    assert payment.fiscal_status == FiscalStatus.FAILED
    assert payment.fiscal_error == "Чек не оплачен"


def test_unknown_receipt_is_106_not_found(api, payme) -> None:
    body = post_json(api, "/payment/payme_confirm", seed_confirm("63b5282a6f47f572807fd53e"))
    assert body["error"]["data"] == {
        "reason": "not_found",
        "payment_id": "63b5282a6f47f572807fd53e",
    }
    assert fiscal_calls(payme) == 0


def test_a_click_payment_is_not_found_through_payme(api, payme, click) -> None:
    clicked = post_json(api, "/payment/click", {"amount": 500, "qr_code": "880101698207133392"})
    body = post_json(api, "/payment/payme_confirm", seed_confirm(clicked["data"]["transaction_id"]))
    assert body["error"]["data"]["reason"] == "not_found"
