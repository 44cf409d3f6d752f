"""Input a register could send by mistake, or a stranger on purpose: refused in the
envelope, with nothing charged or sent."""

import json

import pytest

from payments.models import Payment
from tests.helpers import SEED_URL, post_json

pytestmark = pytest.mark.django_db

NOT_AN_INTEGER = '{"amount":["A valid integer is required."]}'
BLANK = '{"amount":["This field may not be blank."]}'


@pytest.mark.parametrize(
    "amount",
    ["٣٠٠", "５００", "5_000", 2.5e2, 500.0, " 500", "500 ", "+500", True, "0x1f4", ""],
    ids=repr,
)
def test_an_amount_is_a_json_integer_or_ascii_digits(api, click, amount) -> None:
    body = post_json(api, "/payment/click", {"amount": amount, "qr_code": "880101698207133392"})
    assert body["error"]["code"] == 7
    assert body["error"]["message"] in (
        NOT_AN_INTEGER,
        '{"amount":["This field may not be blank."]}',
    )
    assert not Payment.objects.exists()
    assert click.stats()["requests"] == []


def test_an_amount_in_ascii_digits_is_taken(api, click) -> None:
    body = post_json(api, "/payment/click", {"amount": "500", "qr_code": "880101698207133392"})
    assert body["is_success"] is True
    assert Payment.objects.get().amount == 500


@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": "deep-1"}])
def test_json_nested_deep_is_code_7_not_a_500(api, headers) -> None:
    """With an Idempotency-Key too: the key's fingerprint of the body is taken from what
    the parser read, and the parser refuses it first."""
    deep = '{"amount": 500, "qr_code": "880101", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    response = api.post("/payment/click", deep, content_type="application/json", **headers)
    assert response.status_code == 200
    body = response.json()
    assert body["error"]["code"] == 7
    assert "nested deeper than 32" in body["error"]["message"]


def test_brackets_inside_strings_are_not_nesting(api, click) -> None:
    body = {"amount": 500, "qr_code": "880101698207133392", "note": "[[[[" * 40 + '\\"{'}
    response = api.post("/payment/click", json.dumps(body), content_type="application/json")
    assert response.json()["is_success"] is True


OFD = "https://ofd.soliq.uz/check?t=UZ170703100597&r=2421&c=20230104121801&s=514343190161"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (OFD.replace("https://", "https://evil.example@"), "user name"),
        (OFD.replace("ofd.soliq.uz", "ofd.soliq.uz:8443"), "default https port"),
        (OFD.replace("/check", "/other"), "the path"),
        (OFD.replace("c=20230104121801", "c=00010101000000"), "date a receipt"),
        (OFD.replace("c=20230104121801", "c=20990101000000"), "date a receipt"),
        (OFD.replace("s=514343190161", "s=" + "9" * 400), "up to 20 digits"),
        (OFD.replace("r=2421", "r=" + "1" * 21), "up to 20 digits"),
        (OFD.replace("t=UZ170703100597", "t=UZ-17"), "letters or digits"),
    ],
    ids=["user info", "port", "path", "year 0001", "year 2099", "400 digits", "21 digits", "t"],
)
def test_a_receipt_url_that_is_not_a_receipt_is_code_7(api, click, url: str, why: str) -> None:
    paid = post_json(api, "/payment/click", {"amount": 500, "qr_code": "880101698207133392"})
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": paid["data"]["payment_id"], "qrcode": url}
    )
    assert body["error"]["code"] == 7
    assert why in body["error"]["message"]
    assert "ofd_data" not in " ".join(click.stats()["requests"])


def test_one_receipt_url_for_two_payments_is_106(api, click) -> None:
    first = post_json(api, "/payment/click", {"amount": 500, "qr_code": "880101698207133392"})
    second = post_json(api, "/payment/click", {"amount": 700, "qr_code": "880101698207133393"})
    confirm = {"payment_id": first["data"]["payment_id"], "qrcode": SEED_URL}
    assert post_json(api, "/payment/click_confirm", confirm)["is_success"] is True
    again = post_json(
        api,
        "/payment/click_confirm",
        {"payment_id": second["data"]["payment_id"], "qrcode": SEED_URL},
    )
    assert again["error"]["code"] == 106
    assert again["error"]["data"] == {
        "reason": "receipt_reused",
        "transaction_id": first["data"]["transaction_id"],
    }
