"""HTTP to providers: one pooled session per process, and an `Exchange` for every request.

`send` never raises for transport trouble: it classifies it, so each gateway decides what a
timeout means for its operation. It never retries either: a charge sent twice could be a
charge made twice. It writes nothing: the exchange goes up with the gateway's result
(`providers.base.journaled`) and the payments service stores it.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from providers import sayings
from providers.base import Exchange, GatewayResult, Outcome, record_exchange
from providers.money import json_text

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"auth", "x-auth", "authorization"})
SECRET_BODY_KEYS = frozenset({"secret_key", "password", "key"})
_JOURNAL_TEXT_LIMIT = 20_000
# Sent with every request unless the gateway says otherwise: who is calling, and that a
# compressed answer is welcome (as requests' own session would say).
BASE_HEADERS = {"User-Agent": "cash-register-payments/1.0", "Accept-Encoding": "gzip, deflate"}


class ProviderSession(requests.Session):
    """The pooled connections to the providers, and one request at a time sent through them
    (`exchange`) with only what a provider's API needs.

    `Session.request` spends more CPU than the HTTP itself on every call: it merges session
    headers, cookies, netrc credentials and hooks, and scans the whole environment for
    proxy and certificate settings. A provider's API needs none of that per call. Cookies
    in particular must not be kept: one session serves every register's account.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, dict[str, Any]] = {}
        self._environment_lock = threading.Lock()

    def exchange(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None,
        headers: dict[str, str],
        timeout: tuple[float, float],
    ) -> requests.Response:
        """Send one request and read its whole answer: the adapter and the prepared request
        of `requests` (its errors, its proxies), no redirects, nothing carried over."""
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers={**BASE_HEADERS, **headers}, data=data)
        environment = self.environment_of(url)
        response = self.get_adapter(url).send(prepared, timeout=timeout, **environment)
        response.content  # noqa: B018 (reads to the end: the connection goes back to the pool)
        return response

    def environment_of(self, url: str) -> dict[str, Any]:
        """The environment's proxy and certificate settings (HTTPS_PROXY, NO_PROXY,
        REQUESTS_CA_BUNDLE, ...) for `url`, read once per provider host: the environment
        does not change while the process runs."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        with self._environment_lock:
            merged = self._environment.get(key)
        if merged is None:
            merged = dict(self.merge_environment_settings(url, {}, False, None, None))
            with self._environment_lock:
                self._environment[key] = merged
        return {**merged, "proxies": dict(merged["proxies"])}


_session: ProviderSession | None = None


def session() -> ProviderSession:
    """The process's pooled session (keep-alive to each provider, no automatic retries)."""
    global _session
    if _session is None:
        new = ProviderSession()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
        new.mount("http://", adapter)
        new.mount("https://", adapter)
        _session = new
    return _session


class Failure(StrEnum):
    """Why a request got no usable answer. NOT_SENT is the only one that proves nothing
    happened at the provider."""

    NOT_SENT = "not_sent"  # connection refused / connect timeout: the request never left
    TIMEOUT = "timeout"
    CONNECTION_RESET = "connection_reset"
    SERVER_ERROR = "server_error"  # HTTP 5xx
    NOT_JSON = "not_json"


@dataclass(frozen=True)
class HttpExchange:
    status_code: int | None
    body: Any
    failure: Failure | None = None  # None: answered
    detail: str = ""

    @property
    def answered(self) -> bool:
        """A readable answer came back (a JSON body, HTTP below 500)."""
        return not self.failure

    def json_object(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


def unanswered(
    exchange: HttpExchange, provider: str, *, not_sent_fails: bool = True
) -> GatewayResult:
    """The result of a request that got no usable answer.

    Only a request that never left (NOT_SENT) is known not to have acted: FAILED. Anything
    else is UNKNOWN. For a lookup, or a cancel whose failure must not end the payment,
    `not_sent_fails=False`: not reaching the provider then says nothing either way.
    """
    if exchange.failure == Failure.NOT_SENT and not_sent_fails:
        return GatewayResult(
            Outcome.FAILED, message=sayings.UNREACHABLE(provider=provider, detail=exchange.detail)
        )
    return GatewayResult(
        Outcome.UNKNOWN, message=sayings.NO_ANSWER(provider=provider, failure=exchange.failure)
    )


def as_int(value: Any) -> int | None:
    """An integer from a provider's answer, which may send numbers as strings; else None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def redact_body(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in SECRET_BODY_KEYS else redact_body(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_body(v) for v in value]
    return value


def redact_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _classify(exc: requests.RequestException) -> Failure:
    if isinstance(exc, requests.ConnectTimeout):
        return Failure.NOT_SENT
    if isinstance(exc, requests.Timeout):
        return Failure.TIMEOUT
    reason = exc.args[0] if exc.args else None
    if isinstance(getattr(reason, "reason", None), NewConnectionError):
        return Failure.NOT_SENT
    return Failure.CONNECTION_RESET


def send(
    *,
    provider: str,
    operation: str,
    method: str,
    url: str,
    headers: dict[str, str],
    json_body: dict[str, Any] | None = None,
    read_timeout: float,
    secrets: list[str],
) -> HttpExchange:
    """Send one request, record its exchange (redacted), and return what came back."""
    started = time.monotonic()
    started_at = timezone.now()
    status_code: int | None = None
    text = ""
    body: Any = None
    failure: Failure | None = None
    detail = ""
    data = json_text(json_body).encode() if json_body is not None else None
    try:
        response = session().exchange(
            method,
            url,
            data=data,
            headers=headers,
            timeout=(settings.PROVIDER_CONNECT_TIMEOUT, read_timeout),
        )
        status_code = response.status_code
        text = response.text
        try:
            body = response.json()
        except ValueError:
            # A 4xx is a refusal whatever its body says; only a 2xx/3xx must be JSON.
            if status_code < 400:
                failure, detail = Failure.NOT_JSON, "the answer is not JSON"
        if status_code >= 500:
            failure, detail = Failure.SERVER_ERROR, f"HTTP {status_code}"
    except requests.RequestException as exc:
        failure, detail = _classify(exc), f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)

    record_exchange(
        Exchange(
            provider=provider,
            operation=operation,
            method=method,
            url=redact_text(url, secrets),
            request_headers=redact_headers(headers),
            # Read back with Decimal numbers: the journal shows the amount exactly as sent.
            request_body=redact_body(json.loads(data, parse_float=Decimal) if data else None),
            response_status=status_code,
            response_body=redact_text(text[:_JOURNAL_TEXT_LIMIT], secrets),
            error=redact_text(f"{failure}: {detail}" if failure else "", secrets)[:255],
            duration_ms=duration_ms,
            started_at=started_at,
        )
    )
    logger.info(
        "%s %s -> %s in %d ms",
        provider,
        operation,
        failure or status_code,
        duration_ms,
    )
    return HttpExchange(status_code=status_code, body=body, failure=failure, detail=detail)


def send_json(
    *,
    provider: str,
    operation: str,
    method: str,
    base_url: str,
    path: str,
    auth: dict[str, str],
    body: dict[str, Any] | None,
    read_timeout: float,
    secrets: list[str],
) -> HttpExchange:
    """`send` for a provider's JSON API: its authentication headers (`auth`) beside the JSON
    ones, the path joined to the account's base URL."""
    headers = {"Accept": "application/json", "Content-Type": "application/json", **auth}
    return send(
        provider=provider,
        operation=operation,
        method=method,
        url=urljoin(base_url, path),
        headers=headers,
        json_body=body,
        read_timeout=read_timeout,
        secrets=secrets,
    )
