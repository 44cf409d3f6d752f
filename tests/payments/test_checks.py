"""The configuration the service refuses to start with."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.factories import shop_register


@pytest.fixture(autouse=True)
def allowed_test_deployment(settings) -> None:
    settings.ALLOW_TEST_DEPLOYMENT = True


def test_an_unknown_pinpad_protocol_is_refused(settings) -> None:
    settings.PINPAD_PROTOCOL = "concert-e"
    with pytest.raises(SystemCheckError, match="payments.E001"):
        call_command("check")


def test_a_back_office_language_nobody_translated_is_refused(settings) -> None:
    settings.LANGUAGE_CODE = "kk"
    with pytest.raises(SystemCheckError, match="payments.E006"):
        call_command("check")
    for language in ("en", "ru", "uz"):
        settings.LANGUAGE_CODE = language
        call_command("check", stdout=StringIO())


def test_the_known_protocols_pass(settings) -> None:
    for protocol in ("tlv", "concert-e+"):
        settings.PINPAD_PROTOCOL = protocol
        out = StringIO()
        call_command("check", stdout=out)
        assert "no issues" in out.getvalue()


PRODUCTION = {
    "DEBUG": False,
    "ALLOW_TEST_DEPLOYMENT": False,
    "SECRET_KEY": "k" * 64,
    "CLICK_SECRET_KEY": "a-real-click-key",
    "PAYME_KEY": "a-real-payme-key",
    "CLICK_BASE_URL": "https://api.click.uz/v2/merchant/",
    "PAYME_BASE_URL": "https://checkout.paycom.uz/api",
    "UZUM_BASE_URL": "https://mobile.apelsin.uz/api/apelsin-pay/merchant/",
    "PROVIDER_SECRETS": {"PROVIDER_SECRET_UZUM": "a-real-uzum-key"},
}


def test_a_production_configuration_passes(settings) -> None:
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    out = StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("SECRET_KEY", "insecure-local-only-key-change-me-in-production", "payments.E002"),
        ("SECRET_KEY", "short", "payments.E002"),
        ("CLICK_SECRET_KEY", "EMULATOR_SECRET_KEY", "payments.E003"),
        ("PAYME_KEY", "EMULATOR_PAYME_KEY", "payments.E003"),
        ("CLICK_BASE_URL", "http://127.0.0.1:8101/v2/merchant/", "payments.E004"),
        ("PAYME_BASE_URL", "http://localhost:8102/api", "payments.E004"),
        ("PAYME_BASE_URL", "http://[::1]:8102/api", "payments.E004"),
        ("PROVIDER_SECRETS", {"PROVIDER_SECRET_UZUM": "EMULATOR_UZUM_SECRET_KEY"}, "payments.E003"),
        ("UZUM_BASE_URL", "http://127.0.0.1:8104/api/apelsin-pay/merchant/", "payments.E004"),
        ("DEBUG", True, "payments.E008"),
        ("UNFILLED_SETTINGS", ["PAYME_KEY"], "payments.E010"),
    ],
)
def test_what_only_a_test_deployment_may_run_with_is_refused(
    settings, name: str, value: str, error: str
) -> None:
    for setting, good in PRODUCTION.items():
        setattr(settings, setting, good)
    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=error):
        call_command("check")
    settings.ALLOW_TEST_DEPLOYMENT = True  # said explicitly: a test deployment
    call_command("check", stdout=StringIO())


@pytest.mark.django_db
def test_an_account_naming_a_secret_the_environment_lacks_is_a_warning_not_a_refusal(
    settings,
) -> None:
    """One register's account must not stop `migrate`, a start or the other registers: it
    is a warning naming the account, and an error nowhere."""
    register = shop_register()
    quiet = StringIO()
    call_command("check", databases=["default"], stdout=quiet, stderr=quiet)
    assert "payments.W005" not in quiet.getvalue()  # all named are set
    register.accounts.filter(provider="payme").update(
        settings={"cashbox_id": "x", "key": "PROVIDER_SECRET_TILL_9"}
    )
    warned = StringIO()
    call_command("check", databases=["default"], fail_level="ERROR", stdout=warned, stderr=warned)
    assert "payments.W005" in warned.getvalue()
    assert "'test Payme cashbox' (Register 1)" in warned.getvalue()
    assert "PROVIDER_SECRET_TILL_9" in warned.getvalue()
    settings.PROVIDER_SECRETS = {**settings.PROVIDER_SECRETS, "PROVIDER_SECRET_TILL_9": "set now"}
    mended = StringIO()
    call_command("check", databases=["default"], stdout=mended, stderr=mended)
    assert "payments.W005" not in mended.getvalue()


@pytest.mark.django_db
def test_a_pin_pad_not_there_is_a_warning(tmp_path) -> None:
    register = shop_register()
    register.accounts.filter(provider="humo").update(settings={"url": str(tmp_path / "gone")})
    warned = StringIO()
    call_command("check", databases=["default"], fail_level="ERROR", stdout=warned, stderr=warned)
    assert "payments.W007" in warned.getvalue()
    assert f"{tmp_path / 'gone'} does not exist" in warned.getvalue()
