"""One fiscal submission of a payment at a time, and no refusal told for a receipt the
provider took."""

from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import FiscalStatus, Payment
from payments.services import fiscal
from tests.helpers import OTHER_URL, SEED_URL, at_once, post_json

pytestmark = pytest.mark.django_db

URLS = [SEED_URL.replace("r=2421", f"r={2421 + n}") for n in range(8)]


def paid(api, provider: str, code: str) -> dict:
    return post_json(api, f"/payment/{provider}", {"amount": 500, "qr_code": code})["data"]


def test_a_confirm_while_another_is_being_sent_is_106(api, click) -> None:
    charge = paid(api, "click", "880101698207133392")
    Payment.objects.update(fiscal_sending_url=OTHER_URL, fiscal_sending_since=timezone.now())
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": charge["payment_id"], "qrcode": SEED_URL}
    )
    assert body["error"]["code"] == 106
    assert body["error"]["data"] == {"reason": "fiscal_in_progress", "qr_code": OTHER_URL}
    assert "POST payment/ofd_data/submit_qrcode" not in click.stats()["requests"]


def test_retry_fiscal_does_not_send_while_a_confirm_is_being_sent(api, click) -> None:
    paid(api, "click", "880101698207133392")
    Payment.objects.update(
        fiscal_status=FiscalStatus.FAILED,
        fiscal_receipt_url=SEED_URL,
        fiscal_sending_url=OTHER_URL,
        fiscal_sending_since=timezone.now(),
    )
    before = list(click.stats()["requests"])
    fiscal.retry(Payment.objects.get())
    assert click.stats()["requests"] == before  # not asked, not sent


@pytest.mark.parametrize("on_file", [True, False], ids=["provider-holds-it", "provider-lacks-it"])
def test_retry_fiscal_takes_up_a_submission_abandoned_midway(api, click, on_file: bool) -> None:
    """A confirm whose process died (or whose answer could not be written) after claiming
    the submission: once abandoned, retry_fiscal asks CLICK, and sends only if needed."""
    charge = paid(api, "click", "880101698207133392")
    if on_file:
        click.payments[int(charge["payment_id"])].ofd_qrcode = SEED_URL
    started = timezone.now() - timedelta(minutes=6)
    Payment.objects.update(fiscal_sending_url=SEED_URL, fiscal_sending_since=started)

    call_command("retry_fiscal", stdout=StringIO())

    payment = Payment.objects.get()
    assert payment.fiscal_status == FiscalStatus.SUBMITTED
    assert payment.fiscal_receipt_url == SEED_URL
    assert (payment.fiscal_sending_url, payment.fiscal_sending_since) == ("", None)
    sent = click.stats()["requests"].count("POST payment/ofd_data/submit_qrcode")
    assert sent == (0 if on_file else 1)


def test_a_submission_under_way_is_not_taken_up(api, click) -> None:
    paid(api, "click", "880101698207133392")
    started = timezone.now() - timedelta(minutes=4)
    Payment.objects.update(fiscal_sending_url=SEED_URL, fiscal_sending_since=started)
    before = list(click.stats()["requests"])
    call_command("retry_fiscal", stdout=StringIO())
    assert click.stats()["requests"] == before
    assert Payment.objects.get().fiscal_status == FiscalStatus.PENDING


@pytest.mark.parametrize("fault", ["not_json", "timeout_after", "reset"])
def test_a_cut_answer_is_settled_by_asking_before_the_register_hears(
    api, click, click_server, fault
) -> None:
    charge = paid(api, "click", "880101698207133392")
    click_server.faults.inject("payment/ofd_data/submit_qrcode", fault)
    body = post_json(
        api, "/payment/click_confirm", {"payment_id": charge["payment_id"], "qrcode": SEED_URL}
    )
    payment = Payment.objects.get()
    if fault == "reset":  # CLICK never took it: a refusal, and retry_fiscal sends it later
        assert body["error"]["code"] == 104
        assert payment.fiscal_status == FiscalStatus.FAILED
    else:  # CLICK took it; its answer was lost or unreadable
        assert body["is_success"] is True
        assert payment.fiscal_status == FiscalStatus.SUBMITTED
    assert (payment.fiscal_sending_url, payment.fiscal_sending_since) == ("", None)


@pytest.mark.django_db(transaction=True)
def test_eight_confirms_at_once_with_eight_urls_one_wins(shop, payme, payme_server) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the race is proven on PostgreSQL")
    charge = paid(APIClient(), "payme", "50501010793410803298")
    payme_server.latency = 0.2  # each call takes a while: the confirms overlap
    answers: list[dict] = []

    def confirmer(url: str) -> Callable[[], None]:
        body = {"payme_id": charge["payment_id"], "qr_code_url": url}
        return lambda: answers.append(post_json(APIClient(), "/payment/payme_confirm", body))

    try:
        at_once([confirmer(url) for url in URLS])
    finally:
        payme_server.latency = 0.0
    won = [a for a in answers if a["is_success"]]
    lost = [a for a in answers if not a["is_success"]]
    assert len(won) == 1
    assert {a["error"]["code"] for a in lost} == {106}
    assert payme.stats()["requests"].count("receipts.set_fiscal_data") == 1
