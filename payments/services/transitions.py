"""The one locked path through which every change to a payment goes.

`change_payment` takes the row lock (`select_for_update` inside `transaction.atomic`),
refuses transitions the state machine does not allow, writes the fields and records the
change in the payment's timeline. Callers always continue with the row it returns.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from payments.models import FiscalStatus, Payment, PaymentEvent, PaymentStatus

S = PaymentStatus
F = FiscalStatus

ALLOWED_STATUS_CHANGES: dict[str, set[str]] = {
    S.CREATED: {S.PROCESSING, S.FAILED, S.UNKNOWN},
    S.PROCESSING: {S.PAID, S.FAILED, S.UNKNOWN},
    S.UNKNOWN: {S.PROCESSING, S.PAID, S.FAILED},
    S.PAID: {S.REVERSED},
    S.FAILED: set(),
    S.REVERSED: set(),
}

ALLOWED_FISCAL_CHANGES: dict[str, set[str]] = {
    F.NOT_REQUIRED: {F.PENDING},
    F.PENDING: {F.SUBMITTED, F.FAILED},
    F.FAILED: {F.SUBMITTED},
    F.SUBMITTED: set(),
}

# Fields a change may write besides the two statuses. Identity and amount never change.
WRITABLE_FIELDS = frozenset(
    {
        "provider_payment_id",
        "provider_status",
        "provider_code",
        "provider_message",
        "payer_phone",
        "masked_card",
        "auth_code",
        "terminal_id",
        "slip_text",
        "fiscal_receipt_url",
        "fiscal_error",
        "fiscal_response",
        "fiscal_attempts",
        "fiscal_next_attempt_at",
        "needs_attention",
    }
)


class IllegalTransitionError(Exception):
    """The change does not follow the state machine (often: someone settled it first)."""

    def __init__(self, payment: Payment, field: str, current: str, wanted: str) -> None:
        self.payment = payment
        super().__init__(f"payment {payment.transaction_id}: {field} {current} -> {wanted}")


def change_payment(
    payment: Payment,
    *,
    reason: str,
    status: str | None = None,
    fiscal_status: str | None = None,
    actor: str = "system",
    **fields: Any,
) -> Payment:
    """Apply one change to a payment under its row lock and return the updated row.

    Setting a status equal to the current one is allowed and only writes `fields`.
    """
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"change_payment cannot write {sorted(unknown)}")
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        event = PaymentEvent(payment=locked, actor=actor, reason=reason[:255])
        if status is not None and status != locked.status:
            if status not in ALLOWED_STATUS_CHANGES[locked.status]:
                raise IllegalTransitionError(locked, "status", locked.status, status)
            event.from_status, event.to_status = locked.status, status
            locked.status = status
            if status == S.PAID:
                locked.paid_at = timezone.now()
                fields.setdefault("needs_attention", False)
                # A paid QR payment now waits for the register's fiscal receipt.
                if locked.qr_code is not None and locked.fiscal_status == F.NOT_REQUIRED:
                    fiscal_status = F.PENDING
        if fiscal_status is not None and fiscal_status != locked.fiscal_status:
            if fiscal_status not in ALLOWED_FISCAL_CHANGES[locked.fiscal_status]:
                raise IllegalTransitionError(
                    locked, "fiscal_status", locked.fiscal_status, fiscal_status
                )
            event.from_fiscal_status, event.to_fiscal_status = locked.fiscal_status, fiscal_status
            locked.fiscal_status = fiscal_status
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", "fiscal_status", "paid_at", "updated_at", *fields])
        if event.to_status or event.to_fiscal_status:
            event.save()
    return locked
