"""The HUMO end-of-day reconciliation on the PIN pad, checked against our own records."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.errors import ApplicationError
from payments.management.reporting import table
from payments.selectors import registers_at
from payments.services import end_of_day
from payments.services.end_of_day import DayTotals
from providers import registry
from providers.money import format_uzs


class Command(BaseCommand):
    help = (
        "Run the end-of-day reconciliation (close the shift) on the HUMO PIN pad of each "
        "register that has one (or of --register) and compare its totals with ours since "
        "its last close. Exits with 2 when they differ or a terminal cannot close the day. "
        "--dry-run shows our totals and closes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        with_shift = registry.names(closes_day=True)
        parser.add_argument(
            "--provider", choices=with_shift, default=with_shift[0], help="whose day to close"
        )
        parser.add_argument("--register", help="this register's only (its name)")
        parser.add_argument("--dry-run", action="store_true", help="our totals only")

    def handle(self, *args: Any, **options: Any) -> None:
        provider = options["provider"]
        registers = registers_at(provider)
        if not registers:
            raise CommandError(f"no active register has a {provider} account", returncode=2)
        if options["register"]:
            registers = [r for r in registers if r.name == options["register"]]
            if not registers:
                raise CommandError(f"no active register {options['register']!r} with {provider}")
        failed = []
        for register in registers:
            self.stdout.write(f"== {register}")
            if options["dry_run"]:
                self.stdout.write(_table(end_of_day.shift_totals(provider, register), None))
                continue
            try:
                closed = end_of_day.close_day(provider, register)
            except ApplicationError as exc:
                self.stdout.write(f"the PIN pad did not close the day: {exc.data}")
                failed.append(register)
                continue
            self.stdout.write(closed.report)
            self.stdout.write(_table(closed.ours, closed.totals))
            if closed.totals != closed.ours:
                self.stdout.write("the terminal's totals differ from ours")
                failed.append(register)
        if options["dry_run"]:
            self.stdout.write("dry run: no shift was closed")
        if failed:
            names = ", ".join(str(r) for r in failed)
            raise CommandError(f"needs attention: {names}", returncode=2)


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
