"""The days' tallies tell a purchase from a refund, so that the overview's amounts are the
money taken less the money given back.

Tallies counted before this counted a refund as a payment like any other: they are a cache
of the payments table, so they are dropped and every day is counted again at the next look
at the overview (thirty days of a busy chain: a few seconds, once).
"""

from django.db import migrations, models


def count_again(apps, schema_editor):
    apps.get_model("payments", "DayTally").objects.all().delete()
    apps.get_model("payments", "CountedDay").objects.update(counted_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0027_one_open_refund_again'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='daytally',
            name='one_tally_per_kind',
        ),
        migrations.AddField(
            model_name='daytally',
            name='operation',
            field=models.CharField(default='purchase', max_length=16, verbose_name='operation'),
        ),
        migrations.AddConstraint(
            model_name='daytally',
            constraint=models.UniqueConstraint(fields=('day', 'provider', 'operation', 'status', 'fiscal_status'), name='one_tally_per_kind'),
        ),
        # Last: the rows are dropped once the table has its new shape.
        migrations.RunPython(count_again, migrations.RunPython.noop),
    ]
