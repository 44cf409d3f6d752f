"""Shared fixtures: the provider emulators run on loopback over real HTTP."""

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from providers.click.emulator import PREFIX, ClickEmulator
from providers.emulation import EmulatorServer

CLICK_SECRET = "TEST_CLICK_SECRET_7f3e"


@pytest.fixture(scope="session")
def click_server() -> Iterator[EmulatorServer]:
    emulator = ClickEmulator(
        service_id=40012,
        merchant_user_id="12345",
        secret_key=CLICK_SECRET,
        hang_seconds=1.5,
        confirm_window=30.0,
    )
    server = EmulatorServer(emulator, path=PREFIX)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def click(click_server: EmulatorServer, settings) -> ClickEmulator:  # noqa: ANN001
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


@pytest.fixture
def api() -> APIClient:
    return APIClient()
