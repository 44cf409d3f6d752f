"""LOG_FORMAT=json: one JSON object per line, saying which request, register and payment,
and never a payer's phone or card number."""

import io
import json
import logging

import pytest

from payments.logformat import JsonFormatter, ScrubFilter, scrub
from payments.middleware import RequestIdLogFilter
from payments.models import Payment
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_a_charges_lines_name_the_request_the_register_and_the_payment(api, click, json_log):
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700000300"})
    payment = Payment.objects.get()
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    answered = [line for line in lines if "click_pass/payment" in line["message"]]
    assert answered, lines
    line = answered[0]
    assert line["register"] == "Register 1"
    assert line["transaction_id"] == str(payment.transaction_id)
    assert len(line["request_id"]) == 32
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "register",
        "transaction_id",
    }


def test_phones_and_card_numbers_are_masked() -> None:
    said = "payer 998901234567, card 8600123456784410 and 986011******4410, id 1764345678901234"
    assert scrub(said) == (
        "payer 99890*****67, card ************4410 and ************4410, id 1764345678901234"
    )
    assert "998901234567" not in JsonFormatter().format(
        logging.LogRecord("x", logging.INFO, "", 0, "phone %s", ("998901234567",), None)
    )


def test_the_plain_format_is_scrubbed_too() -> None:
    record = logging.LogRecord(
        "x", logging.ERROR, "", 0, "answer %s", ({"phone": "998901234567"},), None
    )
    ScrubFilter().filter(record)
    assert record.getMessage() == "answer {'phone': '99890*****67'}"
