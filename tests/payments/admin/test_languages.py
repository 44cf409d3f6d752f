"""The back office in English, Russian and Uzbek: each operator's own choice, kept; the
register API in English whatever it is asked; every string of ours translated into both."""

import ast
import gettext
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from payments.models import OperatorLanguage, Payment, PaymentStatus
from providers import sayings
from tests.factories import make_payment, operator
from tests.helpers import ROOT, post_json

pytestmark = pytest.mark.django_db

TRANSLATED = ("ru", "uz")
LIST = "/admin/payments/payment/"


# --- the catalogs ------------------------------------------------------------------------

_CALLS = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext"}
_TEMPLATE_TAG = re.compile(
    r"""{%\s*(?:translate|trans)\s+(["'])(.*?)\1(?:\s+context\s+(["'])(.*?)\3)?""", re.S
)
_TEMPLATE_TAG_IN_ATTRIBUTE = re.compile(r"""{%\s*(?:translate|trans)\s+'(.*?)'""")
_TEMPLATE_BLOCK = re.compile(r"{%\s*blocktranslate\b[^%]*%}(.*?){%\s*endblocktranslate\s*%}", re.S)


def marked_in_code() -> set[str]:
    """Every string the project marks for translation (with its context, as the catalog
    keys it: context + EOT + text)."""
    found: set[str] = set()
    code = [*(ROOT / "payments").rglob("*.py"), *(ROOT / "providers").rglob("*.py")]
    for path in code:
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in _CALLS:
                texts = [a.value for a in node.args if isinstance(a, ast.Constant)]
                if node.func.id.startswith("pgettext") and len(texts) >= 2:
                    found.add(f"{texts[0]}\x04{texts[1]}")
                elif texts and isinstance(texts[0], str):
                    found.add(texts[0])
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for _, message, _, context in _TEMPLATE_TAG.findall(text):
            found.add(f"{context}\x04{message}" if context else message)
        found.update(_TEMPLATE_TAG_IN_ATTRIBUTE.findall(text))
        for block in _TEMPLATE_BLOCK.findall(text):
            singular = re.split(r"{%\s*plural\s*%}", block)[0]  # a plural is keyed by it
            found.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", singular))
    # The gateways' own sentences, said from the catalogs when shown (providers.sayings).
    found.update(saying.template for saying in sayings.ALL)
    return found


def catalog(language: str) -> dict[str, str]:
    compiled = ROOT / "locale" / language / "LC_MESSAGES" / "django.mo"
    with compiled.open("rb") as file:
        return gettext.GNUTranslations(file)._catalog  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_of_ours_is_translated(language) -> None:
    strings = marked_in_code()
    assert len(strings) > 150  # the extraction found them at all
    translated = catalog(language)

    def is_translated(message: str) -> bool:
        # A plural message is stored as one text per form: each must be there.
        forms = [text for key, text in translated.items() if key[:1] == (message,)]
        return bool(translated.get(message)) or (bool(forms) and all(forms))

    missing = sorted(s for s in strings if not is_translated(s))
    assert missing == [], f"not translated into {language}: {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_in_the_repository_is_the_one_compiled(language, tmp_path) -> None:
    """The .po file is the source; the install step compiles it. A .po edited without the
    compiled file following would show the operators stale words."""
    source = ROOT / "locale" / language / "LC_MESSAGES" / "django.po"
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(source)], check=True)
    with fresh.open("rb") as file:
        assert gettext.GNUTranslations(file)._catalog == catalog(language)  # type: ignore[attr-defined]


# --- the operator's choice -----------------------------------------------------------------


def test_an_operator_sees_the_default_language_until_choosing(client, settings) -> None:
    settings.LANGUAGE_CODE = "ru"
    client.force_login(operator())
    page = client.get(LIST).content.decode()
    assert 'lang="ru"' in page
    assert "Обзор" in page


def test_an_operators_choice_is_kept_with_the_operator(client) -> None:
    user = operator()
    client.force_login(user)
    answer = client.post(reverse("choose-language"), {"language": "uz", "next": LIST})
    assert answer.status_code == 302
    assert answer["Location"] == LIST
    assert OperatorLanguage.objects.get(user=user).language == "uz"

    client.cookies.clear()  # another computer
    client.force_login(user)
    assert "Umumiy koʻrinish" in client.get(LIST).content.decode()


def test_a_language_nobody_offers_changes_nothing(client) -> None:
    user = operator()
    client.force_login(user)
    client.post(reverse("choose-language"), {"language": "xx", "next": "https://evil.example/"})
    assert not OperatorLanguage.objects.filter(user=user).exists()
    assert 'lang="en"' in client.get(LIST).content.decode()


def test_the_register_api_speaks_english_whatever_it_is_asked(api, click, settings) -> None:
    settings.LANGUAGE_CODE = "ru"
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    body = api.post(
        "/payment/click", {"amount": 500, "qr_code": ""}, format="json", HTTP_ACCEPT_LANGUAGE="ru"
    ).json()
    assert "This field may not be blank." in body["error"]["message"]
    assert post_json(api, "/payment/click", {"amount": 500, "qr_code": "7711000001"})["is_success"]


# --- no English of ours left on the pages ------------------------------------------------------


class _Text(HTMLParser):
    """The text a reader sees, a piece per element (without scripts, styles and
    preformatted data: slips and JSON are the providers' words)."""

    SKIPPED = {"script", "style", "pre", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label") or (
                name == "value" and dict(attrs).get("type") in ("submit", "button")
            ):
                self.pieces.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.pieces.append(" ".join(data.split()))


def visible(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.pieces


def english_left(english: list[str], translated: list[str], data: set[str]) -> list[str]:
    """Pieces that read the same in English and in the translation, and are words (not an
    id, a number, a name or another value the page shows)."""
    same = set(english) & set(translated)
    words = re.compile(r"[A-Za-z]{3,}")
    left = []
    for piece in sorted(same):
        rest = piece
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, " ")
        if words.search(rest):
            left.append(piece)
    return left


@pytest.fixture
def pages(client, api, click):
    """The list, the overview, each action's confirmation and a payment's page (with its
    story), as one operator sees them."""
    user = operator("check_status", "retry_fiscal", "reverse_payment", "settle_payment")
    client.force_login(user)
    paid = make_payment(status=PaymentStatus.PAID, provider_payment_id="4455001")
    unknown = make_payment(status=PaymentStatus.UNKNOWN, needs_attention=True)
    actions = ["check_status", "retry_fiscal", "reverse_payments", "settle_by_hand"]
    charged = post_json(api, "/payment/click", {"amount": 500, "qr_code": "7713000001"})
    charged_pk = Payment.objects.get(transaction_id=charged["data"]["transaction_id"]).pk

    def render(language: str) -> dict[str, str]:
        OperatorLanguage.objects.update_or_create(user=user, defaults={"language": language})
        shown = {
            "list": client.get(LIST).content.decode(),
            "overview": client.get(LIST + "overview/").content.decode(),
        }
        for action in actions:
            selected = {"action": action, "_selected_action": [paid.pk, unknown.pk]}
            shown[action] = client.post(LIST, selected).content.decode()
        for name, pk in (("charged", charged_pk), ("unknown", unknown.pk)):
            shown[name] = client.get(reverse("admin:payments_payment_change", args=[pk])).content
            shown[name] = shown[name].decode()
        return shown

    ids = [str(paid.transaction_id), str(unknown.transaction_id), charged["data"]["transaction_id"]]
    data = {
        "HUMO", "Uzum", "CLICK", "Payme", "CSV", "UZS",
        user.username, paid.register.name, *ids, *(f"{i[:8]}…" for i in ids),
        "English", "Русский", "Oʻzbekcha", "Oʻzbek tili", "receipts.cancel", "retry_fiscal",
        "RRN", "click_pass/payment", charged["data"]["payment_id"], "test set-up", "SUCCESS",
    }  # fmt: skip
    return render, data


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_english_of_ours_is_left_on_the_pages(pages, language) -> None:
    render, data = pages
    english, translated = render("en"), render(language)
    for page, html in translated.items():
        assert f'lang="{language}"' in html, page
        left = english_left(visible(english[page]), visible(html), data)
        assert left == [], f"{page} in {language} still shows: {left}"


def test_the_check_sees_english_left_behind(pages) -> None:
    """The check itself: an English page compared with itself is all English."""
    render, data = pages
    english = render("en")
    assert "Overview" in english_left(visible(english["list"]), visible(english["list"]), data)


def test_settings_offer_the_languages_the_catalogs_have() -> None:
    offered = {code for code, _ in settings.LANGUAGES}
    assert offered == {"en", *TRANSLATED}
    for language in TRANSLATED:
        assert (Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po").is_file()
