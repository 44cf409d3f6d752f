"""`make run`: the service under gunicorn with the emulators beside it.

Starts each emulator as a child process (CLICK, Payme and Uzum on loopback HTTP, the PIN
pad on a pseudo-terminal), waits until it is ready, points the service at it through the
environment and runs gunicorn in the foreground. Ctrl-C (or SIGTERM) stops all of them.
Production runs gunicorn alone against the real providers.
"""

import contextlib
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
        if not settings.LOCAL_RUN_ENV:
            raise CommandError("LOCAL_RUN_ENV is not set: run it as `manage.py run_local`")
        children: list[subprocess.Popen] = []
        own_groups: set[int] = set()
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
            _leave_for_commands(env)
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
                # A group of its own, so that its workers can be stopped together however
                # they are stuck (below).
                process_group=0,
            )
            children.append(gunicorn)
            own_groups.add(gunicorn.pid)
            # Said here, not inherited: a shell starts a background job with SIGINT ignored.
            signal.signal(signal.SIGINT, _interrupted)
            signal.signal(signal.SIGTERM, _interrupted)
            gunicorn.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still stopping
            _stop(children, own_groups)

    def _announce(self, host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        self.stdout.write(
            f"Service on http://{shown}:{port}/  API docs: http://{shown}:{port}/api/docs/"
        )


# Ctrl-C on `make run` means now, not after the requests in flight: a worker's threads can
# wait on a provider or a PIN pad for minutes, and a worker leaving waits for its threads
# (in a futex, deaf to SIGTERM). What a cut request left open, `reconcile` settles.
STOP_GRACE_SECONDS = 3.0


def _interrupted(*_: Any) -> None:
    raise KeyboardInterrupt


def _stop(children: list[subprocess.Popen], own_groups: set[int]) -> None:
    """Every child ended within a few seconds: asked first (gunicorn's quick shutdown,
    the emulators' own), then killed, with its whole group where it has one of its own (a
    gunicorn master may be gone while a worker is still waiting on its threads)."""
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(deadline - time.monotonic(), 0.01))
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            if child.pid in own_groups:
                os.killpg(child.pid, signal.SIGKILL)
            elif child.poll() is None:
                child.kill()
        child.wait()


OPERATOR_PERMISSIONS = [
    "view_payment",
    "view_operatoraction",
    "check_status",
    "retry_fiscal",
    "reverse_payment",
    "settle_payment",
    "export_payments",
]


def fresh_password() -> str:
    """A new random password that starts with a letter or a digit: one starting with "-"
    would be taken for an option where a person pastes it after a command."""
    while not (password := secrets.token_urlsafe(12))[0].isalnum():
        pass
    return password


def _operator_login() -> str:
    """A local operator account for the demo, with a new password on every start."""
    from django.contrib.auth.models import Permission, User

    password = fresh_password()
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
    them) and bound to loopback (so the README's curl examples work without a key), with
    the key the last start printed (`_demo_key`)."""
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
    key = _demo_key(register)
    return (
        f"Register: {register} (loopback needs no key), key for other addresses: {key}\n"
        f"  curl -H 'Authorization: Bearer {key}' ..."
    )


DEMO_KEY_LABEL = "make run"


def _demo_key(register: Any) -> str:
    """The demo register's key: the one the last start printed while it still works (a
    register set up with it keeps working across restarts), else a new one, kept beside
    the environment file for the next start."""
    from payments.selectors import active_key
    from payments.services import registers

    kept = Path(settings.LOCAL_RUN_ENV).with_name("demo-register.key")
    if kept.is_file():
        key = kept.read_text().strip()
        row = active_key(key)
        if row is not None and row.register_id == register.pk:
            return key
    for earlier in register.keys.filter(label=DEMO_KEY_LABEL, revoked_at__isnull=True):
        registers.revoke_key(earlier)
    _, key = registers.issue_key(register, label=DEMO_KEY_LABEL)
    _write_private(kept, key + "\n")
    return key


def _leave_for_commands(env: dict[str, str]) -> None:
    """The environment of this run's service, where manage.py finds it (config/settings.py,
    LOCAL_RUN_ENV): `manage.py reconcile` and the other commands of docs/operations.md,
    run by hand in this checkout, then talk to these emulators with these keys."""
    names = [
        "ALLOW_TEST_DEPLOYMENT",
        *(emulator.url_variable for emulator in EMULATORS),
        *(name for emulator in EMULATORS for name in emulator.service_secrets),
        "CLICK_SECRET_KEY",
        "PAYME_KEY",
    ]
    values = {
        "DATABASE_URL": env.get("DATABASE_URL", settings.DEFAULT_DATABASE_URL),
        "ALLOW_TEST_DEPLOYMENT": "true",
        "CLICK_SECRET_KEY": settings.CLICK_SECRET_KEY,
        "PAYME_KEY": settings.PAYME_KEY,
        **{name: env[name] for name in names if name in env},
    }
    lines = [f"{name}={value}" for name, value in values.items()]
    _write_private(Path(settings.LOCAL_RUN_ENV), LOCAL_ENV_HEADER + "\n".join(lines) + "\n")


LOCAL_ENV_HEADER = """\
# Written by `make run` at each start: the environment its service runs with (a test
# deployment: the emulators' addresses and keys). manage.py reads it when the environment
# names no DATABASE_URL and no ENV_FILE, so that the commands of docs/operations.md act on
# this service's database as it does. Not a file for production; git ignores it.
"""


def _write_private(path: Path, text: str) -> None:
    """Written whole (a reader sees the old file or the new) and readable by its owner
    only: it holds keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    partial.replace(path)


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
