"""The HTTP layer: redaction, how transport trouble is classified; it
records the exchange and writes nothing."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from providers import http
from providers.base import GatewayResult, Outcome, journaled
from providers.http import Failure, ProviderSession
from tests.helpers import closed_port


def test_secret_headers_and_body_keys_are_redacted() -> None:
    assert http.redact_headers({"Auth": "1:abc:2", "X-Auth": "id:key", "Accept": "a"}) == {
        "Auth": "[redacted]",
        "X-Auth": "[redacted]",
        "Accept": "a",
    }
    assert http.redact_body({"params": [{"password": "p", "id": 1}], "key": "k"}) == {
        "params": [{"password": "[redacted]", "id": 1}],
        "key": "[redacted]",
    }
    assert http.redact_text("a SECRET b", ["SECRET", ""]) == "a [redacted] b"


def _probe(url: str, headers: dict[str, str]) -> tuple[http.HttpExchange, GatewayResult]:
    seen: list[http.HttpExchange] = []

    @journaled
    def step() -> GatewayResult:
        seen.append(
            http.send(
                provider="click",
                operation="probe",
                method="GET",
                url=url,
                headers=headers,
                read_timeout=1,
                secrets=[],
            )
        )
        return GatewayResult(Outcome.UNKNOWN)

    result = step()
    return seen[0], result


def test_connection_refused_is_not_sent_and_recorded() -> None:
    exchange, result = _probe(f"http://127.0.0.1:{closed_port()}/x", {"Auth": "secret-header"})
    assert exchange.failure == Failure.NOT_SENT
    assert not exchange.answered
    (recorded,) = result.exchanges
    assert recorded.error.startswith("not_sent")
    assert recorded.response_status is None
    assert recorded.request_headers == {"Auth": "[redacted]"}


def test_a_4xx_without_json_is_an_answer_not_a_mystery(click_server) -> None:
    exchange, _ = _probe(click_server.url.split("/v2/")[0] + "/nowhere", {})
    assert exchange.answered
    assert exchange.status_code == 404


def test_the_environments_proxy_settings_are_honoured_and_read_once_per_host(
    monkeypatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.shop.lan:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    provider_session = ProviderSession()

    def proxies(url: str) -> dict:
        merged = provider_session.environment_of(url)
        return {k: v for k, v in merged["proxies"].items() if k == "http"}

    assert proxies("http://api.click.uz/v2/merchant/") == {"http": "http://proxy.shop.lan:3128"}
    assert "http" not in proxies("http://127.0.0.1:8101/v2/merchant/")  # NO_PROXY
    monkeypatch.setenv("HTTP_PROXY", "http://elsewhere:1")
    # Read once per host: the process's environment does not change under it.
    assert proxies("http://api.click.uz/v2/merchant/") == {"http": "http://proxy.shop.lan:3128"}
    assert proxies("http://checkout.paycom.uz/api") == {"http": "http://elsewhere:1"}


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with a JSON body and a cookie, and notes what it was sent."""

    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers)))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=from-the-provider; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_goes_through_the_environments_proxy(recorder, monkeypatch) -> None:
    proxy, seen = recorder
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setattr(http, "_session", None)  # a new process's session

    exchange, _ = _probe("http://api.click.uz/v2/merchant/payment/status/1/2", {})

    assert exchange.body == {"ok": True}
    # A proxy is asked for the whole address; a server, for its path only.
    assert [path for path, _ in seen] == ["http://api.click.uz/v2/merchant/payment/status/1/2"]


def test_nothing_of_one_request_is_carried_into_the_next(recorder, monkeypatch) -> None:
    url, seen = recorder
    monkeypatch.setattr(http, "_session", None)

    _probe(f"{url}/v2/merchant/payment/status/1/2", {"Auth": "account-1"})
    _probe(f"{url}/v2/merchant/payment/status/1/3", {"Auth": "account-2"})

    (_, first), (_, second) = seen
    # One session serves every register's account: a provider's cookie set for one
    # account's request must never ride along with another's.
    assert "Cookie" not in second
    assert second["Auth"] == "account-2"
    assert first["User-Agent"] == second["User-Agent"] == http.BASE_HEADERS["User-Agent"]
