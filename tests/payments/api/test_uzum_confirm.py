"""POST /payment/uzum_confirm and GET /payment/status through the Uzum emulator: the seed's
flow for Uzum (charge, the receipt URL, the status)."""

import json

import pytest

from payments.models import FiscalStatus, Payment, PaymentStatus, ProviderExchange
from tests.helpers import OTHER_URL, SEED_URL, post_json

pytestmark = pytest.mark.django_db

CODE = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="


@pytest.fixture
def paid(api, uzum) -> dict:
    body = post_json(api, "/payment/uzum", {"amount": 500, "qr_code": CODE})
    assert body["is_success"] is True
    return body["data"]


def confirm(api, reference: str, url: str = SEED_URL, field: str = "qr_code") -> dict:
    return post_json(api, "/payment/uzum_confirm", {"payment_id": reference, field: url})


def links(uzum) -> int:
    return uzum.stats()["requests"].count("POST payment/fiscal")


def test_the_receipt_url_reaches_uzum_and_the_answer_is_fboxs(api, uzum, paid) -> None:
    body = confirm(api, paid["payment_id"])
    assert body == {
        "data": {
            "payment_id": paid["payment_id"],
            "payment_status": "SUCCESS",
            "error_code": "0",
            "error_message": None,
            "client_phone_number": "998901112233",
        },
        "error": None,
        "is_success": True,
    }
    payment = Payment.objects.get()
    assert (payment.fiscal_status, payment.fiscal_receipt_url) == (
        FiscalStatus.SUBMITTED,
        SEED_URL,
    )
    assert uzum.payments[paid["payment_id"]].fiscal_url == SEED_URL
    sent = ProviderExchange.objects.get(operation="payment/fiscal").request_body
    # Sent as it came: Uzum unescapes it on its side.
    assert sent == {"payment_id": paid["payment_id"], "service_id": 4012, "fiscal_url": SEED_URL}


def test_status_shows_paid_and_fiscalized(api, uzum, paid) -> None:
    confirm(api, paid["payment_id"])
    body = json.loads(api.get(f"/payment/status/{paid['transaction_id']}").content)
    assert body["data"]["provider"] == "uzum"
    assert body["data"]["status"] == PaymentStatus.PAID
    assert body["data"]["fiscal_status"] == FiscalStatus.SUBMITTED
    assert body["data"]["payment_id"] == paid["payment_id"]


def test_same_url_again_succeeds_without_a_second_call(api, uzum, paid) -> None:
    first = confirm(api, paid["payment_id"])
    assert confirm(api, paid["payment_id"]) == first
    assert links(uzum) == 1


def test_another_url_after_success_is_106(api, uzum, paid) -> None:
    confirm(api, paid["payment_id"])
    body = confirm(api, paid["payment_id"], OTHER_URL)
    assert body["error"]["data"] == {"reason": "already_fiscalized", "qr_code": SEED_URL}
    assert links(uzum) == 1


def test_found_by_our_transaction_id_and_the_qrcode_alias(api, uzum, paid) -> None:
    body = confirm(api, paid["transaction_id"], field="qrcode")
    assert body["is_success"] is True
    assert body["data"]["payment_id"] == paid["payment_id"]


def test_a_url_that_is_not_a_receipt_is_7_and_sends_nothing(api, uzum, paid) -> None:
    body = confirm(api, paid["payment_id"], "https://example.com/check?t=1&r=2&c=3&s=4")
    assert body["error"]["code"] == 7
    assert "qr_code" in json.loads(body["error"]["message"])
    assert links(uzum) == 0


def test_unknown_payment_is_106_not_found(api, uzum) -> None:
    body = confirm(api, "bb75f609-6d97-4b45-9ed3-80e5fcd19ef1")
    assert body["error"]["data"] == {
        "reason": "not_found",
        "payment_id": "bb75f609-6d97-4b45-9ed3-80e5fcd19ef1",
    }


def test_uzums_refusal_is_104_with_its_key_and_can_be_sent_again(api, uzum, paid) -> None:
    uzum.payments[paid["payment_id"]].service_id = 9  # Uzum no longer finds it
    body = confirm(api, paid["payment_id"])
    assert body["error"]["code"] == 104
    assert body["error"]["data"] == {"provider": "uzum", "code": 404, "note": "operation.not.found"}
    assert Payment.objects.get().fiscal_status == FiscalStatus.FAILED

    uzum.payments[paid["payment_id"]].service_id = 4012
    assert confirm(api, paid["payment_id"])["is_success"] is True
    assert Payment.objects.get().fiscal_status == FiscalStatus.SUBMITTED
