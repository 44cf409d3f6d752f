"""Refunds: giving a paid purchase's money back, the same way for every provider.

A refund is a payment row of its own (operation `reversal`, pointing at its purchase),
committed before the provider or the PIN pad hears of it and sent like a charge, once: a
lost answer leaves it unknown (110 with its id) for `reconcile` to settle by asking the
provider, never by sending it again; "refused" only on the provider's word. Where the
provider gives back parts of a purchase (CLICK, a HUMO cancel) a refund may be a part;
elsewhere (Payme, Uzum) only all of it, refused before anything is sent. One refund of a
purchase is open at a time (a unique constraint), so two at once never give back more than
it. The purchase keeps what its refunds gave back (`reversed_amount`) and ends `reversed`
once all of it was, whichever path settled the refund: its own answer, reconcile, a late
answer, an operator (`counted`, which hears of every settled payment).

The register's `/payment/refund`, HUMO's `/payment/xumo` return and the back office's
action all come here.
"""

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.dispatch import receiver

from payments import store
from payments.errors import ApplicationError
from payments.models import IdempotencyKey, Operation, Payment, PaymentStatus, Register
from payments.reasons import Code, because
from payments.selectors import (
    paid_reversals_sum,
    payment_by_transaction_id,
    purchase_by_reference,
)
from payments.services import accounts, idempotency
from payments.services.charging import send
from payments.services.reconnect import record_or_unknown
from payments.signals import status_moved
from payments.store import IllegalTransitionError, change_payment, settled_meanwhile
from providers import registry


def refund_by_reference(
    reference: str,
    *,
    register: Register,
    amount: int | None,
    provider: str | None = None,
    key: IdempotencyKey | None = None,
) -> Payment:
    """Refund a purchase the register names by our transaction id, or (with `provider`) by
    the provider's id for it as well (a HUMO RRN); only its own purchases. The request's
    Idempotency-Key (`key`) is bound to the refund."""
    if provider is None:
        purchase = payment_by_transaction_id(reference, register=register)
        named = {"transaction_id": reference}
    else:
        purchase = purchase_by_reference(provider, reference, register=register)
        named = {"request_id": reference}
    if purchase is None:
        raise ApplicationError.conflict("not_found", **named)
    return refund(purchase, amount=amount, named=named, key=key)


def refund(
    purchase: Payment,
    *,
    amount: int | None = None,
    named: dict[str, str] | None = None,
    key: IdempotencyKey | None = None,
) -> Payment:
    """Give back `amount` tiyin of a paid purchase (None: all that is left), once; return
    the refund as it now stands, its purchase read again (paid: the money went back;
    processing: the provider is still giving it back; unknown: nobody can tell yet).
    `named` says how the caller named the purchase, in its errors."""
    named = named or {}
    _refusable(purchase, named)
    left = purchase.reversible_amount
    amount = left if amount is None else amount
    if amount > left:
        raise _exceeds(purchase, left, named)
    gateway = registry.GATEWAYS[purchase.provider]
    if not gateway.partial_refunds and amount != purchase.amount:
        raise ApplicationError.conflict("partial_reversal_not_supported", **named)
    accounts.account_of(purchase.register_id, purchase.provider)  # unusable: nothing made
    try:
        with transaction.atomic():
            made = store.start(
                status=PaymentStatus.CREATED,
                register_id=purchase.register_id,
                provider=purchase.provider,
                operation=Operation.REVERSAL,
                reverses=purchase,
                amount=amount,
            )
            idempotency.about(made, key)
    except IntegrityError as exc:
        # The partial unique constraint: another refund of this purchase is open.
        raise ApplicationError.conflict("refund_in_progress", **named) from exc
    # Ours is now the only open refund: what the others gave back is final, so what is left
    # is known exactly (the check above read a purchase row that may be older).
    left = purchase.amount - paid_reversals_sum(purchase)
    if amount > left:
        change_payment(made, status=PaymentStatus.FAILED, reason=Code.MORE_THAN_IS_LEFT)
        raise _exceeds(purchase, left, named)
    # Not polled: a provider still giving the money back (Payme's 21) is not worth the
    # customer's wait at the till; the refund is `processing` and reconcile finishes it.
    made = send(made, gateway.reverse, poll=False)  # counted on the purchase once done
    made.reverses = Payment.objects.get(pk=purchase.pk)  # as counted
    return made


def _refusable(purchase: Payment, named: dict[str, str]) -> None:
    """Refuse what cannot be refunded at all, before anything is written."""
    if purchase.operation != Operation.PURCHASE:
        raise ApplicationError.conflict("not_found", **named)  # a refund is not refunded
    if purchase.status == PaymentStatus.REVERSED:
        raise ApplicationError.conflict("already_reversed", **named)
    if not purchase.can_reverse:
        raise ApplicationError.conflict("not_paid", **named, status=purchase.status)


@receiver(status_moved)
def _count_done_refunds(sender: Any, payments: Iterable[Payment], **_: Any) -> None:
    for row in payments:
        if row.operation == Operation.REVERSAL and row.status == PaymentStatus.PAID:
            counted(row)


def counted(made: Payment) -> Payment:
    """A refund done: the money it gave back counted on its purchase, which is reversed
    once all of it went back. Whoever wrote the refund's outcome, this hears of it."""
    purchase = made.reverses
    assert purchase is not None  # a refund always names its purchase
    given_back = paid_reversals_sum(purchase)
    if given_back == purchase.reversed_amount:
        return made  # counted already (a repeated lookup)
    status = PaymentStatus.REVERSED if given_back >= purchase.amount else None
    given = because(Code.REVERSED_PART, amount=made.amount, by=str(made.transaction_id))
    try:
        record_or_unknown(
            lambda: change_payment(
                purchase, status=status, reason=given, reversed_amount=given_back
            ),
            transaction_id=made.transaction_id,
            exchanges=(),
            what="a refund counted on its purchase",
        )
    except IllegalTransitionError as exc:
        settled_meanwhile(exc)
    return made


def _exceeds(purchase: Payment, left: int, named: dict[str, str]) -> ApplicationError:
    return ApplicationError.conflict(
        "amount_exceeds", **named, reversible_amount=left, purchase_amount=purchase.amount
    )
