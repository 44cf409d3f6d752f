"""Settle open payments with the providers, and check paid ones for reversals."""

from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from payments import selectors
from payments.management.reporting import OneAtATimeCommand, Progress, table
from payments.services import idempotency, reconciliation
from providers import registry


def moment(text: str) -> datetime:
    """A date (midnight, Tashkent) or an ISO date-time."""
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(f"not a date or date-time: {text!r}")
        parsed = datetime.combine(day, time.min)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(OneAtATimeCommand):
    help = (
        "Settle created/processing/unknown payments and refunds older than --min-age by "
        "asking their provider; with --since, "
        "check the paid payments of the period for reversals at the provider. Also removes "
        "expired Idempotency-Keys. Exits with 2 when a payment needs attention (still "
        "unknown, or reversed at the provider)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", choices=registry.names())
        parser.add_argument("--since", type=moment, help="date or date-time (created at or after)")
        parser.add_argument("--until", type=moment, help="date or date-time (created before)")
        parser.add_argument(
            "--min-age", type=int, help="seconds; default RECONCILE_MIN_AGE_SECONDS"
        )
        parser.add_argument(
            "--workers", type=int, help="parallel lookups; default RECONCILE_WORKERS"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="ask the providers, change nothing"
        )

    def run(self, options: dict[str, Any]) -> None:
        period = {
            "provider": options["provider"],
            "since": options["since"],
            "until": options["until"],
        }
        min_age = timedelta(seconds=options["min_age"]) if options["min_age"] is not None else None
        dry_run, workers = options["dry_run"], options["workers"]

        open_payments = list(selectors.open_payments(**period, min_age=min_age))
        settled = reconciliation.settle_open(
            open_payments,
            dry_run=dry_run,
            workers=workers,
            progress=Progress(len(open_payments), self.stderr, "open payments "),
        )
        reversed_: list[reconciliation.Settled] = []
        if options["since"]:
            # Only providers that can be asked about any payment, not just their latest.
            askable = registry.names(knows_only_latest=False)
            paid = list(selectors.paid_payments(providers=askable, **period))
            reversed_ += reconciliation.check_paid(
                paid,
                dry_run=dry_run,
                workers=workers,
                progress=Progress(len(paid), self.stderr, "paid payments "),
            )
        purged = idempotency.purge_expired(dry_run=dry_run)

        changes = Counter((s.provider, s.before, s.after) for s in settled + reversed_)
        self.changes.update(changes)
        rows = [(*key, count) for key, count in sorted(changes.items())]
        self.stdout.write(
            table(("provider", "was", "now", "payments"), rows or [("-", "-", "-", 0)])
        )
        self.stdout.write(f"expired idempotency keys removed: {purged}")
        attention = [s for s in settled + reversed_ if s.needs_attention]
        if attention:
            self.stdout.write("\nneeds attention:")
            self.stdout.write(
                table(
                    ("transaction_id", "provider", "status", "why"),
                    [(s.transaction_id, s.provider, s.after, s.note[:60]) for s in attention],
                )
            )
        if dry_run:
            self.stdout.write("dry run: nothing was changed")
        if attention:
            raise CommandError(f"{len(attention)} payment(s) need attention", returncode=2)
