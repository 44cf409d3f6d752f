"""The end of a terminal's day: close its shift, and what we recorded of that shift."""

from dataclasses import dataclass

from payments.errors import ApplicationError
from payments.selectors import count_and_sum, shift_operations
from payments.services.transitions import journal, record_late_answers
from providers import registry
from providers.base import Outcome


@dataclass(frozen=True)
class DayTotals:
    """Approved purchases and reversals of a day: how many, and their sums in tiyin."""

    purchases: int
    purchase_amount: int
    reversals: int
    reversal_amount: int


@dataclass(frozen=True)
class DayClosed:
    report: str  # the terminal's report, as printed
    totals: DayTotals | None  # what the report says, when it can be read


def close_day(provider: str) -> DayClosed:
    """Close the provider's day. A day that does not close is the same refusal the
    register hears for a payment the terminal could not take (code 108)."""
    gateway = registry.GATEWAYS[provider]
    result = gateway.close_day(gateway.account())
    journal(None, result.exchanges)
    record_late_answers(result)
    if result.outcome is not Outcome.SUCCESS:
        code = None if result.code is None else str(result.code)
        raise ApplicationError.pinpad(code, result.provider_status, result.slip_text)
    printed = (result.raw or {}).get("totals")
    return DayClosed(report=result.slip_text, totals=DayTotals(**printed) if printed else None)


def shift_totals(provider: str) -> DayTotals:
    """Our own totals of the provider's current shift: what we recorded as approved since
    its last successful end of day."""
    purchases, reversals = shift_operations(provider)
    purchase_count, purchase_amount = count_and_sum(purchases)
    reversal_count, reversal_amount = count_and_sum(reversals)
    return DayTotals(purchase_count, purchase_amount, reversal_count, reversal_amount)
