"""config/gunicorn.py: what `make run` and production start with."""

import os
import runpy
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.db import connection

from providers.registry import GATEWAYS
from tests.helpers import ROOT, gunicorn, migrated_gunicorn

CONFIG = ROOT / "config" / "gunicorn.py"


def test_it_refuses_to_start_on_what_only_a_test_deployment_may_run_with(tmp_path) -> None:
    """DEBUG off, the built-in secret key, the emulators' keys, providers on loopback, and
    no word that this is a test deployment: gunicorn does not start."""
    env = {
        **os.environ,
        "ALLOW_TEST_DEPLOYMENT": "false",
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    for name in ("SECRET_KEY", "CLICK_SECRET_KEY", "PAYME_KEY", "CLICK_BASE_URL"):
        env.pop(name, None)
    started = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--bind", "127.0.0.1:0",
         "config.wsgi:application"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode != 0
    for error in ("payments.E002", "payments.E003", "payments.E004"):
        assert error in started.stderr, started.stderr[-2000:]


def test_a_graceful_restart_waits_for_the_longest_request(settings) -> None:
    loaded = runpy.run_path(str(CONFIG))
    assert loaded["worker_class"] == "gthread"
    for gateway in GATEWAYS.values():
        assert loaded["graceful_timeout"] >= gateway.longest_wait(), gateway.name
    # And it grows with the settings it covers.
    settings.PINPAD_ANSWER_WAIT = 900.0
    assert runpy.run_path(str(CONFIG))["graceful_timeout"] >= 1800


@pytest.mark.django_db(transaction=True)
def test_a_charge_in_flight_is_finished_when_the_service_is_stopped(pinpad, settings) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the service's processes cannot share pytest's SQLite test database")
    db = connection.settings_dict
    pinpad.slow_seconds = 3.0  # the customer takes 3 s with the PIN
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PINPAD_URL": settings.PINPAD_URL,
        "PINPAD_LOCK_DIR": str(settings.PINPAD_LOCK_DIR),
        "PINPAD_ANSWER_WAIT": "10",
    }
    with gunicorn(env, "--config", str(CONFIG)) as (base, server):
        answers: list[dict] = []
        buyer = threading.Thread(
            target=lambda: answers.append(
                requests.post(f"{base}/payment/xumo", json={"amount": 50901}, timeout=30).json()
            )
        )
        buyer.start()
        deadline = time.monotonic() + 10
        while not pinpad.requests:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGTERM)  # a restart, while the PIN is being entered
        buyer.join()
        assert server.wait(timeout=30) == 0
    assert answers[0]["is_success"] is True, answers


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/payment/status/" + "x" * 9000, {}), ("/payment/status/x", {"X-Big": "y" * 9000})],
    ids=["request line too large", "header too large"],
)
def test_what_gunicorn_refuses_is_the_envelope_too(path: str, headers: dict) -> None:
    with gunicorn(dict(os.environ), "--config", str(CONFIG)) as (base, _):
        response = requests.get(base + path, headers=headers, timeout=10)
    assert response.status_code in (414, 431)  # URI too long, headers too large
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert (body["is_success"], body["error"]["code"]) == (False, 7)
    assert "Bad request" in body["error"]["message"]


def test_it_writes_nothing_into_the_service_users_home(tmp_path) -> None:
    """Production keeps the home read-only (systemd ProtectSystem): gunicorn's control
    socket, which would live there, is off."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"} | {"HOME": str(home)}
    with gunicorn(env, "--config", str(CONFIG)) as (base, _):
        assert requests.get(base + "/health/live", timeout=10).status_code == 200
    assert list(home.iterdir()) == []


def test_a_second_server_on_a_port_in_use_exits_with_an_error(tmp_path) -> None:
    """reuse_port would let it bind beside the first and serve part of the registers with
    its own configuration, silently."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    with migrated_gunicorn(env) as (base, first):
        port = base.rsplit(":", 1)[1]
        second = subprocess.run(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}",
             "config.wsgi:application"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode != 0
        assert f"127.0.0.1:{port} is in use" in second.stderr, second.stderr[-2000:]
        assert first.poll() is None
        assert requests.get(f"{base}/health/live", timeout=10).status_code == 200
