"""Reversals: giving a paid purchase's money back, the same way for every gateway.

Where the provider reverses a purchase as an operation of its own (a HUMO cancel, with its
own RRN and slip), the reversal is a payment row of its own, committed before the provider
hears of it and run like a charge, and may give back part of the purchase; otherwise the
purchase itself is reversed, whole, at the provider, flagged for a person from before the
call until the provider's word (a lost answer is unknown, 110, never "declined"). The
purchase keeps how much was given back (`reversed_amount`) and ends `reversed` once all of
it was, and only once the provider said so.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from payments import store
from payments.errors import ApplicationError
from payments.models import IdempotencyKey, Operation, Payment, PaymentStatus, Register
from payments.reasons import Code, Reason, because
from payments.selectors import paid_reversals_sum, purchase_by_reference
from payments.services import idempotency
from payments.services.charging import gateway_input, send
from payments.services.reconnect import on_live_connection, record_or_unknown
from payments.states import REVERSAL_CHECK_STATUS
from payments.store import IllegalTransitionError, change_payment, journal, settled_meanwhile
from providers import registry
from providers.base import Exchange, GatewayResult, Outcome


def reverse_by_reference(
    provider: str,
    reference: str,
    *,
    register: Register,
    amount: int,
    key: IdempotencyKey | None = None,
) -> Payment:
    """Reverse a purchase the register names by the provider's id for it (a HUMO RRN) or
    by our transaction id; only its own purchases. The request's Idempotency-Key (`key`)
    is bound to the payment the answer is about."""
    purchase = purchase_by_reference(provider, reference, register=register)
    if purchase is None:
        raise ApplicationError.conflict("not_found", request_id=reference)
    return reverse(purchase, amount=amount, reference=reference, key=key)


def reverse(
    purchase: Payment,
    *,
    amount: int | None = None,
    reference: str = "",
    actor: str = "system",
    key: IdempotencyKey | None = None,
) -> Payment:
    """Reverse `amount` tiyin (all of it by default) of a paid purchase. Returns the
    payment the answer is about: the reversal where it is an operation of its own, else
    the purchase. `reference` is how the caller named the purchase, for its errors."""
    named = {"request_id": reference} if reference else {}
    amount = purchase.reversible_amount if amount is None else amount
    if purchase.status == PaymentStatus.REVERSED:
        raise ApplicationError.conflict("already_reversed", **named)
    if purchase.reversal_in_flight:
        raise ApplicationError.conflict("cancel_in_progress", **named)
    if not purchase.can_reverse:
        raise ApplicationError.conflict("not_paid", **named, status=purchase.status)
    if amount > purchase.reversible_amount:
        raise _exceeds(purchase, purchase.reversed_amount)
    gateway = registry.GATEWAYS[purchase.provider]
    if gateway.reversal_is_operation:
        return _reverse_as_operation(purchase, amount, named, actor, key)
    idempotency.about(purchase, key)
    if amount != purchase.amount:
        raise ApplicationError.conflict("partial_reversal_not_supported", **named)
    return _reverse_in_place(purchase, actor)


# Said on the purchase before the provider hears of its reversal, and kept while no answer
# has told what became of it: `reconcile` (or a person) settles it by asking the provider,
# never by a second reversal sent blind.
REVERSAL_SENT = "reversal_sent"
REVERSAL_UNANSWERED = Code.REVERSAL_UNANSWERED  # ask the provider before giving money back


def _reverse_in_place(purchase: Payment, actor: str) -> Payment:
    """The purchase reversed whole at its provider (CLICK, Payme, Uzum), under the charge's
    rules: the reversal is written on the purchase (in flight, flagged) before the call,
    so that a process that dies meanwhile leaves it for reconcile and a person; it is taken
    off again only on the provider's word. No answer is not a refusal: the caller hears 110
    with the purchase's id, and the reversal stays in flight for reconcile to ask about."""
    gateway = registry.GATEWAYS[purchase.provider]
    data = gateway_input(purchase)  # an account that cannot be used: refused, nothing written
    flagged_before = purchase.needs_attention
    try:
        purchase = on_live_connection(
            lambda: change_payment(
                purchase,
                reason=REVERSAL_SENT,
                actor=actor,
                needs_attention=True,
                reversal_sent_at=timezone.now(),
            ),
            what=f"sending the reversal of {purchase.transaction_id}",
        )
    except IllegalTransitionError as exc:  # another reversal (or a settling) came first
        raise _refusal(exc.payment) from exc
    result = gateway.reverse(data)
    if result.outcome is Outcome.SUCCESS:
        return _reversed_whole(purchase, result, actor, needs_attention=flagged_before)
    if result.outcome is Outcome.FAILED:  # the provider's word: nothing was given back
        record_or_unknown(
            lambda: change_payment(
                purchase,
                reason=because(Code.REVERSAL_REFUSED, message=result.message),
                actor=actor,
                exchanges=result.exchanges,
                needs_attention=flagged_before,
                reversal_sent_at=None,
            ),
            transaction_id=purchase.transaction_id,
            exchanges=result.exchanges,
            what="the provider's refusal of a reversal",
        )
        raise ApplicationError.billing(purchase.provider, result.code, result.message)
    record_or_unknown(
        lambda: change_payment(
            purchase, reason=REVERSAL_UNANSWERED, actor=actor, exchanges=result.exchanges
        ),
        transaction_id=purchase.transaction_id,
        exchanges=result.exchanges,
        what="a reversal's lost answer",
    )
    raise ApplicationError.outcome_unknown(purchase.transaction_id)


def settle_in_flight(purchase: Payment, result: GatewayResult, *, actor: str) -> Payment:
    """Record what a lookup (`check`) says of a purchase whose reversal is in flight: the
    provider reports it reversed or cancelled -> reversed; still paid -> the reversal was
    not done, the purchase stands; anything else settles nothing (it stays in flight and
    flagged). The lookup's exchanges are journaled with the change."""
    settles_to = REVERSAL_CHECK_STATUS.get(result.outcome)
    if not purchase.reversal_in_flight or settles_to is None:
        journal(purchase, result.exchanges)
        return purchase
    if settles_to == PaymentStatus.REVERSED:
        return _reversed_whole(purchase, result, actor, needs_attention=False)
    try:
        return change_payment(
            purchase,
            reason=REVERSAL_NOT_DONE,
            actor=actor,
            exchanges=result.exchanges,
            needs_attention=False,
            reversal_sent_at=None,
        )
    except IllegalTransitionError as exc:
        return settled_meanwhile(exc)


REVERSAL_NOT_DONE = Code.REVERSAL_NOT_DONE  # the provider did not: the purchase stands


def _reversed_whole(
    purchase: Payment, result: GatewayResult, actor: str, *, needs_attention: bool
) -> Payment:
    """The provider's word that the whole purchase went back: no longer in flight."""
    return _count_reversed(
        purchase,
        purchase.amount,
        Code.REVERSED_AT_PROVIDER,
        actor,
        exchanges=result.exchanges,
        needs_attention=needs_attention,
        reversal_sent_at=None,
    )


def _refusal(now: Payment) -> ApplicationError:
    """Why a reversal cannot be sent now that the purchase is as `now` is."""
    if now.status == PaymentStatus.REVERSED:
        return ApplicationError.conflict("already_reversed")
    if now.reversal_in_flight:
        return ApplicationError.conflict("cancel_in_progress")
    return ApplicationError.conflict("not_paid", status=now.status)


def _reverse_as_operation(
    purchase: Payment,
    amount: int,
    named: dict[str, str],
    actor: str,
    key: IdempotencyKey | None,
) -> Payment:
    try:
        with transaction.atomic():
            reversal = store.start(
                status=PaymentStatus.CREATED,
                register_id=purchase.register_id,
                provider=purchase.provider,
                operation=Operation.REVERSAL,
                reverses=purchase,
                amount=amount,
            )
            idempotency.about(reversal, key)
    except IntegrityError as exc:
        # The partial unique constraint: another reversal of this purchase is open. (The
        # register contract names the reason after the terminal's word.)
        raise ApplicationError.conflict("cancel_in_progress", **named) from exc
    # Ours is now the only open reversal: what the others gave back is final, so what is
    # left is known exactly (the check above may have read an older purchase row).
    given_back = paid_reversals_sum(purchase)
    if amount > purchase.amount - given_back:
        change_payment(reversal, status=PaymentStatus.FAILED, reason=Code.MORE_THAN_IS_LEFT)
        raise _exceeds(purchase, given_back)
    reversal = send(reversal, registry.GATEWAYS[purchase.provider].reverse)
    if reversal.status == PaymentStatus.PAID:
        given = because(Code.REVERSED_PART, amount=amount, by=str(reversal.transaction_id))
        _count_reversed(purchase, None, given, actor)
    return reversal


def _count_reversed(
    purchase: Payment,
    amount: int | None,
    reason: Reason | str,
    actor: str,
    exchanges: tuple[Exchange, ...] = (),
    **fields: Any,
) -> Payment:
    """Record on the purchase what has been given back: `amount`, or (None) the sum of its
    paid reversal operations; all of it makes the purchase reversed. The exchanges that
    brought it are journaled with the change."""
    given_back = paid_reversals_sum(purchase) if amount is None else amount
    status = PaymentStatus.REVERSED if given_back >= purchase.amount else None
    try:
        return record_or_unknown(
            lambda: change_payment(
                purchase,
                status=status,
                reason=reason,
                actor=actor,
                exchanges=exchanges,
                reversed_amount=given_back,
                **fields,
            ),
            transaction_id=purchase.transaction_id,
            exchanges=exchanges,
            what="a reversal's answer",
        )
    except IllegalTransitionError as exc:
        return settled_meanwhile(exc)


def _exceeds(purchase: Payment, given_back: int) -> ApplicationError:
    return ApplicationError.conflict(
        "amount_exceeds_purchase",
        purchase_amount=purchase.amount,
        returnable_amount=purchase.amount - given_back,
    )
