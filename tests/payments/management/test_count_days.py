"""`manage.py count_days`: the overview's past days counted ahead of its first look."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from payments import selectors
from payments.models import CountedDay, DayTally, Payment, PaymentStatus
from tests.factories import make_payment

pytestmark = pytest.mark.django_db


def count_days(*args: str) -> str:
    out = StringIO()
    call_command("count_days", *args, stdout=out)
    return out.getvalue()


def test_it_counts_the_days_the_overview_shows_once() -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    make_payment(status=PaymentStatus.PAID, created_at=selectors.start_of(yesterday))
    assert count_days("--dry-run") == "would count 29 of the last 29 days\n"
    assert not CountedDay.objects.exists()
    assert count_days() == "counted 29 of the last 29 days\n"
    assert count_days("--dry-run") == "would count 0 of the last 29 days\n"
    assert count_days() == "counted 0 of the last 29 days\n"
    assert DayTally.objects.get(day=yesterday).payments == 1


def test_all_counts_them_again() -> None:
    """After a repair outside the service (a restore, a hand-written UPDATE), nothing
    marked the days: --all counts them from the payments as they are."""
    yesterday = timezone.localdate() - timedelta(days=1)
    payment = make_payment(status=PaymentStatus.PAID, created_at=selectors.start_of(yesterday))
    count_days("--days", "3")
    Payment.objects.filter(pk=payment.pk).update(amount=700)  # by hand, unmarked
    assert count_days("--days", "3") == "counted 0 of the last 3 days\n"
    assert count_days("--days", "3", "--all") == "counted 3 of the last 3 days\n"
    assert DayTally.objects.get(day=yesterday).amount == 700
    assert CountedDay.objects.count() == 3
