"""POST /payment/xumo and GET /payment/xumo_close against the PIN-pad emulator on a pty."""

import json

import pytest

from payments.models import Operation, Payment, PaymentStatus, ProviderExchange
from pinpad.transport import line_lock
from tests.factories import pinpad_account
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def xumo(api, **body) -> dict:
    return post_json(api, "/payment/xumo", body)


def test_seed_purchase_returns_the_slip_and_the_rrn(api, pinpad) -> None:
    body = xumo(api, amount=50000)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert body["data"] == {
        "message": payment.slip_text,
        "ppt_id": payment.provider_payment_id,
        "transaction_id": str(payment.transaction_id),
    }
    assert "ОДОБРЕНО" in body["data"]["message"]
    assert f"RRN:{body['data']['ppt_id']}" in body["data"]["message"]
    assert payment.status == PaymentStatus.PAID
    assert payment.provider_code == "000"
    assert payment.masked_card == "986009******7856"
    assert payment.auth_code.isdigit()
    assert payment.terminal_id == "01000002"
    assert payment.fiscal_status == "not_required"
    # The request on the line carries our transaction id, so answers can be matched.
    assert pinpad.requests == [("0", 50000, payment.transaction_id.hex)]


def test_every_exchange_on_the_line_is_journaled(api, pinpad) -> None:
    xumo(api, amount=50906)  # answer lost, then last_transaction
    payment = Payment.objects.get()
    rows = list(ProviderExchange.objects.filter(payment=payment))
    assert [r.operation for r in rows] == ["purchase", "last_transaction"]
    assert rows[0].error.startswith("Silence")
    assert rows[0].request_body["order_id"] == payment.transaction_id.hex
    logged = json.loads(rows[1].response_body)
    assert logged["answer"]["order_id"] == payment.transaction_id.hex
    assert logged["trace"][:2] == [">ENQ", "<ACK"]


def test_cancel_by_rrn_returns_a_cancel_slip_and_reverses_the_purchase(api, pinpad) -> None:
    rrn = xumo(api, amount=50000)["data"]["ppt_id"]
    body = xumo(api, amount=50000, request_id=rrn, is_return=True)
    purchase = Payment.objects.get(operation=Operation.PURCHASE)
    cancel = Payment.objects.get(operation=Operation.REVERSAL)
    assert body["is_success"] is True
    assert "Отмена (CANCEL)" in body["data"]["message"]
    assert f"RRN(ссылка) :{rrn}" in body["data"]["message"]
    assert body["data"]["ppt_id"] == cancel.provider_payment_id != rrn
    assert cancel.reverses == purchase
    assert cancel.status == PaymentStatus.PAID
    assert cancel.provider_code == "400"
    assert purchase.status == PaymentStatus.REVERSED
    status = json.loads(api.get(f"/payment/status/{purchase.transaction_id}").content)
    assert status["data"]["status"] == "reversed"


@pytest.mark.parametrize(
    ("setup", "request_id", "amount", "reason"),
    [
        ("none", "600000000000", 50000, "not_found"),
        ("paid", None, 50001, "amount_exceeds_purchase"),
        ("reversed", None, 50000, "already_reversed"),
    ],
)
def test_cancel_conflicts_are_106_without_touching_the_line(
    api,
    pinpad,
    setup,
    request_id,
    amount,
    reason,
) -> None:
    if setup != "none":
        request_id = xumo(api, amount=50000)["data"]["ppt_id"]
    if setup == "reversed":
        xumo(api, amount=50000, request_id=request_id, is_return=True)
    on_line = len(pinpad.requests)
    body = xumo(api, amount=amount, request_id=request_id, is_return=True)
    assert body["error"]["code"] == 106
    assert body["error"]["data"]["reason"] == reason
    assert len(pinpad.requests) == on_line


def test_cancel_refused_by_the_terminal_is_108_and_leaves_the_purchase_paid(api, pinpad) -> None:
    rrn = xumo(api, amount=50000)["data"]["ppt_id"]
    pinpad.transactions[-1].cancelled_amount = 50000  # cancelled at the terminal already
    body = xumo(api, amount=50000, request_id=rrn, is_return=True)
    assert body["error"]["code"] == 108
    assert body["error"]["data"]["host_code"] == "218"
    assert body["error"]["data"]["reason"] == "declined"
    assert "ОТКАЗ" in body["error"]["data"]["slip"]
    assert Payment.objects.get(operation=Operation.PURCHASE).status == PaymentStatus.PAID
    # A refused cancel does not block another attempt.
    assert Payment.objects.get(operation=Operation.REVERSAL).status == PaymentStatus.FAILED


@pytest.mark.parametrize(("amount", "host_code"), [(50116, "116"), (50117, "117"), (50303, "303")])
def test_a_decline_is_108_with_host_code_and_slip(api, pinpad, amount, host_code) -> None:
    body = xumo(api, amount=amount)
    assert body["error"]["code"] == 108
    assert body["error"]["message"] == "XUMO_ERROR"
    assert body["error"]["data"]["host_code"] == host_code
    assert body["error"]["data"]["reason"] == "declined"
    assert "ОТКАЗ" in body["error"]["data"]["slip"]
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_busy_terminal_is_108_busy_and_not_charged(api, pinpad) -> None:
    body = xumo(api, amount=50984)
    assert body["error"]["data"] == {"host_code": "984", "reason": "busy", "slip": None}
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_line_held_by_another_request_is_108_busy(api, pinpad, settings) -> None:
    settings.PINPAD_LOCK_WAIT = 0
    with line_lock(pinpad_account().pinpad().line):
        body = xumo(api, amount=50000)
    assert body["error"]["data"]["reason"] == "busy"
    assert pinpad.requests == []


def test_switched_off_terminal_is_108_unavailable(api, pinpad) -> None:
    pinpad.switched_off = True
    body = xumo(api, amount=50000)
    assert body["error"]["code"] == 108
    assert body["error"]["data"]["reason"] == "unavailable"
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_a_pin_pad_that_is_not_there_is_108_unavailable(api, shop, settings, tmp_path) -> None:
    """The register's own PIN pad account names a line that is not there (unplugged): each
    reopen after its short back-off fails, and the register hears 108 unavailable."""
    settings.PINPAD_REOPEN_BACKOFF = [0.01, 0.01]  # the test's: the deployment's are seconds
    shop.accounts.filter(provider="humo").update(settings={"url": str(tmp_path / "gone")})
    body = xumo(api, amount=50000)
    assert (body["error"]["code"], body["error"]["data"]["reason"]) == (108, "unavailable")
    assert Payment.objects.get().status == PaymentStatus.FAILED  # nothing charged


@pytest.mark.parametrize("amount", [50906, 50911])
def test_lost_answer_settled_by_the_last_transaction(api, pinpad, amount: int) -> None:
    body = xumo(api, amount=amount)
    payment = Payment.objects.get()
    assert body["is_success"] is True
    assert payment.status == PaymentStatus.PAID
    timeline = [(e.from_status, e.to_status) for e in payment.events.all()]
    assert timeline == [("created", "processing"), ("processing", "unknown"), ("unknown", "paid")]


@pytest.mark.parametrize("amount", [50907, 50908, 50910])
def test_lost_answer_not_found_is_110_unknown_and_flagged(api, pinpad, amount: int) -> None:
    xumo(api, amount=50000)  # the terminal's last transaction is this one
    body = xumo(api, amount=amount)
    payment = Payment.objects.order_by("-id").first()
    assert body["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    assert payment.status == PaymentStatus.UNKNOWN  # never "failed"
    assert payment.needs_attention


def test_a_late_answer_settles_its_unknown_payment(api, pinpad) -> None:
    pinpad.slow_seconds = 2.5  # past the answer wait (1.5 s)
    first = xumo(api, amount=50901)
    payment = Payment.objects.get()
    # The late answer arrived while the service asked for the last transaction, or will
    # arrive before the next operation: either way it settles the payment.
    if first["error"] is not None:
        assert first["error"]["code"] == 110
        xumo(api, amount=50000)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"amount": ["This field is required."]}),
        ({"amount": 0}, {"amount": ["Ensure this value is greater than or equal to 1."]}),
        (
            {"amount": 50000, "is_return": True},
            {"request_id": ["This field is required when is_return is true."]},
        ),
        (
            {"amount": 50000, "is_return": True, "request_id": "12345"},
            {"request_id": ["Enter the purchase's 12-digit RRN or its transaction_id."]},
        ),
        ({"amount": 50000, "is_return": "maybe"}, {"is_return": ["Must be a valid boolean."]}),
    ],
)
def test_validation(api, pinpad, body: dict, errors: dict) -> None:
    answer = xumo(api, **body)
    assert answer["error"]["code"] == 7
    assert json.loads(answer["error"]["message"]) == errors
    assert pinpad.requests == []


def test_close_day_report_totals_match_the_shift(api, pinpad) -> None:
    kept = xumo(api, amount=150000)["data"]["ppt_id"]
    xumo(api, amount=25050)
    xumo(api, amount=50116)  # declined
    xumo(api, amount=150000, request_id=kept, is_return=True)
    body = json.loads(api.get("/payment/xumo_close").content)
    assert body["is_success"] is True
    assert body["data"]["ppt_id"] is None
    report = body["data"]["message"].splitlines()
    ours = Payment.objects.filter(status__in=[PaymentStatus.PAID, PaymentStatus.REVERSED])
    purchases = [p.amount for p in ours if p.operation == Operation.PURCHASE]
    cancels = [p.amount for p in ours if p.operation == Operation.REVERSAL]
    assert f"ОПЛАТА{len(purchases):>30}" in report
    assert "СУММА" + f"{sum(purchases) / 100:.2f} UZS".rjust(31) in report
    assert f"ОТМЕНА{len(cancels):>30}" in report
    assert "ИТОГО" + f"{(sum(purchases) - sum(cancels)) / 100:.2f} UZS".rjust(31) in report
    assert ProviderExchange.objects.filter(operation="close_day", payment=None).count() == 1


def test_close_day_without_a_terminal_is_108(api, shop, settings, tmp_path) -> None:
    settings.PINPAD_REOPEN_BACKOFF = [0.01, 0.01]  # the test's: the deployment's are seconds
    shop.accounts.filter(provider="humo").update(settings={"url": str(tmp_path / "gone")})
    body = json.loads(api.get("/payment/xumo_close/").content)
    assert (body["error"]["code"], body["error"]["data"]["reason"]) == (108, "unavailable")
