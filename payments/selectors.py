"""Reads of payments. Writes live in payments.services."""

import uuid

from django.db.models import Q

from payments.models import Payment


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def payment_by_transaction_id(transaction_id: str) -> Payment | None:
    parsed = _as_uuid(transaction_id)
    if parsed is None:
        return None
    return Payment.objects.filter(transaction_id=parsed).first()


def payment_by_reference(provider: str, reference: str) -> Payment | None:
    """A provider's payment by the provider's id or by our transaction id."""
    match = Q(provider_payment_id=reference)
    parsed = _as_uuid(reference)
    if parsed is not None:
        match |= Q(transaction_id=parsed)
    return Payment.objects.filter(match, provider=provider).first()
