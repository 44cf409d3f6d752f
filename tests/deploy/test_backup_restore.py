"""The restore drill of docs/deploy.md, on PostgreSQL: a backup by deploy/backup.sh, the
database dropped, made again and restored with pg_restore as the drill says, and the service
serves its payments and new ones."""

import os
import subprocess
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.conftest import service_env
from tests.helpers import ROOT, migrated_gunicorn, scratch_postgres

pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="backups are of production's PostgreSQL",
)


def charge(base: str, code: str) -> dict:
    body = {"amount": 500, "qr_code": code}
    return requests.post(f"{base}/payment/click", json=body, timeout=30).json()


def status_of(base: str, transaction_id: str) -> dict:
    return requests.get(f"{base}/payment/status/{transaction_id}", timeout=10).json()["data"]


def test_dump_drop_restore_and_the_service_serves_its_payments(
    tmp_path, click, click_server
) -> None:
    server = os.environ["DATABASE_URL"]
    with scratch_postgres(server) as url:
        env = service_env(url, click_server)
        with migrated_gunicorn(env, "--workers", "1", "--threads", "2") as (base, _):
            paid = charge(base, "7700001001")["data"]["transaction_id"]
            unknown = charge(base, "99050001002")["error"]["data"]["transaction_id"]
            before = {t: status_of(base, t) for t in (paid, unknown)}

        backups = tmp_path / "backups"
        backups.mkdir()
        made = subprocess.run(
            [str(ROOT / "deploy" / "backup.sh"), url],
            env={**os.environ, "BACKUP_DIR": str(backups)},
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        dump = Path(made.stdout.strip())
        assert dump.parent == backups
        assert dump.name.startswith("payments-")
        assert oct(dump.stat().st_mode & 0o777) == "0o600"  # payers' phones are in it

        # The drill: the database gone (a disk, a bad migration), made again, restored.
        name = url.rsplit("/", 1)[1]
        subprocess.run(["psql", server, "-qc", f"DROP DATABASE {name} WITH (FORCE)"], check=True)
        subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True)
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", url, str(dump)],
            check=True, capture_output=True,
        )  # fmt: skip

        with migrated_gunicorn(env, "--workers", "1", "--threads", "2") as (base, _):
            assert {t: status_of(base, t) for t in (paid, unknown)} == before
            assert before[paid]["status"] == "paid"
            again = charge(base, "7700001001")  # the same code: the restored payment answers
            assert again["data"]["transaction_id"] == paid
            assert charge(base, "7700001003")["is_success"] is True
