"""manage.py close_day: the terminal's totals against ours."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from payments.models import Payment, PaymentStatus
from payments.services import end_of_day
from payments.services.charging import send
from pinpad.slips import ShiftTotals, parse_totals
from providers.humo.gateway import GATEWAY as HUMO
from tests.factories import make_payment, shop_register
from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def close_day(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("close_day", *args, stdout=out, stderr=StringIO())
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()


def row(out: str, label: str) -> list[str]:
    """A row of the totals table: ours, the terminal's, and DIFFERS when they do."""
    line = next(line for line in out.splitlines() if line.startswith(label + "  "))
    return re.split(r"\s{2,}", line.removeprefix(label).strip())


def test_totals_match_and_the_shift_closes(api, pinpad) -> None:
    kept = post_json(api, "/payment/xumo", {"amount": 150000})["data"]["ppt_id"]
    post_json(api, "/payment/xumo", {"amount": 25050})
    post_json(api, "/payment/xumo", {"amount": 50116})  # declined
    post_json(api, "/payment/xumo", {"amount": 150000, "request_id": kept, "is_return": True})
    code, out = close_day()
    assert code == 0
    assert row(out, "purchases") == ["2", "2"]
    assert row(out, "purchase sum, UZS") == ["1\u00a0750.50", "1\u00a0750.50"]
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


def test_an_unreachable_terminal_is_exit_2(shop, settings, tmp_path) -> None:
    settings.PINPAD_URL = str(tmp_path / "no-such-port")
    shop_register()
    code, out = close_day()
    assert code == 2
    assert "the PIN pad did not close the day" in out


def test_no_register_with_a_terminal_is_exit_2(shop) -> None:
    shop.accounts.remove(*shop.accounts.filter(provider="humo"))
    code, _ = close_day()
    assert code == 2


def test_report_totals_parse() -> None:
    report = "ОПЛАТА                             2\nСУММА                    1750.50 UZS\n"
    report += "ОТМЕНА                             1\nСУММА                    1500.00 UZS\n"
    assert parse_totals(report) == ShiftTotals(2, 175050, 1, 150000)
    assert parse_totals("nothing here") is None


def test_the_shift_is_what_took_the_line_between_two_ends_of_day(api, pinpad) -> None:
    """A purchase whose row was made before the close but which reached the terminal after
    it belongs to the next shift, on both sides: no false mismatch today, no amount missing
    tomorrow."""
    post_json(api, "/payment/xumo", {"amount": 150000})
    waiting = make_payment(provider="humo", amount=25050)  # its request is queued
    code, out = close_day()
    assert code == 0, out
    assert row(out, "purchases") == ["1", "1"]
    send(waiting, HUMO.charge)  # now it takes the line: shift 2
    code, out = close_day()
    assert code == 0, out
    assert row(out, "purchases") == ["1", "1"]
    assert row(out, "purchase sum, UZS") == ["250.50", "250.50"]


def test_an_answer_still_being_recorded_is_counted_in_its_shift(api, pinpad, monkeypatch) -> None:
    """The close can take the line a moment after a purchase's answer came and before its row
    says paid: the totals wait for it rather than report a mismatch."""
    post_json(api, "/payment/xumo", {"amount": 150000})
    purchase = Payment.objects.get()
    Payment.objects.filter(pk=purchase.pk).update(status=PaymentStatus.PROCESSING)
    real = end_of_day.shift_still_recording
    seen: list[bool] = []

    def recorded_while_waiting(provider: str, register: object, **window: object) -> bool:
        still = real(provider, register, **window)
        if still:  # the request that got the answer writes it now
            Payment.objects.filter(pk=purchase.pk).update(status=PaymentStatus.PAID)
        seen.append(still)
        return still

    monkeypatch.setattr(end_of_day, "shift_still_recording", recorded_while_waiting)
    code, out = close_day()
    assert code == 0, out
    assert row(out, "purchases") == ["1", "1"]
    assert seen[0] is True  # it waited for the answer being written
