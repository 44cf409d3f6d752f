"""The OpenAPI schema describes the envelope and the real fields; the docs page is served."""

import pytest
import yaml
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    # --fail-on-warn: a field the generator cannot describe fails the test.
    call_command("spectacular", "--file", str(path), "--fail-on-warn", "--validate")
    return yaml.safe_load(path.read_text())


def test_every_register_path_is_described(schema: dict) -> None:
    assert set(schema["paths"]) == {
        "/payment/click",
        "/payment/click_confirm",
        "/payment/payme",
        "/payment/payme_confirm",
        "/payment/xumo",
        "/payment/xumo_close",
        "/payment/status/{transaction_id}",
    }


def test_answers_are_the_envelope(schema: dict) -> None:
    components = schema["components"]["schemas"]
    envelope = components["ClickChargeEnvelope"]
    assert set(envelope["properties"]) == {"data", "error", "is_success"}
    data = components["ClickChargeOutput"]["properties"]
    assert set(data) == {
        "status_code",
        "status",
        "message",
        "transaction_id",
        "payment_id",
        "amount",
        "qr_code",
        "client_phone_number",
    }
    assert data["status_code"]["type"] == "integer"
    assert set(components["PaymeConfirmOutput"]["properties"]) == {"id", "result", "error"}
    assert set(components["PaymeConfirmInputRequest"]["required"]) == {"payme_id", "qr_code_url"}
    charge_input = components["QrChargeInputRequest"]["properties"]
    assert charge_input["amount"]["maximum"] == 10**12
    assert charge_input["qr_code"]["maxLength"] == 64


@pytest.mark.django_db
def test_docs_page_is_served_with_local_assets(client) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"cdn" not in page.content.lower()
    assert client.get("/api/schema/").status_code == 200
