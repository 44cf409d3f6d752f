"""Past days' payments counted for the overview, and counted again when one changed.

A payment of a past day that changes status (a late outcome, a receipt, an operator's
repair) marks its day once the change has committed; the overview counts a day again
when it changed after its count. See `payments.models.tally` for why the order holds.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from payments import selectors
from payments.models import CountedDay, DayTally, Payment

# The overview shows this many days, today included; the days before today are tallied.
OVERVIEW_DAYS = 30


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


def count_day(day: date) -> bool:
    """Count a past day's payments into its tallies unless someone counted them since they
    last changed; False when nothing needed counting. Two counts of one day wait for each
    other on the day's row, so neither writes over the other."""
    if day >= timezone.localdate():
        raise ValueError(f"{day} is not over yet: only past days are counted")
    with transaction.atomic():
        CountedDay.objects.bulk_create([CountedDay(day=day)], ignore_conflicts=True)
        counted = CountedDay.objects.select_for_update().get(day=day)
        if counted.is_current:
            return False
        # The time is taken before the read: a change the read misses is marked later.
        started = timezone.now()
        rows = selectors.day_totals(day)
        DayTally.objects.filter(day=counted).delete()
        DayTally.objects.bulk_create([DayTally(day=counted, **row) for row in rows])
        counted.counted_at = started
        counted.save(update_fields=["counted_at"])
    return True


def count_days(days: Iterable[date]) -> int:
    """Count those of the past days that have no current count; how many were counted."""
    wanted = sorted(set(days))
    current = {c.day for c in CountedDay.objects.filter(day__in=wanted) if c.is_current}
    return sum(count_day(day) for day in wanted if day not in current)


def last_days(number: int, *, today: date | None = None) -> list[date]:
    """The `number` days before today, oldest first."""
    today = today or timezone.localdate()
    return [today - timedelta(days=back) for back in range(number, 0, -1)]
