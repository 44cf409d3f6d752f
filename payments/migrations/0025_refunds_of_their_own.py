"""Every refund is a payment row of its own: a QR purchase whose whole reversal was sent and
not answered (`reversal_sent_at`, set by the release before) becomes a refund row, unknown
and flagged, for `reconcile` to settle by asking the provider (0026 drops the column).

Rolled back, an open QR refund gives its mark back to its purchase (the release before
settles a reversal in flight from there) and is closed as moved.
"""

import uuid

from django.db import migrations

OPEN = ("created", "processing", "unknown")
MOVED_BACK = "moved back to its purchase's reversal in flight by a rollback"


def to_refund_rows(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    in_flight = Payment.objects.filter(reversal_sent_at__isnull=False, status="paid")
    for purchase in in_flight.order_by("pk"):
        refund = Payment.objects.create(
            transaction_id=uuid.uuid4(),
            register_id=purchase.register_id,
            provider=purchase.provider,
            operation="reversal",
            reverses_id=purchase.pk,
            amount=purchase.amount - purchase.reversed_amount,
            status="unknown",
            needs_attention=True,
        )
        Payment.objects.filter(pk=refund.pk).update(created_at=purchase.reversal_sent_at)
        PaymentEvent.objects.create(
            payment_id=refund.pk,
            from_status="created",
            to_status="unknown",
            flagged=True,
            actor="upgrade",
            reason="reversal_unanswered",
            reason_data={},
        )
    in_flight.update(reversal_sent_at=None)


def to_purchase_marks(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    refunds = Payment.objects.filter(operation="reversal", status__in=OPEN).exclude(
        provider="humo"
    )
    for refund in refunds.select_related("reverses").order_by("pk"):
        Payment.objects.filter(pk=refund.reverses_id, status="paid").update(
            reversal_sent_at=refund.created_at, needs_attention=True
        )
        PaymentEvent.objects.create(
            payment_id=refund.pk,
            from_status=refund.status,
            to_status="failed",
            flagged=False,
            actor="upgrade",
            reason="text",
            reason_data={"text": MOVED_BACK},
        )
        Payment.objects.filter(pk=refund.pk).update(status="failed", needs_attention=False)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0024_event_flagged"),
    ]

    operations = [
        # The column goes in the next migration: PostgreSQL alters no table whose rows
        # this transaction wrote with constraints still to check.
        migrations.RunPython(to_refund_rows, to_purchase_marks),
    ]
