"""The overview: the day at a glance, for an operator on a shop's busy evening.

Today is counted live, per hour, from the created_at index. The days before come from
their tallies (`services.tallies`), counted once and again only after a payment of theirs
changed, so thirty days of a busy chain cost a few hundred small rows, not a million.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from payments import selectors
from payments.admin import charts
from payments.models import FISCAL_BACKLOG_STATUSES, FiscalStatus, PaymentStatus
from payments.services import accounts, tallies

DAYS = tallies.OVERVIEW_DAYS


def number(value: float) -> str:
    """A count as the operator's language groups it: 1,234 or 1 234."""
    return formats.number_format(value, force_grouping=True)


def amount(value: float) -> str:
    """Whole UZS on an axis or in a tooltip, grouped with no-break spaces as cashiers
    read amounts (the decimals are in the payment list)."""
    return f"{round(value):,}".replace(",", "\u00a0")


def percent(share: charts.Share) -> str:
    value = share.percent
    return "—" if value is None else formats.number_format(value, 1) + "\u00a0%"


def _sum_by(rows: Iterable[dict], bucket: str, measure: str) -> dict[tuple[Any, str], int]:
    summed: dict[tuple[Any, str], int] = defaultdict(int)
    for row in rows:
        summed[row[bucket], row["provider"]] += row[measure]
    return summed


def _in_uzs(values: dict[tuple[Any, str], int]) -> dict[tuple[Any, str], float]:
    return {key: tiyin / 100 for key, tiyin in values.items()}


def _describe(when: str, provider: str, value: str) -> str:
    return _("%(when)s, %(provider)s: %(value)s") % {
        "when": when,
        "provider": provider,
        "value": value,
    }


def day_label(day: date) -> str:
    return formats.date_format(day, "d.m")


def build_charts(
    hour_rows: list[dict], day_rows: list[dict], days: list[date], series: list[charts.Series]
) -> list[charts.BarChart]:
    """Payments and amounts per hour today and per day, stacked by provider."""
    hours = [(hour, f"{hour:02d}:00") for hour in range(24)]
    per_day = [(day, day_label(day)) for day in days]
    last = {"days": len(days)}
    # Each chart: its name, title, categories, values, how a value reads, every which
    # category is labelled.
    drawn: list[
        tuple[
            str,
            str,
            Sequence[tuple[object, str]],
            Mapping[tuple[object, str], float],
            Callable[[float], str],
            int,
        ]
    ] = [
        (
            "payments-per-hour",
            _("Payments per hour, today"),
            hours,
            _sum_by(hour_rows, "hour", "payments"),
            number,
            3,
        ),
        (
            "amount-per-hour",
            _("Amount per hour, today, UZS"),
            hours,
            _in_uzs(_sum_by(hour_rows, "hour", "amount")),
            amount,
            3,
        ),
        (
            "payments-per-day",
            _("Payments per day, last %(days)d days") % last,
            per_day,
            _sum_by(day_rows, "day", "payments"),
            number,
            5,
        ),
        (
            "amount-per-day",
            _("Amount per day, last %(days)d days, UZS") % last,
            per_day,
            _in_uzs(_sum_by(day_rows, "day", "amount")),
            amount,
            5,
        ),
    ]
    return [
        charts.stacked_bars(
            name=name,
            title=title,
            categories=categories,
            values=values,
            show=show,
            label_every=label_every,
            whole=show is number,  # counts: no step of half a payment
            series=series,
            describe=_describe,
        )
        for name, title, categories, values, show, label_every in drawn
    ]


def shares_of(rows: Iterable[dict]) -> dict[str, charts.Share]:
    """What went wrong, as parts of a whole: payments declined and with their outcome
    unknown, of all payments; receipts the provider still lacks, of the paid payments that
    need one."""
    total = declined = unknown = needing = missing = 0
    for row in rows:
        count, status, fiscal = row["payments"], row["status"], row["fiscal_status"]
        total += count
        declined += count if status == PaymentStatus.FAILED else 0
        unknown += count if status == PaymentStatus.UNKNOWN else 0
        if status == PaymentStatus.PAID and fiscal != FiscalStatus.NOT_REQUIRED:
            needing += count
            missing += count if fiscal in FISCAL_BACKLOG_STATUSES else 0
    return {
        "declined": charts.Share(declined, total),
        "unknown": charts.Share(unknown, total),
        "receipts_missing": charts.Share(missing, needing),
    }


def build_shares(
    today_rows: list[dict], period_rows: list[dict], series: list[charts.Series]
) -> list[dict]:
    """Per provider, today's shares beside the whole period's."""
    table = []
    for provider in series:
        today = shares_of(row for row in today_rows if row["provider"] == provider.key)
        period = shares_of(row for row in period_rows if row["provider"] == provider.key)
        table.append(
            {
                "provider": provider,
                "cells": [
                    {
                        "name": name,
                        "today": share,
                        "today_text": percent(share),
                        "counts": _("%(part)s of %(whole)s")
                        % {"part": number(share.part), "whole": number(share.whole)},
                        "period_text": percent(period[name]),
                    }
                    for name, share in today.items()
                ],
            }
        )
    return table


WAITING_UP_TO = 999


def waiting_tiles(list_url: str, accounts_url: str) -> list[dict[str, Any]]:
    """What waits for a person, each a count that leads to those payments (or accounts)."""
    counts = selectors.waiting_counts(up_to=WAITING_UP_TO)
    counts["accounts"] = len(accounts.problems())
    tiles = [
        ("unknown", _("outcome unknown"), f"{list_url}?status__exact=unknown"),
        ("flagged", _("flagged for a person"), f"{list_url}?needs_attention__exact=1"),
        ("stuck", _("processing too long"), "#attention"),
        ("overdue", _("receipts overdue"), "#overdue"),
        ("accounts", _("registers' accounts that cannot serve"), accounts_url),
    ]
    return [
        {
            "name": name,
            "count": counts[name],
            "shown": f"{WAITING_UP_TO}+" if counts[name] > WAITING_UP_TO else number(counts[name]),
            "label": label,
            "url": url,
        }
        for name, label, url in tiles
    ]


def overview(
    *, today: date, series: list[charts.Series], list_url: str, accounts_url: str
) -> dict[str, Any]:
    """Everything the overview page shows, but the lists of payments."""
    past = tallies.last_days(DAYS - 1, today=today)
    tallies.count_days(past)
    hour_rows = selectors.hour_totals(today)
    today_rows = [{**row, "day": today} for row in hour_rows]
    day_rows = selectors.day_tallies(past) + today_rows
    return {
        "charts": build_charts(hour_rows, day_rows, [*past, today], series),
        "shares": build_shares(today_rows, day_rows, series),
        "days": DAYS,
        "waiting": waiting_tiles(list_url, accounts_url),
    }
