"""The HUMO end-of-day reconciliation on the PIN pad, checked against our own records."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.errors import ApplicationError
from payments.management.reporting import table
from payments.services import end_of_day
from payments.services.end_of_day import DayTotals
from providers import registry
from providers.money import format_uzs


class Command(BaseCommand):
    help = (
        "Run the end-of-day reconciliation (close the shift) on the HUMO PIN pad and compare "
        "its totals with ours since the last close. Exits with 2 when they differ or the "
        "terminal cannot close the day. --dry-run shows our totals and closes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        with_shift = registry.names(closes_day=True)
        parser.add_argument(
            "--provider", choices=with_shift, default=with_shift[0], help="whose day to close"
        )
        parser.add_argument("--dry-run", action="store_true", help="our totals only")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            self.stdout.write(_table(end_of_day.shift_totals(options["provider"]), None))
            self.stdout.write("dry run: the shift was not closed")
            return
        try:
            closed = end_of_day.close_day(options["provider"])
        except ApplicationError as exc:
            raise CommandError(
                f"the PIN pad did not close the day: {exc.data}", returncode=2
            ) from exc
        self.stdout.write(closed.report)
        theirs, ours = closed.totals, closed.ours
        self.stdout.write(_table(ours, theirs))
        if theirs != ours:
            raise CommandError("the terminal's totals differ from ours", returncode=2)


def _table(ours: DayTotals, theirs: DayTotals | None) -> str:
    rows = []
    for label, field, is_money in (
        ("purchases", "purchases", False),
        ("purchase sum, UZS", "purchase_amount", True),
        ("reversals", "reversals", False),
        ("reversal sum, UZS", "reversal_amount", True),
    ):
        mine = getattr(ours, field)
        pad = getattr(theirs, field) if theirs else None
        shown = format_uzs if is_money else str
        rows.append(
            (
                label,
                shown(mine),
                "-" if pad is None else shown(pad),
                "" if pad in (None, mine) else "DIFFERS",
            )
        )
    return table(("", "ours", "terminal", ""), rows)
