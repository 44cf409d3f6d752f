"""Charging a scanned QR code (CLICK PASS, PAYME GO): one path for every QR provider.

The row is committed before the provider hears of it; the charge call is made once; a
lost answer is settled by asking the provider, never by charging again.
"""

import logging
import time

from django.db import IntegrityError, transaction

from payments.errors import ApplicationError
from payments.models import Payment, PaymentStatus
from payments.services.transitions import IllegalTransitionError, change_payment
from providers.registry import qr_gateway
from providers.results import GatewayResult, Outcome

logger = logging.getLogger(__name__)

# What each outcome means for the payment's status. UNKNOWN from a status lookup is
# absent on purpose: a lookup that got no answer changes nothing.
_CHARGE_STATUS = {
    Outcome.SUCCESS: PaymentStatus.PAID,
    Outcome.PENDING: PaymentStatus.PROCESSING,
    Outcome.FAILED: PaymentStatus.FAILED,
    Outcome.UNKNOWN: PaymentStatus.UNKNOWN,
}
CHECK_STATUS = {k: v for k, v in _CHARGE_STATUS.items() if k is not Outcome.UNKNOWN}
# Preparing charges nothing: only a refusal changes the payment (to failed).
_PREPARE_STATUS = {Outcome.FAILED: PaymentStatus.FAILED}


def charge_qr_code(*, provider: str, amount: int, qr_code: str) -> Payment:
    """Charge `amount` tiyin on a scanned code once; return the payment as it now stands.

    The same code again (for this provider) returns the first request's payment untouched.
    """
    gateway = qr_gateway(provider)
    payment, created = _create_once(provider=provider, amount=amount, qr_code=qr_code)
    if not created:
        if payment.amount != amount:
            raise ApplicationError.conflict(
                "qr_code_reused", transaction_id=str(payment.transaction_id)
            )
        return payment

    payment = change_payment(payment, status=PaymentStatus.PROCESSING, reason="charge sent")
    prepare = getattr(gateway, "prepare", None)
    if prepare is not None:
        # A provider that needs an object before the charge (Payme's receipt): its id is
        # committed before the charge, so a lost charge answer can still be looked up.
        prepared = prepare(payment)
        payment = record_result(payment, prepared, _PREPARE_STATUS, reason="prepared")
        if prepared.outcome is not Outcome.SUCCESS:
            return payment

    result = gateway.charge(payment)
    payment = record_result(payment, result, _CHARGE_STATUS, reason="charge answered")
    if result.outcome is Outcome.UNKNOWN:
        # The charge may have gone through. Ask; never send it again.
        result = gateway.check(payment)
        payment = record_result(payment, result, CHECK_STATUS, reason="status after lost answer")
    attempts, interval = gateway.poll_schedule()
    for attempt in range(1, attempts + 1):
        if result.outcome is not Outcome.PENDING:
            break
        time.sleep(interval)
        result = gateway.check(payment)
        payment = record_result(payment, result, CHECK_STATUS, reason=f"status poll {attempt}")
    settle = getattr(gateway, "settle_after_polling", None)
    if result.outcome is Outcome.PENDING and settle is not None:
        # Still not final after the window: the provider's own way to end it (Payme
        # cancels a receipt still waiting, so that a late payment cannot land).
        result = settle(payment, result)
        payment = record_result(payment, result, CHECK_STATUS, reason="settled after polling")
    return payment


def check_status(payment: Payment, *, actor: str = "system") -> Payment:
    """Ask the provider once what became of a payment and record the answer."""
    result = qr_gateway(payment.provider).check(payment)
    return record_result(payment, result, CHECK_STATUS, reason="status lookup", actor=actor)


def record_result(
    payment: Payment,
    result: GatewayResult,
    status_by_outcome: dict[Outcome, str],
    *,
    reason: str,
    actor: str = "system",
) -> Payment:
    """Write what a provider said onto the payment, through the locked path."""
    fields = {
        "provider_status": result.provider_status or payment.provider_status,
        "provider_code": "" if result.code is None else str(result.code),
    }
    # The charge's own note is what the register shows; a later lookup replaces it only to
    # say why the payment failed.
    if result.message and (result.outcome is Outcome.FAILED or not payment.provider_message):
        fields["provider_message"] = result.message
    for name in ("provider_payment_id", "payer_phone", "masked_card"):
        value = getattr(result, name)
        if value:
            fields[name] = value
    status = status_by_outcome.get(result.outcome)
    if result.needs_attention:
        # The provider itself says a person must look (Payme state 20, a late payment
        # being returned): flag it, and an open outcome becomes ours too.
        fields["needs_attention"] = True
        if result.outcome is Outcome.UNKNOWN:
            status = PaymentStatus.UNKNOWN
    try:
        return change_payment(
            payment, status=status, reason=f"{reason}: {result.outcome}", actor=actor, **fields
        )
    except IllegalTransitionError as exc:
        # Someone (reconcile, an operator) settled it meanwhile; their word stands.
        logger.warning("not recorded, %s", exc)
        payment.refresh_from_db()
        return payment


def _create_once(*, provider: str, amount: int, qr_code: str) -> tuple[Payment, bool]:
    try:
        with transaction.atomic():
            return Payment.objects.create(provider=provider, amount=amount, qr_code=qr_code), True
    except IntegrityError:
        # The unique (provider, qr_code) constraint: this code was seen before.
        return Payment.objects.get(provider=provider, qr_code=qr_code), False
