"""Our own database lost in the middle of a charge (PostgreSQL: the backend terminated while
the provider holds the charge). The provider's answer is recorded on a fresh connection,
with its journal row, and the register gets the outcome with its transaction id."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from payments.models import Payment, PaymentStatus, ProviderExchange
from tests.helpers import post_json

pytestmark = pytest.mark.django_db(transaction=True)


def terminate_when_charged(click, pid: int) -> threading.Thread:
    """Kill our database session the moment CLICK has the charge (its answer takes 1 s)."""
    db = connection.settings_dict

    def kill() -> None:
        deadline = time.monotonic() + 10
        while "POST click_pass/payment" not in click.stats()["requests"]:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname={db['NAME']}"
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    killer = threading.Thread(target=kill)
    killer.start()
    return killer


def test_the_connection_lost_while_the_provider_charges(api, click, settings) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a backend to terminate is PostgreSQL's")
    settings.CLICK_PAYMENT_READ_TIMEOUT = 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = terminate_when_charged(click, pid)
    body = post_json(api, "/payment/click", {"amount": 500, "qr_code": "990310000001"})
    killer.join()
    payment = Payment.objects.get()
    assert body["is_success"] is True, body  # recorded on a new connection
    assert body["data"]["transaction_id"] == str(payment.transaction_id)
    assert payment.status == PaymentStatus.PAID
    assert ProviderExchange.objects.filter(payment=payment, operation="click_pass/payment").exists()
    assert click.stats()["charge_requests"] == 1
