"""Passing the register's fiscal receipt (its OFD URL) to the provider of a paid payment,
and sending refused ones again later."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from payments.errors import ApplicationError
from payments.models import FiscalStatus, IdempotencyKey, Payment, PaymentStatus, Register
from payments.ofd import parse_receipt_url
from payments.reasons import Code, Reason, because
from payments.selectors import other_payment_with_receipt, payment_by_reference
from payments.services import accounts, idempotency
from payments.services.charging import gateway_input
from payments.services.reconnect import on_live_connection, record_or_unknown
from payments.store import change_payment, claim_fiscal, journal
from providers import registry
from providers.base import GatewayResult, OfdReceipt, Outcome


def submit_receipt(
    *,
    register: Register,
    provider: str,
    reference: str,
    receipt: OfdReceipt,
    key: IdempotencyKey | None = None,
) -> Payment:
    """Submit the receipt once. The same URL again succeeds without a second provider call;
    another URL after success is a conflict. The request's Idempotency-Key (`key`) is bound
    to the payment it names."""
    payment = payment_by_reference(provider, reference, register=register)
    if payment is None:
        raise ApplicationError.conflict("not_found", payment_id=reference)
    idempotency.about(payment, key)
    if payment.status != PaymentStatus.PAID:
        raise ApplicationError.conflict("not_paid", status=payment.status)
    other = other_payment_with_receipt(receipt.url, payment)
    if other is not None and payment.fiscal_receipt_url != receipt.url:
        # One fiscal receipt is the receipt of one sale. Another register's sale is not
        # named to this one.
        mine = (
            {"transaction_id": str(other.transaction_id)}
            if other.register_id == register.pk
            else {}
        )
        raise ApplicationError.conflict("receipt_reused", **mine)
    accounts.account_of(register.pk, provider)  # misconfigured: refused before the claim
    found: Payment = payment  # what the lambda below sees (a name never rebound)
    claimed = on_live_connection(
        lambda: claim_fiscal(found, receipt.url),
        what=f"claiming the fiscal submission of {payment.transaction_id}",
    )
    if claimed is None:
        return payment  # this receipt is on file already: the same answer, no second call
    payment, result = send_receipt(claimed, receipt)
    if payment.fiscal_status != FiscalStatus.SUBMITTED:
        raise ApplicationError.billing(provider, result.code, payment.fiscal_error)
    return payment


def send_receipt(
    payment: Payment, receipt: OfdReceipt, *, actor: str = "system"
) -> tuple[Payment, GatewayResult]:
    """One submission to the provider (the caller holds the claim), recorded; a refusal
    schedules the next attempt. An answer that did not come is not a refusal until the
    provider, asked, says it does not hold the receipt."""
    gateway = registry.GATEWAYS[payment.provider]
    result = gateway.submit_fiscal(gateway_input(payment), receipt)
    if result.outcome is Outcome.UNKNOWN:
        asked = gateway.fiscal_on_file(gateway_input(payment), receipt)
        exchanges = result.exchanges + asked.exchanges
        if asked.outcome is Outcome.SUCCESS:
            result = replace(asked, raw=result.raw or asked.raw, exchanges=exchanges)
        else:
            result = replace(result, exchanges=exchanges)
    if result.outcome is Outcome.SUCCESS:
        return _submitted(payment, receipt, result, Code.FISCAL_ACCEPTED, actor), result
    attempts = payment.fiscal_attempts + 1
    backoff = settings.FISCAL_RETRY_BACKOFF_MINUTES
    next_at = (
        timezone.now() + timedelta(minutes=backoff[attempts - 1])
        if attempts <= len(backoff)
        else None
    )
    payment = _on_live_connection(
        payment,
        exchanges=result.exchanges,
        fiscal_status=FiscalStatus.FAILED,
        reason=because(Code.FISCAL_NOT_ACCEPTED, outcome=result.outcome),
        actor=actor,
        fiscal_receipt_url=receipt.url,
        fiscal_error=result.message or f"fiscal submission {result.outcome}",
        fiscal_attempts=attempts,
        fiscal_next_attempt_at=next_at,
        fiscal_sending_url="",
        fiscal_sending_since=None,
    )
    return payment, result


def retry(payment: Payment, *, actor: str = "retry_fiscal") -> Payment:
    """Send a refused receipt again, unless the provider already has it on file. A confirm
    from the register sending at this moment goes first: this retry waits its next turn."""
    # An abandoned submission's receipt is the one it was sending.
    receipt = parse_receipt_url(payment.fiscal_sending_url or payment.fiscal_receipt_url)
    # An account that cannot be used now (108 misconfigured) is the caller's to report;
    # nothing is claimed, so the next run tries again once it is mended.
    accounts.account_of(payment.register_id, payment.provider)
    try:
        claimed = claim_fiscal(payment, receipt.url)
    except ApplicationError:
        return payment
    if claimed is None:
        return payment
    payment = claimed
    gateway = registry.GATEWAYS[payment.provider]
    on_file = gateway.fiscal_on_file(gateway_input(payment), receipt)
    if on_file.outcome is Outcome.SUCCESS:
        kept = GatewayResult(
            Outcome.SUCCESS, raw=payment.fiscal_response, exchanges=on_file.exchanges
        )
        return _submitted(payment, receipt, kept, Code.FISCAL_ON_FILE, actor)
    journal(payment, on_file.exchanges)
    return send_receipt(payment, receipt, actor=actor)[0]


def _submitted(
    payment: Payment, receipt: OfdReceipt, result: GatewayResult, reason: Reason | str, actor: str
) -> Payment:
    return _on_live_connection(
        payment,
        exchanges=result.exchanges,
        fiscal_status=FiscalStatus.SUBMITTED,
        reason=reason,
        actor=actor,
        fiscal_receipt_url=receipt.url,
        fiscal_error="",
        fiscal_response=result.raw,
        fiscal_next_attempt_at=None,
        fiscal_sending_url="",
        fiscal_sending_since=None,
    )


def _on_live_connection(payment: Payment, **change: Any) -> Payment:
    """The provider's answer to a submission, written even if our connection died
    meanwhile; if it cannot be written, the register hears 110 and `retry_fiscal` asks the
    provider once the claim is abandoned."""
    return record_or_unknown(
        lambda: change_payment(payment, **change),
        transaction_id=payment.transaction_id,
        exchanges=change.get("exchanges", ()),
        what="the fiscal answer",
    )
