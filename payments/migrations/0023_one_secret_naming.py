"""One way to name a secret: the first register's CLICK and Payme accounts named theirs
after the deployment's settings (CLICK_SECRET_KEY, PAYME_KEY); they are named
PROVIDER_SECRET_CLICK and PROVIDER_SECRET_PAYME now, like every other account's, and read
from those settings still when the deployment gives them so (payments/services/accounts)."""

from django.db import migrations

RENAMED = {"CLICK_SECRET_KEY": "PROVIDER_SECRET_CLICK", "PAYME_KEY": "PROVIDER_SECRET_PAYME"}


def rename(apps, names: dict[str, str]) -> None:
    accounts = apps.get_model("payments", "ProviderAccount")
    for account in accounts.objects.all():
        values = dict(account.settings or {})
        renamed = {k: names.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
        if renamed != values:
            account.settings = renamed
            account.save(update_fields=["settings"])


def forwards(apps, schema_editor):
    rename(apps, RENAMED)


def backwards(apps, schema_editor):
    rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0022_reasons_as_codes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
