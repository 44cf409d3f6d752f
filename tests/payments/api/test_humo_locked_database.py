"""The embedded database busy past its timeout the moment the PIN pad approved a purchase:
the register hears 110 with our transaction id, never 103. (A register told 103 has no id
to ask about, and one that then retries without an Idempotency-Key charges the card twice.)
PostgreSQL's counterpart is the fault matrix's database rows."""

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from payments.models import Payment, PaymentStatus
from providers import registry

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def another_writer() -> Iterator[None]:
    """Another connection holding SQLite's write lock (our test database is a shared
    in-memory one, whose lock is refused at once rather than after the busy timeout)."""
    other = sqlite3.connect(connection.settings_dict["NAME"], uri=True, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_an_approval_meeting_a_locked_database_is_110_with_our_id(api, pinpad, monkeypatch):
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        pytest.skip("SQLite's shared in-memory test database")
    humo = registry.GATEWAYS["humo"]
    purchase = humo.charge
    with ExitStack() as held:

        def purchase_then_locked(payment):
            result = purchase(payment)
            held.enter_context(another_writer())  # approved; our database refuses the answer
            return result

        monkeypatch.setattr(humo, "charge", purchase_then_locked)
        response = api.post("/payment/xumo", {"amount": 50000}, format="json")
    monkeypatch.undo()
    payment = Payment.objects.get()
    assert response.json()["error"] == {
        "code": 110,
        "message": "PAYMENT_OUTCOME_UNKNOWN",
        "data": {"transaction_id": str(payment.transaction_id)},
    }
    assert len([t for t in pinpad.transactions if t.approved]) == 1
    call_command("reconcile", "--min-age", "0", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID  # the terminal's last transaction says so
