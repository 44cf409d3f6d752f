"""The journaled HTTP layer: redaction and how transport trouble is classified."""

from decimal import Decimal

import pytest

from payments.models import ProviderExchange
from providers import http
from providers.http import Failure
from tests.helpers import closed_port

pytestmark = pytest.mark.django_db


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


def test_json_number_is_exact_for_two_decimals() -> None:
    assert http.json_number(Decimal("5.00")) == 5
    assert isinstance(http.json_number(Decimal("5.00")), int)
    assert repr(http.json_number(Decimal("99999999999.99"))) == "99999999999.99"
    assert repr(http.json_number(Decimal("12345.67"))) == "12345.67"


def test_connection_refused_is_not_sent_and_journaled() -> None:
    port = closed_port()
    exchange = http.send(
        payment=None,
        provider="click",
        operation="probe",
        method="GET",
        url=f"http://127.0.0.1:{port}/x",
        headers={"Auth": "secret-header"},
        read_timeout=1,
        secrets=[],
    )
    assert exchange.failure == Failure.NOT_SENT
    assert not exchange.answered
    row = ProviderExchange.objects.get()
    assert row.error.startswith("not_sent")
    assert row.response_status is None
    assert row.request_headers == {"Auth": "[redacted]"}


def test_a_4xx_without_json_is_an_answer_not_a_mystery(click_server) -> None:  # noqa: ANN001
    exchange = http.send(
        payment=None,
        provider="click",
        operation="probe",
        method="GET",
        url=click_server.url.split("/v2/")[0] + "/nowhere",
        headers={},
        read_timeout=1,
        secrets=[],
    )
    assert exchange.answered
    assert exchange.status_code == 404
