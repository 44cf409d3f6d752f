"""Idempotency-Key: one request, one answer, however often the register sends it."""

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import IdempotencyKey


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The same request: method, path (either slash form) and body, JSON compared by value."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    text = f"{method.upper()} {path.rstrip('/')}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim(key: str, request_hash: str) -> tuple[IdempotencyKey, bool]:
    """The key's row, and whether this request is its first (and so must run).

    The row is committed before the request runs, so a replay that arrives meanwhile finds
    it. An expired key is forgotten and claimed anew.
    """
    expires_at = timezone.now() + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    for _ in range(2):
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    key=key, request_hash=request_hash, expires_at=expires_at
                )
            return row, True
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(key=key).first()
            if existing is None:
                continue  # purged in between: try again
            if existing.expires_at > timezone.now():
                return existing, False
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=timezone.now()).delete()
    raise RuntimeError(f"could not claim idempotency key {key!r}")


def remember(
    row: IdempotencyKey, status: int, body: dict, rendered: str, transaction_id: str | None
) -> None:
    """Keep a final answer (as sent) for replays; for an open outcome keep only the
    transaction id."""
    if body.get("error") and body["error"].get("code") in OPEN_OUTCOME_CODES:
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
