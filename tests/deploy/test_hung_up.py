"""A register that hung up is never charged: its charge, queued behind busy threads while
the register timed out, fails unsent when its turn comes. Directly on gunicorn (the README's
LAN mode) and behind nginx, which passes the register's close on to the service (its
default, `proxy_ignore_client_abort off`, kept in deploy/nginx/payments-proxy.conf)."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import service_env
from tests.deploy.test_nginx import NGINX, nginx
from tests.helpers import migrated_gunicorn

SLOW_CODE = "990330000001"  # the CLICK emulator answers it after 3.0 s
GONE_CODE = "7700000601"


@pytest.fixture
def one_thread(tmp_path, click, click_server) -> Iterator[str]:
    """The service with one thread: a slow charge holds it, and the next request waits."""
    env = service_env(f"sqlite:///{tmp_path / 'shop.sqlite3'}", click_server)
    with migrated_gunicorn(env, "--workers", "1", "--threads", "1") as (base, _):
        yield base


def charge(base: str, code: str) -> dict:
    body = {"amount": 500, "qr_code": code}
    return requests.post(f"{base}/payment/click", json=body, timeout=30).json()


def send_and_hang_up(base: str, code: str) -> None:
    """A register's whole charge request, then its side closed, as a register does when its
    own timeout passes."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"amount": 500, "qr_code": code}).encode()
    head = (
        f"POST /payment/click HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as register:
        register.sendall(head + body)
        time.sleep(0.3)  # through nginx: it has passed the request on


def hang_up_while_the_thread_is_busy(base: str, click) -> dict:
    """A slow charge holds the one thread; meanwhile a register sends its charge and hangs
    up. What the same code answers afterwards, once the queued request had its turn."""
    busy = threading.Thread(target=charge, args=(base, SLOW_CODE))
    busy.start()
    time.sleep(0.5)  # the one thread waits on CLICK now
    send_and_hang_up(base, GONE_CODE)
    busy.join(timeout=30)
    time.sleep(1.0)  # the queued request has had its turn
    return charge(base, GONE_CODE)  # the same code again: it hears why


def test_directly_on_gunicorn(one_thread, click) -> None:
    again = hang_up_while_the_thread_is_busy(one_thread, click)
    assert GONE_CODE not in click.stats()["charges_by_code"]
    assert (again["error"]["code"], again["error"]["data"]["reason"]) == (106, "register_hung_up")
    assert click.stats()["charges_by_code"].keys() == {SLOW_CODE}  # nothing sent since


@pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx is not installed")
def test_behind_nginx(one_thread, click, tmp_path) -> None:
    with nginx(tmp_path, int(one_thread.rsplit(":", 1)[1])) as base:
        again = hang_up_while_the_thread_is_busy(base, click)
    assert GONE_CODE not in click.stats()["charges_by_code"]
    assert (again["error"]["code"], again["error"]["data"]["reason"]) == (106, "register_hung_up")
    assert click.stats()["charges_by_code"].keys() == {SLOW_CODE}
