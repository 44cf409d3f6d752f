"""Debian's nginx with deploy/nginx/payments-proxy.conf in front of the service: 200
connections that trickle their headers do not stop a register from being served."""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import service_env
from tests.helpers import ROOT, closed_port, listening, migrated_gunicorn, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SLOW_CLIENTS = 200
CONFIG = """
worker_processes 1;
daemon off;
user root root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream payments_service {{ {servers} keepalive 8; }}
    server {{
        listen 127.0.0.1:{port};
        include {root}/deploy/nginx/payments-proxy.conf;
    }}
}}
"""


@contextmanager
def nginx(tmp: Path, *service_ports: int) -> Iterator[str]:
    """nginx on a port of its own, with the service's instances on these ports upstream."""
    port = closed_port()
    config = tmp / "nginx.conf"
    servers = " ".join(f"server 127.0.0.1:{service_port};" for service_port in service_ports)
    config.write_text(CONFIG.format(tmp=tmp, port=port, servers=servers, root=ROOT))
    tested = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stderr
    server = subprocess.Popen([NGINX, "-c", str(config)], stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: listening(port), 10, "nginx")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[None]:
    """`count` connections that send the start of a request and then a header byte now and
    then, never finishing it."""
    with ExitStack() as stack:
        for _ in range(count):
            conn = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            conn.sendall(b"POST /payment/click HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        time.sleep(0.5)
        yield


@pytest.fixture
def service(tmp_path, click, payme, click_server, payme_server) -> Iterator[int]:
    env = service_env(
        f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        click_server,
        payme_server,
        TRUSTED_PROXIES="127.0.0.1/32",
    )
    with migrated_gunicorn(env, "--workers", "2", "--threads", "8") as (base, _):
        yield int(base.rsplit(":", 1)[1])


def charge(base: str, code: str, timeout: float) -> dict:
    body = {"amount": 500, "qr_code": code}
    return requests.post(f"{base}/payment/click", json=body, timeout=timeout).json()


@pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx is not installed")
def test_slow_clients_do_not_stop_registers_behind_nginx(service, tmp_path) -> None:
    with nginx(tmp_path, service) as base:
        with slow_clients(int(base.rsplit(":", 1)[1]), SLOW_CLIENTS):
            started = time.monotonic()
            answer = charge(base, "7700000501", timeout=10)
            waited = time.monotonic() - started
        assert answer["is_success"] is True, answer
        assert waited < 2.0, waited
