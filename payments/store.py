"""The one writer of payments: `start` (a new payment, committed before anyone outside
hears of it) and `write` (changes, one or a batch), each change decided by
`payments.states.decide` and recorded in the payment's timeline, with the journal rows of
the exchanges that brought it in the same statement (on PostgreSQL) or transaction.

Changes are first tried on the rows as their callers read them, in one UPDATE that holds
only for a row nobody wrote since (on PostgreSQL one statement for a whole batch, with its
journal rows and events); a change whose row was written meanwhile is made again under the
row's lock (`select_for_update` inside `transaction.atomic`): read again, decided again and
written. Callers always continue with the rows it returns. Nothing else in the code saves,
creates or updates a payment (tests/test_architecture.py holds it to that).
"""

import contextlib
import copy
import logging
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from payments import metrics, signals, states
from payments.errors import ApplicationError
from payments.models import Payment, PaymentEvent, ProviderExchange, Register, statements
from payments.reasons import Code, Reason, reason_of
from payments.selectors import payment_with_provider_id, unknown_payment
from providers.base import Exchange, GatewayResult, Outcome

logger = logging.getLogger(__name__)

# Fields a change may write besides the two statuses. Identity and amount never change.
WRITABLE_FIELDS = frozenset(
    {
        "provider_payment_id",
        "provider_status",
        "provider_code",
        "provider_message",
        "payer_phone",
        "masked_card",
        "auth_code",
        "terminal_id",
        "slip_text",
        "fiscal_receipt_url",
        "fiscal_error",
        "fiscal_response",
        "fiscal_attempts",
        "fiscal_next_attempt_at",
        "needs_attention",
        "reversed_amount",
        "fiscal_sending_url",
        "fiscal_sending_since",
    }
)


class IllegalTransitionError(Exception):
    """The change does not follow the state machine (often: someone settled it first)."""

    def __init__(self, payment: Payment, illegal: states.Illegal) -> None:
        self.payment = payment
        super().__init__(
            f"payment {payment.transaction_id}: {illegal.field} {illegal.current} -> "
            f"{illegal.wanted}"
        )


def atomic(*, with_others: bool) -> AbstractContextManager:
    """What holds a payment's start: one transaction with other writes made with it (an
    Idempotency-Key's binding, in the same commit), or else only what the store's own
    statements need (on PostgreSQL one statement, with no BEGIN and COMMIT round trips)."""
    return transaction.atomic() if with_others else statements.atomic_together()


def start(*, status: str = states.Status.PROCESSING, **fields: Any) -> Payment:
    """A new payment. A charge is born `processing` with the first step of its timeline
    ("sent"); an operation checked before it is sent (a reversal) is born `created`, alone.
    Runs in the caller's transaction, which may tell others of the payment in the same
    commit (an Idempotency-Key). A unique constraint's refusal (the same code again, a
    reversal already open) is the caller's to read."""
    payment = Payment(status=status, **fields)
    if status == states.Status.CREATED:
        statements.insert([payment])
        return payment
    event = PaymentEvent(payment=payment, from_status=states.Status.CREATED, to_status=status)
    event.reason = "sent"
    statements.insert_with(payment, [event], link="payment")
    return payment


@dataclass
class Change:
    """One change of one payment: a status, a fiscal status (None: unchanged) and fields,
    why (the timeline's reason: a code, with its parameters), by whom, and the exchanges
    that brought it."""

    payment: Payment
    reason: Reason | str
    status: str | None = None
    fiscal_status: str | None = None
    actor: str = "system"
    exchanges: tuple[Exchange, ...] = ()
    fields: dict[str, Any] = dataclass_field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.fields) - WRITABLE_FIELDS
        if unknown:
            raise TypeError(f"a change cannot write {sorted(unknown)}")


def change_payment(
    payment: Payment,
    *,
    reason: Reason | str,
    status: str | None = None,
    fiscal_status: str | None = None,
    actor: str = "system",
    exchanges: Iterable[Exchange] = (),
    **fields: Any,
) -> Payment:
    """Write one change (see `Change`) and return the row as written; IllegalTransitionError
    when the payment, as it is now, may not change so. Setting a status equal to the
    current one is allowed and only writes `fields`."""
    change = Change(payment, reason, status, fiscal_status, actor, tuple(exchanges), fields)
    outcome = write([change])[0]
    if isinstance(outcome, IllegalTransitionError):
        raise outcome
    return outcome


def write(changes: list[Change]) -> list[Payment | IllegalTransitionError]:
    """Make these changes (one per payment) and return each one's row as written, or the
    error of a change the state machine refuses (someone settled that payment first): its
    exchanges are journaled all the same, and the others are made."""
    outcomes: list[Payment | IllegalTransitionError | None] = list(_written_as_read(changes))
    left = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if left:
        locked = _write_locked([changes[i] for i in left])
        for i, outcome in zip(left, locked, strict=True):
            outcomes[i] = outcome
    done = [o for o in outcomes if o is not None]
    rows = [o for o in done if isinstance(o, Payment)]
    moved = [c for c, o in zip(changes, done, strict=True) if isinstance(o, Payment)]
    if any(c.status is not None or c.fiscal_status is not None for c in moved):
        signals.status_moved.send(sender=Payment, payments=rows)
    return done


def _written_as_read(changes: list[Change]) -> list[Payment | None]:
    """The changes made on the payments as their callers read them, each written only if
    nobody wrote its row since (its `updated_at`, which every write sets, and its statuses
    are still those read), with its journal rows and its event: on PostgreSQL one guarded
    statement for them all, instead of a lock, a read and a write. Each change's row as
    written, or None, having written nothing of it, when its row was written meanwhile or
    the change does not follow from what was read: it is then made under the row's lock."""
    made: list[tuple[int, Payment, list[str], dict[str, Any]]] = []
    children: list[ProviderExchange | PaymentEvent] = []
    for i, change in enumerate(changes):
        read = change.payment
        if read.pk is None or read.updated_at is None:
            continue
        row = copy.copy(read)
        decided = _decide(row, change)
        if isinstance(decided, states.Illegal):
            continue
        event, names = _applied(row, change, decided)
        as_read = {
            "updated_at": read.updated_at,
            "status": read.status,
            "fiscal_status": read.fiscal_status,
        }
        made.append((i, row, names, as_read))
        children += _journal_rows([(row, change.exchanges)])
        if event is not None:
            children.append(event)
    written_rows: list[Payment | None] = [None] * len(changes)
    if not made:
        return written_rows
    # Every row writes the fields any of them changes: the others as they were read, which
    # the guard says they still are.
    names = sorted({name for _, _, theirs, _ in made for name in theirs})
    with statements.atomic_together():
        written = statements.update_many_with(
            [row for _, row, _, _ in made],
            names,
            where=[as_read for _, _, _, as_read in made],
            children=children,
            link="payment",
        )
    for i, row, _, _ in made:
        if row.pk in written:
            written_rows[i] = row
            metrics.observe_exchanges(changes[i].exchanges)
    return written_rows


def _write_locked(changes: list[Change]) -> list[Payment | IllegalTransitionError]:
    """Changes whose rows were written since their callers read them: in one transaction,
    the rows read again under their locks (in id order, so two writers cannot deadlock),
    each change decided again on its row as it is now, and written with its journal rows
    and event, a few statements whatever their number (rare: someone else wrote them)."""
    outcomes: list[Payment | IllegalTransitionError] = []
    with transaction.atomic():
        keys = sorted(change.payment.pk for change in changes)
        locked = Payment.objects.select_for_update().filter(pk__in=keys).order_by("pk")
        now = {row.pk: row for row in locked}
        rows = [now[change.payment.pk] for change in changes]
        journal_many([(row, c.exchanges) for row, c in zip(rows, changes, strict=True)])
        events, written, changed = [], set(), []
        for row, change in zip(rows, changes, strict=True):
            decided = _decide(row, change)
            if isinstance(decided, states.Illegal):
                outcomes.append(IllegalTransitionError(row, decided))
                continue
            event, names = _applied(row, change, decided)
            outcomes.append(row)
            changed.append(row)
            written.update(names)
            if event is not None:
                events.append(event)
        # The rows were read whole under their locks: the fields one change does not
        # write are written as they are.
        statements.update_many(changed, sorted(written))
        statements.insert(events)
    return outcomes


def _decide(row: Payment, change: Change) -> states.Decided | states.Illegal:
    state = states.State(
        status=row.status,
        fiscal_status=row.fiscal_status,
        needs_attention=row.needs_attention,
        takes_receipt=row.qr_code is not None,
    )
    intended = states.Intended(change.status, change.fiscal_status, change.fields)
    return states.decide(state, intended, now=timezone.now())


def _applied(
    row: Payment, change: Change, decided: states.Decided
) -> tuple[PaymentEvent | None, list[str]]:
    """The decided change made on the row in memory: the step of the timeline it makes
    (None when it is none: `Decided.is_step`) and the fields to write."""
    for name, value in decided.fields.items():
        setattr(row, name, value)
    if not decided.is_step:
        return None, [*decided.fields]
    why = reason_of(change.reason)
    event = PaymentEvent(
        payment=row,
        actor=change.actor,
        reason=why.code,
        reason_data=dict(why.data),
        from_status=decided.from_status or "",
        to_status=decided.to_status or "",
        from_fiscal_status=decided.from_fiscal or "",
        to_fiscal_status=decided.to_fiscal or "",
        flagged=decided.flagged,
    )
    return event, [*decided.fields]


def claim_fiscal(payment: Payment, url: str) -> Payment | None:
    """Under the row lock, make this the one submission of a receipt for the payment
    (`states.claim_receipt`). None: the payment already holds this very receipt (nothing
    to send). A conflict when it holds another, or another submission is under way."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        claim = states.FiscalClaim(
            fiscal_status=locked.fiscal_status,
            receipt_url=locked.fiscal_receipt_url,
            sending_url=locked.fiscal_sending_url,
            sending_since=locked.fiscal_sending_since,
        )
        now = timezone.now()
        refusal = states.claim_receipt(claim, url, now=now)
        if refusal == "on_file":
            return None
        if refusal == "already_fiscalized":
            raise ApplicationError.conflict(refusal, qr_code=locked.fiscal_receipt_url)
        if refusal is not None:
            raise ApplicationError.conflict(refusal, qr_code=locked.fiscal_sending_url)
        locked.fiscal_sending_url, locked.fiscal_sending_since = url, now
        statements.update(locked, ["fiscal_sending_url", "fiscal_sending_since"])
        return locked


# --- a provider's answer ---------------------------------------------------------------------


def result_change(
    payment: Payment,
    result: GatewayResult,
    statuses: Mapping[Outcome, str],
    *,
    reason: Reason | str,
    actor: str = "system",
) -> Change:
    """What a provider's answer changes on the payment (`states.answer_intended`), with
    the exchanges that said it; its reason says the answer's outcome."""
    intended = states.answer_intended(
        result,
        statuses,
        provider_status=payment.provider_status,
        provider_message=payment.provider_message,
    )
    why = reason_of(reason).with_data(outcome=result.outcome)
    return _change_of(payment, intended, why, actor, result.exchanges)


def _change_of(
    payment: Payment,
    intended: states.Intended,
    reason: Reason | str,
    actor: str,
    exchanges: Iterable[Exchange],
) -> Change:
    return Change(
        payment,
        reason,
        status=intended.status,
        fiscal_status=intended.fiscal_status,
        actor=actor,
        exchanges=tuple(exchanges),
        fields=dict(intended.fields),
    )


def record_result(
    payment: Payment,
    result: GatewayResult,
    statuses: Mapping[Outcome, str],
    *,
    reason: Reason | str,
    actor: str = "system",
) -> Payment:
    """Write what a provider said onto the payment, with the exchanges that said it: the
    one way an answer reaches a payment. Someone who settled it meanwhile (reconcile, an
    operator) keeps their word (`settled_meanwhile`); answers to earlier operations that
    came with it settle those."""
    change = result_change(payment, result, statuses, reason=reason, actor=actor)
    try:
        try:
            payment = _written(change)
        except IntegrityError:
            holder = _holder_of(payment, result.provider_payment_id)
            if holder is None:
                raise
            intended = states.Intended(change.status, change.fiscal_status, change.fields)
            taken = states.identity_taken(intended, result.provider_payment_id, holder)
            payment = _written(_change_of(payment, taken, change.reason, actor, result.exchanges))
    except IllegalTransitionError as exc:
        payment = settled_meanwhile(exc)
    except Exception:
        # The change failed and took its journal rows with it: the exchanges are kept all
        # the same, in a transaction of their own (if the database can take them now).
        with contextlib.suppress(DatabaseError):
            journal(payment, result.exchanges)
        raise
    record_late_answers(result)
    return payment


def _written(change: Change) -> Payment:
    outcome = write([change])[0]
    if isinstance(outcome, IllegalTransitionError):
        raise outcome
    return outcome


def _holder_of(payment: Payment, provider_payment_id: str) -> str | None:
    """Our transaction id of another payment that already has this provider id."""
    if not provider_payment_id or provider_payment_id == payment.provider_payment_id:
        return None
    other = payment_with_provider_id(payment.provider, provider_payment_id, besides=payment)
    return str(other.transaction_id) if other is not None else None


def settled_meanwhile(exc: IllegalTransitionError) -> Payment:
    """The policy when a change finds the payment settled by someone else: their word
    stands (the refused change's exchanges were journaled all the same by `write`), and
    the caller goes on with the row as it is now."""
    logger.warning("not recorded, %s", exc)
    exc.payment.refresh_from_db()  # the refused change may have touched the copy in memory
    return exc.payment


def record_late_answers(result: GatewayResult) -> None:
    """Answers to earlier operations that arrived late settle those still unknown."""
    for transaction_id, late in result.late:
        payment = unknown_payment(transaction_id)
        if payment is not None:
            record_result(payment, late, states.CHARGE_STATUS, reason=Code.SETTLED_BY_LATE_ANSWER)


# --- the journal ---------------------------------------------------------------------------


def journal(
    payment: Payment | None, exchanges: Iterable[Exchange], *, register: Register | None = None
) -> None:
    """Store exchanges with a provider (or the PIN pad) as journal rows: a payment's, or
    (`register`) those of a register's that belong to no payment (an end of day)."""
    exchanges = list(exchanges)
    if payment is not None:
        journal_many([(payment, exchanges)])
        return
    register_id = register.pk if register is not None else None
    rows = [ProviderExchange(payment=None, register_id=register_id, **vars(e)) for e in exchanges]
    _store(rows, exchanges)


def journal_many(items: Iterable[tuple[Payment, Iterable[Exchange]]]) -> None:
    """The exchanges of several payments, in one statement."""
    items = [(payment, list(theirs)) for payment, theirs in items]
    _store(_journal_rows(items), [exchange for _, theirs in items for exchange in theirs])


def _journal_rows(items: Iterable[tuple[Payment, Iterable[Exchange]]]) -> list[ProviderExchange]:
    return [
        ProviderExchange(payment=payment, register_id=payment.register_id, **vars(exchange))
        for payment, theirs in items
        for exchange in theirs
    ]


def _store(rows: list[ProviderExchange], exchanges: list[Exchange]) -> None:
    if rows:
        statements.insert(rows)
        metrics.observe_exchanges(exchanges)
