"""What the models declare is what the database holds: every named index and constraint
of the payments app is there, after the whole chain of migrations (PostgreSQL once lost a
unique index to a later migration that changed its column, while SQLite kept it)."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", apps.get_app_config("payments").get_models(), ids=lambda m: m.__name__
)
def test_every_declared_index_and_constraint_is_in_the_database(model) -> None:
    declared = {i.name for i in model._meta.indexes} | {c.name for c in model._meta.constraints}
    with connection.cursor() as cursor:
        present = set(connection.introspection.get_constraints(cursor, model._meta.db_table))
    assert declared - present == set()
