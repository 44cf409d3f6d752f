"""Reads of payments: every query that is more than a primary-key get. Writes live in
payments.services."""

import hashlib
import ipaddress
import json
import uuid
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Case, Count, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import ExtractHour
from django.utils import timezone

from payments.models import (
    FISCAL_BACKLOG_STATUSES,
    FISCAL_SENDING_ABANDONED,
    OPEN_STATUSES,
    DayTally,
    FiscalStatus,
    Operation,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderExchange,
    Register,
    RegisterKey,
    statements,
)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def payment_by_transaction_id(
    transaction_id: str, *, register: Register | None = None
) -> Payment | None:
    """Ours by transaction id; with `register`, only if it is that register's."""
    parsed = _as_uuid(transaction_id)
    if parsed is None:
        return None
    payments = Payment.objects.filter(transaction_id=parsed)
    return (payments.filter(register=register) if register else payments).first()


def payment_by_reference(provider: str, reference: str, *, register: Register) -> Payment | None:
    """The register's payment at a provider by the provider's id or by our transaction id."""
    match = Q(provider_payment_id=reference)
    parsed = _as_uuid(reference)
    if parsed is not None:
        match |= Q(transaction_id=parsed)
    return Payment.objects.filter(match, provider=provider, register=register).first()


def payment_with_provider_id(
    provider: str, provider_payment_id: str, *, besides: Payment
) -> Payment | None:
    """Another payment of the provider that already has this provider id."""
    return (
        Payment.objects.filter(provider=provider, provider_payment_id=provider_payment_id)
        .exclude(pk=besides.pk)
        .first()
    )


def other_payment_with_receipt(url: str, payment: Payment) -> Payment | None:
    """Another payment this fiscal receipt URL was already given to."""
    return Payment.objects.filter(fiscal_receipt_url=url).exclude(pk=payment.pk).first()


def payment_by_code(provider: str, qr_code: str) -> Payment:
    """The payment of a scanned code (one per provider: a unique constraint)."""
    return Payment.objects.get(provider=provider, qr_code=qr_code)


def unknown_payment(transaction_id: str) -> Payment | None:
    """Ours by transaction id, if its outcome is still unknown."""
    parsed = _as_uuid(transaction_id)
    if parsed is None:
        return None
    return Payment.objects.filter(transaction_id=parsed, status=PaymentStatus.UNKNOWN).first()


def purchase_by_reference(provider: str, reference: str, *, register: Register) -> Payment | None:
    """The register's purchase by the provider's own id for it (a HUMO purchase's RRN) or
    by ours."""
    match = Q(provider_payment_id=reference)
    parsed = _as_uuid(reference)
    if parsed is not None:
        match |= Q(transaction_id=parsed)
    purchases = Payment.objects.filter(match, provider=provider, operation=Operation.PURCHASE)
    return purchases.filter(register=register).first()


def paid_reversals_sum(purchase: Payment) -> int:
    """What the purchase's paid reversal operations gave back, in tiyin."""
    paid = Payment.objects.filter(reverses=purchase, status=PaymentStatus.PAID)
    return paid.aggregate(total=Sum("amount"))["total"] or 0


def has_later_operation(payment: Payment) -> bool:
    """Whether the same provider got another operation of the same register (the same
    terminal) after this one."""
    return Payment.objects.filter(
        provider=payment.provider,
        register_id=payment.register_id,
        created_at__gt=payment.created_at,
    ).exists()


def made_before(transaction_id: str, payment: Payment) -> bool:
    """Whether `transaction_id` names one of our payments made before `payment`."""
    parsed = _as_uuid(transaction_id)
    return parsed is not None and (
        Payment.objects.filter(transaction_id=parsed, created_at__lt=payment.created_at).exists()
    )


# --- reconciliation ---------------------------------------------------------------------


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
    *,
    providers: list[str],
    provider: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Payment]:
    """Paid purchases of `providers` (those that can be asked about any payment)."""
    payments = Payment.objects.filter(
        status=PaymentStatus.PAID, provider__in=providers, operation=Operation.PURCHASE
    )
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


# --- fiscal receipts --------------------------------------------------------------------


def due_fiscal_retries(provider: str | None = None) -> QuerySet[Payment]:
    """Refused receipts whose next attempt is due, and submissions abandoned midway (their
    process died, or their answer could not be written): the provider is asked first."""
    now = timezone.now()
    refused = (
        Q(fiscal_status=FiscalStatus.FAILED)
        & ~Q(fiscal_receipt_url="")
        & (Q(fiscal_next_attempt_at__isnull=True) | Q(fiscal_next_attempt_at__lte=now))
        & Q(fiscal_attempts__lte=len(settings.FISCAL_RETRY_BACKOFF_MINUTES))
    )
    abandoned = (
        Q(fiscal_status__in=[FiscalStatus.PENDING, FiscalStatus.FAILED])
        & ~Q(fiscal_sending_url="")
        & Q(fiscal_sending_since__lte=now - FISCAL_SENDING_ABANDONED)
    )
    due = Payment.objects.filter(refused | abandoned)
    return due.filter(provider=provider) if provider else due


def fiscal_retries_exhausted(provider: str | None = None) -> QuerySet[Payment]:
    """Refused receipts with no attempt left: they need attention."""
    done = Payment.objects.filter(
        fiscal_status=FiscalStatus.FAILED,
        fiscal_attempts__gt=len(settings.FISCAL_RETRY_BACKOFF_MINUTES),
    )
    return done.filter(provider=provider) if provider else done


def overdue_receipts(provider: str | None = None) -> QuerySet[Payment]:
    """Paid payments whose register has sent no receipt past the deadline."""
    deadline = timezone.now() - timedelta(minutes=settings.FISCAL_RECEIPT_DEADLINE_MINUTES)
    overdue = Payment.objects.filter(
        status=PaymentStatus.PAID, fiscal_status=FiscalStatus.PENDING, paid_at__lte=deadline
    )
    return overdue.filter(provider=provider) if provider else overdue


# --- the end of a terminal's day --------------------------------------------------------


def last_day_closed(
    provider: str, register: Register, *, before: datetime | None = None
) -> datetime | None:
    """When the register's last successful end of day at the provider (before `before`)
    took the line."""
    closes = ProviderExchange.objects.filter(
        provider=provider, register=register, operation="close_day", error=""
    )
    if before is not None:
        closes = closes.filter(started_at__lt=before)
    return closes.order_by("-started_at").values_list("started_at", flat=True).first()


def latest_slip(provider: str, register: Register) -> Payment | None:
    """The register's last operation at the provider that printed a slip."""
    printed = Payment.objects.filter(provider=provider, register=register).exclude(slip_text="")
    return printed.order_by("-created_at", "-id").first()


def latest_day_report(provider: str, register: Register) -> str | None:
    """The report the register's last successful end of day at the provider printed, as
    the journal kept the terminal's answer."""
    closes = ProviderExchange.objects.filter(
        provider=provider, register=register, operation="close_day", error=""
    )
    for answered in closes.order_by("-started_at", "-id").values_list("response_body", flat=True):
        try:
            answer = json.loads(answered or "{}").get("answer") or {}
        except ValueError:
            continue  # not an answer we wrote: an earlier one may be
        if answer.get("slip"):
            return str(answer["slip"])
    return None


def shift_operations(
    provider: str, register: Register, *, since: datetime | None, until: datetime | None
) -> tuple[QuerySet[Payment], QuerySet[Payment]]:
    """The provider's approved purchases and reversals whose exchange with the terminal
    took the line after `since` and before `until` (ends of day; None: open-ended): what the
    terminal's report of that shift adds up. The line takes one exchange at a time, so the
    order in which exchanges took it is the terminal's own order."""

    def on_the_line(operation: str, exchange: str) -> QuerySet[Payment]:
        window = ProviderExchange.objects.filter(
            provider=provider, register=register, operation=exchange
        )
        if since is not None:
            window = window.filter(started_at__gt=since)
        if until is not None:
            window = window.filter(started_at__lt=until)
        return Payment.objects.filter(
            provider=provider,
            register=register,
            operation=operation,
            pk__in=window.values("payment_id"),
        )

    purchases = on_the_line(Operation.PURCHASE, "purchase").filter(
        status__in=[PaymentStatus.PAID, PaymentStatus.REVERSED]
    )
    reversals = on_the_line(Operation.REVERSAL, "cancel").filter(status=PaymentStatus.PAID)
    return purchases, reversals


def shift_still_recording(
    provider: str, register: Register, *, since: datetime | None, until: datetime
) -> bool:
    """Whether an operation that went through the terminal in the window is still being
    recorded (its answer came, its row not yet written)."""
    window = ProviderExchange.objects.filter(
        provider=provider,
        register=register,
        operation__in=["purchase", "cancel"],
        started_at__lt=until,
    )
    if since is not None:
        window = window.filter(started_at__gt=since)
    return Payment.objects.filter(
        pk__in=window.values("payment_id"), status=PaymentStatus.PROCESSING
    ).exists()


def count_and_sum(payments: QuerySet[Payment]) -> tuple[int, int]:
    totals = payments.aggregate(count=Count("id"), amount=Sum("amount"))
    return totals["count"], totals["amount"] or 0


# --- the back office --------------------------------------------------------------------


def start_of(day: date) -> datetime:
    """The first moment of a day in Tashkent."""
    return timezone.make_aware(datetime.combine(day, time.min))


def created_on(day: date) -> QuerySet[Payment]:
    """The payments created on a day in Tashkent (the range keeps the created_at index)."""
    return Payment.objects.filter(
        created_at__gte=start_of(day), created_at__lt=start_of(day + timedelta(days=1))
    )


# What the overview's charts tell apart: a payment's provider, operation (money in or
# given back), status and fiscal status.
TALLIED = ("provider", "operation", "status", "fiscal_status")


def day_totals(day: date) -> list[dict]:
    """Payments and their sum created on a day, per provider, operation, status and fiscal
    status."""
    rows = created_on(day).values(*TALLIED).annotate(payments=Count("id"), amount=Sum("amount"))
    return list(rows.order_by())


def hour_totals(day: date) -> list[dict]:
    """The same per hour (0-23, Tashkent) of a day: today's, counted as it is now."""
    hours = created_on(day).annotate(hour=ExtractHour("created_at")).values("hour", *TALLIED)
    return list(hours.annotate(payments=Count("id"), amount=Sum("amount")).order_by())


def day_tallies(days: list[date]) -> list[dict]:
    """The past days' counts (`services.tallies`), each row as `day_totals` with its day."""
    rows = DayTally.objects.filter(day__in=days)
    return list(rows.values("day", *TALLIED, "payments", "amount"))


def waiting_counts(*, up_to: int = 999) -> dict[str, int]:
    """How many payments wait for a person, by why: outcome unknown, flagged, processing
    for longer than a request can take, receipt overdue. Each is counted up to `up_to` + 1
    (a person reads "999+" as well as a number, and a backlog of a hundred thousand would
    cost a scan of them on every look)."""
    waiting = {
        "unknown": Payment.objects.filter(status=PaymentStatus.UNKNOWN),
        "flagged": Payment.objects.filter(needs_attention=True),
        "stuck": Payment.objects.filter(_stuck()),
        "overdue": overdue_receipts(),
    }
    return {why: payments.order_by()[: up_to + 1].count() for why, payments in waiting.items()}


def totals_since(moment: datetime) -> QuerySet:
    """Payments and their sum per register, provider, operation and status since `moment`."""
    return (
        Payment.objects.filter(created_at__gte=moment)
        .values("register__name", "provider", "operation", "status")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("register__name", "provider", "operation", "status")
    )


# Longer than any request takes: a payment still processing after it waits for a person.
STUCK_AFTER = timedelta(minutes=5)


def _stuck() -> Q:
    return Q(status=PaymentStatus.PROCESSING, created_at__lt=timezone.now() - STUCK_AFTER)


def with_flag_reason(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    """Each payment with why it was last flagged for a person (`flag_code`, `flag_data`):
    the reason of the latest timeline step that raised its flag ("" before such steps
    were written)."""
    raised = PaymentEvent.objects.filter(payment=OuterRef("pk"), flagged=True).order_by(
        "-created_at", "-id"
    )
    # Asked only of a flagged row: a page of the list is mostly rows nobody flagged.
    flagged = Q(needs_attention=True)
    return payments.annotate(
        flag_code=Case(When(flagged, then=Subquery(raised.values("reason")[:1]))),
        flag_data=Case(
            When(flagged, then=Subquery(raised.values("reason_data")[:1])),
            output_field=PaymentEvent._meta.get_field("reason_data"),
        ),
    )


def needing_attention() -> QuerySet[Payment]:
    """Flagged, unknown, or processing for longer than a request can take."""
    return (
        with_flag_reason(Payment.objects.all())
        .filter(Q(needs_attention=True) | Q(status=PaymentStatus.UNKNOWN) | _stuck())
        .order_by("-created_at")
    )


# --- monitoring (read at every scrape, so each rides an index) --------------------------


def open_counts() -> list[tuple[str, str, int]]:
    """(provider, status, payments) of the payments not yet final."""
    rows = (
        Payment.objects.filter(status__in=sorted(OPEN_STATUSES))
        .values_list("provider", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return list(rows)


def flagged_counts() -> list[tuple[str, int]]:
    """(provider, payments) flagged for a person."""
    rows = (
        Payment.objects.filter(needs_attention=True)
        .values_list("provider")
        .annotate(count=Count("id"))
        .order_by()
    )
    return list(rows)


def fiscal_backlog_counts() -> list[tuple[str, str, int]]:
    """(provider, fiscal status, payments) of paid payments the provider has no receipt for."""
    rows = (
        Payment.objects.filter(fiscal_status__in=FISCAL_BACKLOG_STATUSES, status=PaymentStatus.PAID)
        .values_list("provider", "fiscal_status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return list(rows)


# --- registers --------------------------------------------------------------------------


def key_digest(key: str) -> str:
    """What is kept of an API key: its SHA-256 (keys are long and random, so no salt is
    needed to make the digest useless to whoever reads the table)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def active_key(key: str) -> RegisterKey | None:
    """The unrevoked key row (with its register) that `key` is. Every register request
    asks, so its statement is one written once (`statements.first`)."""
    where = {"digest": key_digest(key), "revoked_at": None}
    return statements.first(RegisterKey, where, joined="register")


def register_by_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Register | None:
    """The active register bound to the narrowest network that holds `address`; None when
    no register is, or when two are bound to equally narrow ones (ambiguous)."""
    best: list[tuple[int, Register]] = []
    for register in Register.objects.filter(active=True).exclude(networks=""):
        for network in register.network_list:
            if address.version == network.version and address in network:
                best.append((network.prefixlen, register))
    if not best:
        return None
    best.sort(key=lambda found: found[0], reverse=True)
    narrowest = [register for length, register in best if length == best[0][0]]
    return narrowest[0] if len({r.pk for r in narrowest}) == 1 else None


def register_by_name(name: str) -> Register | None:
    return Register.objects.filter(name=name).first()


def registers_at(provider: str) -> list[Register]:
    """The active registers with an account at `provider`."""
    return list(Register.objects.filter(active=True, accounts__provider=provider).distinct())
