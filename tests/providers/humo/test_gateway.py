"""The HUMO gateway over the PIN-pad emulator: the terminal's statuses become the same
outcomes as every provider's, and every exchange on the line comes up with the result."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from providers.base import Operation, Outcome, PaymentData, RegisterInfo
from providers.humo.gateway import GATEWAY as HUMO
from tests.factories import pinpad_account


def purchase(amount: int) -> PaymentData:
    return PaymentData(
        transaction_id=str(uuid.uuid4()),
        amount=amount,
        created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        account=pinpad_account(),
        register=RegisterInfo(inn="1", kkm_id="K", device_id="D", cashbox_code="POS"),
    )


def test_an_approval_is_success_with_the_slip_and_the_rrn(pinpad) -> None:
    result = HUMO.charge(purchase(50000))
    assert result.outcome is Outcome.SUCCESS
    assert (result.provider_status, result.code) == ("approved", "000")
    assert len(result.provider_payment_id) == 12
    assert "ОДОБРЕНО" in result.slip_text
    (exchange,) = result.exchanges
    assert (exchange.operation, exchange.method) == ("purchase", "SERIAL")


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [(50116, "declined", "116"), (50984, "busy", "984"), (50912, "unavailable", None)],
)
def test_whatever_charged_nothing_is_failed(pinpad, amount: int, status: str, code: object) -> None:
    result = HUMO.charge(purchase(amount))
    assert (result.outcome, result.provider_status, result.code) == (Outcome.FAILED, status, code)


def test_no_answer_is_unknown_and_the_last_transaction_settles_it(pinpad) -> None:
    payment = purchase(50906)  # approved, the answer never comes
    assert HUMO.charge(payment).outcome is Outcome.UNKNOWN
    found = HUMO.check(payment)
    assert found.outcome is Outcome.SUCCESS
    assert found.exchanges[0].operation == "last_transaction"


def test_a_check_of_an_operation_that_is_not_the_last_names_the_last(pinpad) -> None:
    earlier, later = purchase(50000), purchase(60000)
    HUMO.charge(earlier)
    HUMO.charge(later)
    result = HUMO.check(earlier)
    assert (result.outcome, result.needs_attention) == (Outcome.UNKNOWN, True)
    assert result.latest_reference == later.transaction_id


def test_a_reversal_is_its_own_operation_on_the_purchases_rrn(pinpad) -> None:
    rrn = HUMO.charge(purchase(50000)).provider_payment_id
    reversal = replace(purchase(50000), operation=Operation.REVERSAL, reversed_reference=rrn)
    result = HUMO.reverse(reversal)
    assert (result.outcome, result.code) == (Outcome.SUCCESS, "400")
    assert HUMO.check(reversal).outcome is Outcome.SUCCESS


def test_the_end_of_day_reads_its_totals(pinpad) -> None:
    HUMO.charge(purchase(150000))
    result = HUMO.close_day(pinpad_account())
    assert result.outcome is Outcome.SUCCESS
    assert result.raw == {
        "totals": {"purchases": 1, "purchase_amount": 150000, "reversals": 0, "reversal_amount": 0}
    }


def test_the_last_transaction_counts_only_with_the_same_amount(pinpad) -> None:
    payment = purchase(50000)
    HUMO.charge(payment)
    result = HUMO.check(replace(payment, amount=100))
    assert (result.outcome, result.needs_attention) == (Outcome.UNKNOWN, True)
