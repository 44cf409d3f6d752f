"""`make run`: the service under gunicorn with the emulators beside it.

Starts each emulator as a child process (CLICK, Payme and Uzum on loopback HTTP, the PIN
pad on a pseudo-terminal), waits until it is ready, points the service at it through the
environment and runs gunicorn in the foreground. Ctrl-C (or SIGTERM) stops all of them.
Production runs gunicorn alone against the real providers.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


@dataclass(frozen=True)
class HttpEmulator:
    name: str
    module: str
    url_variable: str  # the setting that points the service at it
    path: str
    flags: Callable[[], list[str]]  # account ids, from our settings
    secrets: Callable[[], dict[str, str]]  # given in its environment: argv shows in `ps`
    # Secrets the service reads from its environment (PROVIDER_SECRET_*) for the demo
    # register's account, with the emulator's key when the environment has none.
    service_secrets: dict[str, str] = field(default_factory=dict)

    def launch(self, port: int) -> tuple[list[str], str, Callable[[], bool]]:
        if _listening(port):
            raise CommandError(
                f"port {port} for the {self.name} emulator is taken: stop what listens there "
                "or start elsewhere (make run EMULATOR_BASE_PORT=...)"
            )
        command = [sys.executable, "-m", self.module, "--port", str(port), *self.flags()]
        return command, f"http://127.0.0.1:{port}{self.path}", lambda: _listening(port)


@dataclass(frozen=True)
class PinpadEmulator:
    """The PIN pad on a pseudo-terminal; the service opens it through a stable symlink."""

    name: str = "PIN pad"
    url_variable: str = "PINPAD_URL"
    service_secrets: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> dict[str, str]:
        return {}

    def launch(self, port: int) -> tuple[list[str], str, Callable[[], bool]]:
        link = Path(settings.BASE_DIR) / ".run" / f"pinpad-{port}"
        link.unlink(missing_ok=True)
        command = [sys.executable, "-m", "emulators.pinpad", "--link", str(link)]
        return command, str(link), link.exists


EMULATORS: list[HttpEmulator | PinpadEmulator] = [
    HttpEmulator(
        "CLICK",
        "emulators.click",
        "CLICK_BASE_URL",
        "/v2/merchant/",
        lambda: [
            "--service-id",
            str(settings.CLICK_SERVICE_ID),
            "--merchant-user-id",
            settings.CLICK_MERCHANT_USER_ID,
        ],
        lambda: {"CLICK_EMULATOR_SECRET_KEY": settings.CLICK_SECRET_KEY},
    ),
    HttpEmulator(
        "Payme",
        "emulators.payme",
        "PAYME_BASE_URL",
        "/api",
        lambda: ["--cashbox-id", settings.PAYME_CASHBOX_ID],
        lambda: {"PAYME_EMULATOR_KEY": settings.PAYME_KEY},
    ),
    PinpadEmulator(),
    # After the PIN pad: the ports of the earlier emulators stay as they were.
    HttpEmulator(
        "Uzum",
        "emulators.uzum",
        "UZUM_BASE_URL",
        "/api/apelsin-pay/merchant/",
        lambda: [
            "--service-id",
            str(settings.UZUM_SERVICE_ID),
            "--merchant-service-user-id",
            settings.UZUM_MERCHANT_SERVICE_USER_ID,
            "--timestamp-reading",
            settings.UZUM_TIMESTAMP_READING,
        ],
        lambda: {"UZUM_EMULATOR_SECRET_KEY": settings.PROVIDER_SECRETS["PROVIDER_SECRET_UZUM"]},
        {"PROVIDER_SECRET_UZUM": "EMULATOR_UZUM_SECRET_KEY"},
    ),
]


class Command(BaseCommand):
    help = "Run the service with gunicorn and the provider and PIN-pad emulators (local demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--emulator-base-port", type=int, default=8101)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        children: list[subprocess.Popen] = []
        env = os.environ.copy()
        # Both workers count for /metrics in files gunicorn empties at its start.
        env["METRICS_WORKERS_DIR"] = str(Path(settings.BASE_DIR) / ".run" / "metrics")
        if _listening(options["port"]):
            raise CommandError(f"port {options['port']} is taken: make run PORT=...")
        try:
            for offset, emulator in enumerate(EMULATORS):
                for name, default in emulator.service_secrets.items():
                    env[name] = settings.PROVIDER_SECRETS.setdefault(name, env.get(name, default))
                command, url, ready = emulator.launch(options["emulator_base_port"] + offset)
                children.append(subprocess.Popen(command, env={**env, **emulator.secrets()}))
                _wait_until(ready, emulator.name)
                env[emulator.url_variable] = url
                setattr(settings, emulator.url_variable, url)  # for the demo register below
                self.stdout.write(f"{emulator.name} emulator: {url}")
            self._announce(options["host"], options["port"])
            self.stdout.write(_operator_login())
            self.stdout.write(_demo_register())
            self.stdout.flush()  # before gunicorn's own output, also when piped to a file
            gunicorn = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    str(Path(settings.BASE_DIR) / "config" / "gunicorn.py"),
                    "--bind",
                    f"{options['host']}:{options['port']}",
                    "--workers",
                    str(options["workers"]),
                    "--threads",
                    str(options["threads"]),
                    "config.wsgi:application",
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


OPERATOR_PERMISSIONS = [
    "view_payment",
    "view_operatoraction",
    "check_status",
    "retry_fiscal",
    "reverse_payment",
    "settle_payment",
    "export_payments",
]


def _operator_login() -> str:
    """A local operator account for the demo, with a new password on every start."""
    from django.contrib.auth.models import Permission, User

    password = secrets.token_urlsafe(12)
    user, _ = User.objects.get_or_create(username="operator")
    user.is_staff, user.is_superuser = True, False
    user.set_password(password)
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="payments", codename__in=OPERATOR_PERMISSIONS
        )
    )
    return f"Admin: log in as operator with password {password} (a new one on every start)"


def _demo_register() -> str:
    """The first register, charging through the emulators (as the settings now point at
    them) and bound to loopback (so the README's curl examples work without a key), with a
    new key on every start."""
    from payments.services import registers
    from providers import registry

    register = registers.first_register()
    register.networks, register.active = "127.0.0.0/8\n::1/128", True
    register.save()
    accounts = [
        registers.put_account(gateway.name, f"{gateway.label} emulator", values)
        for gateway in registry.GATEWAYS.values()
        if (values := gateway.configured_account()) is not None
    ]
    registers.set_accounts(register, accounts)
    for earlier in register.keys.filter(label=DEMO_KEY_LABEL, revoked_at__isnull=True):
        registers.revoke_key(earlier)
    _, key = registers.issue_key(register, label=DEMO_KEY_LABEL)
    return (
        f"Register: {register} (loopback needs no key), key for other addresses: {key}\n"
        f"  curl -H 'Authorization: Bearer {key}' ..."
    )


DEMO_KEY_LABEL = "make run"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until(ready: Callable[[], bool], name: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise CommandError(f"the {name} emulator did not start")
        time.sleep(0.1)
