"""The overview: payments and amounts per hour today and per day for thirty days, by
provider; what went wrong, as shares; what waits for a person, each a link."""

import re
import xml.etree.ElementTree as ElementTree
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments import selectors
from payments.models import CountedDay, OperatorLanguage, PaymentStatus, provider_choices
from tests.factories import make_payment, operator

pytestmark = pytest.mark.django_db

OVERVIEW = "/admin/payments/payment/overview/"
TITLES = dict(provider_choices())
CLICK, PAYME = TITLES["click"], TITLES["payme"]


def at(days_back: int, hour: int, minute: int = 0):
    day = timezone.localdate() - timedelta(days=days_back)
    return selectors.start_of(day) + timedelta(hours=hour, minutes=minute)


def chart(page: str, name: str) -> str:
    found = re.search(rf'<figure class="chart" id="{name}">(.*?)</figure>', page, re.S)
    assert found, f"no chart {name}"
    return found.group(1)


def tooltips(page: str, name: str) -> list[str]:
    return re.findall(r"<title>(.*?)</title>", chart(page, name))


def row_of(page: str, table: str, first_cell: str) -> str:
    body = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    found = [row for row in rows if first_cell in row]
    assert len(found) == 1, f"{first_cell} in {table}: {len(found)} rows"
    return " ".join(re.sub(r"<[^>]+>", " ", found[0]).split())


@pytest.fixture
def week(db) -> None:
    """Today: two CLICK payments at nine (15 000 and 25 000 UZS) and a Payme one at two;
    three days ago a declined CLICK payment."""
    make_payment(status=PaymentStatus.PAID, amount=1_500_000, created_at=at(0, 9, 5))
    make_payment(status=PaymentStatus.PAID, amount=2_500_000, created_at=at(0, 9, 55))
    make_payment(provider="payme", status=PaymentStatus.PAID, amount=990_000, created_at=at(0, 14))
    make_payment(status=PaymentStatus.FAILED, amount=300_000, created_at=at(3, 20))


def test_the_charts_show_money_taken_and_apart_what_went_wrong(staff, week) -> None:
    page = staff.get(OVERVIEW).content.decode()
    today, three_days_ago = timezone.localdate(), timezone.localdate() - timedelta(days=3)

    assert sorted(tooltips(page, "paid-per-hour")) == [
        f"09:00, {CLICK}: 40\u00a0000",
        f"14:00, {PAYME}: 9\u00a0900",
    ]
    assert sorted(tooltips(page, "paid-per-day")) == sorted(
        [f"{today:%d.%m}, {CLICK}: 40\u00a0000", f"{today:%d.%m}, {PAYME}: 9\u00a0900"]
    )
    # The declined payment is no money: it is counted apart.
    assert tooltips(page, "troubles-per-day") == [f"{three_days_ago:%d.%m}, declined: 1"]
    assert "Paid purchases less refunds" in chart(page, "paid-per-day")


def test_a_refund_is_taken_off_in_the_hour_it_was_made(staff, db) -> None:
    """A purchase of 10 000 at ten, given back whole at eleven; one of 20 000 at ten, 5 000
    of it given back at ten: the hours read 25 000 taken and 10 000 given back."""
    whole = make_payment(status=PaymentStatus.PAID, amount=1_000_000, created_at=at(0, 10))
    part = make_payment(status=PaymentStatus.PAID, amount=2_000_000, created_at=at(0, 10, 5))
    refunds = [(whole, 1_000_000, 11), (part, 500_000, 10)]
    for purchase, amount, hour in refunds:
        make_payment(
            operation="reversal",
            reverses=purchase,
            status=PaymentStatus.PAID,
            amount=amount,
            created_at=at(0, hour, 30),
        )
    whole.refresh_from_db()
    assert whole.status == PaymentStatus.REVERSED  # taken, then given back: both counted

    page = staff.get(OVERVIEW).content.decode()
    assert sorted(tooltips(page, "paid-per-hour")) == [
        f"10:00, {CLICK}: 25\u00a0000",
        f"11:00, {CLICK}: \u221210\u00a0000",
    ]
    # A bar below zero hangs from the axis.
    svg = chart(page, "paid-per-hour")
    zero = float(re.search(r'class="axis"[^>]*y1="([\d.]+)"', svg).group(1))
    y, height = re.search(
        r'y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*><title>11:00', svg
    ).groups()
    assert float(y) == pytest.approx(zero, abs=0.1)
    assert float(height) > 0


def test_a_bar_stands_as_high_as_its_share_of_the_axis(staff, week) -> None:
    """Today's CLICK bar (40 000) four times and a bit the Payme one (9 900)."""
    svg = chart(staff.get(OVERVIEW).content.decode(), "paid-per-hour")
    heights = {
        title: float(height)
        for height, title in re.findall(r'height="([\d.]+)"[^>]*><title>(.*?)</title>', svg)
    }
    click, payme = heights[f"09:00, {CLICK}: 40\u00a0000"], heights[f"14:00, {PAYME}: 9\u00a0900"]
    assert click == pytest.approx(payme * 40_000 / 9_900, 0.01)


def test_what_went_wrong_is_shown_as_shares_per_provider(staff, db) -> None:
    make_payment(status=PaymentStatus.PAID, created_at=at(0, 8))  # its receipt awaited
    make_payment(status=PaymentStatus.PAID, created_at=at(0, 8), fiscal_status="submitted")
    make_payment(status=PaymentStatus.FAILED, created_at=at(0, 8))
    make_payment(status=PaymentStatus.UNKNOWN, created_at=at(0, 8))
    make_payment(status=PaymentStatus.FAILED, created_at=at(5, 8))  # in the thirty days

    click = row_of(staff.get(OVERVIEW).content.decode(), "shares", CLICK)

    declined, unknown, missing = re.findall(r"(\S+ %) today, (\d+ of \d+)", click)
    assert declined == ("25.0 %", "1 of 4")
    assert unknown == ("25.0 %", "1 of 4")
    assert missing == ("50.0 %", "1 of 2")
    assert "40.0 % over the last 30 days" in click  # 2 of the 5 declined
    assert "— today, 0 of 0" in row_of(staff.get(OVERVIEW).content.decode(), "shares", PAYME)


def test_what_waits_for_a_person_is_counted_and_each_count_links_to_its_payments(staff, db) -> None:
    unknown = make_payment(status=PaymentStatus.UNKNOWN)
    make_payment(status=PaymentStatus.PAID, needs_attention=True)
    make_payment(status=PaymentStatus.PAID)
    page = staff.get(OVERVIEW).content.decode()
    tiles = re.search(r'<ul class="waiting" id="waiting">(.*?)</ul>', page, re.S).group(1)
    links = dict(re.findall(r'<a href="([^"]+)"><strong>(\d+)</strong>', tiles))
    assert links["/admin/payments/payment/?status__exact=unknown"] == "1"
    assert links["/admin/payments/payment/?needs_attention__exact=1"] == "1"
    listed = staff.get("/admin/payments/payment/?status__exact=unknown").content.decode()
    assert str(unknown.transaction_id) in listed


def test_past_days_are_counted_once_then_read_from_their_tallies(staff, week) -> None:
    """The first look counts the 29 past days; the next reads their tallies and counts
    only today, as the cost on a million payments requires (benchmarks/admin_list.py)."""

    def grouping_payments() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(OVERVIEW).status_code == 200
        return sum(
            'FROM "payments_payment"' in q["sql"] and "GROUP BY" in q["sql"]
            for q in queries.captured_queries
        )

    assert grouping_payments() == 29 + 2  # each past day; today per hour and per register
    assert CountedDay.objects.count() == 29
    assert grouping_payments() == 2


@pytest.mark.parametrize("language", ["en", "ru", "uz"])
def test_the_pictures_keep_their_numbers_whatever_the_language(client, week, language) -> None:
    """Russian and Uzbek write 12,5 where SVG needs 12.5: every coordinate must stay a
    number, and each chart a well-formed picture."""
    user = operator()
    OperatorLanguage.objects.create(user=user, language=language)
    client.force_login(user)
    page = client.get(OVERVIEW).content.decode()
    svgs = re.findall(r'<figure class="chart".*?(<svg .*?</svg>)', page, re.S)
    svgs += re.findall(r'<svg class="meter".*?</svg>', page, re.S)
    assert len(svgs) == 4 + 3 * len(TITLES)
    numbers = 0
    for svg in svgs:
        for element in ElementTree.fromstring(svg).iter():
            for name in ("x", "y", "width", "height", "x1", "x2", "y1", "y2"):
                if name in element.attrib:
                    float(element.attrib[name])
                    numbers += 1
    assert numbers > 50
    mark = "." if language == "en" else ","
    assert f"100{mark}0 %" in row_of(page, "shares", CLICK)  # both receipts awaited


def test_a_long_backlog_is_shown_as_more_than_it_is_counted(staff, db, monkeypatch) -> None:
    """Counting stops past a bound, so a backlog of a hundred thousand costs no more."""
    from payments.admin import overview

    monkeypatch.setattr(overview, "WAITING_UP_TO", 2)
    for _ in range(4):
        make_payment(status=PaymentStatus.UNKNOWN)
    page = staff.get(OVERVIEW).content.decode()
    assert "<strong>2+</strong> outcome unknown" in page
    assert selectors.waiting_counts(up_to=2)["unknown"] == 3
    assert selectors.waiting_counts()["unknown"] == 4
