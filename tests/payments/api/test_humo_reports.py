"""The HUMO shift's report so far, and the last slip and end-of-day report again after a
paper jam (from our records, without touching the terminal)."""

import pytest

from tests.helpers import post_json

pytestmark = pytest.mark.django_db


def get(api, path: str) -> dict:
    response = api.get(path)
    assert response.status_code == 200
    return response.json()


def test_the_shift_report_prints_the_totals_so_far_and_the_shift_stays_open(api, pinpad) -> None:
    post_json(api, "/payment/xumo", {"amount": 150000})
    report = get(api, "/payment/xumo_shortreport/")["data"]
    assert report["ppt_id"] is None
    assert "Промежуточный отчет" in report["message"]
    assert "Смена не закрыта" in report["message"]
    assert [line.split() for line in report["message"].splitlines() if "ОПЛАТА" in line] == [
        ["ОПЛАТА", "1"]
    ]
    assert pinpad.shift == 1  # still open
    closed = get(api, "/payment/xumo_close")["data"]["message"]
    assert "Отчет закрытия смены" in closed
    assert [line.split() for line in closed.splitlines() if "ОПЛАТА" in line] == [["ОПЛАТА", "1"]]
    assert [a for a, _, _ in pinpad.requests] == ["0", "X", "B"]


def test_head_of_the_shift_report_runs_nothing_and_allow_says_so(api, pinpad) -> None:
    response = api.head("/payment/xumo_shortreport")
    assert response.status_code == 405
    assert "HEAD" not in response["Allow"]
    assert pinpad.requests == []


def test_concert_e_plus_has_no_shift_report_and_nothing_is_sent(api, pinpad_e_plus) -> None:
    answer = get(api, "/payment/xumo_shortreport")
    assert answer["error"]["code"] == 108
    assert answer["error"]["data"]["reason"] == "unsupported"
    assert pinpad_e_plus.requests == []


def test_the_last_slip_again_comes_from_our_records(api, pinpad) -> None:
    assert get(api, "/payment/xumo/print_last")["error"]["data"]["reason"] == "not_found"
    bought = post_json(api, "/payment/xumo", {"amount": 100000})["data"]
    again = get(api, "/payment/xumo/print_last")["data"]
    assert (again["message"], again["ppt_id"], again["transaction_id"]) == (
        bought["message"],
        bought["ppt_id"],
        bought["transaction_id"],
    )
    returned = post_json(
        api, "/payment/refund", {"transaction_id": bought["transaction_id"], "amount": 100}
    )["data"]
    assert get(api, "/payment/xumo/print_last/")["data"]["message"] == returned["message"]
    assert [a for a, _, _ in pinpad.requests] == ["0", "2"]  # the terminal was not asked


def test_the_last_end_of_day_report_again_comes_from_our_records(api, pinpad) -> None:
    assert get(api, "/payment/xumo_close/print_last")["error"]["data"]["reason"] == "not_found"
    closed = get(api, "/payment/xumo_close")["data"]
    again = get(api, "/payment/xumo_close/print_last")["data"]
    assert again == closed
    assert [a for a, _, _ in pinpad.requests] == ["B"]
