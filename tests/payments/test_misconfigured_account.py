"""One register's account whose secret is not set (docs/operations.md's example, followed
before the secret was put in the environment) stays that register's problem: its requests
at that provider are refused with 108 `misconfigured` before anything is sent, every other
register is served, the commands flag its payments and go on, and the back office and
/metrics name it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import Payment, PaymentStatus, Register
from payments.services import accounts
from payments.services.registers import add_register, issue_key, put_account
from providers.click.gateway import GATEWAY as CLICK
from tests.factories import CLICK_SERVICE, data_of, make_payment
from tests.helpers import SEED_URL, post_json

pytestmark = pytest.mark.django_db

SHOP2_CLICK = {
    "service_id": "40777",
    "merchant_user_id": "67890",
    "secret_key": "PROVIDER_SECRET_CLICK_SHOP2",  # not in the environment
}


@pytest.fixture
def till2(shop: Register) -> Register:
    """A second till charging through an account whose secret nobody set yet."""
    return add_register(
        name="Till 2",
        inn="309876543",
        kkm_id="KKM-2",
        accounts=[put_account("click", "CLICK shop 2", SHOP2_CLICK)],
    )


def paid_before_the_secret_went(settings, till2: Register, **fields) -> Payment:
    """A paid payment of the till's, made while its account's secret was still set (the
    secret went afterwards: a deployment's environment changed)."""
    settings.PROVIDER_SECRETS = {**settings.PROVIDER_SECRETS, "PROVIDER_SECRET_CLICK_SHOP2": "s"}
    paid = make_payment(register=till2, status=PaymentStatus.PAID, **fields)
    del settings.PROVIDER_SECRETS["PROVIDER_SECRET_CLICK_SHOP2"]
    accounts.forget()
    return paid


def client_of(register: Register) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_key(register)[1]}")
    return client


def test_its_charge_is_refused_as_misconfigured_and_nothing_is_sent(till2, api, click) -> None:
    answer = post_json(client_of(till2), "/payment/click", {"amount": 500, "qr_code": "8801016"})
    assert answer["error"]["code"] == 108
    assert answer["error"]["data"] == {"reason": "misconfigured", "account": "CLICK shop 2"}
    assert not Payment.objects.filter(register=till2).exists()
    assert click.stats()["requests"] == []
    # The other till, on the same instance, is served.
    served = post_json(api, "/payment/click", {"amount": 500, "qr_code": "8801017"})
    assert served["is_success"] is True, served


def test_its_receipt_is_refused_before_anything_is_claimed(till2, click, settings) -> None:
    paid = paid_before_the_secret_went(settings, till2, provider_payment_id="77")
    answer = post_json(
        client_of(till2), "/payment/click_confirm", {"payment_id": "77", "qrcode": SEED_URL}
    )
    assert (answer["error"]["code"], answer["error"]["data"]["reason"]) == (108, "misconfigured")
    paid.refresh_from_db()
    assert paid.fiscal_sending_url == ""  # nothing claimed: a later confirm is not blocked


def test_its_refund_is_refused_before_anything_is_made(till2, click, settings) -> None:
    paid = paid_before_the_secret_went(settings, till2, provider_payment_id="78")
    answer = post_json(
        client_of(till2), "/payment/refund", {"transaction_id": str(paid.transaction_id)}
    )
    assert (answer["error"]["code"], answer["error"]["data"]["reason"]) == (108, "misconfigured")
    assert not Payment.objects.filter(reverses=paid).exists()  # no refund row to settle
    assert click.stats()["reversal_requests"] == 0
    paid.refresh_from_db()
    assert (paid.status, paid.reversed_amount) == (PaymentStatus.PAID, 0)


def test_reconcile_flags_its_payments_settles_the_others_and_exits_2(till2, click) -> None:
    theirs = make_payment(register=till2, status=PaymentStatus.PROCESSING, qr_code="8801018")
    ours = make_payment(status=PaymentStatus.PROCESSING, qr_code="8801019")
    CLICK.charge(data_of(ours))  # charged; the answer was lost
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("reconcile", "--min-age", "0", stdout=out, stderr=err)
    assert failed.value.returncode == 2
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert ours.status == PaymentStatus.PAID
    assert theirs.status == PaymentStatus.PROCESSING
    assert theirs.needs_attention
    assert "'CLICK shop 2' is misconfigured" in out.getvalue()


def test_retry_fiscal_reports_it_and_goes_on(till2, click, settings) -> None:
    paid_before_the_secret_went(
        settings,
        till2,
        provider_payment_id="78",
        fiscal_status="failed",
        fiscal_receipt_url=SEED_URL,
        fiscal_next_attempt_at=timezone.now(),
    )
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("retry_fiscal", stdout=out, stderr=StringIO())
    assert failed.value.returncode == 2
    assert "'CLICK shop 2' is misconfigured" in out.getvalue()


def test_the_back_office_and_metrics_name_it(till2, admin_client) -> None:
    overview = admin_client.get("/admin/payments/payment/overview/").content.decode()
    tile = (
        '<li class="accounts alarm"><a href="/admin/payments/provideraccount/"><strong>1</strong>'
    )
    assert tile in overview
    listed = admin_client.get("/admin/payments/provideraccount/").content.decode()
    assert "the environment has no PROVIDER_SECRET_CLICK_SHOP2" in listed
    scraped = APIClient(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    labels = 'account="CLICK shop 2",kind="misconfigured",provider="click"'
    line = f"payments_accounts_unusable{{{labels}}} 1.0"
    assert line in scraped
    assert CLICK_SERVICE["secret_key"] not in scraped


def test_reconcile_since_flags_its_paid_payments_and_goes_on(till2, click, settings) -> None:
    theirs = paid_before_the_secret_went(settings, till2, provider_payment_id="79")
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("reconcile", "--since", "2020-01-01", stdout=out, stderr=StringIO())
    assert failed.value.returncode == 2
    theirs.refresh_from_db()
    assert (theirs.status, theirs.needs_attention) == (PaymentStatus.PAID, True)
    assert "'CLICK shop 2' is misconfigured" in out.getvalue()
