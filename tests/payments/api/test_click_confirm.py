"""POST /payment/click_confirm and GET /payment/status through the CLICK emulator."""

import json

import pytest
from django.utils import timezone

from payments.models import FiscalStatus, Payment, PaymentStatus, ProviderExchange
from tests.helpers import OTHER_URL, SEED_URL, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(api, click) -> dict:
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "880101698207133392"})
    assert body["is_success"] is True
    return body["data"]


def submits(click) -> int:
    return click.stats()["requests"].count("POST payment/ofd_data/submit_qrcode")


def test_seed_confirm_succeeds_and_click_has_the_receipt(api, click, paid) -> None:
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": SEED_URL}
    )
    assert body == {
        "data": {
            "inn": "000000000",
            "payment_id": paid["payment_id"],
            "qr_code": SEED_URL,
            "status": "successfully",
            "error": None,
        },
        "error": None,
        "is_success": True,
    }
    payment = Payment.objects.get()
    assert payment.fiscal_status == FiscalStatus.SUBMITTED
    assert payment.fiscal_receipt_url == SEED_URL
    assert click.payments[int(paid["payment_id"])].ofd_qrcode == SEED_URL


def test_status_shows_paid_and_fiscalized(api, click, paid) -> None:
    post_json(api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": SEED_URL})
    response = api.get(f"/payment/status/{paid['transaction_id']}")
    body = json.loads(response.content)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    data = body["data"]
    assert {k: data[k] for k in data if k not in ("created_at", "updated_at")} == {
        "transaction_id": paid["transaction_id"],
        "provider": "click",
        "amount": 500,
        "reversed_amount": 0,
        "status": "paid",
        "fiscal_status": "submitted",
        "payment_id": paid["payment_id"],
        "refunded_transaction_id": None,  # a purchase, not a refund
    }
    assert data["created_at"] == timezone.localtime(payment.created_at).isoformat()
    assert api.get(f"/payment/status/{paid['transaction_id']}/").status_code == 200


def test_same_url_again_succeeds_without_a_second_call(api, click, paid) -> None:
    body = {"payment_id": paid["payment_id"], "qrcode": SEED_URL}
    first = post_json(api, "/payment/click_confirm", body)
    second = post_json(api, "/payment/click_confirm/", body)
    assert second == first
    assert submits(click) == 1


def test_another_url_after_success_is_106(api, click, paid) -> None:
    post_json(api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": SEED_URL})
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": OTHER_URL}
    )
    assert body["error"] == {
        "code": 106,
        "message": "PAYMENT_ERROR",
        "data": {"reason": "already_fiscalized", "qr_code": SEED_URL},
    }
    assert submits(click) == 1
    assert Payment.objects.get().fiscal_receipt_url == SEED_URL


def test_found_by_our_transaction_id_and_qr_code_alias(api, click, paid) -> None:
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": paid["transaction_id"], "qr_code": SEED_URL}
    )
    assert body["is_success"] is True
    assert body["data"]["payment_id"] == paid["payment_id"]


def test_unknown_payment_is_106_not_found(api, click) -> None:
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": "2354512461", "qrcode": SEED_URL}
    )
    assert body["error"]["code"] == 106
    assert body["error"]["data"] == {"reason": "not_found", "payment_id": "2354512461"}
    assert not ProviderExchange.objects.exists()


def test_unpaid_payment_is_106_not_paid(api, click) -> None:
    declined = post_json(api, "/payment/click", {"amount": 500, "qr_code": "99015017123456"})
    assert declined["error"]["code"] == 104
    payment = Payment.objects.get()
    body = post_json(
        api,
        "/payment/click_confirm",
        {"payment_id": str(payment.transaction_id), "qrcode": SEED_URL},
    )
    assert body["error"]["data"] == {"reason": "not_paid", "status": "failed"}
    assert submits(click) == 0


def test_refused_submission_is_104_and_can_be_sent_again(api, click, paid) -> None:
    # CLICK refuses the receipt while the payment is reversed at its side.
    click.payments[int(paid["payment_id"])].status = -2
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": SEED_URL}
    )
    assert body["error"]["code"] == 104
    assert body["error"]["data"] == {"provider": "click", "code": -1, "note": "Платёж не оплачен"}
    payment = Payment.objects.get()
    assert payment.fiscal_status == FiscalStatus.FAILED
    assert payment.fiscal_error == "Платёж не оплачен"

    click.payments[int(paid["payment_id"])].status = 2
    again = post_json(
        api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": SEED_URL}
    )
    assert again["is_success"] is True
    assert Payment.objects.get().fiscal_status == FiscalStatus.SUBMITTED


def test_status_of_an_unknown_transaction_is_106(api) -> None:
    for reference in ("ee000d20-b260-4b17-995a-a7bd113bdb22", "not-a-uuid"):
        body = json.loads(api.get(f"/payment/status/{reference}").content)
        assert body["error"] == {
            "code": 106,
            "message": "PAYMENT_ERROR",
            "data": {"reason": "not_found", "transaction_id": reference},
        }


def test_status_of_an_unknown_outcome_says_unknown(api, click) -> None:
    first = post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})
    transaction_id = first["error"]["data"]["transaction_id"]
    body = json.loads(api.get(f"/payment/status/{transaction_id}").content)
    assert body["data"]["status"] == PaymentStatus.UNKNOWN
    assert body["data"]["payment_id"] == ""
