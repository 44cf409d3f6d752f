"""What operators do to a payment from the admin: the same services the commands use."""

from payments.errors import ApplicationError
from payments.models import Operation, Payment, PaymentStatus, Provider
from payments.services import fiscal, humo
from payments.services.charging import check_status
from payments.services.transitions import change_payment
from providers.registry import qr_gateway
from providers.results import Outcome


def ask_status(payment: Payment, *, actor: str) -> str:
    """Ask the provider (or the PIN pad) what became of the payment; say what it said."""
    if payment.provider == Provider.HUMO:
        if payment.status not in (PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN):
            return f"HUMO {payment.status}: the terminal is asked only about open operations"
        after, note = humo.settle_from_terminal(payment)
        return f"{after}: {note}"
    before = payment.status
    payment = check_status(payment, actor=actor)
    return f"{before} → {payment.status} ({payment.provider_status or 'no status'})"


def retry_fiscal(payment: Payment, *, actor: str) -> str:
    if payment.fiscal_status != "failed" or not payment.fiscal_receipt_url:
        return f"nothing to send: fiscal status {payment.fiscal_status}"
    payment = fiscal.retry(payment, actor=actor)
    return f"fiscal status {payment.fiscal_status}"


def reverse(payment: Payment, *, actor: str) -> str:
    """Undo a paid payment at its provider: CLICK reversal, Payme receipts.cancel, HUMO cancel."""
    if payment.status != PaymentStatus.PAID or payment.operation != Operation.PURCHASE:
        raise ApplicationError.conflict("not_paid", status=payment.status)
    if payment.provider == Provider.HUMO:
        cancel = humo.cancel(payment.provider_payment_id, payment.amount)
        return f"HUMO cancel {cancel.status} ({cancel.provider_code})"
    result = qr_gateway(payment.provider).reverse(payment)
    if result.outcome is not Outcome.SUCCESS:
        raise ApplicationError.billing(payment.provider, result.code, result.message)
    change_payment(
        payment, status=PaymentStatus.REVERSED, reason="reversed by an operator", actor=actor
    )
    return "reversed"


def settle_by_hand(payment: Payment, status: str, *, reason: str, actor: str) -> str:
    """An operator who knows (the provider's cabinet, the terminal's journal) says what happened."""
    if payment.status not in (PaymentStatus.UNKNOWN, PaymentStatus.PROCESSING):
        raise ApplicationError.conflict("not_open", status=payment.status)
    change_payment(
        payment, status=status, reason=f"by hand: {reason}", actor=actor, needs_attention=False
    )
    return status
