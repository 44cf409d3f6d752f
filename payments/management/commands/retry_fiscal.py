"""Send refused fiscal receipts again, and list paid payments still without one."""

from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser

from payments import selectors
from payments.errors import ApplicationError
from payments.management.reporting import OneAtATimeCommand, Progress, table
from payments.models import Payment
from payments.services import fiscal
from providers import registry


class Command(OneAtATimeCommand):
    help = (
        "Resend refused fiscal receipts whose next attempt is due, and take up submissions "
        "abandoned midway (checking CLICK's ofd_data first, so a receipt CLICK already has "
        "is not sent twice), with backoff recorded on "
        "the payment. Lists receipts with no attempt left and paid payments whose register "
        "sent no receipt past FISCAL_RECEIPT_DEADLINE_MINUTES; exits with 2 when there are any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", choices=registry.names(takes_fiscal_receipts=True))
        parser.add_argument("--dry-run", action="store_true", help="list only, send nothing")

    def run(self, options: dict[str, Any]) -> None:
        provider, dry_run = options["provider"], options["dry_run"]
        due = list(selectors.due_fiscal_retries(provider))
        outcomes: Counter[tuple[str, str]] = Counter()
        progress = Progress(len(due), self.stderr, "fiscal retries ")
        cannot_send: list[tuple[Payment, str]] = []
        for payment in due:
            before = payment.fiscal_status
            try:
                after = before if dry_run else fiscal.retry(payment).fiscal_status
            except ApplicationError as exc:  # its register's account: the others go on
                account = (exc.data or {}).get("account", payment.provider)
                cannot_send.append((payment, f"the account {account!r} is misconfigured"))
                after = before
            outcomes[(payment.provider, after)] += 1
            change = (payment.provider, before, after)
            self.changes[change] = self.changes.get(change, 0) + 1
            progress()
        rows = [(p, s, n) for (p, s), n in sorted(outcomes.items())]
        self.stdout.write(
            table(("provider", "fiscal status now", "payments"), rows or [("-", "-", 0)])
        )

        attention = cannot_send + [
            (p, "no attempt left: " + p.fiscal_error[:40])
            for p in selectors.fiscal_retries_exhausted(provider)
        ]
        attention += [
            (p, "no receipt from the register") for p in selectors.overdue_receipts(provider)
        ]
        if attention:
            self.stdout.write("\nneeds attention:")
            self.stdout.write(
                table(
                    ("transaction_id", "provider", "paid at", "why"),
                    [(p.transaction_id, p.provider, p.paid_at, why) for p, why in attention],
                )
            )
        if dry_run:
            self.stdout.write("dry run: nothing was sent")
        if attention:
            raise CommandError(f"{len(attention)} payment(s) need attention", returncode=2)
