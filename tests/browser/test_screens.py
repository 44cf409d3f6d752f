"""The back office on the screens operators have, in each of its languages.

A shop's day and month (payments through the emulators and yesterday's rows, a refund, a
flag raised by reconcile, Payme's manual review) is shown at 1366x768 and 1920x1080 in
English, Russian and Uzbek: the overview, the payment list, a payment's page and the
registers. Each page is photographed (`make docs` keeps the 1366-pixel ones in
docs/screenshots, named like `overview-ru-1366.png`); on the list the columns an operator
searches by are inside the window; on a Russian or Uzbek page no English word is left.

What counts as English: a word of the Russian or Uzbek page that the same page in English
shows too (Uzbek is written in Latin letters, so a Latin word alone proves nothing), and on
a Russian page any Latin word at all; names (ALLOWED) and the shop's own data (register
and operator names) aside, and whatever the page marks `translate="no"` (ids, addresses,
the journal's requests) or `lang` (each language's own name in the menu).
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from payments.models import (
    OperatorLanguage,
    Payment,
    PaymentStatus,
    ProviderAccount,
    Register,
    RegisterKey,
)
from payments.reasons import Code, because
from payments.services import operations
from payments.services.registers import issue_key
from payments.store import change_payment
from tests.browser.conftest import CHROMIUM
from tests.browser.test_back_office import a_month_of_payments
from tests.factories import make_payment
from tests.helpers import SEED_URL, post_json

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

# Names that are the same in every language.
ALLOWED = {"CLICK", "Payme", "Uzum", "HUMO", "UZS", "RRN", "QR", "CSV"}
# The shop's own words: its registers and operators, as it named them.
SHOP = {"Chilonzor", "Yunusobod", "dilnoza", "DILNOZA", "Kassa"}
# Words Uzbek writes as English does: the check would take them for English on an Uzbek
# page ("terminal raqami", "5 ms", "Operator").
SAME_IN_UZBEK = {"terminal", "Terminal", "ms", "operator", "Operator"}
SCREENS = {1366: 768, 1920: 1080}
LANGUAGES = ("en", "ru", "uz")
# The list's columns an operator finds a payment by: all of them inside the window.
KEY_COLUMNS = ("created", "amount_uzs", "status_badge", "transaction", "provider_id", "attention")

# Every piece of text the page shows or says (titles on hover, the menu's options, the
# buttons' values), but what it marks as data or as another language.
PAGE_TEXT = """() => {
  const apart = (el) => el.closest(
    '[translate="no"], script, style, template, noscript, [lang]:not(html)');
  const pieces = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (text && !apart(walker.currentNode.parentElement)) pieces.push(text);
  }
  const labelled = '[title], [placeholder], [aria-label], input[value]';
  for (const el of document.querySelectorAll(labelled)) {
    if (apart(el)) continue;
    for (const name of ['title', 'placeholder', 'aria-label']) {
      if (el.getAttribute(name)) pieces.push(el.getAttribute(name));
    }
    if (['submit', 'button'].includes(el.type)) pieces.push(el.value);
  }
  return pieces;
}"""
# A word is letters alone: a token with a digit in it is a value (an id, a code, a
# register's "Chilonzor-1"), and so is a UUID, whatever letters its parts have.
TOKEN = re.compile(r"[\w'ʻʼ’-]+")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'ʻʼ’]+")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Shot:
    page: str
    language: str
    width: int

    @property
    def name(self) -> str:
        return f"{self.page}-{self.language}-{self.width}.png"


def words(pieces: list[str], data: Iterable[str] = ()) -> set[str]:
    found = set()
    for piece in pieces:
        for value in data:
            piece = piece.replace(value, " ")
        for token in TOKEN.findall(UUID.sub(" ", piece)):
            if not any(c.isdigit() for c in token):
                found.update(LATIN_WORD.findall(token))
    return found - ALLOWED - SHOP


def english_left(
    english: list[str], translated: list[str], language: str, data: Iterable[str] = ()
) -> list[str]:
    """The words of `translated` that are English (see the module's docstring); `data` are
    values the pages show as stored (a key's random prefix)."""
    shown = words(translated, data)
    left = shown & words(english, data) - (SAME_IN_UZBEK if language == "uz" else set())
    if language == "ru":
        left |= shown
    return sorted(left)


def a_shop_day(api) -> dict[str, Payment]:
    """Two registers of a chain, a month of their payments and today's that need a person
    (the first register is named last: the factories make theirs by its first name)."""
    a_month_of_payments()
    charged = post_json(api, "/payment/click", {"amount": 4990000, "qr_code": "880101698207133392"})
    receipt = {"payment_id": charged["data"]["payment_id"], "qrcode": SEED_URL}
    post_json(api, "/payment/click_confirm", receipt)
    refund = {"transaction_id": charged["data"]["transaction_id"], "amount": 1000000}
    assert post_json(api, "/payment/refund", refund)["is_success"]
    review = post_json(api, "/payment/payme", {"amount": 120000, "qr_code": "9809000001"})
    post_json(api, "/payment/click", {"amount": 73000, "qr_code": "99015017000001"})  # declined
    post_json(api, "/payment/xumo", {"amount": 1250000})
    # Yesterday's reconcile flagged an Uzum payment it got no answer about.
    stuck = make_payment(
        provider="uzum",
        status=PaymentStatus.UNKNOWN,
        created_at=timezone.now() - timedelta(days=1),
    )
    change_payment(
        stuck,
        reason=because(Code.FLAGGED, note="no answer from Uzum: server_error"),
        actor="reconcile",
        needs_attention=True,
    )
    first = Register.objects.get()
    first.name = "Chilonzor-1"
    first.save()
    second = Register.objects.create(
        name="Yunusobod-2",
        inn="302345678",
        kkm_id="UZ170703100598",
        device_id="EP000000000599",
        cashbox_code="2",
        networks="10.0.0.0/8",
        active=False,  # the shop closed this till: a flag on the registers' list
    )
    for account in ProviderAccount.objects.all():  # as the shop named its accounts
        account.name = f"{account.get_provider_display()}-{account.pk} Chilonzor"
        account.save()
    issue_key(first, label="Kassa 1")
    issue_key(second, label="Kassa 2")
    return {
        "payment": Payment.objects.get(transaction_id=charged["data"]["transaction_id"]),
        # Payme paused it for a manual review (state 20): a person looks.
        "review": Payment.objects.get(transaction_id=review["error"]["data"]["transaction_id"]),
    }


def operator_of_the_shop() -> User:
    """An operator who may do everything but see payers' phones whole."""
    user = User.objects.create_user("dilnoza", password="a-long-test-password", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="payments").exclude(
            codename__in=["view_personal_data"]
        )
    )
    return user


@pytest.fixture
def screens(browser, live_server, api, click, payme, pinpad, tmp_path) -> Iterator[dict]:
    """Every page of `PAGES` in every language at every width: its text pieces and the
    list's column boxes, with the screenshots taken on the way."""
    shop = a_shop_day(api)
    user = operator_of_the_shop()
    operations.run("check_status", shop["review"], user=user, reason="покупатель у кассы")
    pages = {
        "overview": "/admin/",  # the first page after login
        "list": "/admin/payments/payment/",
        "payment": f"/admin/payments/payment/{shop['payment'].pk}/change/",
        "registers": "/admin/payments/register/",
        "register": f"/admin/payments/register/{shop['payment'].register_id}/change/",
        "actions": "/admin/payments/operatoraction/",
    }
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_load_state()
    seen: dict = {"first": page.url, "text": {}, "columns": {}, "rows": {}}
    yield {
        "pages": pages,
        "page": page,
        "user": user,
        "seen": seen,
        "url": live_server.url,
        "scratch": tmp_path,
    }
    context.close()


# What docs/screenshots keeps (`make docs`): these pages at 1366 pixels, in each language.
DOCUMENTED = ("overview", "list", "payment", "registers")


def visit(screens: dict, shot: Shot, folder: Path) -> list[str]:
    page, user = screens["page"], screens["user"]
    OperatorLanguage.objects.update_or_create(user=user, defaults={"language": shot.language})
    page.set_viewport_size({"width": shot.width, "height": SCREENS[shot.width]})
    page.goto(screens["url"] + screens["pages"][shot.page])
    assert page.locator("html").get_attribute("lang") == shot.language
    kept = shot.width == 1366 and shot.page in DOCUMENTED
    page.screenshot(path=str((folder if kept else screens["scratch"]) / shot.name), full_page=True)
    return page.evaluate(PAGE_TEXT)


def test_the_first_page_after_login_is_the_overview_leading_everywhere(screens) -> None:
    assert screens["seen"]["first"].endswith("/admin/payments/payment/overview/")
    page = screens["page"]
    sections = page.locator("#sections a")
    assert sections.all_inner_texts() == [
        "Overview",
        "Payments",
        "Registers",
        "Provider accounts",
        "Operators' actions",
    ]


@pytest.mark.parametrize("width", SCREENS)
def test_the_list_keeps_the_columns_an_operator_searches_by_in_view(
    screens, screenshots, width
) -> None:
    page = screens["page"]
    for language in LANGUAGES:
        visit(screens, Shot("list", language, width), screenshots)
        # The list scrolls in its own box (beside the filters): a column is in view when it
        # ends inside that box and inside the window.
        box = page.locator("#changelist-form .results").bounding_box()
        assert box
        seen = min(width, box["x"] + box["width"])
        for column in KEY_COLUMNS:
            header = page.locator(f"#result_list th.column-{column}").bounding_box()
            cell = page.locator(f"#result_list tbody tr .field-{column}").first.bounding_box()
            assert header, column
            assert cell, column
            right = max(header["x"] + header["width"], cell["x"] + cell["width"])
            assert right <= seen, f"{column} ends at {right:.0f} px of {seen:.0f} in {language}"
        # One line a payment: a screen shows a dozen of them, not six.
        row = page.locator("#result_list tbody tr").first.bounding_box()
        assert row
        assert row["height"] < 45, f"a row is {row['height']:.0f} px tall"
        # The whole id on hover, and the search finds it whole.
        whole = str(Payment.objects.order_by("-created_at", "-id").first().transaction_id)
        assert page.locator(f"#result_list [title='{whole}']").count() == 1
        page.fill("#searchbar", whole)
        page.press("#searchbar", "Enter")
        page.wait_for_load_state()
        assert page.locator("#result_list tbody tr").count() == 1


def test_the_registers_list_fits_the_smaller_screen(screens, screenshots) -> None:
    page = screens["page"]
    for language in LANGUAGES:
        visit(screens, Shot("registers", language, 1366), screenshots)
        box = page.locator("#changelist-form .results").bounding_box()
        assert box
        for header in page.locator("#result_list thead th").all():
            edge = header.bounding_box()
            assert edge
            right = edge["x"] + edge["width"]
            assert right <= box["x"] + box["width"], f"{header.inner_text()} in {language}"


@pytest.mark.parametrize(
    "name", ["overview", "list", "payment", "registers", "register", "actions"]
)
def test_no_english_is_left_on_a_russian_or_uzbek_page(screens, screenshots, name) -> None:
    english = visit(screens, Shot(name, "en", 1366), screenshots)
    for language in ("ru", "uz"):
        translated = visit(screens, Shot(name, language, 1366), screenshots)
        prefixes = [key.prefix for key in RegisterKey.objects.all()]
        left = english_left(english, translated, language, prefixes)
        assert left == [], f"{name} in {language} still shows: {left}"
    visit(screens, Shot(name, "ru", 1920), screenshots)


def test_the_check_finds_english_on_a_page_in_english() -> None:
    """The check itself: a page compared with itself is all English to it, but names."""
    pieces = ["Payments per hour, today", "CLICK", "Chilonzor-1"]
    assert english_left(pieces, pieces, "uz") == ["Payments", "hour", "per", "today"]
    assert english_left([], ["Оплачен", "Paid"], "ru") == ["Paid"]
