"""`view_personal_data` now shows a payer's phone whole everywhere in the back office (the
payment's page and its journal as well as the CSV); everyone else sees it masked. Its name
says so; the permission's row, made by an earlier release, is renamed with it (Django
makes a new permission's row, but leaves an existing one's name as it was)."""

from django.db import migrations

NAME = "Can see payers' phones and cards whole"


def rename(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="payments", codename="view_personal_data"
    ).update(name=NAME)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0028_tallies_tell_refunds_apart'),
        ('auth', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='payment',
            options={'ordering': ['-created_at'], 'permissions': [('check_status', "Can ask the provider for a payment's status"), ('retry_fiscal', 'Can send a fiscal receipt again'), ('reverse_payment', 'Can reverse a paid payment'), ('settle_payment', 'Can settle an unknown payment by hand'), ('export_payments', 'Can export the payment list as CSV'), ('view_personal_data', NAME)], 'verbose_name': 'payment', 'verbose_name_plural': 'payments'},
        ),
        migrations.RunPython(rename, migrations.RunPython.noop),
    ]
