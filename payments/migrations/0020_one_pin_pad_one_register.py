"""One PIN pad, one register: from now on `register` and the back office refuse to give a
PIN-pad account to a second register. A share made before the rule is flagged here, where
the person upgrading reads it, and stays flagged (system check payments.W008, the back
office's accounts waiting for a person) until each register has its own; meanwhile that
PIN pad's end of day is refused, since it would close every sharing register's shift."""

from django.db import migrations

# The providers whose account is a device at one till, as they were when this rule came.
DEVICE_PROVIDERS = ("humo",)


def flag_shared_pin_pads(apps, schema_editor):
    ProviderAccount = apps.get_model("payments", "ProviderAccount")
    for account in ProviderAccount.objects.filter(provider__in=DEVICE_PROVIDERS):
        names = sorted(register.name for register in account.registers.all())
        if len(names) > 1:
            print(
                f"\n  payments: the PIN pad account {account.name!r} is shared by "
                f"{', '.join(names)}: give each register its own (its end of day is refused "
                "until then)",
                end="",
            )


class Migration(migrations.Migration):
    dependencies = [("payments", "0019_overdue_receipts_index")]

    operations = [migrations.RunPython(flag_shared_pin_pads, migrations.RunPython.noop)]
