"""Shared fixtures: the provider emulators run on loopback over real HTTP."""

import json
import os

# The tests are a test deployment: the emulators' keys, providers on loopback. Said here so
# that the service processes the tests start (gunicorn, manage.py) hear it too.
os.environ.setdefault("ALLOW_TEST_DEPLOYMENT", "true")
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from emulators.click import PREFIX, ClickEmulator
from emulators.payme import PATH as PAYME_PATH
from emulators.payme import PaymeEmulator
from emulators.pinpad import PinpadEmulator, PtyLine
from emulators.server import EmulatorServer
from emulators.uzum import PREFIX as UZUM_PREFIX
from emulators.uzum import UzumEmulator
from payments.models import Register
from payments.services.registers import issue_key
from pinpad.link import LinkTiming
from providers.uzum.gateway import FIRST_REGISTER_SECRET as UZUM_FIRST_SECRET
from tests import one_writer
from tests.factories import shop_register

CLICK_SECRET = "TEST_CLICK_SECRET_7f3e"
PAYME_CASHBOX = "6f0c0e0a1b2c3d4e5f607182"
PAYME_KEY = "TEST_PAYME_KEY_91ac"


def service_env(
    database_url: str,
    click_server: EmulatorServer | None = None,
    payme_server: EmulatorServer | None = None,
    uzum_server: EmulatorServer | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of a service process of its own (gunicorn, manage.py) pointed at
    these emulators, with the tests' credentials and no pause between status polls."""
    env = {**os.environ, "DATABASE_URL": database_url, UZUM_FIRST_SECRET: UZUM_SECRET}
    if click_server is not None:
        env |= {
            "CLICK_BASE_URL": click_server.url,
            "CLICK_SECRET_KEY": CLICK_SECRET,
            "CLICK_MERCHANT_USER_ID": "12345",
            "CLICK_SERVICE_ID": "40012",
            "CLICK_STATUS_POLL_INTERVAL": "0",
        }
    if payme_server is not None:
        env |= {
            "PAYME_BASE_URL": payme_server.url,
            "PAYME_CASHBOX_ID": PAYME_CASHBOX,
            "PAYME_KEY": PAYME_KEY,
            "PAYME_CHECK_INTERVAL": "0",
        }
    if uzum_server is not None:
        env |= {"UZUM_BASE_URL": uzum_server.url, "UZUM_STATUS_POLL_INTERVAL": "0"}
    return env | extra


def _serve(
    app: ClickEmulator | PaymeEmulator | UzumEmulator, path: str
) -> Iterator[EmulatorServer]:
    server = EmulatorServer(app, path=path)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def click_server() -> Iterator[EmulatorServer]:
    yield from _serve(
        ClickEmulator(
            service_id=40012, merchant_user_id="12345", secret_key=CLICK_SECRET, hang_seconds=1.5
        ),
        PREFIX,
    )


@pytest.fixture
def click(click_server: EmulatorServer, settings) -> ClickEmulator:
    """The CLICK emulator, emptied, with the service pointed at it and short timeouts."""
    settings.CLICK_BASE_URL = click_server.url
    settings.CLICK_SERVICE_ID = 40012
    settings.CLICK_MERCHANT_USER_ID = "12345"
    settings.CLICK_SECRET_KEY = CLICK_SECRET
    settings.CLICK_PAYMENT_READ_TIMEOUT = 0.6
    settings.CLICK_READ_TIMEOUT = 0.6
    settings.CLICK_STATUS_POLL_ATTEMPTS = 3
    settings.CLICK_STATUS_POLL_INTERVAL = 0
    click_server.emulator.reset()
    return click_server.emulator


UZUM_SECRET = "TEST_UZUM_SECRET_5d2b"


@pytest.fixture(autouse=True)
def uzum_secret(settings) -> None:
    """The first register's Uzum key in the environment's secrets, as CLICK's and Payme's
    are always in the settings (the shop's accounts name it)."""
    settings.PROVIDER_SECRETS = {**settings.PROVIDER_SECRETS, UZUM_FIRST_SECRET: UZUM_SECRET}


@pytest.fixture(scope="session")
def uzum_server() -> Iterator[EmulatorServer]:
    yield from _serve(
        UzumEmulator(
            service_id=4012,
            merchant_service_user_id="8461",
            secret_key=UZUM_SECRET,
            hang_seconds=1.5,
        ),
        UZUM_PREFIX,
    )


@pytest.fixture
def uzum(uzum_server: EmulatorServer, settings) -> UzumEmulator:
    """The Uzum emulator, emptied, with the service pointed at it and short timeouts."""
    settings.UZUM_BASE_URL = uzum_server.url
    settings.UZUM_SERVICE_ID = 4012
    settings.UZUM_MERCHANT_SERVICE_USER_ID = "8461"
    settings.UZUM_PAYMENT_READ_TIMEOUT = 0.6
    settings.UZUM_READ_TIMEOUT = 0.6
    settings.UZUM_STATUS_POLL_ATTEMPTS = 3
    settings.UZUM_STATUS_POLL_INTERVAL = 0
    uzum_server.emulator.reset()
    uzum_server.emulator.duplicate_answer = "status"
    return uzum_server.emulator


@pytest.fixture(scope="session")
def payme_server() -> Iterator[EmulatorServer]:
    yield from _serve(
        PaymeEmulator(cashbox_id=PAYME_CASHBOX, key=PAYME_KEY, hang_seconds=1.5), PAYME_PATH
    )


@pytest.fixture
def payme(payme_server: EmulatorServer, settings) -> PaymeEmulator:
    """The Payme emulator, emptied, with the service pointed at it and short timeouts."""
    settings.PAYME_BASE_URL = payme_server.url
    settings.PAYME_CASHBOX_ID = PAYME_CASHBOX
    settings.PAYME_KEY = PAYME_KEY
    settings.PAYME_CREATE_READ_TIMEOUT = 0.6
    settings.PAYME_PAY_READ_TIMEOUT = 0.6
    settings.PAYME_READ_TIMEOUT = 0.6
    settings.PAYME_CHECK_ATTEMPTS = 3
    settings.PAYME_CHECK_INTERVAL = 0
    payme_server.emulator.reset()
    payme_server.emulator.fiscal_answer_shape = "receipt"
    # A cancelled paid receipt answers 21 and is 50 at the next look: reconcile finishes it.
    payme_server.emulator.reversal_seconds = 0
    return payme_server.emulator


# Short link deadlines for tests; the production ones are in settings (seconds).
FAST_LINK = {
    "enq_wait": 0.3,
    "enq_attempts": 3,
    "retry_pause": 0.05,
    "frame_ack_wait": 0.3,
    "transmissions": 3,
    "first_byte_wait": 0.5,
    "inter_byte_wait": 0.2,
    "eot_wait": 0.3,
    "max_frame": 8192,
    "frame_wait": 2.0,
}
PINPAD_ANSWER_WAIT = 1.5


@contextmanager
def running_pinpad(link: Path, protocol: str = "tlv") -> Iterator[PinpadEmulator]:
    """A PIN-pad emulator on a pseudo-terminal whose stable path is `link`."""
    line = PtyLine(link)
    emulator = PinpadEmulator(
        line,
        LinkTiming(**{**FAST_LINK, "first_byte_wait": 2.0}),
        slow_seconds=0.5,
        protocol=protocol,
    )
    thread = emulator.start_in_thread()
    try:
        yield emulator
    finally:
        emulator.stop()
        thread.join(timeout=5)
        line.close()


def _pinpad(request, tmp_path, settings, protocol: str) -> Iterator[PinpadEmulator]:
    settings.PINPAD_PROTOCOL = protocol
    settings.PINPAD_URL = str(tmp_path / "pinpad")
    settings.PINPAD_LOCK_DIR = tmp_path
    settings.PINPAD_LOCK_WAIT = 5.0
    settings.PINPAD_REOPEN_BACKOFF = [0.1, 0.2, 0.4]
    settings.PINPAD_ANSWER_WAIT = PINPAD_ANSWER_WAIT
    settings.PINPAD_LINK_TIMING = FAST_LINK
    with running_pinpad(tmp_path / "pinpad", protocol) as emulator:
        if request.node.get_closest_marker("django_db"):
            shop_register()  # the shop's register has this PIN pad
        yield emulator


@pytest.fixture
def pinpad(request, tmp_path, settings) -> Iterator[PinpadEmulator]:
    """A PIN-pad emulator on a real pseudo-terminal, the shop's register pointed at it."""
    yield from _pinpad(request, tmp_path, settings, "tlv")


@pytest.fixture
def pinpad_e_plus(request, tmp_path, settings) -> Iterator[PinpadEmulator]:
    """The same, both sides speaking the public Concert E+ layout."""
    yield from _pinpad(request, tmp_path, settings, "concert-e+")


MATRIX_FILE = Path(__file__).resolve().parents[1] / ".run" / "fault-matrix.json"


# The modules whose tests start processes of their own (gunicorn, make run's command, nginx,
# manage.py, pg_dump): marked `slow`, so that `pytest -m "not slow"` is the quick pass while
# working (`make test` runs them all).
STARTS_PROCESSES = {
    "tests/deploy/test_backup_restore.py",
    "tests/deploy/test_connections.py",
    "tests/deploy/test_hung_up.py",
    "tests/deploy/test_metrics.py",
    "tests/deploy/test_nginx.py",
    "tests/deploy/test_two_instances.py",
    "tests/payments/test_crash.py",
    "tests/payments/test_make_run_again.py",
    "tests/payments/test_run_local.py",
    "tests/reliability/test_races.py",
    "tests/reliability/test_sqlite_load.py",
    "tests/test_deploy_template.py",
    "tests/test_examples_run.py",
    "tests/test_gunicorn_config.py",
    "tests/upgrade/test_previous_release.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parents[1]
    gone = sorted(name for name in STARTS_PROCESSES if not (root / name).exists())
    if gone:  # a module renamed would quietly lose its mark
        raise pytest.UsageError(f"STARTS_PROCESSES names modules that are not there: {gone}")
    for item in items:
        if str(item.path.relative_to(root)) in STARTS_PROCESSES:
            item.add_marker(pytest.mark.slow)


def pytest_configure(config: pytest.Config) -> None:
    config.fault_matrix = []  # cells observed by tests/reliability
    one_writer.install()  # the store is the one writer of payments, in every test


def pytest_sessionfinish(session: pytest.Session) -> None:
    cells = getattr(session.config, "fault_matrix", [])
    if cells:
        MATRIX_FILE.parent.mkdir(parents=True, exist_ok=True)
        MATRIX_FILE.write_text(json.dumps(cells, ensure_ascii=False, indent=1))


@pytest.fixture
def matrix(request: pytest.FixtureRequest) -> list[dict]:
    return request.config.fault_matrix


@pytest.fixture
def shop(db) -> Register:
    """The register the tests call as."""
    return shop_register()


@pytest.fixture
def api(shop: Register) -> APIClient:
    """A client that calls as the shop's register, with one of its keys."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_key(shop)[1]}")
    return client
