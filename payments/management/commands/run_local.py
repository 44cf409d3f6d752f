"""`make run`: the service under gunicorn with the provider emulators beside it.

Starts each emulator as a child process on loopback, waits until it listens, points the
service at it through the environment and runs gunicorn in the foreground. Ctrl-C (or
SIGTERM) stops all of them. Production runs gunicorn alone against the real providers.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


@dataclass(frozen=True)
class Emulator:
    name: str
    module: str
    url_variable: str  # the setting that points the service at it
    path: str
    credentials: Callable[[], list[str]]  # the emulator's flags, from our settings


EMULATORS = [
    Emulator(
        "CLICK",
        "providers.click.emulator",
        "CLICK_BASE_URL",
        "/v2/merchant/",
        lambda: [
            "--service-id",
            str(settings.CLICK_SERVICE_ID),
            "--merchant-user-id",
            settings.CLICK_MERCHANT_USER_ID,
            "--secret-key",
            settings.CLICK_SECRET_KEY,
        ],
    ),
    Emulator(
        "Payme",
        "providers.payme.emulator",
        "PAYME_BASE_URL",
        "/api",
        lambda: ["--cashbox-id", settings.PAYME_CASHBOX_ID, "--key", settings.PAYME_KEY],
    ),
]


class Command(BaseCommand):
    help = "Run the service with gunicorn and the provider emulators (local demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--emulator-base-port", type=int, default=8101)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        children: list[subprocess.Popen] = []
        env = os.environ.copy()
        try:
            for offset, emulator in enumerate(EMULATORS):
                port = options["emulator_base_port"] + offset
                command = [sys.executable, "-m", emulator.module, "--port", str(port)]
                children.append(subprocess.Popen(command + emulator.credentials()))
                _wait_for_port("127.0.0.1", port, emulator.name)
                env[emulator.url_variable] = f"http://127.0.0.1:{port}{emulator.path}"
                self.stdout.write(f"{emulator.name} emulator: {env[emulator.url_variable]}")
            self._announce(options["host"], options["port"])
            gunicorn = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"{options['host']}:{options['port']}",
                    "--worker-class",
                    "gthread",
                    "--workers",
                    str(options["workers"]),
                    "--threads",
                    str(options["threads"]),
                    # gthread workers stay alive through long provider calls; this only
                    # restarts a worker that stopped answering the arbiter altogether.
                    "--timeout",
                    "120",
                    "--access-logfile",
                    "-",
                ],
                env=env,
            )
            children.append(gunicorn)
            signal.signal(signal.SIGTERM, lambda *_: gunicorn.terminate())
            gunicorn.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _announce(self, host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.stdout.write(
            f"Service on http://{shown}:{port}/  API docs: http://{shown}:{port}/api/docs/"
        )


def _wait_for_port(host: str, port: int, name: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise CommandError(f"the {name} emulator did not start listening on {host}:{port}")
