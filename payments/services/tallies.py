"""Past days' payments counted for the overview, and counted again when one changed.

A payment of a past day that changes status (a late outcome, a receipt, an operator's
repair) marks its day once the change has committed (heard from the write path's
`payments.signals.status_moved`: the write path does not know the overview); the overview
counts a day again when it changed after its count. See `payments.models.tally` for why the
order holds.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from payments import selectors
from payments.models import CountedDay, DayTally, Payment
from payments.signals import status_moved

# The overview shows this many days, today included; the days before today are tallied.
OVERVIEW_DAYS = 30


@receiver(status_moved)
def _status_moved(sender: Any, payments: Iterable[Payment], **_: Any) -> None:
    note_changed(payments)


def note_changed(payments: Iterable[Payment]) -> None:
    """Payments whose status or fiscal status moved in the current transaction: their days,
    if past, are marked once it commits. Whether a day is past is judged after the commit,
    so a change made before midnight and committed after it still marks its day."""
    created = [payment.created_at for payment in payments if payment.created_at is not None]
    if created:
        # Robust: the change itself has committed; a failed mark must not turn it into an
        # error for the caller. The day is counted again at the next mark or by count_days.
        transaction.on_commit(lambda: _mark_past_days(created), robust=True)


def _mark_past_days(created: list[datetime]) -> None:
    today = timezone.localdate()
    days = {day for day in map(timezone.localdate, created) if day < today}
    if days:
        mark_changed(days)


def mark_changed(days: Iterable[date]) -> None:
    """Mark days whose payments changed after their count."""
    now = timezone.now()
    CountedDay.objects.bulk_create(
        [CountedDay(day=day, changed_at=now) for day in sorted(set(days))],
        update_conflicts=True,
        unique_fields=["day"],
        update_fields=["changed_at"],
    )


def count_days(days: Iterable[date]) -> int:
    """Count the payments of those past days that have no current count into their
    tallies, in one transaction; how many were counted. Two counts wait for each other on
    the days' rows (taken in order of day), so neither writes over the other, and the
    second finds counted what the first counted."""
    wanted = sorted(set(days))
    if wanted and wanted[-1] >= timezone.localdate():
        raise ValueError(f"{wanted[-1]} is not over yet: only past days are counted")
    stale = not_current(wanted)
    if not stale:
        return 0
    with transaction.atomic():
        CountedDay.objects.bulk_create(
            [CountedDay(day=day) for day in stale], ignore_conflicts=True
        )
        locked = CountedDay.objects.select_for_update().filter(day__in=stale).order_by("day")
        stale = [counted.day for counted in locked if not counted.is_current]
        # The time is taken before the reads: a change they miss is marked later.
        started = timezone.now()
        rows = [DayTally(day_id=day, **row) for day in stale for row in selectors.day_totals(day)]
        DayTally.objects.filter(day__in=stale).delete()
        DayTally.objects.bulk_create(rows)
        CountedDay.objects.filter(day__in=stale).update(counted_at=started)
    return len(stale)


def not_current(days: list[date]) -> list[date]:
    """Those of the days (in their order) whose count is missing or older than a change."""
    current = {c.day for c in CountedDay.objects.filter(day__in=days) if c.is_current}
    return [day for day in days if day not in current]


def count_day(day: date) -> bool:
    """Count one past day unless its count is current; whether it was counted."""
    return count_days([day]) == 1


def last_days(number: int, *, today: date | None = None) -> list[date]:
    """The `number` days before today, oldest first."""
    today = today or timezone.localdate()
    return [today - timedelta(days=back) for back in range(number, 0, -1)]
