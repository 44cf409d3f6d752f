"""The OpenAPI schema describes the envelope and the real fields; the docs page is served."""

import inspect

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
        "/payment/uzum",
        "/payment/uzum_confirm",
        "/payment/xumo",
        "/payment/xumo_close",
        "/payment/xumo_shortreport",
        "/payment/xumo/print_last",
        "/payment/xumo_close/print_last",
        "/payment/refund",
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
    # Each of its fields may come under an alias: one of the names is required.
    payme_confirm = components["PaymeConfirmInputRequest"]
    assert "required" not in payme_confirm
    assert [either["anyOf"] for either in payme_confirm["allOf"]] == [
        [{"required": ["payme_id"]}, {"required": ["payment_id"]}],
        [{"required": ["qr_code_url"]}, {"required": ["qr_code"]}],
    ]
    charge_input = components["QrChargeInputRequest"]["properties"]
    assert charge_input["amount"]["maximum"] == 10**12
    assert charge_input["qr_code"]["maxLength"] == 64
    assert set(components["UzumChargeOutput"]["properties"]) == {
        "payment_id",
        "payment_status",
        "error_code",
        "error_message",
        "client_phone_number",
        "transaction_id",
    }
    assert components["UzumChargeOutput"]["properties"]["error_code"]["type"] == "string"
    assert "transaction_id" not in components["UzumConfirmOutput"]["properties"]


@pytest.mark.django_db
def test_docs_page_is_served_with_local_assets(client) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"cdn" not in page.content.lower()
    assert client.get("/api/schema/").status_code == 200


def test_every_answer_is_documented_with_its_codes(schema: dict) -> None:
    components = schema["components"]["schemas"]
    charge = schema["paths"]["/payment/click"]["post"]["responses"]
    assert set(charge) == {"200", "401", "405", "500"}
    assert components["ClickChargeError"]["properties"]["code"]["enum"] == [7, 103, 104, 106, 110]
    assert components["HumoError"]["properties"]["code"]["enum"] == [7, 103, 106, 108, 110]
    assert components["UnauthorizedError"]["properties"]["code"]["enum"] == [111]
    status = schema["paths"]["/payment/status/{transaction_id}"]["get"]
    assert set(status["responses"]) == {"200", "401", "404", "405", "500"}
    assert status["parameters"][0]["schema"] == {"type": "string", "format": "uuid"}


def test_field_patterns_are_those_the_checks_enforce(schema: dict) -> None:
    components = schema["components"]["schemas"]
    assert components["QrChargeInputRequest"]["properties"]["qr_code"]["pattern"] == "^[0-9]+$"
    uzum_code = components["UzumChargeInputRequest"]["properties"]["qr_code"]
    assert (uzum_code["pattern"], uzum_code["minLength"], uzum_code["maxLength"]) == (
        "^[ -~]+$",
        40,
        128,
    )
    rrn = components["HumoInputRequest"]["properties"]["request_id"]["pattern"]
    assert rrn.startswith("^([0-9]{12}|")
    url = components["ClickConfirmInputRequest"]["properties"]["qrcode"]
    assert (url["format"], url["pattern"]) == ("uri", r"^https://(ofd\.soliq\.uz)(:443)?(/check)\?")
    assert (
        components["ClickConfirmInputRequest"]["properties"]["qr_code"]["pattern"] == url["pattern"]
    )


def test_components_speak_to_registers_not_to_us(schema: dict) -> None:
    """No serializer's docstring (written for this project's developers) reaches the
    schema: every component says what it means to a register, and so does every field."""
    from payments.api import serializers as api_serializers

    classes = [c for c in vars(api_serializers).values() if isinstance(c, type)]
    abouts = {getattr(c, "about", "") for c in classes}
    docstrings = {inspect.getdoc(c) or "" for c in classes} - abouts
    for name, component in schema["components"]["schemas"].items():
        description = component.get("description", "")
        assert description, name
        assert description not in docstrings, name
        for field, spec in component.get("properties", {}).items():
            assert "$ref" in spec or "allOf" in spec or spec.get("description"), (name, field)


def test_every_operation_lists_405(schema: dict) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "405" in operation["responses"], (method, path)
