"""Passing the register's fiscal receipt (its OFD URL) to the provider of a paid payment."""

from payments.errors import ApplicationError
from payments.models import FiscalStatus, Payment, PaymentStatus
from payments.ofd import OfdReceipt
from payments.selectors import payment_by_reference
from payments.services.transitions import change_payment
from providers.registry import qr_gateway
from providers.results import Outcome


def submit_receipt(*, provider: str, reference: str, receipt: OfdReceipt) -> Payment:
    """Submit the receipt once. The same URL again succeeds without a second provider call;
    another URL after success is a conflict."""
    payment = payment_by_reference(provider, reference)
    if payment is None:
        raise ApplicationError.conflict("not_found", payment_id=reference)
    if payment.status != PaymentStatus.PAID:
        raise ApplicationError.conflict("not_paid", status=payment.status)
    if payment.fiscal_status == FiscalStatus.SUBMITTED:
        if payment.fiscal_receipt_url == receipt.url:
            return payment
        raise ApplicationError.conflict("already_fiscalized", qr_code=payment.fiscal_receipt_url)

    result = qr_gateway(provider).submit_fiscal(payment, receipt)
    if result.outcome is Outcome.SUCCESS:
        return change_payment(
            payment,
            fiscal_status=FiscalStatus.SUBMITTED,
            reason="fiscal receipt accepted",
            fiscal_receipt_url=receipt.url,
            fiscal_error="",
            fiscal_response=result.raw,
        )
    note = result.message or f"fiscal submission {result.outcome}"
    change_payment(
        payment,
        fiscal_status=FiscalStatus.FAILED,
        reason=f"fiscal receipt not accepted: {result.outcome}",
        fiscal_receipt_url=receipt.url,
        fiscal_error=note,
    )
    raise ApplicationError.billing(provider, result.code, note)
