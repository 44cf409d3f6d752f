from datetime import datetime

import pytest

from payments.ofd import InvalidReceiptUrlError, parse_receipt_url
from tests.helpers import SEED_URL


def test_parses_the_seed_receipt_url() -> None:
    receipt = parse_receipt_url(SEED_URL)
    assert receipt.url == SEED_URL
    assert receipt.terminal_id == "UZ170703100597"
    assert receipt.receipt_number == "2421"
    assert receipt.issued_at == datetime(2023, 1, 4, 12, 18, 1)  # noqa: DTZ001 (printed local)
    assert receipt.fiscal_sign == "514343190161"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (SEED_URL.replace("https://", "http://"), "https://"),
        (SEED_URL.replace("ofd.soliq.uz", "evil.example.com"), "host"),
        (SEED_URL.replace("t=UZ170703100597&", ""), "'t'"),
        (SEED_URL.replace("&s=514343190161", ""), "'s'"),
        (SEED_URL.replace("r=2421", "r=24a1"), "'r'"),
        (SEED_URL.replace("s=514343190161", "s=51434319016x"), "'s'"),
        (SEED_URL.replace("c=20230104121801", "c=20231304121801"), "'c'"),
        (SEED_URL.replace("c=20230104121801", "c=2023010412180"), "'c'"),
        (SEED_URL.replace("r=2421", "r=٢٤٢١"), "'r'"),
        ("not a url", "https://"),
    ],
)
def test_rejects_a_bad_url_naming_the_problem(url: str, reason: str) -> None:
    with pytest.raises(InvalidReceiptUrlError, match=reason):
        parse_receipt_url(url)


def test_allowed_hosts_come_from_settings(settings) -> None:
    settings.OFD_ALLOWED_HOSTS = ["ofd.example.uz"]
    with pytest.raises(InvalidReceiptUrlError):
        parse_receipt_url(SEED_URL)
    assert parse_receipt_url(SEED_URL.replace("ofd.soliq.uz", "OFD.example.uz")).fiscal_sign
