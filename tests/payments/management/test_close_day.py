"""manage.py close_day: the terminal's totals against ours."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.models import Payment, PaymentStatus
from pinpad.slips import ShiftTotals, parse_totals
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def close_day(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("close_day", *args, stdout=out, stderr=StringIO())
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()


def test_totals_match_and_the_shift_closes(api, pinpad) -> None:
    kept = post_json(api, "/payment/xumo", {"amount": 150000})["data"]["ppt_id"]
    post_json(api, "/payment/xumo", {"amount": 25050})
    post_json(api, "/payment/xumo", {"amount": 50116})  # declined
    post_json(api, "/payment/xumo", {"amount": 150000, "request_id": kept, "is_return": True})
    code, out = close_day()
    assert code == 0
    assert "purchases          2         2" in out
    assert "purchase sum, UZS  1\u00a0750.50  1\u00a0750.50" in out
    assert "DIFFERS" not in out
    assert pinpad.shift == 2
    # The next shift starts from zero, on both sides.
    assert close_day()[0] == 0


def test_a_purchase_we_do_not_know_as_paid_makes_them_differ(api, pinpad) -> None:
    post_json(api, "/payment/xumo", {"amount": 50000})
    Payment.objects.update(status=PaymentStatus.UNKNOWN)  # as a lost answer would leave it
    code, out = close_day()
    assert code == 2
    assert "DIFFERS" in out


def test_dry_run_shows_our_totals_and_closes_nothing(api, pinpad) -> None:
    post_json(api, "/payment/xumo", {"amount": 50000})
    code, out = close_day("--dry-run")
    assert code == 0
    assert "purchases          1" in out
    assert pinpad.shift == 1


def test_no_terminal_is_exit_2(settings) -> None:
    settings.PINPAD_URL = ""
    assert close_day()[0] == 2


def test_report_totals_parse() -> None:
    report = "ОПЛАТА                             2\nСУММА                    1750.50 UZS\n"
    report += "ОТМЕНА                             1\nСУММА                    1500.00 UZS\n"
    assert parse_totals(report) == ShiftTotals(2, 175050, 1, 150000)
    assert parse_totals("nothing here") is None
