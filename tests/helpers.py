"""Small things many tests share."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.db import connections
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[1]

SEED_URL = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2421&c=20230104121801&s=514343190161"
OTHER_URL = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2904&c=20230222120100&s=113075569254"


# The queries of a charge paid at once, inside a test (tests/payments/api/test_click_charge.py).
CHARGE_QUERIES = {"postgresql": 7, "sqlite": 10}


def post_json(api: APIClient, path: str, body: dict) -> dict:
    """POST a JSON body; the answer must be HTTP 200 (every outcome a register acts on)."""
    response = api.post(path, body, format="json")
    assert response.status_code == 200
    return response.json()


def confirm_click_over_http(
    base: str, payment_id: str, path: str = "/payment/click_confirm"
) -> dict:
    """The register's fiscal confirm of a CLICK payment (the seed's receipt), sent to a
    running service."""
    return requests.post(
        f"{base}{path}",
        json={"payment_id": payment_id, "qrcode": SEED_URL},
        timeout=10,
    ).json()


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
            stop_group(server)


def stop_group(server: subprocess.Popen) -> None:
    """Stop a gunicorn started in its own process group. The port listens as soon as the
    master has bound it, so a test can be over while a worker is still booting: a SIGTERM
    that reaches the worker before it installs its own handlers is lost, and the master
    then waits its whole graceful timeout (longer than any charge) for it. A second SIGTERM
    reaches the worker booted since; SIGKILL is the last resort."""
    for stop, wait in ((signal.SIGTERM, 5), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, stop)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    raise AssertionError(f"gunicorn {server.pid} did not stop")


@contextmanager
def migrated_gunicorn(env: dict[str, str], *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """The service as production runs it (config/gunicorn.py) on a database migrated first."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    with gunicorn(env, "-c", str(ROOT / "config" / "gunicorn.py"), *options) as running:
        yield running


def free_ports_from(count: int) -> int:
    """A port that is free, and the `count - 1` after it too."""
    for _ in range(50):
        first = closed_port()
        if all(_bindable(first + n) for n in range(1, count)):
            return first
    raise RuntimeError("no run of free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def local_run(
    database: Path, output: Path, *, workers: int, threads: int
) -> Iterator[tuple[str, subprocess.Popen, int]]:
    """`make run` on its own SQLite file: the emulators, gunicorn, the demo register. Yields
    the service's URL, the process, and the first emulator port (CLICK's; Payme's is the
    next one, the PIN pad's the next, Uzum's the next); what it prints goes to `output`."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    # What it leaves for the commands (and its demo key) beside its database, not in the
    # checkout's own .run/.
    env["LOCAL_RUN_ENV"] = str(database.parent / "local.env")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    port, emulator_port = closed_port(), free_ports_from(4)
    command = ["run_local", "--port", str(port), "--emulator-base-port", str(emulator_port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    with output.open("w") as printed:
        # A session of its own, as a terminal's job is: a test can press Ctrl-C on its group.
        process = subprocess.Popen(
            [*manage, *command],
            env=env,
            stdout=printed,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            assert process.poll() is None, "run_local exited early"
            assert time.monotonic() < deadline, "the service did not start listening"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", process, emulator_port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        for pid in in_session(process.pid):  # nothing of it outlives the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def in_session(session: int) -> list[int]:
    """The processes still alive in a session (a terminal's job and all it started)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # After the name: state, ppid, pgrp, session, ...; a zombie is already gone.
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own on the server `server_url` names (any of its
    databases), dropped at the end: its URL."""
    name = f"scratch_{uuid.uuid4().hex[:10]}"
    subprocess.run(["psql", server_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        subprocess.run(
            ["psql", server_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
            check=True,
        )
