"""The charge's statements give what the ORM would: keys, defaults, converted values."""

import math
from datetime import timedelta

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments.models import (
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderExchange,
    RegisterKey,
    statements,
)
from payments.selectors import key_digest
from tests.factories import make_payment, shop_register

pytestmark = pytest.mark.django_db


def test_insert_gives_rows_their_keys_and_defaults_in_order() -> None:
    register = shop_register()
    rows = [Payment(register=register, provider="click", amount=a) for a in (100, 200, 300)]
    statements.insert(rows)
    for row in rows:
        stored = Payment.objects.get(pk=row.pk)
        assert stored.amount == row.amount
        assert stored.transaction_id == row.transaction_id
        assert stored.status == PaymentStatus.CREATED
        assert stored.created_at == row.created_at
    assert not rows[0]._state.adding


on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL takes a batch as one array per column"
)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite takes a batch as rows of values"
)


@on_sqlite
def test_insert_of_more_values_than_a_statement_takes_goes_in_several(monkeypatch) -> None:
    register = shop_register()
    monkeypatch.setattr(statements, "MAX_PARAMETERS", 100)  # a few payments per statement
    rows = [Payment(register=register, provider="click", amount=a) for a in range(1, 12)]
    with CaptureQueriesContext(connection) as queries:
        statements.insert(rows)
    inserts = [q for q in queries if q["sql"].startswith("INSERT")]
    fields = len([f for f in Payment._meta.concrete_fields if not f.primary_key])
    assert len(inserts) == math.ceil(len(rows) / (100 // fields))  # 3 payments a statement
    stored = dict(Payment.objects.filter(register=register).values_list("pk", "amount"))
    assert stored == {row.pk: row.amount for row in rows}
    assert len(stored) == 11


@on_postgresql
def test_a_batch_is_one_statement_of_the_same_text_whatever_its_size() -> None:
    register = shop_register()
    sent: list[str] = []

    def note(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        for size in (2, 300):
            statements.insert(
                [Payment(register=register, provider="click", amount=a + 1) for a in range(size)]
            )
    # The same text: the driver converts it, and the server plans it, once.
    first, second = sent
    assert first == second
    assert Payment.objects.filter(register=register).count() == 302


@on_postgresql
def test_a_value_too_long_for_its_column_is_refused_not_cut() -> None:
    register = shop_register()
    rows = [Payment(register=register, provider="click", amount=a) for a in (1, 2)]
    rows[1].provider_code = "x" * 33  # the column takes 32
    with pytest.raises(DataError), transaction.atomic():
        statements.insert(rows)
    assert not Payment.objects.filter(register=register).exists()


def test_update_many_writes_each_rows_own_values() -> None:
    payments = [make_payment(status=PaymentStatus.PROCESSING) for _ in range(3)]
    before = max(p.updated_at for p in payments)
    for number, payment in enumerate(payments):
        payment.provider_message = f"answer {number}"
        payment.slip_text = "not named, not written"
    statements.update_many(payments, ["provider_message"])
    stored = Payment.objects.in_bulk([p.pk for p in payments])
    assert [stored[p.pk].provider_message for p in payments] == ["answer 0", "answer 1", "answer 2"]
    assert {stored[p.pk].slip_text for p in payments} == {""}
    assert min(stored[p.pk].updated_at for p in payments) > before


def test_update_writes_the_named_fields_and_the_time_of_the_write() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    before = payment.updated_at
    payment.provider_message = "written"
    payment.slip_text = "not named, not written"
    assert statements.update(payment, ["provider_message"]) is True
    stored = Payment.objects.get(pk=payment.pk)
    assert stored.provider_message == "written"
    assert stored.slip_text == ""
    assert stored.updated_at > before


def test_a_guarded_update_writes_only_a_row_that_still_holds_the_values() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    payment.provider_message = "first"
    assert statements.update(payment, ["provider_message"], where={"status": "created"}) is False
    assert Payment.objects.get(pk=payment.pk).provider_message == ""
    assert statements.update(payment, ["provider_message"], where={"status": "processing"})
    assert Payment.objects.get(pk=payment.pk).provider_message == "first"


def test_first_reads_the_row_with_its_parent_as_the_orm_would() -> None:
    register = shop_register()
    used = timezone.now() - timedelta(minutes=5)
    key = RegisterKey.objects.create(
        register=register, prefix="rk_abc", digest=key_digest("rk_abc"), last_used_at=used
    )
    found = statements.first(
        RegisterKey, {"digest": key_digest("rk_abc"), "revoked_at": None}, joined="register"
    )
    assert found.pk == key.pk
    assert found.last_used_at == used  # a time with its zone, on SQLite too
    assert found.created_at == RegisterKey.objects.get(pk=key.pk).created_at
    assert found.revoked_at is None
    assert found.register == register
    assert found.register.name == register.name  # read with it: no second query
    assert found.register.active is True


def test_first_with_an_empty_field_asked_finds_only_such_a_row() -> None:
    register = shop_register()
    RegisterKey.objects.create(
        register=register, prefix="rk_old", digest=key_digest("rk_old"), revoked_at=timezone.now()
    )
    where = {"digest": key_digest("rk_old"), "revoked_at": None}
    assert statements.first(RegisterKey, where, joined="register") is None


def test_an_event_inserted_belongs_to_its_payment() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    event = PaymentEvent(payment=payment, from_status="created", to_status="processing", reason="r")
    statements.insert([event])
    assert list(payment.events.filter(reason="r").values_list("pk", flat=True)) == [event.pk]


def test_insert_with_gives_the_row_and_its_children_their_keys() -> None:
    payment = Payment(register=shop_register(), provider="click", amount=500)
    events = [PaymentEvent(payment=payment, reason=f"step {n}") for n in range(2)]
    with statements.atomic_together():
        statements.insert_with(payment, events, link="payment")
    stored = Payment.objects.get(pk=payment.pk)
    assert stored.transaction_id == payment.transaction_id
    assert sorted(stored.events.values_list("pk", "reason")) == [
        (events[0].pk, "step 0"),
        (events[1].pk, "step 1"),
    ]
    assert events[0].payment_id == payment.pk


def test_update_with_writes_its_children_only_with_the_row() -> None:
    payment = make_payment(status=PaymentStatus.PROCESSING)
    earlier = list(payment.events.values_list("pk", flat=True))
    payment.provider_message = "answered"
    missed = PaymentEvent(payment=payment, reason="not while the guard fails")
    with statements.atomic_together():
        written = statements.update_with(
            payment, ["provider_message"], where={"status": "paid"}, children=[missed]
        )
    assert written is False
    assert missed.pk is None
    assert list(payment.events.values_list("pk", flat=True)) == earlier
    made = PaymentEvent(payment=payment, reason="with the row")
    with statements.atomic_together():
        written = statements.update_with(
            payment, ["provider_message"], where={"status": "processing"}, children=[made]
        )
    assert written is True
    assert list(payment.events.exclude(pk__in=earlier).values_list("pk", "reason")) == [
        (made.pk, "with the row")
    ]
    assert Payment.objects.get(pk=payment.pk).provider_message == "answered"


def test_update_many_with_writes_the_rows_that_hold_their_guard_and_only_their_children() -> None:
    rows = [make_payment(status=PaymentStatus.PROCESSING) for _ in range(3)]
    Payment.objects.filter(pk=rows[1].pk).update(status=PaymentStatus.PAID)  # since read
    earlier = set(PaymentEvent.objects.values_list("pk", flat=True))
    for number, row in enumerate(rows):
        row.provider_message = f"answer {number}"
    children = [
        PaymentEvent(payment=row, reason=f"step {number}") for number, row in enumerate(rows)
    ]
    children.append(
        ProviderExchange(
            payment=rows[2], provider="click", operation="check", method="GET", url="u"
        )
    )
    with statements.atomic_together():
        written = statements.update_many_with(
            rows,
            ["provider_message"],
            where=[{"status": PaymentStatus.PROCESSING}] * 3,
            children=children,
            link="payment",
        )
    assert written == {rows[0].pk, rows[2].pk}
    messages = dict(Payment.objects.filter(pk__in=written).values_list("pk", "provider_message"))
    assert messages == {rows[0].pk: "answer 0", rows[2].pk: "answer 2"}
    assert Payment.objects.get(pk=rows[1].pk).provider_message == ""
    added = PaymentEvent.objects.exclude(pk__in=earlier)
    assert sorted(added.values_list("payment_id", "reason")) == [
        (rows[0].pk, "step 0"),
        (rows[2].pk, "step 2"),
    ]
    assert list(ProviderExchange.objects.values_list("payment_id", flat=True)) == [rows[2].pk]


@on_postgresql
def test_update_many_with_is_one_statement_of_the_same_text_whatever_its_size() -> None:
    sent: list[str] = []

    def note(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    for size in (2, 200):
        rows = [make_payment(status=PaymentStatus.PROCESSING) for _ in range(size)]
        events = [PaymentEvent(payment=row, reason="r") for row in rows]
        with connection.execute_wrapper(note):
            written = statements.update_many_with(
                rows,
                ["provider_message"],
                where=[{"status": PaymentStatus.PROCESSING}] * size,
                children=events,
                link="payment",
            )
        assert written == {row.pk for row in rows}
    first, second = sent
    assert first == second
    assert PaymentEvent.objects.filter(reason="r").count() == 202
