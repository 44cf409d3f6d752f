"""Past days counted once for the overview, and counted again after one of their payments
changed: never a tally that disagrees with the payments it counts."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from payments import selectors
from payments.models import CountedDay, DayTally, FiscalStatus, Payment, PaymentStatus
from payments.services import tallies
from payments.store import Change, change_payment, write
from tests.factories import make_payment
from tests.helpers import at_once

pytestmark = pytest.mark.django_db


def days_ago(days: int, hour: int = 12):
    moment = selectors.start_of(timezone.localdate() - timedelta(days=days))
    return moment + timedelta(hours=hour)


def tally_of(day) -> dict[tuple[str, str, str], tuple[int, int]]:
    return {
        (t.provider, t.status, t.fiscal_status): (t.payments, t.amount)
        for t in DayTally.objects.filter(day=day)
    }


def test_a_day_is_counted_per_provider_status_and_fiscal_status() -> None:
    day = timezone.localdate() - timedelta(days=3)
    for amount in (1000, 2500):
        make_payment(status=PaymentStatus.PAID, amount=amount, created_at=days_ago(3, hour=9))
    make_payment(status=PaymentStatus.FAILED, amount=700, created_at=days_ago(3, hour=23))
    make_payment(provider="payme", status=PaymentStatus.UNKNOWN, created_at=days_ago(3, hour=0))
    make_payment(status=PaymentStatus.PAID, created_at=days_ago(2, hour=0))  # the next day
    make_payment(status=PaymentStatus.PAID, created_at=days_ago(4, hour=23))  # the day before

    assert tallies.count_day(day)

    assert tally_of(day) == {
        ("click", "paid", "pending"): (2, 3500),
        ("click", "failed", "not_required"): (1, 700),
        ("payme", "unknown", "not_required"): (1, 500),
    }


def test_a_counted_day_is_not_counted_again_until_it_changes(
    django_capture_on_commit_callbacks,
) -> None:
    payment = make_payment(status=PaymentStatus.UNKNOWN, created_at=days_ago(3))
    days = tallies.last_days(29)
    assert tallies.count_days(days) == 29  # every day once, those without payments too
    assert tallies.count_days(days) == 0

    with django_capture_on_commit_callbacks(execute=True):
        change_payment(payment, status=PaymentStatus.PAID, reason="reconcile: paid")

    assert tallies.count_days(days) == 1
    assert tally_of(days[-3]) == {("click", "paid", "pending"): (1, 500)}


def test_a_change_of_todays_payment_marks_no_day(django_capture_on_commit_callbacks) -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    with django_capture_on_commit_callbacks(execute=True):
        change_payment(payment, status=PaymentStatus.PAID, reason="paid")
    assert not CountedDay.objects.exists()


def test_a_change_marks_its_day_only_once_it_has_committed(
    django_capture_on_commit_callbacks,
) -> None:
    """Marked before the commit, a count reading between the mark and the commit would not
    see the change yet be taken for later than it."""
    payment = make_payment(status=PaymentStatus.PAID, created_at=days_ago(5))
    tallies.count_days(tallies.last_days(29))
    counted = CountedDay.objects.get(day=timezone.localdate(payment.created_at))

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        change_payment(payment, fiscal_status=FiscalStatus.SUBMITTED, reason="fiscal: sent")
        assert CountedDay.objects.get(pk=counted.pk).is_current  # not yet: not committed

    assert not CountedDay.objects.get(pk=counted.pk).is_current
    assert tallies.count_days(tallies.last_days(29)) == 1
    assert tally_of(counted.day) == {("click", "paid", "submitted"): (1, 500)}


def test_a_batch_of_changes_marks_each_past_day(django_capture_on_commit_callbacks) -> None:
    """Reconcile settles many payments in one transaction (store.write)."""
    old = [make_payment(status=PaymentStatus.UNKNOWN, created_at=days_ago(back)) for back in (2, 7)]
    today = make_payment(status=PaymentStatus.UNKNOWN)
    tallies.count_days(tallies.last_days(29))
    with django_capture_on_commit_callbacks(execute=True):
        write([Change(p, "reconcile: paid", PaymentStatus.PAID) for p in [*old, today]])
    stale = {c.day for c in CountedDay.objects.all() if not c.is_current}
    assert stale == {timezone.localdate(p.created_at) for p in old}


def test_the_count_takes_its_time_before_it_reads(monkeypatch) -> None:
    """The time stands for what the count saw: taken after the read, a change committed
    in between would seem older than the count and never be counted."""
    day = timezone.localdate() - timedelta(days=1)
    reads = []
    real_read = selectors.day_totals

    def read(wanted):
        reads.append(timezone.now())
        return real_read(wanted)

    monkeypatch.setattr(selectors, "day_totals", read)
    tallies.count_day(day)
    assert CountedDay.objects.get(day=day).counted_at <= reads[0]


def test_only_a_day_that_is_over_is_counted() -> None:
    with pytest.raises(ValueError, match="not over"):
        tallies.count_day(timezone.localdate())


@pytest.mark.django_db(transaction=True)
def test_two_counts_of_one_day_take_turns() -> None:
    """Two operators open the overview at the same moment: the second count waits for the
    first on the day's row and finds it done, instead of writing the same tallies twice."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time anyway; the turns are proven on PostgreSQL")
    make_payment(status=PaymentStatus.PAID, created_at=days_ago(1))
    day = timezone.localdate() - timedelta(days=1)
    counted: list[bool] = []
    at_once([lambda: counted.append(tallies.count_day(day)) for _ in range(2)])
    assert sorted(counted) == [False, True]
    assert tally_of(day) == {("click", "paid", "pending"): (1, 500)}
    assert Payment.objects.count() == 1
