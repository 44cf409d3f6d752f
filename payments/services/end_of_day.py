"""The end of a terminal's day: close its shift, and what we recorded of exactly that shift;
the shift's report so far; and the last slip and report again, from our records."""

import time
from dataclasses import dataclass
from datetime import datetime

from payments.errors import ApplicationError
from payments.models import Payment, Register
from payments.selectors import (
    count_and_sum,
    last_day_closed,
    latest_day_report,
    latest_slip,
    shift_operations,
    shift_still_recording,
)
from payments.services import accounts
from payments.store import journal, record_late_answers
from providers import registry
from providers.base import GatewayResult, Outcome

# How long to wait for operations that went through the terminal before the close but are
# still being written (their answer came a moment before the close took the line).
RECORDING_WAIT = 5.0


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
    ours: DayTotals  # what we recorded of the very shift it closed


def close_day(provider: str, register: Register) -> DayClosed:
    """Close the day of the register's terminal, then count ours for the shift it closed:
    the operations that took the line after the previous end of day and before this one. A
    day that does not close is the same refusal the register hears for a payment the
    terminal could not take (code 108)."""
    gateway = registry.GATEWAYS[provider]
    result = _printed(gateway.close_day(accounts.device_of(register.pk, provider)), register)
    closed_at = result.exchanges[-1].started_at if result.exchanges else None
    ours = shift_totals(provider, register, until=closed_at)
    printed = (result.raw or {}).get("totals")
    return DayClosed(
        report=result.slip_text, totals=DayTotals(**printed) if printed else None, ours=ours
    )


def shift_report(provider: str, register: Register) -> str:
    """The register's terminal prints its shift's totals so far (the shift stays open); the
    report. Refused as a payment the terminal could not take is (code 108)."""
    gateway = registry.GATEWAYS[provider]
    result = gateway.shift_report(accounts.device_of(register.pk, provider))
    return _printed(result, register).slip_text


def _printed(result: GatewayResult, register: Register) -> GatewayResult:
    """A report the terminal was asked for: journaled as the register's, answers that came
    with it settling earlier operations; refused (108) unless printed."""
    journal(None, result.exchanges, register=register)
    record_late_answers(result)
    if result.outcome is not Outcome.SUCCESS:
        code = None if result.code is None else str(result.code)
        raise ApplicationError.pinpad(code, result.provider_status, result.slip_text)
    return result


def last_slip(provider: str, register: Register) -> Payment:
    """The register's last operation at the provider that printed a slip (a purchase or a
    refund, approved or not): what a paper jam took. None recorded: 106 not_found."""
    printed = latest_slip(provider, register)
    if printed is None:
        raise ApplicationError.conflict("not_found")
    return printed


def last_day_report(provider: str, register: Register) -> str:
    """The register's last end-of-day report at the provider, as printed. None recorded:
    106 not_found."""
    report = latest_day_report(provider, register)
    if report is None:
        raise ApplicationError.conflict("not_found")
    return report


def shift_totals(provider: str, register: Register, *, until: datetime | None = None) -> DayTotals:
    """Our own totals of the register's shift at the provider that ends at `until` (None:
    the shift open now): what we recorded as approved since the end of day before it."""
    since = last_day_closed(provider, register, before=until)
    if until is not None:
        deadline = time.monotonic() + RECORDING_WAIT
        while shift_still_recording(provider, register, since=since, until=until):
            if time.monotonic() > deadline:
                break  # a request that died mid-way: the totals will say so
            time.sleep(0.1)
    purchases, reversals = shift_operations(provider, register, since=since, until=until)
    return DayTotals(*count_and_sum(purchases), *count_and_sum(reversals))
