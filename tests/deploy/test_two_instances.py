"""Two instances of the service on one PostgreSQL database behind nginx (an upstream of both,
as docs/deploy.md sets it up): one code raced across them is one charge, `reconcile`
started on both at once runs once, and when one instance is killed mid-charge the other
serves and `reconcile` settles the killed one's payment."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.db import connection

from payments.models import Payment, PaymentStatus
from tests.conftest import service_env
from tests.deploy.test_nginx import NGINX, nginx
from tests.helpers import ROOT, migrated_gunicorn

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx is not installed"),
]


@dataclass
class Instances:
    base: str  # nginx, in front of both
    first: str
    first_process: subprocess.Popen
    second: str
    env: dict[str, str]


@pytest.fixture
def instances(shop, click, click_server, tmp_path) -> Iterator[Instances]:
    if connection.vendor != "postgresql":
        pytest.skip("two instances share a PostgreSQL database (production's)")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    # One lookup at a time in reconcile, so that a run lasts while the other starts.
    env = service_env(url, click_server, RECONCILE_WORKERS="1")
    options = ("--workers", "1", "--threads", "4")
    with (
        migrated_gunicorn(env, *options) as (first, first_process),
        migrated_gunicorn(env, *options) as (second, _),
        nginx(tmp_path, _port(first), _port(second)) as base,
    ):
        yield Instances(base, first, first_process, second, env)


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def charge(base: str, code: str) -> dict:
    body = {"amount": 500, "qr_code": code}
    return requests.post(f"{base}/payment/click", json=body, timeout=30).json()


def reconcile(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "reconcile", "--min-age", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_one_code_raced_across_both_is_one_charge(instances, click) -> None:
    code = "7700000801"
    answers: list[dict] = []
    threads = [
        threading.Thread(target=lambda base=base: answers.append(charge(base, code)))
        for base in [instances.first, instances.second, instances.base] * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert click.stats()["charges_by_code"] == {code: 1}
    ids = {a["data"]["transaction_id"] for a in answers if a["is_success"]}
    ids |= {a["error"]["data"]["transaction_id"] for a in answers if not a["is_success"]}
    assert len(ids) == 1, answers  # every answer speaks of the one payment
    assert Payment.objects.filter(qr_code=code).count() == 1


def test_reconcile_started_on_both_at_once_runs_once(instances, click_server, click) -> None:
    for n in range(3):  # CLICK answers HTTP 500: outcome unknown, for reconcile to ask
        assert charge(instances.base, f"99050008{n:02d}")["error"]["code"] == 110
    # Each lookup waits for CLICK's silence (1.5 s): the first run lasts a few seconds.
    click_server.faults.inject("payment/status_by_mti", "timeout_before", times=3)
    first = reconcile(instances.env)
    time.sleep(0.3)
    second = reconcile(instances.env)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    did_nothing = [err for _, err in outputs if "this one did nothing" in err]
    assert len(did_nothing) == 1, [err[-500:] for _, err in outputs]
    # One run asked about the three, each meeting a silence (the emulator does not count
    # those); a second run would have asked three more, and CLICK would have counted them.
    assert click_server.faults.take("payment/status_by_mti") is None
    asked = [r for r in click.stats()["requests"] if "payment/status_by_mti" in r]
    assert len(asked) == 3  # the charges' own lookups only


def test_one_instance_killed_mid_charge(instances, click) -> None:
    slow = "990340000901"  # CLICK takes it at once, and answers after 4.0 s
    in_flight = threading.Thread(target=lambda: _ignored(lambda: charge(instances.first, slow)))
    in_flight.start()
    time.sleep(1.0)
    os.killpg(instances.first_process.pid, signal.SIGKILL)  # the machine or process died
    in_flight.join(timeout=30)

    served = charge(instances.base, "7700000902")  # nginx finds the one still there
    assert served["is_success"] is True, served

    killed = Payment.objects.get(qr_code=slow)
    assert killed.status == PaymentStatus.PROCESSING  # nobody heard CLICK's answer
    ran = reconcile(instances.env)
    out, err = ran.communicate(timeout=120)
    assert ran.returncode == 0, out + err
    killed.refresh_from_db()
    assert killed.status == PaymentStatus.PAID
    assert click.stats()["charges_by_code"][slow] == 1  # asked, never charged again


def _ignored(call) -> None:
    with contextlib.suppress(requests.RequestException):
        call()
