"""Payments for tests: one way to make them, in any state, without a provider."""

from typing import Any

from payments.models import Payment, PaymentStatus
from payments.services.charging import gateway_input
from payments.services.transitions import change_payment
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


def make_payment(
    *,
    provider: str = "click",
    amount: int = 500,
    qr_code: str | None = None,
    status: str = PaymentStatus.CREATED,
    **fields: Any,
) -> Payment:
    """A payment row brought to `status` through the locked path (so its timeline is
    real); `fields` are written on the way (provider ids, fiscal state, ...)."""
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
