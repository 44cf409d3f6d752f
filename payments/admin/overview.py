"""The overview: the day at a glance, for an operator on a shop's busy evening.

Today is counted live, per hour, from the created_at index. The days before come from
their tallies (`services.tallies`), counted once and again only after a payment of theirs
changed, so thirty days of a busy chain cost a few hundred small rows, not a million.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from payments import selectors
from payments.admin import charts
from payments.models import FISCAL_BACKLOG_STATUSES, FiscalStatus, Operation, PaymentStatus
from payments.services import accounts, tallies

DAYS = tallies.OVERVIEW_DAYS


def number(value: float) -> str:
    """A count as the operator's language groups it: 1,234 or 1 234."""
    return formats.number_format(value, force_grouping=True)


def amount(value: float) -> str:
    """Whole UZS on an axis or in a tooltip, grouped with no-break spaces as cashiers
    read amounts (the decimals are in the payment list)."""
    return f"{round(value):,}".replace(",", "\u00a0").replace("-", "\u2212")


def percent(share: charts.Share) -> str:
    value = share.percent
    return "—" if value is None else formats.number_format(value, 1) + "\u00a0%"


# A purchase that took money, whether or not it was given back since: what a refund gave
# back is taken off in the hour (or day) the refund was made.
TOOK_MONEY = frozenset({PaymentStatus.PAID, PaymentStatus.REVERSED})


def money_in(rows: Iterable[dict], bucket: str) -> dict[tuple[Any, str], float]:
    """UZS per bucket and provider: the purchases that took money, less the refunds done
    in that bucket (below zero where more was given back than taken)."""
    summed: dict[tuple[Any, str], int] = defaultdict(int)
    for row in rows:
        if row["operation"] == Operation.PURCHASE and row["status"] in TOOK_MONEY:
            summed[row[bucket], row["provider"]] += row["amount"]
        elif row["operation"] == Operation.REVERSAL and row["status"] == PaymentStatus.PAID:
            summed[row[bucket], row["provider"]] -= row["amount"]
    return {key: tiyin / 100 for key, tiyin in summed.items() if tiyin}


# What went wrong, counted apart from the money: a payment or refund the provider
# declined, and one whose outcome is not known yet.
TROUBLES = {PaymentStatus.FAILED: "declined", PaymentStatus.UNKNOWN: "unknown"}


def troubles(rows: Iterable[dict], bucket: str) -> dict[tuple[Any, str], float]:
    counted: dict[tuple[Any, str], int] = defaultdict(int)
    for row in rows:
        if row["status"] in TROUBLES:
            counted[row[bucket], TROUBLES[row["status"]]] += row["payments"]
    return dict(counted)


def trouble_series() -> list[charts.Series]:
    return [
        charts.Series("declined", _("declined"), charts.DECLINED),
        charts.Series("unknown", _("outcome unknown"), charts.UNKNOWN),
    ]


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
    """Money taken per hour today and per day, by provider, refunds taken off; beside each,
    the payments declined and those whose outcome is unknown, as counts."""
    hours = [(hour, f"{hour:02d}:00") for hour in range(24)]
    per_day = [(day, day_label(day)) for day in days]
    last = {"days": len(days)}
    money_note = _("Paid purchases less refunds, in UZS, by when each was made.")
    trouble_note = _("Payments and refunds, counted: no money moved or none is known to.")
    nothing_wrong = _("Nothing declined, nothing unknown.")
    # Each chart: its name, title, what it says under it, the categories, the series, the
    # values, how a value reads, every which category is labelled.
    drawn: list[
        tuple[
            str,
            str,
            str,
            Sequence[tuple[object, str]],
            list[charts.Series],
            Mapping[tuple[object, str], float],
            Callable[[float], str],
            int,
        ]
    ] = [
        (
            "paid-per-hour",
            _("Paid per hour, today"),
            money_note,
            hours,
            series,
            money_in(hour_rows, "hour"),
            amount,
            3,
        ),
        (
            "troubles-per-hour",
            _("Declined and unknown per hour, today"),
            trouble_note,
            hours,
            trouble_series(),
            troubles(hour_rows, "hour"),
            number,
            3,
        ),
        (
            "paid-per-day",
            _("Paid per day, last %(days)d days") % last,
            money_note,
            per_day,
            series,
            money_in(day_rows, "day"),
            amount,
            5,
        ),
        (
            "troubles-per-day",
            _("Declined and unknown per day, last %(days)d days") % last,
            trouble_note,
            per_day,
            trouble_series(),
            troubles(day_rows, "day"),
            number,
            5,
        ),
    ]
    return [
        replace(
            charts.stacked_bars(
                name=name,
                title=title,
                categories=categories,
                values=values,
                show=show,
                label_every=label_every,
                whole=show is number,  # counts: no step of half a payment
                series=kinds,
                describe=_describe,
            ),
            note=note,
            nothing=nothing_wrong if show is number else gettext("No payments."),
        )
        for name, title, note, categories, kinds, values, show, label_every in drawn
    ]


def shares_of(rows: Iterable[dict]) -> dict[str, charts.Share]:
    """What went wrong, as parts of a whole: payments declined and with their outcome
    unknown, of all payments; receipts the provider still lacks, of the paid payments that
    need one."""
    total = declined = unknown = needing = missing = 0
    for row in rows:
        if row["operation"] != Operation.PURCHASE:
            continue  # a refund is no payment that could be declined or lack a receipt
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
