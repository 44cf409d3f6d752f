"""The one path through which every change to a payment goes.

`change_payment` judges the change against the row as it is, refuses transitions the state
machine does not allow, writes the fields and records the change in the payment's
timeline. It first tries the row as its caller read it, in one UPDATE that holds only if
nobody wrote the row since; otherwise it takes the row lock (`select_for_update` inside
`transaction.atomic`) and judges the row as it is now. Callers always continue with the
row it returns.

`record_result` is the one way a provider's answer reaches a payment: its fields and the
status its outcome means, the exchanges that produced it journaled in the same
transaction, and answers to earlier operations applied to those. Its policy when someone
(reconcile, an operator) settled the payment meanwhile: their word stands.
"""

import contextlib
import copy
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from payments import metrics, signals
from payments.errors import ApplicationError
from payments.models import (
    FISCAL_SENDING_ABANDONED,
    FiscalStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderExchange,
    Register,
    statements,
)
from payments.selectors import payment_with_provider_id, unknown_payment
from providers.base import Exchange, GatewayResult, Outcome

logger = logging.getLogger(__name__)

S = PaymentStatus
F = FiscalStatus

# What an outcome means for the payment's status, by the kind of step that gave it.
CHARGE_STATUS: dict[Outcome, str] = {
    Outcome.SUCCESS: S.PAID,
    Outcome.PENDING: S.PROCESSING,
    Outcome.FAILED: S.FAILED,
    Outcome.UNKNOWN: S.UNKNOWN,
}
# A lookup that got no answer changes nothing: UNKNOWN is absent on purpose.
CHECK_STATUS: dict[Outcome, str] = {
    k: v for k, v in CHARGE_STATUS.items() if k is not Outcome.UNKNOWN
}
# Preparing charges nothing: only a refusal changes the payment (to failed).
PREPARE_STATUS: dict[Outcome, str] = {Outcome.FAILED: S.FAILED}
# A lookup about a purchase whose reversal was sent and not answered: the provider reports
# it cancelled or reversed (its "failed") -> the reversal went through; still paid -> the
# reversal was not done and the purchase stands. Nothing else settles it.
REVERSAL_CHECK_STATUS: dict[Outcome, str] = {Outcome.FAILED: S.REVERSED, Outcome.SUCCESS: S.PAID}

ALLOWED_STATUS_CHANGES: dict[str, set[str]] = {
    S.CREATED: {S.PROCESSING, S.FAILED, S.UNKNOWN},
    S.PROCESSING: {S.PAID, S.FAILED, S.UNKNOWN},
    S.UNKNOWN: {S.PROCESSING, S.PAID, S.FAILED},
    S.PAID: {S.REVERSED},
    S.FAILED: set(),
    S.REVERSED: set(),
}

ALLOWED_FISCAL_CHANGES: dict[str, set[str]] = {
    F.NOT_REQUIRED: {F.PENDING},
    F.PENDING: {F.SUBMITTED, F.FAILED},
    F.FAILED: {F.SUBMITTED},
    F.SUBMITTED: set(),
}

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
        "reversal_sent_at",
    }
)


class IllegalTransitionError(Exception):
    """The change does not follow the state machine (often: someone settled it first)."""

    def __init__(self, payment: Payment, field: str, current: str, wanted: str) -> None:
        self.payment = payment
        super().__init__(f"payment {payment.transaction_id}: {field} {current} -> {wanted}")


def start_payment(**fields: Any) -> Payment:
    """A new payment, born `processing` with the first step of its timeline: what a charge
    commits before its provider hears of it. Runs in the caller's transaction, which may
    tell others of the payment in the same commit (an Idempotency-Key)."""
    payment = Payment(status=S.PROCESSING, **fields)
    event = PaymentEvent(
        payment=payment, from_status=S.CREATED, to_status=S.PROCESSING, reason="sent"
    )
    statements.insert_with(payment, [event], link="payment")
    return payment


@dataclass
class Change:
    """One change of one payment, as `change_payment` makes it."""

    payment: Payment
    reason: str
    status: str | None = None
    fiscal_status: str | None = None
    actor: str = "system"
    exchanges: tuple[Exchange, ...] = ()
    fields: dict[str, Any] = dataclass_field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.fields) - WRITABLE_FIELDS
        if unknown:
            raise TypeError(f"change_payment cannot write {sorted(unknown)}")


def change_payment(
    payment: Payment,
    *,
    reason: str,
    status: str | None = None,
    fiscal_status: str | None = None,
    actor: str = "system",
    exchanges: Iterable[Exchange] = (),
    **fields: Any,
) -> Payment:
    """Apply one change to a payment under its row lock and return the updated row, with
    the exchanges that brought it journaled in the same transaction.

    Setting a status equal to the current one is allowed and only writes `fields`.
    """
    change = Change(payment, reason, status, fiscal_status, actor, tuple(exchanges), fields)
    with statements.atomic_together():
        row = _change_as_read(change)
    if row is None:
        with transaction.atomic():
            # Someone wrote the payment since it was read: the same change under its lock.
            row = Payment.objects.select_for_update().get(pk=payment.pk)
            event, written = _apply(row, change)
            statements.update(row, written)
            journal(row, change.exchanges)
            if event is not None:
                statements.insert([event])
    if status is not None or fiscal_status is not None:
        signals.status_moved.send(sender=Payment, payments=[row])
    return row


def _change_as_read(change: Change) -> Payment | None:
    """The change made on the payment as its caller read it, written only if nobody wrote
    the row since (its `updated_at`, which every write sets, and its statuses are still
    those read), with its journal rows and its event: one guarded UPDATE instead of a lock,
    a read and a write, in the common case. None, having written nothing, when the row was
    written meanwhile or the change does not follow from what was read: the caller then
    makes it under the row's lock."""
    read = change.payment
    if read.pk is None or read.updated_at is None:
        return None
    row = copy.copy(read)
    try:
        event, written = _apply(row, change)
    except IllegalTransitionError:
        return None
    as_read = {
        "updated_at": read.updated_at,
        "status": read.status,
        "fiscal_status": read.fiscal_status,
    }
    journaled = _journal_rows([(row, change.exchanges)])
    new_rows = [*journaled, event] if event is not None else journaled
    if not statements.update_with(row, written, where=as_read, children=new_rows):
        return None
    metrics.observe_exchanges(change.exchanges)
    return row


def change_payments(changes: list[Change]) -> list[Payment | IllegalTransitionError]:
    """Several changes (one per payment), each as `change_payment` makes it, in one
    transaction of a few statements whatever their number: the rows locked at once (in id
    order, so two such batches cannot deadlock), then the journal rows, the rows and the
    events each written in one statement. A change the state machine refuses (someone
    settled that payment first) comes back as its error; its exchanges are journaled all
    the same, and the others are made."""
    outcomes: list[Payment | IllegalTransitionError] = []
    with transaction.atomic():
        ids = [change.payment.pk for change in changes]
        locked = Payment.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        rows = {row.pk: row for row in locked}
        journal_many([(rows[c.payment.pk], c.exchanges) for c in changes])
        events, written, changed = [], set(), []
        for change in changes:
            row = rows[change.payment.pk]
            try:
                event, fields = _apply(row, change)
            except IllegalTransitionError as exc:
                outcomes.append(exc)
                continue
            outcomes.append(row)
            changed.append(row)
            written.update(fields)
            if event is not None:
                events.append(event)
        statements.update_many(changed, sorted(written))
        statements.insert(events)
        if events:
            signals.status_moved.send(sender=Payment, payments=[e.payment for e in events])
    return outcomes


def _apply(locked: Payment, change: Change) -> tuple[PaymentEvent | None, list[str]]:
    """The change made on the locked row in memory: the step of the timeline it makes (None
    when neither status moves) and the fields to write."""
    status, fiscal_status, fields = change.status, change.fiscal_status, dict(change.fields)
    if fields.get("reversal_sent_at") is not None and (
        locked.reversal_in_flight or locked.status != S.PAID
    ):
        # One reversal in flight at a time, and only of a paid purchase: a second one sent
        # before the first is answered could give the money back twice.
        raise IllegalTransitionError(locked, "reversal", "in flight", "sent")
    event = PaymentEvent(payment=locked, actor=change.actor, reason=change.reason[:255])
    if status is not None and status != locked.status:
        if status not in ALLOWED_STATUS_CHANGES[locked.status]:
            raise IllegalTransitionError(locked, "status", locked.status, status)
        event.from_status, event.to_status = locked.status, status
        locked.status = status
        if status == S.PAID:
            locked.paid_at = timezone.now()
            fields.setdefault("needs_attention", False)
            # A paid QR payment now waits for the register's fiscal receipt.
            if locked.qr_code is not None and locked.fiscal_status == F.NOT_REQUIRED:
                fiscal_status = F.PENDING
    if fiscal_status is not None and fiscal_status != locked.fiscal_status:
        if fiscal_status not in ALLOWED_FISCAL_CHANGES[locked.fiscal_status]:
            raise IllegalTransitionError(
                locked, "fiscal_status", locked.fiscal_status, fiscal_status
            )
        event.from_fiscal_status, event.to_fiscal_status = locked.fiscal_status, fiscal_status
        locked.fiscal_status = fiscal_status
    for name, value in fields.items():
        setattr(locked, name, value)
    written = [*fields]
    if event.to_status:
        written += ["status", "paid_at"] if event.to_status == S.PAID else ["status"]
    if event.to_fiscal_status:
        written.append("fiscal_status")
    moved = event.to_status or event.to_fiscal_status
    return (event if moved else None), written


def claim_fiscal_sending(payment: Payment, url: str) -> Payment | None:
    """Under the row lock, make this the one submission of a receipt for the payment.
    None: the payment already holds this very receipt (nothing to send). A conflict when
    it holds another, or another submission is under way."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.fiscal_status == F.SUBMITTED:
            if locked.fiscal_receipt_url == url:
                return None
            raise ApplicationError.conflict("already_fiscalized", qr_code=locked.fiscal_receipt_url)
        since = locked.fiscal_sending_since
        if since is not None and timezone.now() - since < FISCAL_SENDING_ABANDONED:
            raise ApplicationError.conflict("fiscal_in_progress", qr_code=locked.fiscal_sending_url)
        locked.fiscal_sending_url, locked.fiscal_sending_since = url, timezone.now()
        locked.save(update_fields=["fiscal_sending_url", "fiscal_sending_since", "updated_at"])
        return locked


def result_change(
    payment: Payment,
    result: GatewayResult,
    status_by_outcome: Mapping[Outcome, str],
    *,
    reason: str,
    actor: str = "system",
) -> Change:
    """What a provider's answer changes on the payment: its fields and the status its
    outcome means, with the exchanges that said it."""
    fields: dict[str, Any] = {
        "provider_status": result.provider_status or payment.provider_status,
        "provider_code": "" if result.code is None else str(result.code),
    }
    # The charge's own note is what the register shows; a later lookup replaces it only to
    # say why the payment failed, or why the provider wants a person to look (the note is
    # the reason the admin shows beside the flag).
    replaces = result.outcome is Outcome.FAILED or result.needs_attention
    if result.message and (replaces or not payment.provider_message):
        fields["provider_message"] = result.message
    for name in _RESULT_FIELDS:
        value = getattr(result, name)
        if value:
            fields[name] = value
    status = status_by_outcome.get(result.outcome)
    if result.needs_attention:
        # The provider itself says a person must look (Payme state 20, a late payment
        # being returned, a terminal that reports another operation): flag it, and an
        # open outcome becomes ours too.
        fields["needs_attention"] = True
        if result.outcome is Outcome.UNKNOWN:
            status = S.UNKNOWN
    return Change(
        payment,
        f"{reason}: {result.outcome}",
        status=status,
        actor=actor,
        exchanges=tuple(result.exchanges),
        fields=fields,
    )


def record_result(
    payment: Payment,
    result: GatewayResult,
    status_by_outcome: Mapping[Outcome, str],
    *,
    reason: str,
    actor: str = "system",
) -> Payment:
    """Write what a provider said onto the payment, with the exchanges that said it."""
    change = result_change(payment, result, status_by_outcome, reason=reason, actor=actor)
    fields, status = change.fields, change.status
    again = {"reason": change.reason, "actor": actor}
    try:
        try:
            payment = change_payment(
                payment, status=status, exchanges=result.exchanges, **again, **fields
            )
        except IntegrityError:
            held_by = _holder_of(payment, result.provider_payment_id)
            if held_by is None:
                raise
            # The provider names an id that is another payment's: not this payment's
            # identity. Keep what else it said, flag it, never call it paid on that word.
            del fields["provider_payment_id"]
            fields["needs_attention"] = True
            fields["provider_message"] = (
                f"{result.provider_payment_id} is already the provider's id of {held_by}"
            )
            status = S.UNKNOWN if status == S.PAID else status
            payment = change_payment(
                payment, status=status, exchanges=result.exchanges, **again, **fields
            )
    except IllegalTransitionError as exc:
        payment = settled_meanwhile(exc, result.exchanges)
    except Exception:
        # The change failed and took its journal rows with it: the exchanges are kept all
        # the same, in a transaction of their own (if the database can take them now).
        with contextlib.suppress(DatabaseError):
            journal(payment, result.exchanges)
        raise
    record_late_answers(result)
    return payment


def _holder_of(payment: Payment, provider_payment_id: str) -> str | None:
    """Our transaction id of another payment that already has this provider id."""
    if not provider_payment_id or provider_payment_id == payment.provider_payment_id:
        return None
    other = payment_with_provider_id(payment.provider, provider_payment_id, besides=payment)
    return str(other.transaction_id) if other is not None else None


def settled_meanwhile(exc: IllegalTransitionError, exchanges: Iterable[Exchange] = ()) -> Payment:
    """The policy when a change finds the payment settled by someone else: their word
    stands, our exchanges are journaled all the same, and the caller goes on with the row
    as it is now."""
    logger.warning("not recorded, %s", exc)
    journal(exc.payment, exchanges)
    exc.payment.refresh_from_db()  # the refused change may have touched the copy in memory
    return exc.payment


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


# Fields of a result copied onto the payment when the provider gave them.
_RESULT_FIELDS = (
    "provider_payment_id",
    "payer_phone",
    "masked_card",
    "auth_code",
    "terminal_id",
    "slip_text",
)


def record_late_answers(result: GatewayResult) -> None:
    """Answers to earlier operations that arrived late settle those still unknown."""
    for transaction_id, late in result.late:
        payment = unknown_payment(transaction_id)
        if payment is not None:
            record_result(payment, late, CHARGE_STATUS, reason="settled by a late answer")
