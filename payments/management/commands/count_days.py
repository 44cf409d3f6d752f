"""Count the past days the overview shows, so its first look after an upgrade is quick."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from payments.services import tallies

PAST_DAYS = tallies.OVERVIEW_DAYS - 1


class Command(BaseCommand):
    help = (
        f"Count the payments of each past day the overview shows (the last {PAST_DAYS} days) "
        "that has no current count, or --all of them again. The overview counts such days "
        "itself on its first look; run this after an upgrade or a restore so nobody waits "
        "for it. Safe at any time, and beside a running service."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=PAST_DAYS, help="how many past days")
        parser.add_argument("--all", action="store_true", help="count them again, all")
        parser.add_argument("--dry-run", action="store_true", help="say how many, count none")

    def handle(self, *args: Any, **options: Any) -> None:
        days = tallies.last_days(options["days"])
        if options["dry_run"]:
            stale = len(days) if options["all"] else len(tallies.not_current(days))
            self.stdout.write(f"would count {stale} of the last {len(days)} days")
            return
        if options["all"]:
            tallies.mark_changed(days)
        counted = tallies.count_days(days)
        self.stdout.write(f"counted {counted} of the last {len(days)} days")
