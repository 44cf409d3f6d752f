"""The unique index that keeps one refund of a purchase open at a time
(`payment_one_open_reversal`, made by 0005) again on PostgreSQL.

0015 changed the `reverses` column's own index, and Django, looking for that index on
PostgreSQL, took this one (a unique index on the same column) for it and dropped it; the
models and SQLite kept it. Where it is missing it is made again. Two open refunds of one
purchase (which only its absence let happen) stop the migration with their ids: a person
settles them first (the back office's status question, or by hand).
"""

from django.db import migrations

NAME = "payment_one_open_reversal"


def make_again(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    Payment = apps.get_model("payments", "Payment")
    table = Payment._meta.db_table
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, table)
    if NAME in indexes:
        return
    constraint = next(c for c in Payment._meta.constraints if c.name == NAME)
    open_ones = Payment.objects.filter(constraint.condition)
    doubled = [
        str(refund.transaction_id)
        for refund in open_ones.order_by("reverses_id", "pk")
        if open_ones.filter(reverses_id=refund.reverses_id).count() > 1
    ]
    if doubled:
        raise RuntimeError(
            "these refunds are open together with another of the same purchase; settle them "
            f"first, then migrate again: {', '.join(doubled)}"
        )
    schema_editor.add_constraint(Payment, constraint)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0026_no_reversal_sent_at"),
    ]

    operations = [
        # Backwards, nothing: the state before declares the index too.
        migrations.RunPython(make_again, migrations.RunPython.noop),
    ]
