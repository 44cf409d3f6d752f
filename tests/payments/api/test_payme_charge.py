"""POST /payment/payme through the Payme emulator over real HTTP: every outcome."""

import pytest
from django.db import connection

from payments.models import FiscalStatus, Payment, PaymentStatus, ProviderExchange
from providers.base import GatewayResult, PaymentData
from providers.payme import gateway as payme_gateway
from tests.helpers import CHARGE_QUERIES, closed_port, post_json

pytestmark = pytest.mark.django_db

SEED_CODE = "50501010793410803298"


def charge(api, qr_code: str, amount: int = 500) -> dict:
    return post_json(api, "/payment/payme", {"amount": amount, "qr_code": qr_code})


def operations() -> list[str]:
    return list(ProviderExchange.objects.values_list("operation", flat=True))


def receipt_state(payme, payment: Payment) -> int:
    return payme.receipts[payment.provider_payment_id].state


def test_seed_request_is_paid(api, payme) -> None:
    body = charge(api, SEED_CODE)
    payment = Payment.objects.get()
    assert body == {
        "data": {
            "amount": 500,
            "transaction_id": str(payment.transaction_id),
            "payment_id": payment.provider_payment_id,
            "inn": "000000000",
            "qr_code": SEED_CODE,
            "kkm_id": "00000001",
            "device_id": "00000001",
            "status": "successfully",
            "message": "successfully payment",
            "client_phone_number": "998901234567",
        },
        "error": None,
        "is_success": True,
    }
    assert len(payment.provider_payment_id) == 24
    assert payment.status == PaymentStatus.PAID
    assert payment.fiscal_status == FiscalStatus.PENDING
    assert payment.masked_card == "860006******6311"
    assert operations() == ["receipts.create", "receipts.pay"]
    create, pay = ProviderExchange.objects.all()
    # Tiyin unchanged; our transaction id travels as the document number.
    assert create.request_body["params"] == {
        "amount": 500,
        "account": {
            "kkm_id": "00000001",
            "device_id": "00000001",
            "document": str(payment.transaction_id),
        },
    }
    assert pay.request_body["params"] == {"id": payment.provider_payment_id, "token": SEED_CODE}
    assert payme.stats()["charges_by_code"] == {SEED_CODE: 1}


def test_receipt_id_is_committed_before_the_pay_call(api, payme, monkeypatch) -> None:
    seen = []
    real_charge = payme_gateway.GATEWAY.charge

    def spying_charge(payment: PaymentData) -> GatewayResult:
        stored = Payment.objects.get(transaction_id=payment.transaction_id)
        seen.append(stored.provider_payment_id)
        return real_charge(payment)

    monkeypatch.setattr(payme_gateway.GATEWAY, "charge", spying_charge)
    charge(api, SEED_CODE)
    assert seen == [Payment.objects.get().provider_payment_id]
    assert seen[0]


def test_account_fields_are_configurable(api, payme, settings) -> None:
    settings.PAYME_ACCOUNT = {"order_id": "REG-{cashbox_code}-{transaction_id}"}
    charge(api, SEED_CODE)
    payment = Payment.objects.get()
    sent = ProviderExchange.objects.first().request_body["params"]["account"]
    assert sent == {"order_id": f"REG-POS-01-{payment.transaction_id}"}


def test_decline_is_104_with_paymes_code_and_russian_text(api, payme) -> None:
    body = charge(api, "980131630123")
    payment = Payment.objects.get()
    assert body["error"] == {
        "code": 104,
        "message": "BILLING_ERROR",
        "data": {"provider": "payme", "code": -31630, "note": "Отказ в оплате"},
    }
    assert payment.status == PaymentStatus.FAILED
    # The receipt is cancelled so that no late pay can land on it.
    assert operations() == ["receipts.create", "receipts.pay", "receipts.cancel"]
    assert receipt_state(payme, payment) == 50
    # The journal keeps Payme's raw error, all three languages.
    pay = ProviderExchange.objects.get(operation="receipts.pay")
    assert '"en": "Payment declined"' in pay.response_body
    assert payme.stats()["charges"] == 0


def test_wrong_credentials_are_104_with_a_plain_string_message(api, payme, settings) -> None:
    settings.PAYME_KEY = "WRONG"
    body = charge(api, SEED_CODE)
    assert body["error"]["data"] == {
        "provider": "payme",
        "code": -32504,
        "note": "Недостаточно привилегий",
    }
    assert operations() == ["receipts.create"]
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_amount_below_the_cashbox_minimum_is_refused_at_create(api, payme) -> None:
    body = charge(api, SEED_CODE, amount=99)
    assert body["error"]["data"]["code"] == -31611
    assert operations() == ["receipts.create"]
    assert payme.stats()["receipts"] == 0


def test_a_lost_create_answer_finds_the_receipt_by_our_transaction_id(api, payme) -> None:
    body = charge(api, SEED_CODE, amount=10404)  # the emulator makes it, the answer is lost
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert operations() == ["receipts.create", "receipts.get_all", "receipts.pay"]
    assert payme.stats()["receipts"] == 1
    assert payme.receipts[payment.provider_payment_id].state == 4


def test_a_create_that_made_nothing_is_tried_once_more_then_fails(api, payme) -> None:
    body = charge(api, SEED_CODE, amount=10505)  # HTTP 500, nothing made
    assert body["error"]["code"] == 104
    assert "receipts.create" in body["error"]["data"]["note"]
    assert operations() == ["receipts.create", "receipts.get_all", "receipts.create"]
    assert payme.stats()["receipts"] == 0
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_without_our_id_in_the_account_a_lost_receipt_is_not_searched(
    api,
    payme,
    settings,
) -> None:
    settings.PAYME_ACCOUNT = {"kkm_id": "{kkm_id}"}
    body = charge(api, SEED_CODE, amount=10505)
    assert body["error"]["code"] == 104
    assert operations() == ["receipts.create", "receipts.create"]


def test_debiting_then_paid_polls_receipts_check(api, payme) -> None:
    body = charge(api, "98022123456")
    assert body["is_success"] is True
    assert body["data"]["client_phone_number"] == "998901234567"
    # The pay answer already carried the payer, so no receipts.get is needed.
    assert operations() == ["receipts.create", "receipts.pay", "receipts.check", "receipts.check"]


def test_still_debiting_after_the_window_is_110_and_not_cancelled(api, payme) -> None:
    body = charge(api, "98029123456")
    payment = Payment.objects.get()
    assert body["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    assert payment.status == PaymentStatus.PROCESSING
    assert payment.provider_status == "2"
    assert "receipts.cancel" not in operations()


def test_slow_answer_within_the_timeout_is_paid(api, payme) -> None:
    assert charge(api, "980303123456")["is_success"] is True


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("9804123456", "timeout"),
        ("9805123456", "server_error"),
        ("9811123456", "connection_reset"),
        ("980132400123", ""),  # "system error": outcome unknown, not paid
        ("980139999123", ""),  # a code the reference does not list: unknown too
    ],
)
def test_unknown_pay_outcome_not_paid_is_cancelled_after_the_window(
    api,
    payme,
    code: str,
    failure: str,
) -> None:
    body = charge(api, code)
    payment = Payment.objects.get()
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["note"] == (
        "Payme did not take the payment in time; the receipt was cancelled"
    )
    assert payment.status == PaymentStatus.FAILED
    assert receipt_state(payme, payment) == 50
    # pay once, the lookup, three polls, then the cancel: never a second pay.
    assert operations() == ["receipts.create", "receipts.pay"] + ["receipts.check"] * 4 + [
        "receipts.cancel"
    ]
    assert ProviderExchange.objects.get(operation="receipts.pay").error.startswith(failure)
    assert payme.stats()["charges"] == 0


@pytest.mark.parametrize("code", ["9806123456", "9807123456", "9812123456"])
def test_paid_but_answer_lost_or_unreadable_is_found_paid(api, payme, code: str) -> None:
    body = charge(api, code)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert body["data"]["client_phone_number"] == "998901234567"
    assert payment.status == PaymentStatus.PAID
    assert operations() == ["receipts.create", "receipts.pay", "receipts.check", "receipts.get"]
    # One receipt, paid once: recovery never pays again.
    assert payme.stats()["receipts"] == 1
    assert payme.stats()["charges_by_code"] == {code: 1}
    assert payme.stats()["charge_requests"] == 1


def test_stuck_in_state_0_is_cancelled_and_failed(api, payme) -> None:
    body = charge(api, "9808123456")
    payment = Payment.objects.get()
    assert body["error"]["code"] == 104
    assert payment.status == PaymentStatus.FAILED
    assert payment.provider_status == "50"
    assert not payment.needs_attention


def test_state_20_is_unknown_and_flagged_for_an_operator(api, payme) -> None:
    body = charge(api, "9809123456")
    payment = Payment.objects.get()
    assert body["error"]["code"] == 110
    assert payment.status == PaymentStatus.UNKNOWN
    assert payment.needs_attention
    assert payment.provider_status == "20"
    assert "receipts.cancel" not in operations()


def test_cancel_that_finds_a_late_payment_is_recorded_and_flagged(api, payme) -> None:
    body = charge(api, "9810123456")
    payment = Payment.objects.get()
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["note"] == (
        "the payment went through late and is being returned to the customer"
    )
    assert payment.status == PaymentStatus.FAILED
    assert payment.provider_status == "21"
    assert payment.needs_attention
    assert payme.stats()["charges_by_code"] == {"9810123456": 1}
    assert receipt_state(payme, payment) == 21


def test_unreachable_payme_fails_without_charging(api, payme, settings) -> None:
    settings.PAYME_BASE_URL = f"http://127.0.0.1:{closed_port()}/api"
    body = charge(api, SEED_CODE)
    assert body["error"]["code"] == 104
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_same_code_twice_pays_one_receipt(api, payme) -> None:
    first = charge(api, SEED_CODE)
    assert charge(api, SEED_CODE) == first
    assert payme.stats()["receipts"] == 1
    assert payme.stats()["charges_by_code"] == {SEED_CODE: 1}
    assert payme.stats()["charge_requests"] == 1


def test_the_same_code_is_separate_for_each_provider(api, payme, click) -> None:
    assert charge(api, "7700112233")["is_success"] is True
    clicked = api.post("/payment/click", {"amount": 500, "qr_code": "7700112233"}, format="json")
    assert clicked.json()["is_success"] is True
    assert Payment.objects.count() == 2


def test_a_payme_charge_runs_a_bounded_number_of_queries(
    api,
    payme,
    django_assert_num_queries,
) -> None:
    charge(api, "50501000001")  # warm, as for CLICK
    # As for CLICK, plus the receipt: the guarded write of its id with its journal row
    # (savepoint, update, journal row, release; on PostgreSQL the update and the row are one
    # statement). The register whose INN and KKM id the answer carries is the one the key's
    # lookup read.
    receipt = {"postgresql": 3, "sqlite": 4}[connection.vendor]
    with django_assert_num_queries(CHARGE_QUERIES[connection.vendor] + receipt):
        assert charge(api, SEED_CODE)["is_success"] is True


NOT_CHARGED = [-32500, -31300, -31301, -31303, -31400, -31602, -31610, -31611, -31612, -31630]
NOT_CHARGED += [-31050, -31099]  # account fields
CONFIGURATION = [-32300, -32700, -32600, -32601, -32602, -32504, -31601]
OUTCOME_UNKNOWN = [-32400, -31001, -31002, -31302, -31622, -31623, -31234]


@pytest.mark.parametrize("code", NOT_CHARGED + CONFIGURATION)
def test_every_not_charged_error_class_is_104_at_once(api, payme, code: int) -> None:
    body = charge(api, f"9801{-code}001")
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["code"] == code
    assert operations() == ["receipts.create", "receipts.pay", "receipts.cancel"]


@pytest.mark.parametrize("code", OUTCOME_UNKNOWN)
def test_every_unknown_outcome_error_goes_to_recovery(api, payme, code: int) -> None:
    body = charge(api, f"9801{-code}001")
    assert body["error"]["code"] == 104
    assert operations()[2:] == ["receipts.check"] * 4 + ["receipts.cancel"]
    assert Payment.objects.get().provider_status == "50"
