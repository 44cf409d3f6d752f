"""Registers in the back office: made, bound, pointed at accounts, given keys shown once,
keys revoked; payments found by register."""

import json
import re

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from payments.models import ProviderAccount, Register, RegisterKey
from payments.services.registers import add_register
from tests.factories import make_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="pw"))
    return client


def test_a_register_is_made_with_its_networks_and_accounts(admin_client, shop) -> None:
    click_account = shop.accounts.get(provider="click")
    form = {
        "name": "Till 9",
        "inn": "301234567",
        "kkm_id": "KKM-9",
        "device_id": "DEV-9",
        "cashbox_code": "POS-09",
        "active": "on",
        "networks": "192.168.1.9, 10.1.0.0/16",
        "accounts": [click_account.pk],
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
    }
    response = admin_client.post("/admin/payments/register/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    till = Register.objects.get(name="Till 9")
    assert till.networks == "192.168.1.9/32\n10.1.0.0/16"
    assert list(till.accounts.all()) == [click_account]


def test_a_bad_network_or_two_accounts_of_one_provider_are_refused(admin_client, shop) -> None:
    clicks = list(shop.accounts.filter(provider="click"))
    other = shop.accounts.get(provider="click").__class__.objects.create(
        provider="click", name="another CLICK", settings={}
    )
    form = {
        "name": "Till 10",
        "inn": "1",
        "kkm_id": "K",
        "device_id": "D",
        "cashbox_code": "P",
        "networks": "300.1.1.1/8",
        "accounts": [clicks[0].pk, other.pk],
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
    }
    page = admin_client.post("/admin/payments/register/add/", form).content.decode()
    assert "is not a network" in page
    assert "One account per provider: click chosen twice." in page
    assert not Register.objects.filter(name="Till 10").exists()


def test_a_key_is_shown_once_works_and_is_revoked(admin_client, shop) -> None:
    page = admin_client.post(
        f"/admin/payments/register/{shop.pk}/issue-key/", {"label": "till software"}
    )
    assert "no-store" in page["Cache-Control"]
    key = re.search(r'value="(rk_[^"]+)"', page.content.decode()).group(1)
    row = RegisterKey.objects.get(label="till software")
    assert key not in str(vars(row))  # only its fingerprint is kept
    assert (
        key not in admin_client.get(f"/admin/payments/register/{shop.pk}/change/").content.decode()
    )

    till = APIClient(REMOTE_ADDR="203.0.113.5")
    till.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert till.get("/payment/status/x").status_code == 200

    admin_client.post(
        "/admin/payments/registerkey/",
        {"action": "revoke", "_selected_action": [row.pk]},
    )
    assert till.get("/payment/status/x").status_code == 401


def test_an_account_naming_a_setting_that_is_not_a_provider_secret_is_refused(
    admin_client,
) -> None:
    form = {
        "provider": "click",
        "name": "sneaky",
        "settings": '{"service_id": "1", "merchant_user_id": "2", "secret_key": "SECRET_KEY"}',
    }
    page = admin_client.post("/admin/payments/provideraccount/add/", form).content.decode()
    assert "must name an environment secret" in page


def test_the_account_list_says_which_secrets_are_missing(admin_client, shop) -> None:
    shop.accounts.filter(provider="payme").update(
        settings={"cashbox_id": "x", "key": "PROVIDER_SECRET_NOT_SET"}
    )
    page = admin_client.get("/admin/payments/provideraccount/").content.decode()
    assert "missing PROVIDER_SECRET_NOT_SET" in page


def test_payments_filter_and_search_by_register_and_the_overview_splits(admin_client, shop) -> None:
    till = add_register(name="Till 11", inn="1", kkm_id="K11")
    make_payment(register=till, amount=700)
    make_payment(amount=500)
    filtered = admin_client.get(f"/admin/payments/payment/?register__id__exact={till.pk}")
    assert filtered.content.decode().count("field-register") == 1
    searched = admin_client.get("/admin/payments/payment/?q=Till+11")
    assert searched.content.decode().count("field-register") == 1
    overview = admin_client.get("/admin/payments/payment/overview/").content.decode()
    assert "Till 11" in overview
    assert shop.name in overview


@pytest.mark.parametrize(
    ("reading", "error"),
    [("tashkent", None), ("utc+5", "timestamp_reading"), ("epoch", None)],
)
def test_an_uzum_account_is_made_with_its_timestamp_reading(
    admin_client, reading: str, error: str | None
) -> None:
    settings = {
        "service_id": "4077",
        "merchant_service_user_id": "8462",
        "secret_key": "PROVIDER_SECRET_UZUM_SHOP2",
        "timestamp_reading": reading,
    }
    form = {"provider": "uzum", "name": "Uzum shop 2", "settings": json.dumps(settings)}
    response = admin_client.post("/admin/payments/provideraccount/add/", form)
    made = ProviderAccount.objects.filter(name="Uzum shop 2").first()
    if error is None:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert made.settings["timestamp_reading"] == reading
    else:
        assert made is None
        assert error in response.content.decode()
