"""The CLICK emulator checks the Auth header as CLICK does."""

import time

import pytest
import requests

from providers.click.gateway import auth_header
from tests.conftest import CLICK_SECRET


@pytest.fixture
def status_url(click_server) -> str:
    click_server.emulator.reset()
    return click_server.url + "payment/status/40012/1"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "12345:0000:1700000000",
        auth_header("99999", CLICK_SECRET),  # another merchant user
        auth_header("12345", "WRONG_SECRET"),
        auth_header("12345", CLICK_SECRET, now=int(time.time()) - 3600),  # stale
    ],
)
def test_a_bad_auth_header_is_http_401(status_url: str, header: str) -> None:
    response = requests.get(status_url, headers={"Auth": header}, timeout=5)
    assert response.status_code == 401


def test_a_good_auth_header_is_served(status_url: str) -> None:
    response = requests.get(
        status_url, headers={"Auth": auth_header("12345", CLICK_SECRET)}, timeout=5
    )
    assert response.status_code == 200
    assert response.json()["error_code"] == -404  # no such payment yet


def test_stats_count_every_charge_request_and_each_charge(click_server) -> None:
    click_server.emulator.reset()
    headers = {"Auth": auth_header("12345", CLICK_SECRET)}
    body = {"service_id": 40012, "otp_data": "123456789", "amount": 5, "transaction_id": "t1"}
    first = requests.post(
        click_server.url + "click_pass/payment", json=body, headers=headers, timeout=5
    )
    again = requests.post(
        click_server.url + "click_pass/payment", json=body, headers=headers, timeout=5
    )
    assert first.json()["payment_status"] == 2
    assert again.json()["error_code"] == -400  # a code is single-use
    stats = requests.get(click_server.control_url + "stats", timeout=5).json()
    assert stats["charges"] == 1
    assert stats["charge_requests"] == 2  # the refused repeat shows as a second send
