"""The previous release's database, upgraded by today's migrations, serves: its payments of
every provider and status read as they were, a new charge goes through, a receipt the
release was waiting for is taken, and `reconcile` settles what it left open.

The database is the dump tests/upgrade/release_fixture.py made with that release's own code,
on the engine this run uses (SQLite, or PostgreSQL when DATABASE_URL says so)."""

import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from django.conf import settings

from payments.reasons import TEXT, Code
from tests.conftest import service_env
from tests.helpers import ROOT, SEED_URL, migrated_gunicorn, scratch_postgres
from tests.upgrade.release_fixture import dump_path

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture
def release_database(tmp_path) -> Iterator[str]:
    """A database of its own, as the previous release left it: its URL."""
    if not ON_POSTGRES:
        path = tmp_path / "release.sqlite3"
        with sqlite3.connect(path) as database:
            database.executescript(dump_path("sqlite").read_text())
        yield f"sqlite:///{path}"
        return
    with scratch_postgres(os.environ["DATABASE_URL"]) as url:
        subprocess.run(
            ["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump_path("postgres"))],
            check=True, capture_output=True,
        )  # fmt: skip
        yield url


def rows_of(database_url: str) -> list[tuple[str, str, str, str, str]]:
    """(transaction id, provider, operation, status, fiscal status) of every payment, read
    straight from the database, as the release wrote them."""
    query = (
        "SELECT transaction_id, provider, operation, status, fiscal_status FROM payments_payment"
    )
    return [(str(uuid.UUID(t)), *rest) for t, *rest in _select(database_url, query)]


def _select(database_url: str, query: str) -> list[tuple[str, ...]]:
    """The rows a query finds, straight from the database, as text."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as database:
            return [tuple(str(v) for v in row) for row in database.execute(query).fetchall()]
    printed = subprocess.run(
        ["psql", database_url, "-qtAF", "|", "-c", query], check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    return [tuple(line.split("|")) for line in printed.splitlines() if line]


def test_the_previous_releases_database_serves_after_the_upgrade(
    release_database, click_server, payme_server, uzum_server, click, payme, uzum
) -> None:
    before = rows_of(release_database)
    # The fixture holds what it promises, so that this test sees every kind of row.
    assert {provider for _, provider, *_ in before} == {"click", "payme", "uzum", "humo"}
    statuses = {status for *_, status, _ in before}
    assert statuses == {"created", "processing", "unknown", "paid", "failed", "reversed"}

    env = service_env(release_database, click_server, payme_server, uzum_server)
    with migrated_gunicorn(env, "--workers", "1", "--threads", "4") as (base, _):
        for transaction_id, provider, operation, status, fiscal_status in before:
            answer = requests.get(f"{base}/payment/status/{transaction_id}", timeout=10).json()
            assert answer["is_success"] is True, (transaction_id, answer)
            seen = answer["data"]
            # A refund done reads as what it did: its money went back.
            done = operation == "reversal" and status == "paid"
            assert (seen["provider"], seen["status"], seen["fiscal_status"]) == (
                provider,
                "reversed" if done else status,
                fiscal_status,
            )

        new = requests.post(
            f"{base}/payment/click", json={"amount": 500, "qr_code": "7700000701"}, timeout=30
        ).json()
        assert new["is_success"] is True, new

        # A receipt the release was waiting for: its CLICK payment, known to CLICK.
        waiting = next(
            row for row in before if row[1] == "click" and row[3:] == ("paid", "pending")
        )
        payment_id = requests.get(f"{base}/payment/status/{waiting[0]}", timeout=10).json()
        click_id = click.record_charge("7700000702", Decimal("5.00"), waiting[0])
        _set_click_id(release_database, waiting[0], payment_id["data"]["payment_id"], click_id)
        confirm = requests.post(
            f"{base}/payment/click_confirm",
            json={"payment_id": waiting[0], "qrcode": SEED_URL},
            timeout=30,
        ).json()
        assert confirm["is_success"] is True, confirm

    settled = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--min-age", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in settled.stderr, settled.stderr
    assert settled.returncode in (0, 2), settled.stdout + settled.stderr
    # Yesterday's timeline reads as codes (migration 0022); what the release's own code did
    # not write (the fixture's set-up steps) is kept as text.
    steps = _select(release_database, "SELECT reason FROM payments_paymentevent")
    reasons = {row[0] for row in steps}
    assert {"sent", "answered", "reconcile"} <= reasons
    assert reasons <= {str(code) for code in Code} | {TEXT}, reasons
    after = {row[0]: row[3] for row in rows_of(release_database)}
    created = [row[0] for row in before if row[3] == "created" and row[2] == "purchase"]
    assert created
    assert all(after[transaction_id] == "failed" for transaction_id in created)  # never sent
    # The permission that now shows a payer's phone whole anywhere says so (0029 renames the
    # row the release made).
    query = "SELECT name FROM auth_permission WHERE codename = 'view_personal_data'"
    assert _select(release_database, query) == [("Can see payers' phones and cards whole",)]


def _set_click_id(database_url: str, transaction_id: str, old_id: str, click_id: int) -> None:
    """The release's payment carries a made-up CLICK id; CLICK's emulator now knows the
    payment under its own."""
    statement = (
        f"UPDATE payments_payment SET provider_payment_id = '{click_id}' "
        f"WHERE provider_payment_id = '{old_id}' AND provider = 'click'"
    )
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as database:
            database.execute(statement)
        return
    subprocess.run(["psql", database_url, "-qc", statement], check=True)
