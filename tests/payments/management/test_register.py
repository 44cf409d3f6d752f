"""manage.py register: what an operator's automation does, seen by the API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from payments.models import Register, RegisterKey

pytestmark = pytest.mark.django_db


def register(*args: str) -> str:
    out = StringIO()
    call_command("register", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_an_account_a_register_and_a_key_then_the_register_charges(click, settings) -> None:
    settings.PROVIDER_SECRETS = {"PROVIDER_SECRET_CLICK_TILL2": "TILL2_SECRET"}
    click.add_service(40888, "55555", "TILL2_SECRET")
    register(
        "account", "click", "CLICK till 2",
        "service_id=40888", "merchant_user_id=55555", "secret_key=PROVIDER_SECRET_CLICK_TILL2",
    )  # fmt: skip
    register(
        "add", "Till 2", "--inn", "301234567", "--kkm-id", "KKM-2", "--account", "CLICK till 2"
    )
    printed = register("key", "issue", "Till 2", "--label", "till software")
    key = printed.rsplit(" ", 1)[-1].strip()
    assert key.startswith("rk_")
    assert key not in str(list(RegisterKey.objects.values()))  # only its hash is kept

    till = APIClient(REMOTE_ADDR="203.0.113.20")
    till.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = till.post("/payment/click", {"amount": 500, "qr_code": "7700000042"}, format="json")
    assert body.json()["is_success"] is True
    assert click.stats()["charges_by_account"] == {"40888": 1}

    listed = register("list")
    assert "Till 2" in listed
    assert "CLICK till 2" in listed
    assert key[:10] in listed

    register("key", "revoke", key[:10])
    refused = till.post("/payment/click", {"amount": 500, "qr_code": "7700000043"}, format="json")
    assert refused.status_code == 401


@pytest.mark.parametrize("given", ["whole key", "listed prefix"])
def test_a_key_is_revoked_by_itself_or_by_its_listed_prefix(shop, given) -> None:
    register("add", "Till 4", "--inn", "1", "--kkm-id", "K4")
    key = register("key", "issue", "Till 4").rsplit(" ", 1)[-1].strip()
    other = register("key", "issue", "Till 4").rsplit(" ", 1)[-1].strip()
    printed = register("key", "revoke", key if given == "whole key" else key[:10])
    assert f"revoked {key[:10]}" in printed
    states = {row.prefix: row.is_active for row in RegisterKey.objects.all()}
    assert states == {key[:10]: False, other[:10]: True}


def test_a_whole_key_that_is_no_key_revokes_nothing(shop) -> None:
    register("add", "Till 5", "--inn", "1", "--kkm-id", "K5")
    key = register("key", "issue", "Till 5").rsplit(" ", 1)[-1].strip()
    with pytest.raises(CommandError, match="no key is"):
        register("key", "revoke", key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert RegisterKey.objects.get().is_active


def test_networks_and_deactivation(shop) -> None:
    register("add", "Till 3", "--inn", "1", "--kkm-id", "K3", "--network", "198.51.100.7/32")
    bound = APIClient(REMOTE_ADDR="198.51.100.7")
    assert bound.get("/payment/status/x").json()["error"]["code"] == 106  # served
    register("set", "Till 3", "--inactive")
    assert bound.get("/payment/status/x").status_code == 401
    assert Register.objects.get(name="Till 3").active is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "T", "--inn", "1", "--kkm-id", "K", "--network", "not-a-net"), "not a network"),
        (("account", "click", "A", "service_id=1", "merchant_user_id=2", "secret_key=SECRET_KEY"),
         "must name an environment secret"),
        (("account", "click", "A", "service_id=x", "merchant_user_id=2",
          "secret_key=PROVIDER_SECRET_A"), "invalid literal"),
        (("key", "issue", "nobody"), "no register"),
        (("add", "T", "--inn", "1", "--kkm-id", "K", "--account", "missing"), "no account"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_and_changes_nothing(args: tuple[str, ...], message: str) -> None:
    before = Register.objects.count()
    with pytest.raises(CommandError, match=message):
        register(*args)
    assert Register.objects.count() == before


def test_an_account_naming_a_secret_not_yet_set_is_saved_with_a_warning(shop) -> None:
    err = StringIO()
    call_command(
        "register", "account", "click", "CLICK shop 2",
        "service_id=40777", "merchant_user_id=67890", "secret_key=PROVIDER_SECRET_CLICK_SHOP2",
        stdout=StringIO(), stderr=err,
    )  # fmt: skip
    assert "warning: the environment has no PROVIDER_SECRET_CLICK_SHOP2" in err.getvalue()
    assert "108 misconfigured" in err.getvalue()
