"""Idempotency-Key: one request, one answer, however often the register sends it.

`run_once` is the whole decision: the first request under a key claims it and runs; a
replay with another request is refused; a replay waits for the first to have made its
payment, then gets the first's answer as sent, or (when that answer was open) an answer
from the payment as it stands now, never a second run. The work learns its key and binds
it to the payment in the transaction that makes the payment (`bind`), so no replay finds a
payment its key does not know.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.errors import ApplicationError
from payments.middleware import note_transaction
from payments.models import IdempotencyKey, Payment, Register
from payments.selectors import payment_by_transaction_id
from payments.services.reconnect import CONNECTION_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What the register is told: the HTTP status and the envelope, as data (None for an
    answer read back as sent) and as sent."""

    status: int
    data: dict[str, Any] | None
    body: str


# The work of a request under a key: it makes (or finds) the payment and binds the key to
# it in that transaction. The answer to the payment it returned, or to what it raised (a
# replay's answer from the payment as it stands now: `replay` true); never raises.
Work = Callable[[IdempotencyKey], Payment]
Respond = Callable[[Payment | Exception, bool], Answer]


def run_once(
    register: Register, key: str, request_hash: str, work: Work, respond: Respond
) -> Answer:
    """The answer to the request under the register's `key`: the first run's, or a replay's
    (see the module's docstring). The same key with another request is a conflict; a
    replay that finds no payment of the first run's in time is 110."""
    row, first = claim(register, key, request_hash)
    if first:
        payment: Payment | None = None
        try:
            payment = work(row)
            answer = respond(payment, False)
        except Exception as exc:  # every answer is remembered, errors too
            answer = respond(exc, False)
        return _remembered(row, answer, payment)
    if row.request_hash != request_hash:
        raise ApplicationError.conflict("idempotency_key_reused")
    row, known = bound_payment(row)
    if not known:
        raise ApplicationError.outcome_unknown(None)
    if row.response_body is not None:
        return Answer(row.response_status or 200, None, row.response_body)
    # Still running, or its outcome was open: answered from the payment as it stands now
    # (reconcile may have settled it), never by running it again.
    found = payment_by_transaction_id(str(row.transaction_id or ""), register=register)
    if found is None:
        raise ApplicationError.outcome_unknown(row.transaction_id)
    return _remembered(row, respond(found, True), found)


def _remembered(row: IdempotencyKey, answer: Answer, payment: Payment | None) -> Answer:
    transaction_id = str(payment.transaction_id) if payment is not None else None
    try:
        remember(row, answer.status, answer.data or {}, answer.body, transaction_id)
    except CONNECTION_ERRORS:
        # Our database is gone for now. The answer still goes out: the key already knows
        # its payment (bound when the payment was made), so a replay answers from it.
        logger.exception("could not remember the answer under key %s", row.key)
    return answer


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


def about(payment: Payment, key: IdempotencyKey | None) -> None:
    """The request is about `payment`: its log lines say so, and its key, if it has one,
    is bound to it. Called in the transaction that makes (or finds) the payment."""
    note_transaction(payment.transaction_id)
    if key is not None:
        bind(key, payment)


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
