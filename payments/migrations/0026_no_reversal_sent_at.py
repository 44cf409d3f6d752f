from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0025_refunds_of_their_own"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="payment",
            name="payment_reversal_in_flight",
        ),
        migrations.RemoveField(
            model_name="payment",
            name="reversal_sent_at",
        ),
    ]
