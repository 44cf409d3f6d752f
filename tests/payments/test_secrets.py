"""Provider secrets (CLICK's secret key, Payme's cashbox key) never reach the database or
the logs."""

import logging

import pytest
from django.apps import apps
from django.core import serializers

from payments.models import ProviderExchange
from tests.conftest import CLICK_SECRET, PAYME_KEY
from tests.helpers import OTHER_URL, SEED_URL

pytestmark = pytest.mark.django_db


def test_secret_keys_appear_nowhere_in_the_database_or_the_logs(api, click, payme, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    paid = api.post("/payment/click", {"amount": 500, "qr_code": "9909123456"}, format="json")
    payment_id = paid.json()["data"]["payment_id"]
    api.post(
        "/payment/click_confirm", {"payment_id": payment_id, "qrcode": SEED_URL}, format="json"
    )
    for code in ("9905123456", "9906123456", "9904123456", "99015017123456"):
        api.post("/payment/click", {"amount": 500, "qr_code": code}, format="json")
    paid = api.post("/payment/payme", {"amount": 500, "qr_code": "9807000001"}, format="json")
    receipt_id = paid.json()["data"]["payment_id"]
    api.post(
        "/payment/payme_confirm", {"payme_id": receipt_id, "qr_code_url": OTHER_URL}, format="json"
    )
    for code in ("9804000001", "980131630001", "9809000001"):
        api.post("/payment/payme", {"amount": 500, "qr_code": code}, format="json")

    exchanges = ProviderExchange.objects.all()
    assert {e.operation for e in exchanges} >= {
        "click_pass/payment",
        "click_pass/confirm",
        "payment/status",
        "payment/status_by_mti",
        "payment/ofd_data/submit_qrcode",
    }
    assert {e.request_headers["Auth"] for e in exchanges if e.provider == "click"} == {"[redacted]"}
    assert {e.request_headers["X-Auth"] for e in exchanges if e.provider == "payme"} == {
        "[redacted]"
    }
    assert {e.operation for e in exchanges} >= {
        "receipts.create",
        "receipts.pay",
        "receipts.check",
        "receipts.get",
        "receipts.cancel",
        "receipts.set_fiscal_data",
    }

    dump = "".join(
        serializers.serialize("json", model.objects.all()) for model in apps.get_models()
    )
    assert "click_pass/payment" in dump  # the dump really holds the journal
    assert CLICK_SECRET not in dump
    assert PAYME_KEY not in dump
    assert caplog.records, "the charge was logged"
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert CLICK_SECRET not in logged
    assert PAYME_KEY not in logged
