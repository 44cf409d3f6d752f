"""Settling what requests left open, and checking paid payments against the providers.

Provider lookups run in a bounded pool of threads that never touch the database
(`payments.services.asking`); every write happens in the calling thread through the store,
a batch of answers per transaction: the final ones written together (one guarded statement
on PostgreSQL), the rest one at a time, each decided by `payments.states` on the row as it is.
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from payments import states
from payments.errors import ApplicationError
from payments.models import OPEN_STATUSES, Operation, Payment, PaymentStatus
from payments.reasons import Code, Reason, because
from payments.selectors import has_later_operation, made_before
from payments.services.asking import Askers
from payments.services.charging import gateway_input
from payments.states import CHECK_STATUS
from payments.store import (
    Change,
    IllegalTransitionError,
    change_payment,
    journal,
    record_result,
    result_change,
    settled_meanwhile,
    write,
)
from providers import registry, sayings
from providers.base import Exchange, GatewayResult, Outcome, PaymentData

logger = logging.getLogger(__name__)

WRITE_BATCH = 200  # answers written per transaction
NO_SUCH_PAYMENT = Code.NO_SUCH_PAYMENT  # the reason's code
ACTOR = "reconcile"


@dataclass(frozen=True)
class Settled:
    transaction_id: str
    provider: str
    before: str
    after: str
    needs_attention: bool
    note: str = ""


@dataclass(frozen=True)
class Planned:
    """A change that an answer makes on its own, written with its batch's others."""

    change: Change
    note: str  # what the summary says of it
    reports_flag: bool = True  # whether a flag left on the payment is reported


def settle_open(
    payments: Iterable[Payment],
    *,
    dry_run: bool = False,
    workers: int | None = None,
    progress: Callable[[], None] = lambda: None,
) -> list[Settled]:
    """Ask the provider about each open payment and record what it says (`workers`
    lookups at once: see `payments.services.asking`)."""

    def apply(payment: Payment, result: GatewayResult | str | None) -> Settled:
        before = payment.status
        if result is None:
            # Never sent: the process stopped before the provider was called.
            never = because(Code.NEVER_SENT)
            return _change(
                payment, PaymentStatus.FAILED, never, "never sent to the provider", dry_run
            )
        if isinstance(result, str):  # it could not be asked, and says why
            return _flag(payment, result, before, dry_run)
        if result.latest_reference is not None and (
            result.latest_reference == "" or made_before(result.latest_reference, payment)
        ):
            # The provider's latest operation is an earlier one of ours (or it has none):
            # this one never reached it.
            note = "never reached the provider: its latest operation is an earlier one"
            why = because(Code.NEVER_REACHED_PROVIDER)
            return _change(payment, PaymentStatus.FAILED, why, note, dry_run, result=result)
        if _absent(result):
            why = because(NO_SUCH_PAYMENT)
            note = "the provider has no such payment"
            return _change(payment, PaymentStatus.FAILED, why, note, dry_run, result=result)
        if dry_run:
            after = _lookup_status(result) or before
            return _settled(payment, before, after, after in OPEN_STATUSES, result.message)
        payment = record_result(payment, result, CHECK_STATUS, reason=Code.RECONCILE, actor=ACTOR)
        if payment.is_open and _giving_back(payment, result):
            # The provider has the refund and is giving the money back (Payme's state 21):
            # nothing for a person; the next run asks again.
            return _settled(payment, before, payment.status, False, result.message)
        if payment.is_open:
            note = result.message or sayings.STILL_OPEN(status=payment.status)
            return _flag(payment, note, before, dry_run)
        return _settled(payment, before, payment.status, payment.needs_attention, result.message)

    def plan(payment: Payment, result: GatewayResult | str | None) -> Planned | None:
        """The change a final answer makes (and what to report of it), to be written with
        the batch's others; None for what takes more than one change (`apply` does it)."""
        if dry_run or not isinstance(result, GatewayResult) or result.late:
            return None
        if result.latest_reference is not None:
            return None
        if _absent(result):
            exchanges = tuple(result.exchanges)
            failed = Change(
                payment, NO_SUCH_PAYMENT, PaymentStatus.FAILED, actor=ACTOR, exchanges=exchanges
            )
            return Planned(failed, "the provider has no such payment", reports_flag=False)
        if not states.is_final(result.outcome):
            return None  # still open after asking: flagged on the way (apply)
        change = result_change(payment, result, CHECK_STATUS, reason=Code.RECONCILE, actor=ACTOR)
        return Planned(change, result.message)

    def ask(data: PaymentData, provider: str) -> GatewayResult:
        gateway = registry.GATEWAYS[provider]
        result = gateway.check(data)
        if result.outcome is Outcome.PENDING and not dry_run:
            result = gateway.settle_after_polling(data, result)  # Payme: cancel a waiting receipt
        return result

    def to_ask(payment: Payment) -> PaymentData | str | None:
        if payment.status == PaymentStatus.CREATED:
            return None
        if registry.GATEWAYS[payment.provider].knows_only_latest and has_later_operation(payment):
            # The provider can speak only of its latest operation, and that is not this one.
            return "a later operation hides it: check the provider's own journal"
        return gateway_input(payment)

    return _ask_all(
        payments,
        to_ask,
        ask,
        apply,
        dry_run=dry_run,
        workers=workers,
        progress=progress,
        plan=plan,
    )


def check_paid(
    payments: Iterable[Payment],
    *,
    dry_run: bool = False,
    workers: int | None = None,
    progress: Callable[[], None] = lambda: None,
) -> list[Settled]:
    """Ask the provider about each paid payment; one it reversed is marked reversed."""

    def apply(payment: Payment, result: GatewayResult | str | None) -> Settled | None:
        if isinstance(result, str):  # it could not be asked, and says why
            return _flag(payment, result, payment.status, dry_run)
        assert isinstance(result, GatewayResult)  # every other paid payment is asked
        if result.outcome is not Outcome.FAILED:
            if not dry_run:
                journal(payment, result.exchanges)
            return None  # still paid, or no answer: nothing to say
        note = f"reversed at the provider: {result.message}"
        why = because(Code.REVERSED_AT_PROVIDER, message=result.message)
        return _change(
            payment, PaymentStatus.REVERSED, why, note, dry_run, flag=True, result=result
        )

    return _check_each(payments, apply, dry_run=dry_run, workers=workers, progress=progress)


def _check_each(
    payments: Iterable[Payment],
    apply: Callable[[Payment, GatewayResult | str | None], Settled | None],
    **how: Any,
) -> list[Settled]:
    """Ask each payment's provider `check` (read-only) and keep what `apply` reports."""

    def ask(data: PaymentData, provider: str) -> GatewayResult:
        return registry.GATEWAYS[provider].check(data)

    return _ask_all(payments, gateway_input, ask, apply, **how)


def _giving_back(payment: Payment, result: GatewayResult) -> bool:
    return payment.operation == Operation.REVERSAL and result.outcome is Outcome.PENDING


def _absent(result: GatewayResult) -> bool:
    """The provider's trusted word that it has no such payment (states' rule)."""
    trusted = settings.RECONCILE_NOT_FOUND_IS_FAILED
    return states.is_trusted_absence(
        result.outcome, not_found=result.not_found, absence_trusted=trusted
    )


def _lookup_status(result: GatewayResult) -> str | None:
    trusted = settings.RECONCILE_NOT_FOUND_IS_FAILED
    return states.lookup_status(result.outcome, not_found=result.not_found, absence_trusted=trusted)


# --- the parallel part -------------------------------------------------------------------


def _ask_all(
    payments: Iterable[Payment],
    to_ask: Callable[[Payment], PaymentData | str | None],
    ask: Callable[[PaymentData, str], GatewayResult],
    apply: Callable[[Payment, GatewayResult | str | None], Settled | None],
    *,
    dry_run: bool,
    workers: int | None,
    progress: Callable[[], None],
    plan: Callable[[Payment, GatewayResult | str | None], Planned | None] = (
        lambda payment, result: None
    ),
) -> list[Settled]:
    """`to_ask` says, in this thread, what to ask about a payment: its gateway input, or
    why it cannot be asked (a note), or None for nothing to ask; `apply` writes what came
    of it, a batch at a time."""
    settled: list[Settled | None] = []
    answered: list[tuple[Payment, GatewayResult | str | Exception | None]] = []

    def write() -> None:
        # One transaction per batch: on PostgreSQL a commit waits for the disk, and one
        # per payment would make the writing, not the asking, what takes the time. The
        # final answers are written together, one statement for the whole batch; the
        # rest one payment at a time, each in a savepoint of its own: one that fails is
        # flagged, the others go on.
        with transaction.atomic():
            for payment, result in _write_planned(answered, plan, settled, progress):
                try:
                    if isinstance(result, Exception):
                        raise result
                    with transaction.atomic():
                        settled.append(apply(payment, result))
                except Exception as exc:  # one payment's trouble stays that payment's
                    logger.exception("reconcile could not settle %s", payment.transaction_id)
                    # Its savepoint took the journal rows of the lookup with it: kept again.
                    asked = result.exchanges if isinstance(result, GatewayResult) else ()
                    settled.append(_could_not_settle(payment, exc, dry_run, asked))
                progress()
        answered.clear()

    askers: Askers[Payment] = Askers(ask, workers=workers or settings.RECONCILE_WORKERS)
    with askers:
        for payment in payments:
            # Decided here, in the thread that reads the database; workers only ask.
            try:
                data = to_ask(payment)
            except ApplicationError as exc:  # its register's account cannot be used now
                account = (exc.data or {}).get("account", payment.provider)
                data = f"cannot be asked: the account {account!r} is misconfigured"
            if not isinstance(data, PaymentData):
                answered.append((payment, data))
                continue
            askers.submit(payment, data, payment.provider)
        written = time.monotonic()
        for payment, result in askers.answers():
            answered.append((payment, result))
            if len(answered) >= WRITE_BATCH or time.monotonic() - written > 0.5:
                write()
                written = time.monotonic()
        write()
    return [s for s in settled if s is not None]  # a paid payment found still paid: None


def _write_planned(
    answered: list[tuple[Payment, GatewayResult | str | Exception | None]],
    plan: Callable[[Payment, GatewayResult | str | None], Planned | None],
    settled: list[Settled | None],
    progress: Callable[[], None],
) -> list[tuple[Payment, GatewayResult | str | Exception | None]]:
    """Write the planned changes of a batch in one go (`change_payments`); return the
    answers left for the one-at-a-time path. If the batch cannot be written (a provider id
    another payment holds), all of it takes that path, which finds the one at fault."""
    planned, rest = [], []
    for payment, result in answered:
        made = None if isinstance(result, Exception) else plan(payment, result)
        if made is None:
            rest.append((payment, result))
        else:
            planned.append((payment, made))
    if not planned:
        return rest
    try:
        with transaction.atomic():
            outcomes = write([made.change for _, made in planned])
    except Exception:
        logger.warning("a batch of %d answers is written one at a time", len(planned))
        return list(answered)
    for (payment, made), outcome in zip(planned, outcomes, strict=True):
        if isinstance(outcome, IllegalTransitionError):
            now = outcome.payment
            settled.append(_settled(now, payment.status, now.status, False, "settled meanwhile"))
        else:
            flagged = made.reports_flag and outcome.needs_attention
            settled.append(_settled(outcome, payment.status, outcome.status, flagged, made.note))
        progress()
    return rest


def _settled(
    payment: Payment, before: str, after: str, needs_attention: bool, note: str
) -> Settled:
    return Settled(
        str(payment.transaction_id), payment.provider, before, after, needs_attention, note
    )


def _change(
    payment: Payment,
    status: str,
    why: Reason,
    note: str,
    dry_run: bool,
    *,
    flag: bool = False,
    result: GatewayResult | None = None,
) -> Settled:
    before = payment.status
    if dry_run:
        return _settled(payment, before, status, flag, note)
    rows = result.exchanges if result is not None else ()
    fields: dict[str, Any] = {"needs_attention": True} if flag else {}
    try:
        payment = change_payment(
            payment, status=status, reason=why, actor=ACTOR, exchanges=rows, **fields
        )
    except IllegalTransitionError as exc:
        payment = settled_meanwhile(exc)
        return _settled(payment, before, payment.status, False, "settled meanwhile")
    return _settled(payment, before, status, flag, note)


def _could_not_settle(
    payment: Payment, exc: Exception, dry_run: bool, exchanges: Iterable[Exchange]
) -> Settled:
    error = f"{type(exc).__name__}: {exc}"[:200]
    note = f"could not be settled: {error}"
    if not dry_run:
        why = because(Code.COULD_NOT_SETTLE, error=error)
        with transaction.atomic():
            change_payment(
                payment, reason=why, actor=ACTOR, needs_attention=True, exchanges=exchanges
            )
    return _settled(payment, payment.status, payment.status, True, note)


def _flag(payment: Payment, note: str, before: str, dry_run: bool) -> Settled:
    """Still open after asking: it needs attention."""
    if not dry_run and not payment.needs_attention:
        flagged = because(Code.FLAGGED, note=note)
        payment = change_payment(payment, reason=flagged, actor=ACTOR, needs_attention=True)
    return _settled(payment, before, payment.status, True, note)
