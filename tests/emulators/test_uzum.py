"""The Uzum emulator checks the Authorization header and its 50 s window as Uzum does,
and answers HTTP 200 with Uzum's keys."""

import time

import pytest
import requests

from emulators.server import EmulatorServer
from emulators.uzum import PREFIX, UzumEmulator
from providers.uzum.gateway import auth_header
from tests.conftest import UZUM_SECRET

BODY = {"payment_id": "00000000-0000-0000-0000-000000000000", "service_id": 4012}


def now_ms() -> int:
    return int(time.time() * 1000)


def status(url: str, header: str) -> requests.Response:
    return requests.post(
        url + "payment/status", json=BODY, headers={"Authorization": header}, timeout=5
    )


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("", 401),
        ("8461:ABCDEF0123456789ABCDEF0123456789ABCDEF01:1700000000000", 401),  # upper-case hex
        (auth_header("9999", UZUM_SECRET, now_ms()), 401),  # another till
        (auth_header("8461", "WRONG", now_ms()), 401),
        (auth_header("8461", UZUM_SECRET, now_ms() - 51_000), 403),  # older than 50 s
        (auth_header("8461", UZUM_SECRET, now_ms(), 18_000_000), 403),  # the other reading
    ],
)
def test_a_bad_header_is_refused_in_a_200(uzum, uzum_server, header, code) -> None:
    response = status(uzum_server.url, header)
    assert response.status_code == 200
    assert response.json()["error_code"] == code


def test_a_good_header_is_served(uzum, uzum_server) -> None:
    response = status(uzum_server.url, auth_header("8461", UZUM_SECRET, now_ms()))
    assert response.json() == {"error_code": 404, "error_message": "operation.not.found"}


def test_the_tashkent_reading_is_the_clock_five_hours_ahead() -> None:
    server = EmulatorServer(
        UzumEmulator(secret_key=UZUM_SECRET, timestamp_reading="tashkent"), path=PREFIX
    )
    server.start_in_thread()
    try:
        shifted = status(server.url, auth_header("8461", UZUM_SECRET, now_ms(), 18_000_000))
        plain = status(server.url, auth_header("8461", UZUM_SECRET, now_ms()))
    finally:
        server.shutdown()
        server.server_close()
    assert shifted.json()["error_code"] == 404  # served
    assert plain.json()["error_code"] == 403


def test_another_services_payment_is_not_found(uzum, uzum_server) -> None:
    uzum.add_service(5000, "7000", "OTHER")
    payment_id = uzum.record_charge("7" * 40, 500, "order-1", service_id=4012)
    header = auth_header("7000", "OTHER", now_ms())
    response = requests.post(
        uzum_server.url + "payment/status",
        json={"payment_id": payment_id, "service_id": 5000},
        headers={"Authorization": header},
        timeout=5,
    )
    assert response.json()["error_message"] == "operation.not.found"
