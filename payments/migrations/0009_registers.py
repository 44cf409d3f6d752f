import django.db.models.deletion
from django.db import migrations, models

import payments.models.payment


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_one_fiscal_submission"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProviderAccount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("provider", models.CharField(choices=payments.models.payment.provider_choices, max_length=16)),
                ("name", models.CharField(max_length=100, unique=True)),
                ("settings", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["provider", "name"]},
        ),
        migrations.CreateModel(
            name="Register",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("inn", models.CharField(max_length=14, verbose_name="INN")),
                ("kkm_id", models.CharField(max_length=64, verbose_name="KKM id")),
                ("device_id", models.CharField(max_length=64)),
                ("cashbox_code", models.CharField(max_length=64)),
                ("active", models.BooleanField(default=True, help_text="An inactive register is refused, whatever it calls with.")),
                ("networks", models.TextField(blank=True, default="", help_text="Source networks (CIDR, one per line) from which a request without a key is this register's: for register software that cannot send a header. Keep them narrow.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("accounts", models.ManyToManyField(blank=True, related_name="registers", to="payments.provideraccount")),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.CreateModel(
            name="RegisterKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("prefix", models.CharField(help_text="The key's first characters.", max_length=16)),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("label", models.CharField(blank=True, default="", max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("register", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="keys", to="payments.register")),
            ],
            options={"ordering": ["-created_at"]},
        ),
        migrations.AddField(
            model_name="providerexchange",
            name="register",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="payments.register"),
        ),
        # Nullable until 0010 has given every existing row the first register.
        migrations.AddField(
            model_name="payment",
            name="register",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="payments.register"),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="register",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="payments.register"),
        ),
    ]
