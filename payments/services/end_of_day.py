"""The end of a terminal's day: close its shift, and what we recorded of that shift."""

from dataclasses import dataclass

from payments.errors import ApplicationError
from payments.selectors import count_and_sum, shift_operations
from payments.services.transitions import journal, record_late_answers
from pinpad.slips import ShiftTotals
from providers import registry
from providers.base import Outcome


@dataclass(frozen=True)
class DayClosed:
    report: str  # the terminal's report, as printed


def close_day(provider: str) -> DayClosed:
    """Close the provider's day. A day that does not close is the same refusal the
    register hears for a payment the terminal could not take (code 108)."""
    gateway = registry.gateway(provider)
    result = gateway.close_day(gateway.account())
    journal(None, result.exchanges)
    record_late_answers(result)
    if result.outcome is not Outcome.SUCCESS:
        code = None if result.code is None else str(result.code)
        raise ApplicationError.pinpad(code, result.provider_status, result.slip_text)
    return DayClosed(report=result.slip_text)


def shift_totals(provider: str) -> ShiftTotals:
    """Our own totals of the provider's current shift: what we recorded as approved since
    its last successful end of day."""
    purchases, reversals = shift_operations(provider)
    purchase_count, purchase_amount = count_and_sum(purchases)
    reversal_count, reversal_amount = count_and_sum(reversals)
    return ShiftTotals(
        purchases=purchase_count,
        purchase_amount=purchase_amount,
        cancels=reversal_count,
        cancel_amount=reversal_amount,
    )
