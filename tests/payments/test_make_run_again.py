"""The second day of `make run`: Ctrl-C, start again on the same checkout and database, and
the operators' commands run by hand beside it, exactly as docs/operations.md writes them.

Each run is `make run`'s own command on a SQLite file of its own, in a session of its own
as a terminal's job is.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.helpers import ROOT, confirm_click_over_http, in_session, local_run

# What the tests' own environment says for the service (tests/conftest.py) and a person's
# shell beside `make run` does not: a command must find it all in what make run left.
NOT_IN_A_PERSONS_SHELL = ("DATABASE_URL", "ALLOW_TEST_DEPLOYMENT", "ENV_FILE")
SERVICE_PREFIXES = ("CLICK_", "PAYME_", "UZUM_", "PINPAD_", "PROVIDER_SECRET_")


def a_persons_shell(left_by_make_run: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in NOT_IN_A_PERSONS_SHELL and not name.startswith(SERVICE_PREFIXES)
    }
    # manage.py names the checkout's own .run/local.env; this run left it beside its database.
    return env | {"LOCAL_RUN_ENV": str(left_by_make_run)}


def printed_key(output: Path) -> str:
    match = re.search(r"key for other addresses: (rk_\S+)", output.read_text())
    assert match, output.read_text()
    return match.group(1)


def charge_click(base: str, code: str, key: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(
        f"{base}/payment/click", json={"amount": 500, "qr_code": code}, headers=headers, timeout=60
    ).json()


def ctrl_c(process: subprocess.Popen) -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the foreground job."""
    os.killpg(process.pid, signal.SIGINT)


def test_stop_and_start_again_serves_yesterdays_payments_and_new_ones(tmp_path) -> None:
    database, left = tmp_path / "db.sqlite3", tmp_path / "local.env"
    with local_run(database, tmp_path / "first.out", workers=1, threads=4) as (base, first, _):
        yesterday = charge_click(base, "880101000201")
        assert yesterday["is_success"] is True, yesterday
        key = printed_key(tmp_path / "first.out")
        ctrl_c(first)
        first.wait(timeout=20)
    with local_run(database, tmp_path / "second.out", workers=1, threads=4) as (base, _, port):
        assert printed_key(tmp_path / "second.out") == key  # a register set up keeps working
        status = requests.get(
            f"{base}/payment/status/{yesterday['data']['transaction_id']}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ).json()
        assert status["data"]["status"] == "paid", status
        today = charge_click(base, "880101000202", key)
        assert today["is_success"] is True, today
        confirm = confirm_click_over_http(base, today["data"]["payment_id"])
        assert confirm["is_success"] is True, confirm

        # An answer lost (CLICK answers HTTP 500): the payment stays unknown for reconcile.
        lost = charge_click(base, "9905000203", key)
        assert lost["error"]["code"] == 110, lost
        asked_before = _status_requests(port)
        manage = [sys.executable, str(ROOT / "manage.py")]
        ran = subprocess.run(
            [*manage, "reconcile", "--dry-run", "--provider", "click", "--min-age", "0"],
            cwd=ROOT, env=a_persons_shell(left), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert "Traceback" not in ran.stderr, ran.stderr
        # Flagged, not settled: CLICK's "not found" proves nothing; the run says so with 2.
        assert ran.returncode == 2, ran.stdout + ran.stderr
        assert lost["error"]["data"]["transaction_id"] in ran.stdout
        assert _status_requests(port) > asked_before  # it asked make run's own emulator
        checked = subprocess.run(
            [*manage, "check", "--database", "default", "--fail-level", "WARNING"],
            cwd=ROOT, env=a_persons_shell(left), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
    assert oct(left.stat().st_mode & 0o777) == "0o600"  # it holds the emulators' keys


def _status_requests(click_port: int) -> int:
    stats = requests.get(f"http://127.0.0.1:{click_port}/_emulator/stats", timeout=5).json()
    return sum(1 for request in stats["requests"] if "payment/status" in request)


def test_ctrl_c_stops_everything_within_seconds_even_with_a_deaf_worker(tmp_path) -> None:
    """A charge waiting on CLICK (a code it never answers) holds a worker's thread, and a
    worker may not hear its signals at all (one was seen waiting in a futex for minutes,
    deaf to SIGTERM; here it is stopped, which no signal but SIGKILL gets past): Ctrl-C
    must end every process of the job within seconds all the same."""
    with local_run(tmp_path / "db.sqlite3", tmp_path / "out", workers=1, threads=4) as run:
        base, process, _ = run
        in_flight = threading.Thread(
            target=lambda: _ignore_errors(lambda: charge_click(base, "9904000301")), daemon=True
        )
        in_flight.start()
        time.sleep(1.5)  # the charge is at CLICK now
        workers = _gunicorn_workers(process.pid)
        assert workers, "no gunicorn worker found"
        for worker in workers:
            os.kill(worker, signal.SIGSTOP)
        pressed = time.monotonic()
        ctrl_c(process)
        deadline = pressed + 10
        while in_session(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = in_session(process.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert left == [], "processes left 10 s after Ctrl-C"


def _gunicorn_workers(session: int) -> list[int]:
    """The job's gunicorn workers: the processes whose parent is its gunicorn master."""
    parents = {pid: _parent_of(pid) for pid in in_session(session)}
    masters = {pid for pid, parent in parents.items() if parent == session and _is_gunicorn(pid)}
    return [pid for pid, parent in parents.items() if parent in masters]


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _is_gunicorn(pid: int) -> bool:
    return b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()


def _ignore_errors(call) -> None:
    with contextlib.suppress(requests.RequestException):
        call()
