"""Passing the register's fiscal receipt (its OFD URL) to the provider of a paid payment,
and sending refused ones again later."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from payments.errors import ApplicationError
from payments.models import FiscalStatus, Payment, PaymentStatus
from payments.ofd import OfdReceipt, parse_receipt_url
from payments.selectors import payment_by_reference
from payments.services.transitions import change_payment
from providers.registry import qr_gateway
from providers.results import GatewayResult, Outcome


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
    payment, result = send_receipt(payment, receipt)
    if payment.fiscal_status != FiscalStatus.SUBMITTED:
        raise ApplicationError.billing(provider, result.code, payment.fiscal_error)
    return payment


def send_receipt(
    payment: Payment, receipt: OfdReceipt, *, actor: str = "system"
) -> tuple[Payment, GatewayResult]:
    """One submission to the provider, recorded; a refusal schedules the next attempt."""
    result = qr_gateway(payment.provider).submit_fiscal(payment, receipt)
    if result.outcome is Outcome.SUCCESS:
        return _submitted(payment, receipt, result.raw, "fiscal receipt accepted", actor), result
    attempts = payment.fiscal_attempts + 1
    backoff = settings.FISCAL_RETRY_BACKOFF_MINUTES
    next_at = (
        timezone.now() + timedelta(minutes=backoff[attempts - 1])
        if attempts <= len(backoff)
        else None
    )
    payment = change_payment(
        payment,
        fiscal_status=FiscalStatus.FAILED,
        reason=f"fiscal receipt not accepted: {result.outcome}",
        actor=actor,
        fiscal_receipt_url=receipt.url,
        fiscal_error=result.message or f"fiscal submission {result.outcome}",
        fiscal_attempts=attempts,
        fiscal_next_attempt_at=next_at,
    )
    return payment, result


def retry(payment: Payment, *, actor: str = "retry_fiscal") -> Payment:
    """Send a refused receipt again, unless the provider already has it on file."""
    receipt = parse_receipt_url(payment.fiscal_receipt_url)
    on_file = getattr(qr_gateway(payment.provider), "fiscal_on_file", None)
    if on_file is not None and on_file(payment, receipt).outcome is Outcome.SUCCESS:
        return _submitted(
            payment, receipt, payment.fiscal_response, "already on file at the provider", actor
        )
    return send_receipt(payment, receipt, actor=actor)[0]


def due_retries(provider: str | None = None) -> QuerySet[Payment]:
    """Refused receipts whose next attempt is due."""
    due = Payment.objects.filter(fiscal_status=FiscalStatus.FAILED).exclude(fiscal_receipt_url="")
    due = due.filter(
        Q(fiscal_next_attempt_at__isnull=True) | Q(fiscal_next_attempt_at__lte=timezone.now())
    )
    due = due.filter(fiscal_attempts__lte=len(settings.FISCAL_RETRY_BACKOFF_MINUTES))
    return due.filter(provider=provider) if provider else due


def exhausted(provider: str | None = None) -> QuerySet[Payment]:
    """Refused receipts with no attempt left: a person must look."""
    done = Payment.objects.filter(
        fiscal_status=FiscalStatus.FAILED,
        fiscal_attempts__gt=len(settings.FISCAL_RETRY_BACKOFF_MINUTES),
    )
    return done.filter(provider=provider) if provider else done


def overdue_receipts(provider: str | None = None) -> QuerySet[Payment]:
    """Paid QR payments whose register has sent no receipt past the deadline."""
    deadline = timezone.now() - timedelta(minutes=settings.FISCAL_RECEIPT_DEADLINE_MINUTES)
    overdue = Payment.objects.filter(
        status=PaymentStatus.PAID, fiscal_status=FiscalStatus.PENDING, paid_at__lte=deadline
    )
    return overdue.filter(provider=provider) if provider else overdue


def _submitted(
    payment: Payment, receipt: OfdReceipt, response: object, reason: str, actor: str
) -> Payment:
    return change_payment(
        payment,
        fiscal_status=FiscalStatus.SUBMITTED,
        reason=reason,
        actor=actor,
        fiscal_receipt_url=receipt.url,
        fiscal_error="",
        fiscal_response=response,
        fiscal_next_attempt_at=None,
    )
