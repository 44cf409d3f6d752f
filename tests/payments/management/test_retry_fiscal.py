"""manage.py retry_fiscal against the emulators."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from payments.models import FiscalStatus, Payment
from tests.helpers import SEED_URL, post_json

pytestmark = pytest.mark.django_db


def retry_fiscal(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("retry_fiscal", *args, stdout=out, stderr=StringIO())
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()


@pytest.fixture
def refused(api, click) -> Payment:
    """A paid CLICK payment whose receipt CLICK refused once (it was reversed meanwhile)."""
    paid = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7700112233"})["data"]
    click.payments[int(paid["payment_id"])].status = -2
    post_json(api, "/payment/click_confirm", {"payment_id": paid["payment_id"], "qrcode": SEED_URL})
    click.payments[int(paid["payment_id"])].status = 2
    payment = Payment.objects.get()
    assert payment.fiscal_status == FiscalStatus.FAILED
    return payment


def test_the_refusal_scheduled_a_retry_with_backoff(refused) -> None:
    assert refused.fiscal_attempts == 1
    wait = refused.fiscal_next_attempt_at - timezone.now()
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)


def test_not_due_yet_nothing_is_sent(refused, click) -> None:
    code, out = retry_fiscal()
    refused.refresh_from_db()
    assert (code, refused.fiscal_status) == (0, FiscalStatus.FAILED)


def test_a_due_retry_is_sent_and_recorded(refused, click) -> None:
    Payment.objects.update(fiscal_next_attempt_at=timezone.now())
    submits = click.stats()["requests"].count("POST payment/ofd_data/submit_qrcode")
    code, out = retry_fiscal()
    refused.refresh_from_db()
    assert code == 0
    assert refused.fiscal_status == FiscalStatus.SUBMITTED
    assert refused.fiscal_next_attempt_at is None
    assert click.stats()["requests"].count("POST payment/ofd_data/submit_qrcode") == submits + 1
    assert "click     submitted" in out
    assert refused.events.last().actor == "retry_fiscal"


def test_a_receipt_clicks_already_has_is_not_sent_again(refused, click) -> None:
    click.payments[int(refused.provider_payment_id)].ofd_qrcode = SEED_URL
    Payment.objects.update(fiscal_next_attempt_at=timezone.now())
    submits = click.stats()["requests"].count("POST payment/ofd_data/submit_qrcode")
    code, _ = retry_fiscal()
    refused.refresh_from_db()
    assert refused.fiscal_status == FiscalStatus.SUBMITTED
    assert click.stats()["requests"].count("POST payment/ofd_data/submit_qrcode") == submits
    assert "GET payment/ofd_data" in " ".join(click.stats()["requests"])


def test_a_refusal_again_moves_the_next_attempt_further(refused, click) -> None:
    click.payments[int(refused.provider_payment_id)].status = -2
    Payment.objects.update(fiscal_next_attempt_at=timezone.now())
    retry_fiscal()
    refused.refresh_from_db()
    assert refused.fiscal_attempts == 2
    assert refused.fiscal_next_attempt_at - timezone.now() > timedelta(minutes=4)


def test_no_attempt_left_needs_a_person(refused, click, settings) -> None:
    Payment.objects.update(fiscal_attempts=len(settings.FISCAL_RETRY_BACKOFF_MINUTES) + 1)
    code, out = retry_fiscal()
    assert code == 2
    assert str(refused.transaction_id) in out
    assert "no attempt left" in out


def test_dry_run_sends_nothing(refused, click) -> None:
    Payment.objects.update(fiscal_next_attempt_at=timezone.now())
    requests_before = len(click.stats()["requests"])
    code, out = retry_fiscal("--dry-run")
    refused.refresh_from_db()
    assert refused.fiscal_status == FiscalStatus.FAILED
    assert len(click.stats()["requests"]) == requests_before
    assert "dry run" in out


def test_paid_without_a_receipt_past_the_deadline_is_listed(api, payme) -> None:
    post_json(api, "/payment/payme", {"amount": 500, "qr_code": "50501010793410803298"})
    assert retry_fiscal()[0] == 0  # not late yet
    Payment.objects.update(paid_at=timezone.now() - timedelta(hours=2))
    code, out = retry_fiscal()
    assert code == 2
    assert "no receipt from the register" in out


def test_a_receipt_uzum_refused_is_sent_again_when_due(api, uzum) -> None:
    code = "7993:5061401:01KFDH7KB4KNBJD8QRVFBVQ39X:3sySIUxrog+hhtBwUXquxn97N5k="
    paid = post_json(api, "/payment/uzum", {"amount": 500, "qr_code": code})["data"]
    uzum_payment = uzum.payments[paid["payment_id"]]
    uzum_payment.service_id = 9  # Uzum does not find it for now
    refused = post_json(
        api, "/payment/uzum_confirm", {"payment_id": paid["payment_id"], "qr_code": SEED_URL}
    )
    assert refused["error"]["code"] == 104
    uzum_payment.service_id = 4012
    Payment.objects.update(fiscal_next_attempt_at=timezone.now())
    exit_code, out = retry_fiscal()
    payment = Payment.objects.get()
    assert exit_code == 0
    assert payment.fiscal_status == FiscalStatus.SUBMITTED
    assert uzum_payment.fiscal_url == SEED_URL
    assert "uzum      submitted" in out
