"""The PIN pad service over a real pseudo-terminal, against the emulator: every fault of
the reference's §9 that applies. None may hang or claim a decline it does not know."""

import threading

import pytest

from pinpad.messages import Action
from pinpad.service import Pinpad, Status
from tests.conftest import FAST_LINK, PINPAD_ANSWER_WAIT
from tests.factories import pinpad_account

# The longest any single operation should take here (the link's retries plus the answer
# wait), and the point past which it counts as hanging: ten times that, so that a loaded
# machine cannot turn a slow answer into a failure, while a missing deadline still would.
DEADLINE = PINPAD_ANSWER_WAIT + 3 * (FAST_LINK["enq_wait"] + FAST_LINK["frame_ack_wait"]) + 1.0
HANGING = 10 * DEADLINE


def timed(call):
    """The call's result; fails if it never returns (a deadline is missing)."""
    results: list = []

    def run() -> None:
        try:
            results.append(call())
        except BaseException as exc:  # handed to the test's thread below
            results.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANGING)
    assert results, f"still running after {HANGING:.0f}s: a deadline is missing"
    if isinstance(results[0], BaseException):
        raise results[0]
    return results[0]


@pytest.fixture
def pad(pinpad, settings) -> Pinpad:
    """The library as the service uses it, on the emulator's line."""
    return pinpad_account().pinpad()


def test_purchase_is_approved_with_slip_and_rrn(pad, pinpad) -> None:
    result = timed(lambda: pad.purchase(50000, "order-1"))
    assert result.status == Status.APPROVED
    assert result.host_code == "000"
    assert len(result.rrn) == 12
    assert result.rrn.isdigit()
    assert result.answer.auth_code.isdigit()
    assert result.answer.masked_pan == "986009******7856"
    assert "ОДОБРЕНО" in result.slip
    assert f"RRN:{result.rrn}" in result.slip
    assert "СУММА:                    500.00 UZS" in result.slip
    assert all(len(line) <= 36 for line in result.slip.splitlines())
    assert pinpad.requests == [(Action.PURCHASE, 50000, "order-1")]


@pytest.mark.parametrize("code", ["116", "117", "303"])
def test_a_decline_carries_the_host_code(pad, code: str) -> None:
    result = timed(lambda: pad.purchase(50000 + int(code), "order-d"))
    assert result.status == Status.DECLINED
    assert result.host_code == code
    assert "ОТКАЗ" in result.slip


def test_busy_terminal_is_busy_not_declined(pad) -> None:
    result = timed(lambda: pad.purchase(50984, "order-b"))
    assert result.status == Status.BUSY
    assert result.host_code == "984"


def test_slow_pin_entry_within_the_wait_is_approved(pad) -> None:
    result = timed(lambda: pad.purchase(50901, "order-slow"))
    assert result.status == Status.APPROVED


def test_slow_pin_past_the_wait_is_unknown_and_the_late_answer_is_kept(pad, pinpad) -> None:
    pinpad.slow_seconds = PINPAD_ANSWER_WAIT + 0.5
    result = timed(lambda: pad.purchase(50901, "order-late"))
    assert result.status == Status.UNKNOWN  # never "declined"
    # The late answer arrives while we ask for the last transaction, and is kept.
    last = timed(pad.last_transaction)
    late = [a.order_id for a in last.stale] + (
        [last.answer.order_id] if last.answer is not None else []
    )
    assert "order-late" in late


def test_nak_once_to_our_frame_is_resent(pad) -> None:
    result = timed(lambda: pad.purchase(50902, "order-nak"))
    assert result.status == Status.APPROVED
    frame_sent = result.trace[2]
    assert result.trace[:5] == [">ENQ", "<ACK", frame_sent, "<NAK", frame_sent]


def test_bad_lrc_in_the_answer_is_naked_and_the_resend_taken(pad) -> None:
    result = timed(lambda: pad.purchase(50903, "order-lrc"))
    assert result.status == Status.APPROVED
    assert "<bad frame (LRC mismatch)" in result.trace
    assert result.trace[result.trace.index("<bad frame (LRC mismatch)") + 1] == ">NAK"


def test_truncated_answer_is_naked_and_the_resend_taken(pad) -> None:
    result = timed(lambda: pad.purchase(50904, "order-cut"))
    assert result.status == Status.APPROVED
    assert "<bad frame (truncated)" in result.trace


def test_stale_answer_of_an_earlier_transaction_is_set_aside(pad) -> None:
    first = pad.purchase(50000, "order-earlier")
    result = timed(lambda: pad.purchase(50905, "order-now"))
    assert result.status == Status.APPROVED
    assert result.answer.order_id == "order-now"
    assert [a.order_id for a in result.stale] == ["order-earlier"]
    assert result.stale[0].rrn == first.rrn


def test_answer_never_comes_is_unknown_and_last_transaction_finds_it(pad) -> None:
    result = timed(lambda: pad.purchase(50906, "order-lost"))
    assert result.status == Status.UNKNOWN
    assert result.answer is None
    last = timed(pad.last_transaction)
    assert last.status == Status.APPROVED
    assert (last.answer.order_id, last.answer.reported_action) == ("order-lost", Action.PURCHASE)


def test_silence_with_nothing_done_stays_unknown(pad) -> None:
    pad.purchase(50000, "order-before")
    result = timed(lambda: pad.purchase(50907, "order-silent"))
    assert result.status == Status.UNKNOWN
    last = timed(pad.last_transaction)
    assert last.answer.order_id == "order-before"  # not ours: the operator must look


def test_unplug_after_our_frame_is_unknown_and_the_line_comes_back(pad, pinpad) -> None:
    result = timed(lambda: pad.purchase(50908, "order-unplug"))
    assert result.status == Status.UNKNOWN
    assert "LinkLost" in result.reason
    # The emulator made a new pty behind the same path; the next operation reopens it.
    assert timed(lambda: pad.purchase(50000, "order-after")).status == Status.APPROVED


def test_our_frame_naked_every_time_is_unavailable_not_unknown(pad, pinpad) -> None:
    result = timed(lambda: pad.purchase(50912, "order-refused"))
    assert result.status == Status.UNAVAILABLE  # the terminal refused it: nothing was done
    assert result.trace.count("<NAK") == FAST_LINK["transmissions"]
    assert pinpad.requests == []


def test_no_ack_or_nak_to_our_frame_is_unknown(pad) -> None:
    result = timed(lambda: pad.purchase(50910, "order-mute"))
    assert result.status == Status.UNKNOWN
    frame_sent = result.trace[2]
    assert result.trace == [">ENQ", "<ACK", frame_sent, frame_sent, frame_sent, ">EOT"]


def test_answer_garbled_every_time_is_unknown(pad) -> None:
    result = timed(lambda: pad.purchase(50911, "order-garbled"))
    assert result.status == Status.UNKNOWN
    assert result.trace.count(">NAK") == 3
    last = timed(pad.last_transaction)
    assert last.answer.order_id == "order-garbled"
    assert last.status == Status.APPROVED


def test_no_ack_to_enq_is_unavailable_and_nothing_was_sent(pad, pinpad) -> None:
    pinpad.switched_off = True
    result = timed(lambda: pad.purchase(50000, "order-off"))
    assert result.status == Status.UNAVAILABLE
    assert result.trace.count(">ENQ") == FAST_LINK["enq_attempts"]
    assert not any(event.endswith("B") for event in result.trace)  # no frame went out
    assert pinpad.requests == []


def test_a_line_that_cannot_be_opened_is_unavailable(pad, settings, tmp_path) -> None:
    settings.PINPAD_URL = str(tmp_path / "no-such-device")
    result = timed(lambda: pinpad_account().pinpad().purchase(50000, "order-x"))
    assert result.status == Status.UNAVAILABLE
    assert "cannot open" in result.reason


def test_cancel_by_rrn_reads_code_400_as_approved(pad) -> None:
    purchase = pad.purchase(70000, "order-p")
    result = timed(lambda: pad.cancel(purchase.rrn, 70000, "order-c"))
    assert result.status == Status.APPROVED
    assert result.host_code == "400"
    assert "Отмена (CANCEL)" in result.slip
    assert f"RRN(ссылка) :{purchase.rrn}" in result.slip
    assert result.rrn != purchase.rrn


@pytest.mark.parametrize(
    ("rrn_of", "amount", "code"),
    [("unknown", 70000, "914"), ("purchase", 70001, "915"), ("cancelled", 70000, "218")],
)
def test_cancel_refusals_carry_the_host_code(pad, rrn_of, amount, code) -> None:
    purchase = pad.purchase(70000, "order-p")
    if rrn_of == "cancelled":
        assert pad.cancel(purchase.rrn, 70000, "order-c1").status == Status.APPROVED
    rrn = "600000000000" if rrn_of == "unknown" else purchase.rrn
    result = timed(lambda: pad.cancel(rrn, amount, "order-c2"))
    assert result.status == Status.DECLINED
    assert result.host_code == code


def test_close_day_report_totals_add_up_and_a_new_shift_starts(pad) -> None:
    kept = pad.purchase(150000, "p1")
    pad.purchase(25050, "p2")
    pad.purchase(50116, "p3")  # declined: not in the totals
    pad.cancel(kept.rrn, 150000, "c1")
    report = timed(pad.close_day)
    assert report.status == Status.APPROVED
    lines = report.slip.splitlines()
    assert "ОПЛАТА                             2" in lines
    assert "СУММА                    1750.50 UZS" in lines
    assert "ОТМЕНА                             1" in lines
    assert "СУММА                    1500.00 UZS" in lines
    assert "ИТОГО                     250.50 UZS" in lines
    assert all(len(line) <= 36 for line in lines)
    after = pad.close_day()
    assert "ОПЛАТА                             0" in after.slip.splitlines()
    assert "Номер смены:                       2" in after.slip.splitlines()
