"""Database connections live across requests under gunicorn, and one that died while idle is
replaced without failing a request (PostgreSQL: the sessions it counts itself)."""

from collections.abc import Iterator

import psycopg
import pytest
import requests
from django.db import connection

from tests.conftest import service_env
from tests.helpers import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS, THREADS = 1, 4


def _admin() -> psycopg.Connection:
    db = connection.settings_dict
    dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname=postgres"
    return psycopg.connect(dsn, autocommit=True)


def sessions_so_far() -> int:
    """Sessions PostgreSQL has opened on the test database since its statistics began."""
    with _admin() as admin:
        admin.execute("SELECT pg_stat_clear_snapshot()")
        row = admin.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s",
            [connection.settings_dict["NAME"]],
        ).fetchone()
    return row[0]


@pytest.fixture
def service(shop, click, click_server) -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("the service's processes cannot share pytest's SQLite test database")
    db = connection.settings_dict
    env = service_env(
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}", click_server
    )
    options = ("--worker-class", "gthread", "--workers", str(WORKERS), "--threads", str(THREADS))
    with gunicorn(env, *options) as (base, _):
        yield base


def charge(base: str, n: int) -> dict:
    body = {"amount": 500, "qr_code": f"77009900{n:04d}"}
    return requests.post(f"{base}/payment/click", json=body, timeout=30).json()


def test_a_hundred_charges_open_no_more_connections_than_threads(service) -> None:
    charge(service, 0)  # the worker has started and connected
    before = sessions_so_far()
    answers = [charge(service, n) for n in range(1, 101)]
    assert all(a["is_success"] for a in answers)
    # One connection per thread that served a request, and none per request.
    assert sessions_so_far() - before <= WORKERS * THREADS


def test_a_connection_that_died_while_idle_is_replaced_without_an_error(service) -> None:
    assert charge(service, 0)["is_success"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    with _admin() as admin:  # a restart or a failover, as the service's connections see it
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s",
            [connection.settings_dict["NAME"], ours],
        ).fetchall()
    assert killed  # the service held a connection while idle
    answers = [charge(service, n) for n in range(1, 2 * THREADS + 1)]
    assert all(a["is_success"] for a in answers), answers
