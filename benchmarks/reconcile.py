"""How long `reconcile` takes to settle 10,000 open CLICK payments at 50 ms per lookup.

Usage (PostgreSQL, as production):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/reconcile.py
Options: --payments N --latency-ms MS --workers W

It makes a throw-away test database, starts the CLICK emulator as its own process with the
given latency on every answer, leaves N payments `processing` (half of them charged at
CLICK, half not), runs the same code as `manage.py reconcile` and prints the figures.
"""

import argparse
import logging
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from payments import selectors  # noqa: E402
from payments.models import Payment, PaymentStatus  # noqa: E402
from payments.services import reconciliation, registers  # noqa: E402
from providers.click.gateway import auth_header  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=settings.RECONCILE_WORKERS)
    args = parser.parse_args()

    logging.getLogger("providers").setLevel(logging.WARNING)  # not a line per lookup
    settings.RECONCILE_NOT_FOUND_IS_FAILED = True  # the emulator's "not found" is the truth
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    port = _free_port()
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulators.click",
            "--port",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
            "--merchant-user-id",
            settings.CLICK_MERCHANT_USER_ID,
            "--service-id",
            str(settings.CLICK_SERVICE_ID),
        ],
        cwd=ROOT,
        env={**os.environ, "CLICK_EMULATOR_SECRET_KEY": settings.CLICK_SECRET_KEY},
        stdout=subprocess.DEVNULL,
    )
    settings.CLICK_BASE_URL = f"http://127.0.0.1:{port}/v2/merchant/"
    try:
        _wait_for(port)
        created = timezone.now() - timedelta(hours=1)
        register = registers.first_register()  # the one the migration made, CLICK's account
        payments = [
            Payment(
                register=register,
                provider="click",
                amount=500,
                qr_code=f"77{i:012d}",
                status=PaymentStatus.PROCESSING,
                transaction_id=uuid.uuid4(),
            )
            for i in range(args.payments)
        ]
        Payment.objects.bulk_create(payments, batch_size=1000)
        Payment.objects.update(created_at=created)
        # Half were charged at CLICK and their answers lost (set up, not timed).
        with ThreadPoolExecutor(64) as pool:
            list(pool.map(_charge_at_click, payments[::2]))

        open_payments = list(selectors.open_payments())
        emulator_before = _cpu_seconds(emulator.pid)
        started, cpu_started = time.monotonic(), _own_cpu()
        settled = reconciliation.settle_open(open_payments, workers=args.workers)
        elapsed, cpu = time.monotonic() - started, _own_cpu() - cpu_started
        emulator_cpu = _cpu_seconds(emulator.pid) - emulator_before
        ideal = args.payments * args.latency_ms / 1000 / args.workers

        outcome = Counter(str(s.after) for s in settled)
        print(f"database:        {connection.vendor}")
        print(f"payments:        {len(open_payments)} open")
        print(f"lookup latency:  {args.latency_ms:.0f} ms per CLICK answer")
        print(f"workers:         {args.workers} threads")
        print(f"settled in:      {elapsed:.1f} s ({len(settled) / elapsed:.0f} payments/s)")
        print(
            f"ideal:           {ideal:.1f} s (lookups x latency / workers): {elapsed / ideal:.2f}x"
        )
        print(f"CPU:             {cpu:.1f} s reconcile's, {emulator_cpu:.1f} s CLICK's")
        print(f"outcome:         {dict(outcome)}")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        connection.creation.destroy_test_db(test_db, verbosity=0)


def _charge_at_click(payment: Payment) -> None:
    body = {
        "service_id": settings.CLICK_SERVICE_ID,
        "otp_data": payment.qr_code,
        "amount": 5,
        "transaction_id": str(payment.transaction_id),
    }
    headers = {"Auth": auth_header(settings.CLICK_MERCHANT_USER_ID, settings.CLICK_SECRET_KEY)}
    answer = requests.post(
        settings.CLICK_BASE_URL + "click_pass/payment", json=body, headers=headers, timeout=30
    )
    assert answer.json()["payment_status"] == 2


def _own_cpu() -> float:
    """CPU of this process (and of children it has reaped: none; the emulator is still
    running, so not among them)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("the CLICK emulator did not start")


if __name__ == "__main__":
    main()
