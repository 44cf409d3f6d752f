"""The HUMO end-of-day reconciliation on the PIN pad, checked against our own records."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.errors import ApplicationError
from payments.management.reporting import table
from payments.services import end_of_day
from pinpad.slips import ShiftTotals, parse_totals
from providers.money import format_uzs

# The provider whose terminal keeps a shift.
PROVIDER = "humo"


class Command(BaseCommand):
    help = (
        "Run the end-of-day reconciliation (close the shift) on the HUMO PIN pad and compare "
        "its totals with ours since the last close. Exits with 2 when they differ or the "
        "terminal cannot close the day. --dry-run shows our totals and closes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="our totals only")

    def handle(self, *args: Any, **options: Any) -> None:
        ours = end_of_day.shift_totals(PROVIDER)
        if options["dry_run"]:
            self.stdout.write(_table(ours, None))
            self.stdout.write("dry run: the shift was not closed")
            return
        try:
            closed = end_of_day.close_day(PROVIDER)
        except ApplicationError as exc:
            raise CommandError(
                f"the PIN pad did not close the day: {exc.data}", returncode=2
            ) from exc
        self.stdout.write(closed.report)
        theirs = parse_totals(closed.report)
        self.stdout.write(_table(ours, theirs))
        if theirs != ours:
            raise CommandError("the terminal's totals differ from ours", returncode=2)


def _table(ours: ShiftTotals, theirs: ShiftTotals | None) -> str:
    rows = []
    for label, field, is_money in (
        ("purchases", "purchases", False),
        ("purchase sum, UZS", "purchase_amount", True),
        ("cancels", "cancels", False),
        ("cancel sum, UZS", "cancel_amount", True),
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
