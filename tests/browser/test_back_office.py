"""The back office in a real browser: Playwright driving Debian's Chromium, headless.

An operator logs in, finds payments by RRN and by the provider's id, opens them, runs
"retry fiscal" and "check status" and reads the results; an operator without a permission
does not see its action. (The screenshots are test_screens.py's.)
"""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from payments import selectors
from payments.models import OperatorLanguage, Payment, PaymentStatus
from tests.factories import make_payment
from tests.helpers import SEED_URL, post_json

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

ALL_ACTIONS = ["check_status", "retry_fiscal", "reverse_payment", "settle_payment"]


def operator(username: str, codenames: list[str]) -> User:
    user = User.objects.create_user(username, password="a-long-test-password", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="payments", codename__in=["view_payment", *codenames]
        )
    )
    return user


def log_in(browser, live_server, username: str):
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/payments/payment/overview/")  # the first page
    return page


def search(page, live_server, term: str) -> None:
    page.goto(f"{live_server.url}/admin/payments/payment/")
    page.fill("#searchbar", term)
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()


def run_from_payment_page(page, action: str, reason: str) -> str:
    page.click(f"button[data-action={action}]")
    page.fill("#reason", reason)
    page.click("input[value='Yes, do it']")
    page.wait_for_load_state()
    return page.inner_text(".messagelist")


def test_an_operator_finds_opens_and_fixes_payments(
    browser, live_server, api, click, pinpad
) -> None:
    operator("anna", ALL_ACTIONS)
    # A HUMO purchase, a CLICK payment whose receipt CLICK refused once, and a few more.
    rrn = post_json(api, "/payment/xumo", {"amount": 1250000})["data"]["ppt_id"]
    clicked = post_json(api, "/payment/click", {"amount": 4990000, "qr_code": "880101698207133392"})
    click_id = clicked["data"]["payment_id"]
    click.payments[int(click_id)].status = -2
    post_json(api, "/payment/click_confirm", {"payment_id": click_id, "qrcode": SEED_URL})
    click.payments[int(click_id)].status = 2
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "9905123456"})  # unknown
    post_json(api, "/payment/click", {"amount": 73000, "qr_code": "99015017000001"})  # declined

    page = log_in(browser, live_server, "anna")
    page.goto(f"{live_server.url}/admin/payments/payment/")
    assert "49\u00a0900.00" in page.inner_text("#result_list")

    # By RRN: the HUMO purchase, its slip on the page.
    search(page, live_server, rrn)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    rows.first.locator("th a").click()
    page.wait_for_load_state()
    assert "ОДОБРЕНО" in page.inner_text("body")

    # By CLICK's payment id: retry the refused receipt, then ask for the status.
    search(page, live_server, click_id)
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_load_state()
    assert "Submission failed" in page.inner_text("body")
    payment_url = page.url
    message = run_from_payment_page(page, "retry_fiscal", "OFD was down this morning")
    assert "fiscal status Submitted" in message
    assert page.url == payment_url  # an action on one payment comes back to it
    message = run_from_payment_page(page, "check_status", "customer asks")
    assert "still Paid" in message
    # Nothing changed: said as information, not as a success.
    assert page.locator(".messagelist li.info").count() == 1
    assert page.locator(".messagelist li.success").count() == 0
    audit = page.inner_text("body")
    assert "OFD was down this morning" in audit
    assert "anna" in audit
    assert Payment.objects.get(provider_payment_id=click_id).fiscal_status == "submitted"

    page.goto(f"{live_server.url}/admin/payments/payment/overview/")
    assert "Needs a person" in page.inner_text("body")


def test_without_the_permission_the_action_is_not_offered(browser, live_server, api, click) -> None:
    operator("boris", ["check_status"])
    post_json(api, "/payment/click", {"amount": 500, "qr_code": "880101698207133392"})
    page = log_in(browser, live_server, "boris")
    page.goto(f"{live_server.url}/admin/payments/payment/")
    options = page.locator("select[name=action] option").all_inner_texts()
    assert "Ask the provider for the status" in options
    assert "Reverse (give the money back)" not in options
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_load_state()
    assert page.locator("button[data-action=check_status]").count() == 1
    assert page.locator("button[data-action=reverse_payments]").count() == 0
    assert page.locator("button[data-action=retry_fiscal]").count() == 0


def test_an_operator_picks_russian_then_uzbek_and_the_choice_follows_the_operator(
    browser, live_server, api, click
) -> None:
    operator("dilnoza", ["check_status"])
    post_json(api, "/payment/click", {"amount": 4990000, "qr_code": "880101698207133393"})
    page = log_in(browser, live_server, "dilnoza")
    page.goto(f"{live_server.url}/admin/payments/payment/")
    assert page.locator("html").get_attribute("lang") == "en"

    with page.expect_navigation():
        page.select_option("#language-choice", "ru")  # the menu sends itself
    assert page.locator("html").get_attribute("lang") == "ru"
    body = page.text_content("body")  # as written, not as styled (some links are capitals)
    assert "Обзор" in body
    assert "Оплачен" in body
    assert "Русский" in page.inner_text("#language-choice")  # each in its own name

    elsewhere = log_in(browser, live_server, "dilnoza")  # a new browser: no cookie of ours
    elsewhere.goto(f"{live_server.url}/admin/payments/payment/")
    assert elsewhere.locator("html").get_attribute("lang") == "ru"
    with elsewhere.expect_navigation():
        elsewhere.select_option("#language-choice", "uz")
    assert "Umumiy koʻrinish" in elsewhere.text_content("body")
    elsewhere.goto(f"{live_server.url}/admin/payments/payment/overview/")
    assert "Odam aralashuvi kerak" in elsewhere.inner_text("body")


def a_month_of_payments() -> None:
    """Thirty days of a small shop: more in the evening and at the weekend, some declined,
    a few outcomes unknown, receipts not all sent."""
    today = timezone.localdate()
    statuses = [PaymentStatus.PAID] * 8 + [PaymentStatus.FAILED, PaymentStatus.UNKNOWN]
    made = 0
    for back in range(30):
        day = today - timedelta(days=back)
        for hour in (9, 12, 13, 17, 18, 19, 20) if back else (9, 10, 12, 13, 15):
            for provider in ("click", "payme", "humo")[: 1 + (hour + back) % 3]:
                made += 1
                status = statuses[made % len(statuses)]
                receipt = provider != "humo" and status == PaymentStatus.PAID and made % 7
                make_payment(
                    provider=provider,
                    amount=(7 + made * 37 % 90) * 100_000,
                    status=status,
                    created_at=selectors.start_of(day) + timedelta(hours=hour, minutes=made % 60),
                    **({"fiscal_status": "submitted"} if receipt else {}),
                )


def test_the_overview_draws_the_day_and_the_month_in_the_operators_language(
    browser, live_server
) -> None:
    a_month_of_payments()
    user = operator("elena", [])
    page = log_in(browser, live_server, "elena")
    page.goto(f"{live_server.url}/admin/payments/payment/overview/")
    charts = page.locator("figure.chart")
    assert charts.count() == 4
    for index in range(4):
        box = charts.nth(index).locator("svg").bounding_box()
        assert box is not None
        assert box["width"] > 300  # drawn, not collapsed
        assert box["height"] > 80
    assert page.locator("#paid-per-day rect").count() > 20  # a bar a day, a part a provider
    assert page.locator("#troubles-per-day rect").count() > 5
    assert "Paid per hour, today" in page.inner_text("#paid-per-hour figcaption")
    assert page.locator("#shares svg.meter").count() == 3 * 4  # three shares per provider

    # An unknown outcome waits for a person: its count leads to the payments.
    page.click("#waiting a[href*='status__exact=unknown']")
    page.wait_for_load_state()
    listed = page.locator("#result_list tbody tr").count()
    assert listed == Payment.objects.filter(status=PaymentStatus.UNKNOWN).count() > 0

    OperatorLanguage.objects.create(user=user, language="ru")
    page.goto(f"{live_server.url}/admin/payments/payment/overview/")
    assert "Оплачено по часам, сегодня" in page.inner_text("#paid-per-hour figcaption")
    assert "Что пошло не так" in page.inner_text("body")
