"""Terminals that misbehave, over a real pseudo-terminal: the driver's claim and the time it
took, for each. No case may claim approved or declined wrongly, and none may hold the line
past its documented bound (the answer wait plus `LinkTiming.exchange_bound()`).

Each case takes our request like a terminal would (ENQ, ACK, frame, ACK, EOT), then plays
its script on the raw line.
"""

import os
import random
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from emulators.pinpad import PtyLine
from pinpad.link import ACK, ENQ, EOT, ETX, STX, Link, LinkTiming, frame, lrc
from pinpad.messages import PinpadAnswer, PinpadRequest
from pinpad.service import Pinpad, Status
from pinpad.transport import LineSettings
from tests.conftest import FAST_LINK
from tests.factories import pinpad_account

TIMING = LinkTiming(**FAST_LINK)
ANSWER_WAIT = 1.5
# The documented bound of one exchange; a little slack for the scheduler, no more.
BOUND = ANSWER_WAIT + TIMING.exchange_bound()
SLACK = 5.0

Script = Callable[[PtyLine, PinpadRequest], None]


def approval(request: PinpadRequest, **changes: object) -> bytes:
    fields = {
        "action": request.action,
        "done": True,
        "host_code": "000",
        "order_id": request.order_id,
        "amount": request.amount,
        "rrn": "231511584547",
        "auth_code": "728892",
        "masked_pan": "986009******7856",
        "terminal_id": "01000002",
        "slip": "ОДОБРЕНО",
        "pos": request.pos,
    }
    return PinpadAnswer(**{**fields, **changes}).encode()


def await_ack(line: PtyLine, wait: float = 2.0) -> None:
    line.timeout = wait
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if line.read(1) == bytes([ACK]):
            return


def answer_session(line: PtyLine, payload: bytes) -> None:
    """Open our session properly and send one good frame."""
    line.write(bytes([ENQ]))
    await_ack(line)
    line.write(frame(payload))
    await_ack(line)
    line.write(bytes([EOT]))


class HostileTerminal:
    def __init__(self, folder: Path, script: Script) -> None:
        self.line = PtyLine(folder / "hostile")
        self.script = script
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        terminal = Link(
            self.line, LinkTiming(**{**FAST_LINK, "first_byte_wait": 5.0}), yields=False
        )
        try:
            request = PinpadRequest.decode(terminal.receive_message(10.0))
            self.script(self.line, request)
        except Exception:  # a hostile peer may die as it likes; the driver is under test
            pass
        finally:
            self.finished.set()

    def close(self) -> None:
        # Pulling the line ends whatever the script still plays.
        self.line.close()
        self.finished.wait(timeout=SLACK)


def run(tmp_path: Path, script: Script) -> tuple[Status, float, object]:
    terminal = HostileTerminal(tmp_path, script)
    pad = Pinpad(
        LineSettings(url=str(terminal.line.link_path), lock_dir=tmp_path, lock_wait=1.0),
        TIMING,
        answer_wait=ANSWER_WAIT,
    )
    started = time.monotonic()
    result = pad.purchase(50000, "ab" * 16)
    elapsed = time.monotonic() - started
    terminal.close()
    return result.status, elapsed, result


def random_bytes(line: PtyLine, request: PinpadRequest) -> None:
    rng = random.Random(7)
    for _ in range(40):
        line.write(bytes(rng.randrange(256) for _ in range(64)))
        time.sleep(0.05)


def printable_garbage(line: PtyLine, request: PinpadRequest) -> None:
    rng = random.Random(8)
    line.write(bytes([ENQ]))
    await_ack(line)
    for _ in range(20):
        line.write(bytes(rng.randrange(0x20, 0x7F) for _ in range(80)))
        time.sleep(0.05)


def bad_lrc_forever(line: PtyLine, request: PinpadRequest) -> None:
    broken = frame(approval(request))
    broken = broken[:-1] + bytes([broken[-1] ^ 0x55])
    line.write(bytes([ENQ]))
    await_ack(line)
    for _ in range(10):
        line.write(broken)
        time.sleep(0.1)


def half_a_frame_then_silence(line: PtyLine, request: PinpadRequest) -> None:
    line.write(bytes([ENQ]))
    await_ack(line)
    whole = frame(approval(request))
    line.write(whole[: len(whole) // 2])


def eot_mid_frame_then_a_clean_restart(line: PtyLine, request: PinpadRequest) -> None:
    line.write(bytes([ENQ]))
    await_ack(line)
    line.write(bytes([EOT]))  # the terminal gives up this session...
    time.sleep(0.1)
    answer_session(line, approval(request))  # ...and starts again, properly


def a_100_kib_frame(line: PtyLine, request: PinpadRequest) -> None:
    line.write(bytes([ENQ]))
    await_ack(line)
    body = b"A" * 100 * 1024 + bytes([ETX])
    line.write(bytes([STX]) + body + bytes([lrc(body)]))


def unplugged_mid_frame(line: PtyLine, request: PinpadRequest) -> None:
    line.write(bytes([ENQ]))
    await_ack(line)
    whole = frame(approval(request))
    line.write(whole[:20])
    time.sleep(0.05)
    os.close(line.master)  # the cable is pulled


def an_enq_flood(line: PtyLine, request: PinpadRequest) -> None:
    for _ in range(2000):
        line.write(bytes([ENQ]))
        time.sleep(0.002)


def one_byte_a_second(line: PtyLine, request: PinpadRequest) -> None:
    """A frame that never ends, each byte just in time to reset the inter-byte gap: the
    test's gap is 0.2 s, so a byte every 0.15 s plays 'one a second' with a 1 s gap. Up to
    the 8 KiB a frame may have, that would be 20 minutes here (hours on a real line)."""
    line.write(bytes([ENQ]))
    await_ack(line)
    line.write(bytes([STX]))
    for _ in range(10_000):
        line.write(b"A")
        time.sleep(0.15)


def approval_of_another_amount(line: PtyLine, request: PinpadRequest) -> None:
    answer_session(line, approval(request, amount=100))


def approval_in_another_currency(line: PtyLine, request: PinpadRequest) -> None:
    answer_session(line, approval(request, currency="978"))


def nul_bytes_in_fields(line: PtyLine, request: PinpadRequest) -> None:
    answer_session(line, approval(request).replace(b"728892", b"72\x00892"))


def a_full_card_number(line: PtyLine, request: PinpadRequest) -> None:
    answer_session(line, approval(request, masked_pan="9860091234567856"))


UNKNOWN = {Status.UNKNOWN}
CASES = {
    "random bytes": (random_bytes, UNKNOWN),
    "printable garbage": (printable_garbage, UNKNOWN),
    "bad LRC forever": (bad_lrc_forever, UNKNOWN),
    "half a frame, then silence": (half_a_frame_then_silence, UNKNOWN),
    "EOT mid-frame, then a clean restart": (eot_mid_frame_then_a_clean_restart, {Status.APPROVED}),
    "a 100 KiB frame": (a_100_kib_frame, UNKNOWN),
    "unplugged mid-frame": (unplugged_mid_frame, UNKNOWN),
    "an ENQ flood": (an_enq_flood, UNKNOWN),
    "one byte a second": (one_byte_a_second, UNKNOWN),
    "approval of another amount": (approval_of_another_amount, UNKNOWN),
    "approval in another currency": (approval_in_another_currency, UNKNOWN),
    "NUL bytes in fields": (nul_bytes_in_fields, UNKNOWN),
    "a full card number": (a_full_card_number, {Status.APPROVED}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_terminal_gets_no_false_claim_and_no_endless_hold(tmp_path, case: str) -> None:
    script, allowed = CASES[case]
    status, elapsed, result = run(tmp_path, script)
    print(f"{case}: {status} in {elapsed:.1f} s ({result.reason})")
    assert status in allowed, result.reason
    assert elapsed <= BOUND + SLACK
    assert len(result.trace) <= 201  # the journal's trace of one exchange is bounded
    if result.answer is not None:
        assert result.answer.masked_pan in ("", "986009******7856")


def test_a_concert_probe_leaves_the_emulator_ready_for_the_next_purchase(pinpad) -> None:
    """A Concert client's health check (ENQ, ACK, EOT) ends the session it opened: the next
    transaction goes through."""
    line = os.open(pinpad.line.path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(line, bytes([ENQ]))
        ready, _, _ = select.select([line], [], [], 5.0)
        assert ready
        assert os.read(line, 1) == bytes([ACK])
        os.write(line, bytes([EOT]))
    finally:
        os.close(line)
    result = pinpad_account().pinpad().purchase(50000, "cd" * 16)
    assert result.status == Status.APPROVED
    assert result.trace.count(">ENQ") == 1  # taken at once, not after the probe wore off
