"""POST /payment/click through the CLICK emulator over real HTTP: every outcome."""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from payments.models import FiscalStatus, Payment, PaymentStatus, ProviderExchange
from tests.helpers import CHARGE_QUERIES, closed_port, post_json

pytestmark = pytest.mark.django_db

SEED_CODE = "880101698207133392"


def charge(api, qr_code: str, amount: int = 500) -> dict:
    return post_json(api, "/payment/click", {"amount": amount, "qr_code": qr_code})


def operations(payment: Payment) -> list[str]:
    return list(payment.exchanges.values_list("operation", flat=True))


def test_seed_request_is_paid(api, click) -> None:
    body = charge(api, SEED_CODE)
    payment = Payment.objects.get()
    assert body == {
        "data": {
            "status_code": 0,
            "status": "successfully",
            "message": "Успешно",
            "transaction_id": str(payment.transaction_id),
            "payment_id": payment.provider_payment_id,
            "amount": 500,
            "qr_code": SEED_CODE,
            "client_phone_number": "998901234567",
        },
        "error": None,
        "is_success": True,
    }
    assert payment.status == PaymentStatus.PAID
    assert payment.fiscal_status == FiscalStatus.PENDING
    assert payment.masked_card == "986011******4410"
    assert click.stats()["charges_by_code"] == {SEED_CODE: 1}
    sent = ProviderExchange.objects.get().request_body
    # 500 tiyin are 5 soum for CLICK; the code is passed exactly as scanned.
    assert sent["amount"] == Decimal("5.00")  # the journal keeps the number as it was sent
    assert sent["otp_data"] == SEED_CODE
    assert sent["transaction_id"] == str(payment.transaction_id)
    assert sent["service_id"] == 40012


def test_trailing_slash_form_is_served_without_redirect(api, click) -> None:
    response = api.post("/payment/click/", {"amount": 500, "qr_code": SEED_CODE}, format="json")
    assert response.status_code == 200
    assert response.json()["is_success"] is True


def test_amount_is_sent_in_soum_with_two_decimals(api, click) -> None:
    charge(api, "7700112233", amount=1234567)
    assert ProviderExchange.objects.get().request_body["amount"] == Decimal("12345.67")
    # On the wire it is a JSON number, written without passing through a float.
    (received,) = click.payments.values()
    assert received.amount == Decimal("12345.67")


def test_decline_is_104_with_clicks_code_and_note(api, click) -> None:
    body = charge(api, "99015017123456")
    assert body["error"] == {
        "code": 104,
        "message": "BILLING_ERROR",
        "data": {"provider": "click", "code": -5017, "note": "Недостаточно средств"},
    }
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    assert payment.provider_code == "-5017"
    assert click.stats()["charges"] == 0


def test_decline_with_payment_id_is_verified_once(api, click) -> None:
    body = charge(api, "99100051123456")
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["code"] == -51
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.FAILED
    assert operations(payment) == ["click_pass/payment", "payment/status"]


def test_decline_whose_status_says_paid_is_paid(api, click) -> None:
    body = charge(api, "9911123456")
    assert body["is_success"] is True
    assert Payment.objects.get().status == PaymentStatus.PAID


def test_processing_then_paid_polls_status(api, click) -> None:
    body = charge(api, "99022123456")
    assert body["is_success"] is True
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PAID
    assert operations(payment) == ["click_pass/payment", "payment/status", "payment/status"]


def test_polling_is_bounded_then_110(api, click, settings) -> None:
    settings.CLICK_STATUS_POLL_ATTEMPTS = 2
    body = charge(api, "99029123456")
    payment = Payment.objects.get()
    assert body["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    assert payment.status == PaymentStatus.PROCESSING
    assert operations(payment).count("payment/status") == 2


def test_confirmation_mode_confirms_then_paid(api, click) -> None:
    body = charge(api, "9909123456")
    assert body["is_success"] is True
    assert body["data"]["message"] == "Успешно подтвержден"
    payment = Payment.objects.get()
    assert operations(payment) == ["click_pass/payment", "click_pass/confirm", "payment/status"]


def test_slow_answer_within_the_timeout_is_paid(api, click) -> None:
    body = charge(api, "990303123456")
    assert body["is_success"] is True


@pytest.mark.parametrize(
    ("code", "failure"),
    [
        ("9904123456", "timeout"),
        ("9905123456", "server_error"),
        ("9908123456", "connection_reset"),
    ],
)
def test_no_answer_and_nothing_charged_stays_unknown_with_110(api, click, code, failure) -> None:
    body = charge(api, code)
    payment = Payment.objects.get()
    assert body["error"]["code"] == 110
    assert body["error"]["data"] == {"transaction_id": str(payment.transaction_id)}
    assert payment.status == PaymentStatus.UNKNOWN
    # One charge attempt, then lookups by our transaction id; never a second charge. Near
    # Tashkent midnight the lookup asks the neighbouring day as well, so the days asked are
    # compared, not a fixed count.
    sent, *lookups = operations(payment)
    assert sent == "click_pass/payment"
    assert set(lookups) == {"payment/status_by_mti"}
    days = [r.rsplit("/", 1)[-1] for r in click.stats()["requests"] if "status_by_mti" in r]
    assert len(days) == len(set(days)) == len(lookups)
    assert timezone.localtime(payment.created_at).date().isoformat() in days
    assert click.stats()["charge_requests"] == 1
    assert payment.exchanges.first().error.startswith(failure)
    assert click.stats()["charges"] == 0


@pytest.mark.parametrize("code", ["9906123456", "9907123456"])
def test_charged_but_answer_unreadable_or_lost_is_found_paid(api, click, code) -> None:
    body = charge(api, code)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert body["data"]["payment_id"] == payment.provider_payment_id != ""
    assert payment.status == PaymentStatus.PAID
    assert operations(payment) == ["click_pass/payment", "payment/status_by_mti"]
    assert click.stats()["charges_by_code"] == {code: 1}
    timeline = [(e.from_status, e.to_status) for e in payment.events.all()]
    assert timeline == [("created", "processing"), ("processing", "unknown"), ("unknown", "paid")]


def test_unreachable_click_fails_without_charging(api, click, settings) -> None:
    settings.CLICK_BASE_URL = f"http://127.0.0.1:{closed_port()}/v2/merchant/"
    body = charge(api, "7700112233")
    assert body["error"]["code"] == 104
    assert body["error"]["data"]["code"] is None
    assert "unreachable" in body["error"]["data"]["note"]
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_same_code_twice_charges_once_and_answers_the_same(api, click) -> None:
    first = charge(api, SEED_CODE)
    second = charge(api, SEED_CODE)
    assert second == first
    assert Payment.objects.count() == 1
    assert click.stats()["charges_by_code"] == {SEED_CODE: 1}
    assert click.stats()["charge_requests"] == 1  # CLICK would refuse a repeat: none is sent
    assert ProviderExchange.objects.count() == 1


def test_same_code_twice_after_a_decline_repeats_the_decline(api, click) -> None:
    first = charge(api, "99015017123456")
    assert charge(api, "99015017123456") == first
    assert click.stats()["requests"] == ["POST click_pass/payment"]


def test_same_code_with_another_amount_is_106(api, click) -> None:
    first = charge(api, SEED_CODE)
    body = charge(api, SEED_CODE, amount=600)
    assert body["error"] == {
        "code": 106,
        "message": "PAYMENT_ERROR",
        "data": {"reason": "qr_code_reused", "transaction_id": first["data"]["transaction_id"]},
    }
    assert click.stats()["charge_requests"] == 1


def test_same_code_while_unknown_is_110_without_a_call(api, click) -> None:
    first = charge(api, "9904123456")
    calls = ProviderExchange.objects.count()
    assert charge(api, "9904123456") == first
    assert ProviderExchange.objects.count() == calls


def test_a_charge_runs_a_bounded_number_of_queries(
    api,
    click,
    django_assert_num_queries,
) -> None:
    # Warm: the key's last use was just written, the register and its accounts were read.
    charge(api, "9904000001")
    # Inside a test every atomic block is a savepoint pair. The register's key (1), the
    # payment born processing with its first event (savepoint, insert, insert, release: 4),
    # the answer (savepoint, the update guarded by what was read, journal row, event,
    # release: 5). PostgreSQL writes each of the two in one statement (3 and 3). The same
    # whatever the number of rows in the tables
    # (tests/payments/services/test_charging_cost.py counts the real transactions).
    with django_assert_num_queries(CHARGE_QUERIES[connection.vendor]):
        body = charge(api, SEED_CODE)
    assert body["is_success"] is True
