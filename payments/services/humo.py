"""HUMO card payments on the PIN pad: purchase, cancel by RRN, end-of-day reconciliation.

The payment row is committed before the first byte goes to the line; every exchange on the
line is journaled; an answer that is lost or late leaves the payment `unknown` until the
terminal's last transaction (or a late answer) says what happened.
"""

import json
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from payments.errors import ApplicationError
from payments.models import Operation, Payment, PaymentStatus, Provider, ProviderExchange
from payments.services.transitions import IllegalTransitionError, change_payment
from pinpad.messages import Action, PinpadAnswer
from pinpad.service import Pinpad, PinpadResult, Status, classify
from pinpad.slips import ShiftTotals

ACTION_NAMES = {
    Action.PURCHASE: "purchase",
    Action.CANCEL: "cancel",
    Action.CLOSE_DAY: "close_day",
    Action.LAST_TRANSACTION: "last_transaction",
}

_PAYMENT_STATUS = {
    Status.APPROVED: PaymentStatus.PAID,
    Status.DECLINED: PaymentStatus.FAILED,
    Status.BUSY: PaymentStatus.FAILED,  # nothing reached the terminal
    Status.UNAVAILABLE: PaymentStatus.FAILED,  # nothing reached the terminal
    Status.UNKNOWN: PaymentStatus.UNKNOWN,
}


def purchase(amount: int) -> Payment:
    payment = Payment.objects.create(provider=Provider.HUMO, amount=amount)
    return _on_pinpad(payment, lambda pad: pad.purchase(amount, payment.transaction_id.hex))


def cancel(rrn: str, amount: int) -> Payment:
    """Cancel a purchase of the current shift by its RRN; the purchase becomes reversed."""
    original = Payment.objects.filter(
        provider=Provider.HUMO, operation=Operation.PURCHASE, provider_payment_id=rrn
    ).first()
    if original is None:
        raise ApplicationError.conflict("not_found", request_id=rrn)
    if original.status == PaymentStatus.REVERSED:
        raise ApplicationError.conflict("already_reversed", request_id=rrn)
    if original.status != PaymentStatus.PAID:
        raise ApplicationError.conflict("not_paid", request_id=rrn, status=original.status)
    if amount > original.amount:
        raise ApplicationError.conflict("amount_exceeds_purchase", purchase_amount=original.amount)
    try:
        with transaction.atomic():
            row = Payment.objects.create(
                provider=Provider.HUMO, operation=Operation.CANCEL, reverses=original, amount=amount
            )
    except IntegrityError as exc:
        # The partial unique constraint: another cancel of this purchase is live.
        raise ApplicationError.conflict("cancel_in_progress", request_id=rrn) from exc
    row = _on_pinpad(row, lambda pad: pad.cancel(rrn, amount, row.transaction_id.hex))
    if row.status == PaymentStatus.PAID:
        change_payment(
            original, status=PaymentStatus.REVERSED, reason=f"cancelled by {row.transaction_id}"
        )
    return row


def close_day() -> PinpadResult:
    """End-of-day reconciliation on the terminal; its report is in the result's slip."""
    result = Pinpad.from_settings().close_day()
    journal(None, result)
    _settle_late_answers(result)
    return result


def settle_from_terminal(payment: Payment, *, dry_run: bool = False) -> tuple[str, str]:
    """For reconcile: what the terminal's last transaction says of an open HUMO payment.

    Only our most recent HUMO operation can be judged this way. If the terminal's last
    transaction is it, that settles it; if it is an earlier one of ours, this one never
    reached the terminal (failed); so too if the terminal has no transaction at all. Returns
    the status it ends in, and why.
    """
    if Payment.objects.filter(provider=Provider.HUMO, created_at__gt=payment.created_at).exists():
        return payment.status, "a later HUMO operation hides it: check the terminal's journal"
    last = Pinpad.from_settings().last_transaction()
    if not dry_run:
        journal(payment, last)
    answer = last.answer
    if answer is None:
        return payment.status, f"the terminal did not say: {last.reason}"
    if _is_about(answer, payment):
        if dry_run:
            return _PAYMENT_STATUS[last.status], "the terminal's last transaction"
        return _record(
            payment, answer, last.status, "found by reconcile"
        ).status, "the terminal's last transaction"
    earlier = _transaction_id(answer.order_id)
    nothing_at_all = not answer.reported_action  # the terminal has no transaction to report
    if nothing_at_all or (
        earlier
        and Payment.objects.filter(
            transaction_id=earlier, created_at__lt=payment.created_at
        ).exists()
    ):
        note = "never reached the terminal: its last transaction is an earlier one"
        if not dry_run:
            payment = change_payment(
                payment, status=PaymentStatus.FAILED, reason=note, actor="reconcile"
            )
        return PaymentStatus.FAILED, note
    return payment.status, "the terminal's last transaction is not ours"


def _transaction_id(order_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(hex=order_id)
    except ValueError:
        return None


def shift_totals() -> ShiftTotals:
    """Our own totals of the terminal's current shift: what we recorded as approved since
    the last successful close day."""
    last_close = (
        ProviderExchange.objects.filter(provider=Provider.HUMO, operation="close_day", error="")
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    shift = Payment.objects.filter(provider=Provider.HUMO)
    if last_close is not None:
        shift = shift.filter(created_at__gt=last_close)
    purchases = shift.filter(
        operation=Operation.PURCHASE, status__in=[PaymentStatus.PAID, PaymentStatus.REVERSED]
    )
    cancels = shift.filter(operation=Operation.CANCEL, status=PaymentStatus.PAID)
    return ShiftTotals(
        purchases=purchases.count(),
        purchase_amount=purchases.aggregate(total=Sum("amount"))["total"] or 0,
        cancels=cancels.count(),
        cancel_amount=cancels.aggregate(total=Sum("amount"))["total"] or 0,
    )


def _on_pinpad(payment: Payment, operation) -> Payment:  # noqa: ANN001
    pad = Pinpad.from_settings()
    payment = change_payment(payment, status=PaymentStatus.PROCESSING, reason="sent to the PIN pad")
    result = operation(pad)
    journal(payment, result)
    payment = _record(payment, result.answer, result.status, result.reason)
    _settle_late_answers(result)
    if result.status == Status.UNKNOWN:
        # Ask the terminal what it did last; never send the operation again.
        last = pad.last_transaction()
        journal(payment, last)
        _settle_late_answers(last)
        payment.refresh_from_db()
        if payment.status == PaymentStatus.UNKNOWN:
            if last.answer is not None and _is_about(last.answer, payment):
                payment = _record(payment, last.answer, last.status, "found by last_transaction")
            else:
                payment = change_payment(
                    payment,
                    reason="the terminal's last transaction is another one",
                    needs_attention=True,
                )
    return payment


def _record(payment: Payment, answer: PinpadAnswer | None, status: Status, reason: str) -> Payment:
    fields = {
        "provider_status": str(status),
        "provider_code": answer.host_code if answer else "",
        "provider_message": reason,
    }
    if answer is not None:
        fields.update(
            provider_payment_id=answer.rrn or payment.provider_payment_id,
            auth_code=answer.auth_code,
            masked_card=answer.masked_pan,
            terminal_id=answer.terminal_id,
            slip_text=answer.slip,
        )
    try:
        return change_payment(
            payment, status=_PAYMENT_STATUS[status], reason=f"PIN pad: {status}", **fields
        )
    except IllegalTransitionError:
        payment.refresh_from_db()
        return payment


def _is_about(answer: PinpadAnswer, payment: Payment) -> bool:
    expected = Action.CANCEL if payment.operation == Operation.CANCEL else Action.PURCHASE
    return (
        answer.order_id == payment.transaction_id.hex
        and answer.reported_action == expected
        and answer.amount == payment.amount
    )


def _settle_late_answers(result: PinpadResult) -> None:
    """Answers of earlier operations that arrived late settle those operations, when they
    are still unknown here."""
    for answer in result.stale:
        transaction_id = _transaction_id(answer.order_id)
        if transaction_id is None:
            continue
        payment = Payment.objects.filter(
            transaction_id=transaction_id, status=PaymentStatus.UNKNOWN
        ).first()
        if payment is not None:
            _record(payment, answer, classify(answer), "settled by a late answer")


def journal(payment: Payment | None, result: PinpadResult) -> None:
    """One row per exchange on the line: the request, the answer, what crossed the wire."""
    request = result.request
    answer = result.answer
    ProviderExchange.objects.create(
        payment=payment,
        provider=Provider.HUMO,
        operation=ACTION_NAMES.get(request.action, request.action),
        method="SERIAL",
        url=settings.PINPAD_URL[:500],
        request_body={
            "action": request.action,
            "order_id": request.order_id,
            "amount": request.amount,
            "original_rrn": request.original_rrn,
        },
        response_body=json.dumps(
            {
                "status": str(result.status),
                "answer": answer.__dict__ if answer else None,
                "late_answers": [a.order_id for a in result.stale],
                "trace": result.trace,
            },
            ensure_ascii=False,
        ),
        error=result.reason[:255],
        duration_ms=result.duration_ms,
    )
