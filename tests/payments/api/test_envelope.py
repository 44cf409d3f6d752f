"""Every answer is the envelope, whatever the register sends."""

import json

import pytest
from django.test import RequestFactory

from payments.api.envelope import server_error
from payments.models import Payment, ProviderExchange
from tests.helpers import SEED_URL

pytestmark = pytest.mark.django_db


def envelope(response) -> dict:
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(response.content)
    assert set(body) == {"data", "error", "is_success"}
    assert body["is_success"] is (body["error"] is None)
    return body


def validation_errors(response) -> dict:
    body = envelope(response)
    assert response.status_code == 200
    assert body["data"] is None
    assert body["error"]["code"] == 7
    fields = json.loads(body["error"]["message"])  # the seed's text
    # The same errors as an object: a client need not parse twice.
    assert body["error"]["data"] == {"fields": fields}
    return fields


def post_raw(api, path: str, raw: bytes | str, content_type: str = "application/json"):
    return api.generic("POST", path, raw, content_type=content_type)


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize("path", ["/nothing", "/nothing/", "/payment/clickx", "/payment"])
def test_unknown_path_is_404_in_the_envelope(api, method: str, path: str) -> None:
    response = getattr(api, method)(path)
    assert response.status_code == 404
    body = envelope(response)
    assert body["error"] == {"code": 404, "message": "NOT_FOUND", "data": {"path": path}}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/payment/click"),
        ("put", "/payment/click/"),
        ("delete", "/payment/click_confirm"),
        ("post", "/payment/status/ee000d20-b260-4b17-995a-a7bd113bdb22"),
        ("options", "/payment/click"),
    ],
)
def test_wrong_method_is_405_in_the_envelope(api, method: str, path: str) -> None:
    response = getattr(api, method)(path)
    assert response.status_code == 405
    body = envelope(response)
    assert body["error"]["code"] == 405
    assert body["error"]["message"] == "METHOD_NOT_ALLOWED"


def test_invalid_json_is_code_7_naming_the_problem(api) -> None:
    errors = validation_errors(post_raw(api, "/payment/click", '{"amount": 500,'))
    assert list(errors) == ["non_field_errors"]
    assert errors["non_field_errors"][0].startswith("Invalid JSON: ")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[1, 2]", "Invalid data. Expected a dictionary, but got list."),
        ('"text"', "Invalid data. Expected a dictionary, but got str."),
        ("42", "Invalid data. Expected a dictionary, but got int."),
        ("null", "No data provided"),
    ],
)
def test_a_body_that_is_not_an_object_is_code_7(api, raw: str, message: str) -> None:
    errors = validation_errors(post_raw(api, "/payment/click", raw))
    assert errors == {"non_field_errors": [message]}
    assert not Payment.objects.exists()


def test_a_1_mb_body_is_refused_before_anything_happens(api, click) -> None:
    raw = json.dumps({"amount": 500, "qr_code": "1" * (1024 * 1024)})
    errors = validation_errors(post_raw(api, "/payment/click", raw))
    assert errors == {"non_field_errors": ["Request body too large: the limit is 65536 bytes."]}
    assert not Payment.objects.exists()
    assert click.stats()["requests"] == []


def test_a_body_that_is_not_json_at_all_is_code_7(api) -> None:
    errors = validation_errors(post_raw(api, "/payment/click", "amount=500", "text/plain"))
    assert errors == {"non_field_errors": ['Unsupported media type "text/plain" in request.']}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"amount": ["This field is required."], "qr_code": ["This field is required."]}),
        (
            {"amount": None, "qr_code": None},
            {
                "amount": ["This field may not be null."],
                "qr_code": ["This field may not be null."],
            },
        ),
        ({"amount": 500, "qr_code": ""}, {"qr_code": ["This field may not be blank."]}),
        ({"amount": 500, "qr_code": "   "}, {"qr_code": ["This field may not be blank."]}),
        ({"amount": "abc", "qr_code": "880101"}, {"amount": ["A valid integer is required."]}),
        ({"amount": 5.5, "qr_code": "880101"}, {"amount": ["A valid integer is required."]}),
        ({"amount": True, "qr_code": "880101"}, {"amount": ["A valid integer is required."]}),
        (
            {"amount": 0, "qr_code": "880101"},
            {"amount": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"amount": -5, "qr_code": "880101"},
            {"amount": ["Ensure this value is greater than or equal to 1."]},
        ),
        (
            {"amount": 10**12 + 1, "qr_code": "880101"},
            {"amount": ["Ensure this value is less than or equal to 1000000000000."]},
        ),
        ({"amount": 500, "qr_code": {"a": 1}}, {"qr_code": ["Not a valid string."]}),
        (
            {"amount": 500, "qr_code": "12345"},
            {"qr_code": ["Ensure this field has at least 6 characters."]},
        ),
        (
            {"amount": 500, "qr_code": "1" * 65},
            {"qr_code": ["Ensure this field has no more than 64 characters."]},
        ),
        ({"amount": 500, "qr_code": "8801-0169"}, {"qr_code": ["Enter only the digits 0-9."]}),
    ],
)
def test_charge_validation_uses_drf_messages(api, click, body: dict, expected: dict) -> None:
    errors = validation_errors(api.post("/payment/click", body, format="json"))
    assert errors == expected
    assert not Payment.objects.exists()
    assert not ProviderExchange.objects.exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"payment_id": "", "qrcode": SEED_URL}, {"payment_id": ["This field may not be blank."]}),
        ({"payment_id": None, "qrcode": SEED_URL}, {"payment_id": ["This field may not be null."]}),
        ({"qrcode": SEED_URL}, {"payment_id": ["This field is required."]}),
        ({"payment_id": "1"}, {"qrcode": ["This field is required."]}),
        ({"payment_id": "1", "qrcode": None}, {"qrcode": ["This field may not be null."]}),
        ({"payment_id": "1", "qrcode": ""}, {"qrcode": ["This field may not be blank."]}),
        ({"payment_id": ["1"], "qrcode": SEED_URL}, {"payment_id": ["Not a valid string."]}),
        (
            {"payment_id": "1", "qrcode": SEED_URL.replace("https", "http")},
            {"qrcode": ["Enter a valid OFD receipt URL: the URL must start with https://."]},
        ),
        (
            {"payment_id": "1", "qr_code": SEED_URL.replace("&s=514343190161", "")},
            {"qrcode": ["Enter a valid OFD receipt URL: parameter 's' is missing."]},
        ),
    ],
)
def test_confirm_validation_uses_drf_messages(api, body: dict, expected: dict) -> None:
    assert validation_errors(api.post("/payment/click_confirm", body, format="json")) == expected


def test_seed_error_example_is_reproduced_exactly(api) -> None:
    response = api.post(
        "/payment/click_confirm", {"payment_id": "", "qrcode": SEED_URL}, format="json"
    )
    # The seed's message, byte for byte; `data` carries the same errors as an object (the
    # seed shows null there: a register that reads only `message` is unaffected).
    assert response.content.decode() == (
        '{"data":null,"error":{"code":7,"message":'
        '"{\\"payment_id\\":[\\"This field may not be blank.\\"]}",'
        '"data":{"fields":{"payment_id":["This field may not be blank."]}}},'
        '"is_success":false}'
    )


def test_cyrillic_is_sent_as_utf8_not_escaped(api, click) -> None:
    response = api.post(
        "/payment/click", {"amount": 500, "qr_code": "99015017000001"}, format="json"
    )
    text = response.content.decode("utf-8")
    assert "Недостаточно средств" in text
    assert "\\u" not in text


def test_an_unexpected_exception_is_code_103_with_the_request_id(api, monkeypatch) -> None:
    def explode(**kwargs) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("payments.api.views.charge", explode)
    response = api.post("/payment/click", {"amount": 500, "qr_code": "880101"}, format="json")
    assert response.status_code == 500
    body = envelope(response)
    assert body["error"]["code"] == 103
    assert body["error"]["message"] == "INTERNAL_ERROR"
    assert body["error"]["data"] == {"request_id": response["X-Request-ID"]}


def test_handler500_answers_in_the_envelope() -> None:
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert envelope(response)["error"]["code"] == 103


def test_a_host_not_allowed_is_400_in_the_envelope(client, settings) -> None:
    settings.DEBUG = False
    response = client.post(
        "/payment/click", "{}", content_type="application/json", HTTP_HOST="evil.example"
    )
    assert response.status_code == 400
    body = envelope(response)
    assert body["error"]["code"] == 7
