"""Small things many tests share."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[1]

SEED_URL = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2421&c=20230104121801&s=514343190161"
OTHER_URL = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2904&c=20230222120100&s=113075569254"


def post_json(api: APIClient, path: str, body: dict) -> dict:
    """POST a JSON body; the answer must be HTTP 200 (every outcome a register acts on)."""
    response = api.post(path, body, format="json")
    assert response.status_code == 200
    return response.json()


def closed_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def at_once(calls: list[Callable[[], None]], timeout: float = 60.0) -> None:
    """Run the calls in threads released together, each closing its database connections
    when done, and wait for all of them."""
    start = threading.Barrier(len(calls))

    def released(call: Callable[[], None]) -> None:
        try:
            start.wait()
            call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=released, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def gunicorn(env: dict[str, str], *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """The service under gunicorn on a free port, in its own process group; stopped (or
    already killed by the test) at the end."""
    port = closed_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *options,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a group of its own: master and workers stop together
    )
    try:
        wait_until(lambda: listening(port), 20, "the service")
        yield f"http://127.0.0.1:{port}", server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)


@contextmanager
def migrated_gunicorn(env: dict[str, str], *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """The service as production runs it (config/gunicorn.py) on a database migrated first."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    with gunicorn(env, "-c", str(ROOT / "config" / "gunicorn.py"), *options) as running:
        yield running
