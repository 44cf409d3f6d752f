"""POST /payment/uzum through the Uzum emulator over real HTTP: every outcome, and a lost
answer settled by `reconcile` sending the identical request again, never charging twice."""

import itertools
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from payments.models import FiscalStatus, Payment, PaymentStatus, ProviderExchange
from tests.helpers import CHARGE_QUERIES, closed_port, post_json

pytestmark = pytest.mark.django_db

# A Fast Pay code as the Uzum app shows it (the shape of the one dev.fbox.uz prints).
REAL_LOOKING = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="
_serial = itertools.count(1)


def code(scenario: str = "7700", argument: str = "") -> str:
    """A new code of 40 characters; its first four pick the emulator's behaviour."""
    return f"{scenario}{argument}:{next(_serial):06d}:".ljust(40, "K")


def charge(api, qr_code: str, amount: int = 500) -> dict:
    return post_json(api, "/payment/uzum", {"amount": amount, "qr_code": qr_code})


def operations(payment: Payment) -> list[str]:
    return list(payment.exchanges.values_list("operation", flat=True))


def reconcile() -> int:
    """What the timer runs, once Uzum's 50 s window on the first request has shut: its exit
    code (2: a payment needs a person)."""
    Payment.objects.update(created_at=timezone.now() - timedelta(minutes=3))
    try:
        call_command("reconcile", stdout=StringIO(), stderr=StringIO())
    except CommandError as exc:
        return exc.returncode
    return 0


def test_a_scanned_code_is_paid(api, uzum) -> None:
    body = charge(api, REAL_LOOKING)
    payment = Payment.objects.get()
    assert body == {
        "data": {
            "payment_id": payment.provider_payment_id,
            "payment_status": "SUCCESS",
            "error_code": "0",
            "error_message": None,
            "client_phone_number": "998901112233",
            "transaction_id": str(payment.transaction_id),
        },
        "error": None,
        "is_success": True,
    }
    assert payment.status == PaymentStatus.PAID
    assert payment.fiscal_status == FiscalStatus.PENDING
    assert uzum.payments[payment.provider_payment_id].otp_data == REAL_LOOKING
    assert uzum.stats()["charges_by_code"] == {REAL_LOOKING: 1}
    exchange = ProviderExchange.objects.get()
    # Tiyin as Uzum counts them; one id of ours as the order and the transaction.
    assert exchange.request_body == {
        "amount": 500,
        "cashbox_code": payment.register.cashbox_code,
        "otp_data": REAL_LOOKING,
        "order_id": str(payment.transaction_id),
        "transaction_id": str(payment.transaction_id),
        "service_id": 4012,
    }
    assert exchange.request_headers["Authorization"] == "[redacted]"


def test_trailing_slash_form_is_served_without_redirect(api, uzum) -> None:
    response = api.post("/payment/uzum/", {"amount": 500, "qr_code": code()}, format="json")
    assert response.status_code == 200
    assert response.json()["is_success"] is True


@pytest.mark.parametrize(
    ("qr_code", "message"),
    [
        ("880101698207133392", "Ensure this field has at least 40 characters."),
        ("7" * 129, "Ensure this field has no more than 128 characters."),
        ("7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:Ωß", "Enter only printable ASCII characters."),
        (
            "7993:5061401:01KFDH7KB4KNBJD8QRVFBV\t39X:3sySIUx",
            "Enter only printable ASCII characters.",
        ),
        ("", "This field may not be blank."),
    ],
)
def test_a_code_that_cannot_be_uzums_is_refused_before_anything(
    api, uzum, qr_code: str, message: str
) -> None:
    body = charge(api, qr_code)
    assert body["error"]["code"] == 7
    assert body["error"]["message"] == f'{{"qr_code":["{message}"]}}'
    assert Payment.objects.count() == 0
    assert uzum.stats()["requests"] == []


@pytest.mark.parametrize(
    ("scenario", "uzum_code", "key"),
    [
        ("9901", 400, "operation.failed"),
        ("9902", 416, "apelsin.pay.safe.mode.on"),
        ("9903", 400, "apelsin.pay.user.otp.data.expired"),
        ("9912", 503, "apelsin.pay.service.not.working"),
        ("9915", 400, "limit.was.set"),
    ],
)
def test_a_decline_is_104_with_uzums_code_and_key(api, uzum, scenario, uzum_code, key) -> None:
    body = charge(api, code(scenario))
    assert body["error"] == {
        "code": 104,
        "message": "BILLING_ERROR",
        "data": {"provider": "uzum", "code": uzum_code, "note": key},
    }
    assert Payment.objects.get().status == PaymentStatus.FAILED
    assert uzum.stats()["charges"] == 0


def test_in_process_then_paid_polls_its_status(api, uzum) -> None:
    body = charge(api, code("9909", "2"))
    assert body["is_success"] is True
    payment = Payment.objects.get()
    assert operations(payment) == ["v2/payment", "payment/status", "payment/status"]
    assert uzum.stats()["charges"] == 1


def test_in_process_then_failed_is_104(api, uzum) -> None:
    body = charge(api, code("9911", "1"))
    # Uzum's status says FAILED with error_code 0 and no key: the status is the note.
    assert body["error"]["data"] == {"provider": "uzum", "code": 0, "note": "FAILED"}
    payment = Payment.objects.get()
    assert (payment.status, payment.provider_status) == (PaymentStatus.FAILED, "FAILED")
    assert uzum.stats()["charges"] == 0


def test_still_in_process_after_the_window_is_110(api, uzum, settings) -> None:
    settings.UZUM_STATUS_POLL_ATTEMPTS = 2
    body = charge(api, code("9909", "5"))
    payment = Payment.objects.get()
    assert body["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    assert payment.is_open
    assert operations(payment).count("payment/status") == 2


@pytest.mark.parametrize("scenario", ["9906", "9907", "9913"])
def test_charged_but_answer_lost_is_110_then_found_by_the_identical_repeat(
    api, uzum, scenario: str
) -> None:
    scanned = code(scenario)
    body = charge(api, scanned)
    payment = Payment.objects.get()
    assert body["error"]["code"] == 110
    assert body["error"]["data"] == {"transaction_id": str(payment.transaction_id)}
    # Uzum cannot be asked by our id, and its window for the first request is still open:
    # nothing more is sent in the register's request.
    assert operations(payment) == ["v2/payment"]

    assert reconcile() == 0
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_payment_id == next(iter(uzum.payments))
    assert operations(payment) == ["v2/payment", "v2/payment", "payment/status"]
    first, repeat = payment.exchanges.filter(operation="v2/payment")
    assert repeat.request_body == first.request_body  # the identical request
    assert uzum.stats()["charge_requests"] == 2
    assert uzum.stats()["charges_by_code"] == {scanned: 1}


@pytest.mark.parametrize("scenario", ["9904", "9905", "9908"])
def test_no_answer_and_nothing_charged_is_110_then_settled_by_the_repeat(
    api, uzum, scenario: str
) -> None:
    scanned = code(scenario)
    body = charge(api, scanned)
    payment = Payment.objects.get()
    assert body["error"]["code"] == 110
    assert payment.status == PaymentStatus.UNKNOWN
    assert uzum.stats()["charges"] == 0
    # The repeat meets the same fault (the code scripts it): still open, still uncharged.
    assert reconcile() == 2
    payment.refresh_from_db()
    assert payment.is_open
    assert payment.needs_attention
    assert uzum.stats()["charges"] == 0
    assert uzum.stats()["charge_requests"] == 2


def test_in_process_without_an_id_is_found_by_the_repeat(api, uzum) -> None:
    body = charge(api, code("9910", "1"))
    assert body["error"]["code"] == 110
    assert reconcile() == 0
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PAID
    assert uzum.stats()["charges"] == 1


def test_a_duplicate_refusal_on_the_repeat_goes_to_a_person_with_the_reason(api, uzum) -> None:
    uzum.duplicate_answer = "key"  # Uzum names no payment: only its cabinet knows
    body = charge(api, code("9907"))
    assert body["error"]["code"] == 110
    assert reconcile() == 2
    payment = Payment.objects.get()
    assert payment.is_open
    assert payment.needs_attention
    assert "the first charge ran" in payment.provider_message
    assert uzum.stats()["charges"] == 1  # and never a second


def test_a_decline_of_the_repeat_fails_it_for_a_person_to_confirm(api, uzum, uzum_server) -> None:
    uzum_server.faults.inject("v2/payment", "timeout_before")  # the first never ran
    assert charge(api, code("9901"))["error"]["code"] == 110
    assert reconcile() == 2
    payment = Payment.objects.get()
    assert (payment.status, payment.needs_attention) == (PaymentStatus.FAILED, True)
    assert payment.provider_message.startswith("operation.failed: Uzum declined the repeat")
    assert uzum.stats()["charges"] == 0


def test_credentials_refused_on_the_repeat_say_nothing(api, uzum, uzum_server, settings) -> None:
    uzum_server.faults.inject("v2/payment", "timeout_after")  # the first ran
    assert charge(api, code())["error"]["code"] == 110
    settings.PROVIDER_SECRETS = {**settings.PROVIDER_SECRETS, "PROVIDER_SECRET_UZUM": "rotated"}
    assert reconcile() == 2
    payment = Payment.objects.get()
    assert payment.is_open  # never failed: the money moved
    assert payment.provider_code == "401"
    assert uzum.stats()["charges"] == 1


def test_unreachable_uzum_fails_without_charging(api, uzum, settings) -> None:
    settings.UZUM_BASE_URL = f"http://127.0.0.1:{closed_port()}/api/apelsin-pay/merchant/"
    body = charge(api, code())
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["code"] is None
    assert "unreachable" in body["error"]["data"]["note"]
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_same_code_twice_charges_once_and_answers_the_same(api, uzum) -> None:
    scanned = code()
    first = charge(api, scanned)
    assert charge(api, scanned) == first
    assert Payment.objects.count() == 1
    assert uzum.stats()["charge_requests"] == 1


def test_same_code_with_another_amount_is_106(api, uzum) -> None:
    scanned = code()
    first = charge(api, scanned)
    body = charge(api, scanned, amount=600)
    assert body["error"]["data"] == {
        "reason": "qr_code_reused",
        "transaction_id": first["data"]["transaction_id"],
    }
    assert uzum.stats()["charge_requests"] == 1


def test_wrong_credentials_are_104_and_nothing_is_charged(api, uzum, settings) -> None:
    settings.PROVIDER_SECRETS = {**settings.PROVIDER_SECRETS, "PROVIDER_SECRET_UZUM": "wrong"}
    body = charge(api, code())
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["note"] == "apelsin.pay.authorization.error"
    assert uzum.stats()["charges"] == 0


def test_an_uzum_charge_runs_as_many_queries_as_the_others(
    api, uzum, django_assert_num_queries
) -> None:
    charge(api, code("9904"))  # warm: the key's last use, the register and its accounts
    # The same path as CLICK's (test_click_charge).
    with django_assert_num_queries(CHARGE_QUERIES[connection.vendor]):
        body = charge(api, code())
    assert body["is_success"] is True
