import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0010_first_register"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="register",
            field=models.ForeignKey(
                help_text="The register that asked for it: only it sees the payment.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="payments.register",
            ),
        ),
        migrations.AlterField(
            model_name="idempotencykey",
            name="register",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="payments.register"
            ),
        ),
        migrations.AlterField(
            model_name="idempotencykey",
            name="key",
            field=models.CharField(max_length=255),
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(
                fields=("register", "key"), name="idempotency_key_per_register"
            ),
        ),
    ]
