"""Idempotency-Key: one request, one answer, however often the register sends it."""

import hashlib
import json
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import IdempotencyKey, Payment, Register


def fingerprint(method: str, path: str, data: Any) -> str:
    """The same request: method, path (either slash form) and body, compared by value as
    the parser read it (so a body it refuses, nested too deep say, never gets here)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    text = f"{method.upper()} {path.rstrip('/')}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim(register: Register, key: str, request_hash: str) -> tuple[IdempotencyKey, bool]:
    """The register's row of the key, and whether this request is its first (and so must
    run). Keys are per register: another register's same key is another key.

    The row is committed before the request runs, so a replay that arrives meanwhile finds
    it. An expired key is forgotten and claimed anew.
    """
    expires_at = timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    for _ in range(2):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    register=register, key=key, request_hash=request_hash, expires_at=expires_at
                )
            return row, True
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(register=register, key=key).first()
            if existing is None:
                continue  # purged in between: try again
            if existing.expires_at > timezone.now():
                return existing, False
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=timezone.now()).delete()
    raise RuntimeError(f"could not claim idempotency key {key!r}")


def bind(row: IdempotencyKey, payment: Payment) -> None:
    """The key's request is about this payment. Called in the transaction that makes the
    payment, so no replay ever finds the payment without the key knowing it."""
    IdempotencyKey.objects.filter(pk=row.pk).update(transaction_id=payment.transaction_id)
    row.transaction_id = payment.transaction_id


def bound_payment(row: IdempotencyKey, *, wait: float = 3.0) -> tuple[IdempotencyKey, bool]:
    """The key's row once its first request made its payment or gave its final answer
    (waiting up to `wait` seconds: a replay can arrive the moment after the first), and
    whether it got there."""
    deadline = time.monotonic() + wait
    while row.response_body is None and row.transaction_id is None:
        if time.monotonic() > deadline:
            return row, False
        time.sleep(0.05)
        row.refresh_from_db()
    return row, True


def remember(
    row: IdempotencyKey, status: int, body: dict, rendered: str, transaction_id: str | None
) -> None:
    """Keep a final answer (as sent) for replays; for an open outcome keep only the
    transaction id, which replays answer from. An open outcome from a request that made no
    payment made nothing anywhere: the key is forgotten, and a replay runs anew."""
    row.refresh_from_db(fields=["transaction_id"])
    transaction_id = transaction_id or (str(row.transaction_id) if row.transaction_id else None)
    if body.get("error") and body["error"].get("code") in OPEN_OUTCOME_CODES:
        if transaction_id is None:
            row.delete()
            return
        row.transaction_id = transaction_id
        row.save(update_fields=["transaction_id"])
        return
    row.response_status, row.response_body = status, rendered
    row.transaction_id = transaction_id
    row.save(update_fields=["response_status", "response_body", "transaction_id"])


# Answers that are not the request's last word: 110 (outcome unknown) and 103 (internal).
OPEN_OUTCOME_CODES = frozenset({110, 103})


def purge_expired(*, dry_run: bool = False) -> int:
    expired = IdempotencyKey.objects.filter(expires_at__lte=timezone.now())
    return expired.count() if dry_run else expired.delete()[0]
