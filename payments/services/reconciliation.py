"""Settling what requests left open, and checking paid payments against the providers.

Provider lookups run in a bounded pool of threads; every database write (payment changes
through the locked path, journal rows) happens in the calling thread, a batch of answers
per transaction.
"""

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from payments.models import Payment, PaymentStatus, Provider, ProviderExchange
from payments.services import humo
from payments.services.charging import CHECK_STATUS, record_result
from payments.services.transitions import IllegalTransitionError, change_payment
from providers import http
from providers.registry import qr_gateway
from providers.results import GatewayResult, Outcome

OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN)
WRITE_BATCH = 200  # answers written per transaction
ACTOR = "reconcile"


@dataclass(frozen=True)
class Settled:
    transaction_id: str
    provider: str
    before: str
    after: str
    needs_person: bool
    note: str = ""


def open_payments(
    *,
    provider: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_age: timedelta | None = None,
) -> QuerySet[Payment]:
    """created / processing / unknown payments old enough not to be running any more."""
    age = min_age if min_age is not None else timedelta(seconds=settings.RECONCILE_MIN_AGE_SECONDS)
    payments = Payment.objects.filter(
        status__in=OPEN_STATUSES, created_at__lte=timezone.now() - age
    )
    return _in_period(payments, provider, since, until).order_by("created_at")


def paid_payments(
    *, provider: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Payment]:
    payments = Payment.objects.filter(status=PaymentStatus.PAID).exclude(provider=Provider.HUMO)
    return _in_period(payments, provider, since, until).order_by("created_at")


def _in_period(
    payments: QuerySet[Payment],
    provider: str | None,
    since: datetime | None,
    until: datetime | None,
) -> QuerySet[Payment]:
    if provider:
        payments = payments.filter(provider=provider)
    if since:
        payments = payments.filter(created_at__gte=since)
    if until:
        payments = payments.filter(created_at__lt=until)
    return payments


def settle_open(
    payments: Iterable[Payment],
    *,
    dry_run: bool = False,
    workers: int | None = None,
    progress: Callable[[], None] = lambda: None,
) -> list[Settled]:
    """Ask the provider about each open payment and record what it says."""

    def apply(payment: Payment, result: GatewayResult | None) -> Settled:
        before = payment.status
        if payment.status == PaymentStatus.CREATED:
            # Never sent: the process stopped before the provider was called.
            return _change(payment, PaymentStatus.FAILED, "never sent to the provider", dry_run)
        if payment.provider == Provider.HUMO:
            # Only the terminal's last transaction can tell (asked here: one line, one lock).
            after, note = humo.settle_from_terminal(payment, dry_run=dry_run)
            if after in OPEN_STATUSES:
                return _needs_person(payment, note, dry_run, before)
            return Settled(
                str(payment.transaction_id), payment.provider, before, after, False, note
            )
        trusted_absence = result.not_found and settings.RECONCILE_NOT_FOUND_IS_FAILED
        if result.outcome is Outcome.UNKNOWN and trusted_absence:
            return _change(
                payment, PaymentStatus.FAILED, "the provider has no such payment", dry_run
            )
        if dry_run:
            after = CHECK_STATUS.get(result.outcome, before)
            return Settled(
                str(payment.transaction_id),
                payment.provider,
                before,
                after,
                after in OPEN_STATUSES,
                result.message,
            )
        payment = record_result(payment, result, CHECK_STATUS, reason="reconcile", actor=ACTOR)
        if payment.status in OPEN_STATUSES:
            return _needs_person(
                payment, result.message or f"still {payment.status}", dry_run, before
            )
        return Settled(
            str(payment.transaction_id),
            payment.provider,
            before,
            payment.status,
            payment.needs_attention,
            result.message,
        )

    def ask(payment: Payment) -> GatewayResult | None:
        return _ask_open(payment, dry_run=dry_run)

    return _ask_all(payments, ask, apply, dry_run=dry_run, workers=workers, progress=progress)


def check_paid(
    payments: Iterable[Payment],
    *,
    dry_run: bool = False,
    workers: int | None = None,
    progress: Callable[[], None] = lambda: None,
) -> list[Settled]:
    """Ask the provider about each paid payment; one it reversed is marked reversed."""

    def apply(payment: Payment, result: GatewayResult | None) -> Settled | None:
        if result is None or result.outcome is not Outcome.FAILED:
            return None  # still paid, or no answer: nothing to say
        if dry_run:
            return Settled(
                str(payment.transaction_id),
                payment.provider,
                payment.status,
                PaymentStatus.REVERSED,
                True,
                result.message,
            )
        return _change(
            payment,
            PaymentStatus.REVERSED,
            f"reversed at the provider: {result.message}",
            dry_run,
            flag=True,
        )

    settled = _ask_all(
        payments, _ask_paid, apply, dry_run=dry_run, workers=workers, progress=progress
    )
    return [s for s in settled if s is not None]


# --- the parallel part -------------------------------------------------------------------


def _ask_open(payment: Payment, *, dry_run: bool) -> GatewayResult | None:
    if payment.status == PaymentStatus.CREATED or payment.provider == Provider.HUMO:
        return None
    gateway = qr_gateway(payment.provider)
    result = gateway.check(payment)
    settle = getattr(gateway, "settle_after_polling", None)
    if result.outcome is Outcome.PENDING and settle is not None and not dry_run:
        result = settle(payment, result)  # Payme: a receipt still waiting is cancelled
    return result


def _ask_paid(payment: Payment) -> GatewayResult | None:
    return qr_gateway(payment.provider).check(payment)


def _ask_all(
    payments: Iterable[Payment],
    ask: Callable[[Payment], GatewayResult | None],
    apply: Callable[[Payment, GatewayResult | None], Settled | None],
    *,
    dry_run: bool,
    workers: int | None,
    progress: Callable[[], None],
) -> list[Settled | None]:
    def in_worker(payment: Payment) -> tuple[GatewayResult | None, list[ProviderExchange]]:
        with http.deferred_journal() as rows:
            return ask(payment), list(rows)

    settled: list[Settled | None] = []
    answered: list[tuple[Payment, GatewayResult | None, list[ProviderExchange]]] = []

    def write() -> None:
        # One transaction per batch: on PostgreSQL a commit waits for the disk, and one
        # per payment would make the writing, not the asking, what takes the time.
        with transaction.atomic():
            if not dry_run:
                ProviderExchange.objects.bulk_create([r for _, _, rows in answered for r in rows])
            for payment, result, _ in answered:
                settled.append(apply(payment, result))
                progress()
        answered.clear()

    with ThreadPoolExecutor(max_workers=workers or settings.RECONCILE_WORKERS) as pool:
        futures = {pool.submit(in_worker, payment): payment for payment in payments}
        written = time.monotonic()
        for future in as_completed(futures):
            result, rows = future.result()
            answered.append((futures[future], result, rows))
            if len(answered) >= WRITE_BATCH or time.monotonic() - written > 0.5:
                write()
                written = time.monotonic()
        write()
    return settled


def _change(
    payment: Payment, status: str, note: str, dry_run: bool, *, flag: bool = False
) -> Settled:
    before = payment.status
    if not dry_run:
        fields = {"needs_attention": True} if flag else {}
        try:
            payment = change_payment(payment, status=status, reason=note, actor=ACTOR, **fields)
        except IllegalTransitionError:
            payment.refresh_from_db()
            return Settled(
                str(payment.transaction_id),
                payment.provider,
                before,
                payment.status,
                False,
                "settled meanwhile",
            )
    return Settled(str(payment.transaction_id), payment.provider, before, status, flag, note)


def _needs_person(payment: Payment, note: str, dry_run: bool, before: str | None = None) -> Settled:
    if not dry_run and not payment.needs_attention:
        payment = change_payment(payment, reason=note, actor=ACTOR, needs_attention=True)
    return Settled(
        str(payment.transaction_id),
        payment.provider,
        before or payment.status,
        payment.status,
        True,
        note,
    )
