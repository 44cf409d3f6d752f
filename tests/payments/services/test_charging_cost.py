"""What a charge costs the database, counted outside any test transaction: the payment
committed (already `processing`, with its first event) before the provider hears of it, and
one transaction for everything the answer changes."""

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from payments.models import IdempotencyKey, Payment, PaymentStatus
from payments.services import idempotency
from providers import registry
from tests.helpers import post_json

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")

# The register's key, the payment and its first event, then the answer: the update guarded
# by the row as it was read (no lock, no read), the journal row, the event. PostgreSQL
# writes the payment with its event in one statement, and the answer in another.
STATEMENTS = {"postgresql": 3, "sqlite": 6}
# What SQLite's backend logs of its transactions (PostgreSQL's driver sends them unlogged).
TRANSACTION_CONTROL = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)
WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")


@contextmanager
def commits_counted() -> Iterator[list[int]]:
    """How many transactions that write commit meanwhile: those committed by name (a
    BEGIN ... COMMIT, counted also in [1]), and each writing statement run in autocommit
    (a transaction of its own)."""
    count = [0, 0]
    real = connection.commit

    def commit() -> None:
        count[0] += 1
        count[1] += 1
        real()

    def on_its_own(execute, sql, params, many, context):
        if not connection.in_atomic_block and WRITES.search(sql):
            count[0] += 1
        return execute(sql, params, many, context)

    connection.commit = commit
    try:
        with connection.execute_wrapper(on_its_own):
            yield count
    finally:
        del connection.commit


def from_another_connection(read: Callable[[], T]) -> T:
    """What `read()` gives on another connection (another thread's), now."""
    seen: list[T] = []

    def look() -> None:
        try:
            seen.append(read())
        finally:
            connections.close_all()

    reader = threading.Thread(target=look)
    reader.start()
    reader.join()
    return seen[0]


def seen_from_another_connection(transaction_id: str) -> tuple[str, int]:
    """The payment's status and timeline length as another connection sees them now."""

    def status_and_steps() -> tuple[str, int]:
        payment = Payment.objects.get(transaction_id=transaction_id)
        return payment.status, payment.events.count()

    return from_another_connection(status_and_steps)


def test_a_charge_paid_at_once_is_two_transactions(api, click, monkeypatch) -> None:
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9904000001"})  # warm
    gateway = registry.GATEWAYS["click"]
    real_charge = gateway.charge
    committed_before_sending = []

    def charge(payment):
        committed_before_sending.append(seen_from_another_connection(payment.transaction_id))
        return real_charge(payment)

    monkeypatch.setattr(gateway, "charge", charge)
    with CaptureQueriesContext(connection) as statements, commits_counted() as commits:
        body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})
    assert body["is_success"] is True
    assert committed_before_sending == [(PaymentStatus.PROCESSING, 1)]
    assert commits[0] == 2
    if connection.vendor == "postgresql":  # no key to bind: each write is one statement
        assert commits[1] == 0
    sql = [q["sql"] for q in statements if not TRANSACTION_CONTROL.match(q["sql"])]
    assert len(sql) == STATEMENTS[connection.vendor], [text[:60] for text in sql]
    payment = Payment.objects.get(qr_code="7700112233")
    steps = [(e.from_status, e.to_status) for e in payment.events.all()]
    assert steps == [("created", "processing"), ("processing", "paid")]
    assert payment.exchanges.count() == 1


def test_on_postgresql_a_connection_prepares_the_charge_statements_once(api, click) -> None:
    """After a few charges on one connection, PostgreSQL holds each of the charge's
    statements prepared (parsed and planned once) instead of parsing every one anew."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to prepare statements on")
    for number in range(6):
        post_json(api, "/payment/click", {"amount": 500, "qr_code": f"77001122{number:02d}"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    for table in ("payments_payment", "payments_paymentevent", "payments_providerexchange"):
        assert any(f'INSERT INTO "{table}"' in s for s in prepared), (table, prepared)
    assert any('UPDATE "payments_payment"' in s for s in prepared), prepared
    assert any(s.startswith('SELECT "payments_registerkey"') for s in prepared), prepared


def test_a_charge_with_a_key_binds_the_key_in_the_payments_commit(api, click, monkeypatch):
    """With an Idempotency-Key, the payment and the key's link to it commit together: a
    replay can always name the payment once it exists."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's other connections are locked out of a write in progress")
    api.credentials(HTTP_IDEMPOTENCY_KEY="cost-1", **api._credentials)
    visible_elsewhere_when_bound = []
    real_bind = idempotency.bind

    def bind(row, payment):
        made = Payment.objects.filter(pk=payment.pk)
        visible_elsewhere_when_bound.append(from_another_connection(made.exists))
        real_bind(row, payment)

    monkeypatch.setattr(idempotency, "bind", bind)
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112299"})

    assert body["is_success"] is True
    assert visible_elsewhere_when_bound == [False]
    key = IdempotencyKey.objects.get(key="cost-1")
    assert str(key.transaction_id) == body["data"]["transaction_id"]
