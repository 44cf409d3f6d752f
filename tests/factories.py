"""Payments for tests: one way to make them, in any state, without a provider."""

import itertools
from typing import Any

from payments.models import Payment, PaymentStatus
from payments.services.charging import gateway_input
from payments.services.transitions import change_payment
from providers import registry
from providers.base import PaymentData

# The state machine's way to each status, from created.
_PATHS = {
    PaymentStatus.CREATED: [],
    PaymentStatus.PROCESSING: [PaymentStatus.PROCESSING],
    PaymentStatus.UNKNOWN: [PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN],
    PaymentStatus.PAID: [PaymentStatus.PROCESSING, PaymentStatus.PAID],
    PaymentStatus.FAILED: [PaymentStatus.PROCESSING, PaymentStatus.FAILED],
    PaymentStatus.REVERSED: [PaymentStatus.PROCESSING, PaymentStatus.PAID, PaymentStatus.REVERSED],
}


_codes = itertools.count(880101000001)
_SCANNED = object()  # a new scanned code, for the providers that take one


def make_payment(
    *,
    provider: str = "click",
    amount: int = 500,
    qr_code: Any = _SCANNED,
    status: str = PaymentStatus.CREATED,
    **fields: Any,
) -> Payment:
    """A payment row brought to `status` through the locked path (so its timeline is
    real); `fields` are written on the way (provider ids, fiscal state, ...)."""
    if qr_code is _SCANNED:
        qr_code = str(next(_codes)) if registry.GATEWAYS[provider].takes_fiscal_receipts else None
    created = {k: fields.pop(k) for k in ("operation", "reverses", "created_at") if k in fields}
    payment = Payment.objects.create(provider=provider, amount=amount, qr_code=qr_code, **created)
    if "created_at" in created:  # auto_now_add ignores it on insert
        Payment.objects.filter(pk=payment.pk).update(created_at=created["created_at"])
        payment.refresh_from_db()
    for step in _PATHS[status]:
        payment = change_payment(payment, status=step, reason="test set-up")
    if fields:
        payment = change_payment(payment, reason="test set-up", **fields)
    return payment


def data_of(payment: Payment) -> PaymentData:
    """What the payment's gateway would be given."""
    return gateway_input(payment)
