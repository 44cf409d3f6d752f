"""A server process killed (SIGKILL) in the middle of a charge leaves a payment that
`reconcile` settles, and the customer is charged once.

Everything runs in real processes on a database file of its own: the service under
gunicorn, then `manage.py reconcile`. The CLICK emulator outlives the service.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import requests

from tests.conftest import service_env
from tests.helpers import ROOT, gunicorn, wait_until


def test_sigkill_mid_charge_then_reconcile_settles_it(tmp_path, click_server) -> None:
    click_server.emulator.reset()
    database = tmp_path / "crash.sqlite3"
    env = service_env(f"sqlite:///{database}", click_server, CLICK_PAYMENT_READ_TIMEOUT="30")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    with gunicorn(env, "--workers", "1") as (base, server):
        answers: list[object] = []
        code = "990350000123"  # CLICK takes the charge, then answers only after 5 s

        def register() -> None:
            try:
                answers.append(
                    requests.post(
                        f"{base}/payment/click",
                        json={"amount": 500, "qr_code": code},
                        timeout=30,
                    ).json()
                )
            except requests.RequestException as exc:
                answers.append(exc)

        thread = threading.Thread(target=register)
        thread.start()
        wait_until(lambda: click_server.emulator.stats()["charges"] == 1, 10, "the charge")
        os.killpg(server.pid, signal.SIGKILL)  # master and worker, mid-charge
        server.wait(timeout=10)
        thread.join(timeout=10)
        assert isinstance(answers[0], requests.RequestException)  # the register heard nothing

        assert _status(database, code) == "processing"
        reconcile = subprocess.run(
            [*manage, "reconcile", "--min-age", "0"], env=env, capture_output=True, text=True
        )
        assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
        assert _status(database, code) == "paid"
        assert click_server.emulator.stats()["charges_by_code"] == {code: 1}


def _status(database: Path, code: str) -> str:
    with sqlite3.connect(database) as db:
        return db.execute(
            "select status from payments_payment where qr_code = ?", (code,)
        ).fetchone()[0]
