"""One holder of the line at a time: threads, processes, and a port that goes away."""

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emulators.pinpad import PinpadEmulator, TcpLine
from pinpad.link import LinkTiming
from pinpad.service import Pinpad, Status
from pinpad.transport import LineSettings, PinpadBusy, line_lock, line_present
from tests.conftest import FAST_LINK
from tests.factories import pinpad_account

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_holder_is_busy_at_once_when_it_may_not_wait(tmp_path) -> None:
    line = LineSettings(url="/dev/null", lock_dir=tmp_path, lock_wait=0)
    with line_lock(line), pytest.raises(PinpadBusy), line_lock(line):
        pass


def test_a_second_holder_waits_then_gives_up(tmp_path) -> None:
    line = LineSettings(url="/dev/null", lock_dir=tmp_path, lock_wait=0.3)
    with line_lock(line):
        started = time.monotonic()
        with pytest.raises(PinpadBusy), line_lock(line):
            pass
        # It waited its turn (a lower bound no load can break), then said busy.
        assert time.monotonic() - started >= 0.3


def test_the_lock_is_free_again_after_use(tmp_path) -> None:
    line = LineSettings(url="/dev/null", lock_dir=tmp_path, lock_wait=0)
    held = []
    for turn in range(2):  # the second would be PinpadBusy if the first had kept it
        with line_lock(line):
            held.append(turn)
    assert held == [0, 1]


def test_threads_of_one_process_take_turns_on_the_line(pinpad, settings) -> None:
    results = []

    def one(order: str) -> None:
        results.append(pinpad_account().pinpad().purchase(50000, order))

    threads = [threading.Thread(target=one, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [r.status for r in results] == [Status.APPROVED] * 3
    assert sorted(order for _, _, order in pinpad.requests) == ["t0", "t1", "t2"]
    assert pinpad.link_errors == []


DRIVER = """
import json, sys
from pathlib import Path
from emulators.pinpad import PinpadEmulator, TcpLine
from pinpad.link import LinkTiming
from pinpad.service import Pinpad
from pinpad.transport import LineSettings
url, lock_dir, order, wait, timing = sys.argv[1:6]
line = LineSettings(url=url, lock_dir=Path(lock_dir), lock_wait=float(wait))
pad = Pinpad(line, LinkTiming(**json.loads(timing)), answer_wait=5)
result = pad.purchase(50901, order)  # slow PIN: the line is held for a while
order = result.answer.order_id if result.answer else None
print(json.dumps({"status": str(result.status), "order": order}))
"""


def run_two_processes(pinpad, tmp_path, wait: float) -> list[dict]:
    timing = json.dumps(FAST_LINK)
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                DRIVER,
                pinpad.line.url,
                str(tmp_path),
                f"proc{i}",
                str(wait),
                timing,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    return [json.loads(p.communicate(timeout=60)[0]) for p in processes]


def test_two_processes_at_once_never_interleave_on_the_line(pinpad, tmp_path) -> None:
    pinpad.slow_seconds = 0.5
    answers = run_two_processes(pinpad, tmp_path, wait=10)
    assert sorted(a["order"] for a in answers) == ["proc0", "proc1"]
    assert {a["status"] for a in answers} == {"approved"}
    # Interleaved bytes would have shown up as bad frames or lost sessions on the terminal.
    assert pinpad.link_errors == []
    assert sorted(order for _, _, order in pinpad.requests) == ["proc0", "proc1"]


def test_two_processes_without_waiting_one_is_told_busy(pinpad, tmp_path) -> None:
    pinpad.slow_seconds = 1.0
    answers = run_two_processes(pinpad, tmp_path, wait=0)
    assert sorted(a["status"] for a in answers) == ["approved", "busy"]
    assert len(pinpad.requests) == 1
    assert pinpad.link_errors == []


def test_link_timing_defaults_follow_the_reference() -> None:
    timing = LinkTiming()
    assert (timing.enq_wait, timing.enq_attempts, timing.retry_pause) == (2.0, 3, 1.0)
    assert (timing.frame_ack_wait, timing.transmissions) == (3.0, 3)
    assert (timing.inter_byte_wait, timing.first_byte_wait, timing.eot_wait) == (1.0, 3.0, 2.0)


def test_the_emulator_and_driver_also_speak_over_tcp(tmp_path) -> None:
    line = TcpLine("127.0.0.1", 0)
    emulator = PinpadEmulator(line, LinkTiming(**{**FAST_LINK, "first_byte_wait": 2.0}))
    thread = emulator.start_in_thread()
    try:
        settings = LineSettings(url=line.url, lock_dir=tmp_path, lock_wait=1)
        pad = Pinpad(settings, LinkTiming(**FAST_LINK), answer_wait=2)
        first = pad.purchase(50000, "tcp-1")
        second = pad.cancel(first.rrn, 50000, "tcp-2")  # a new connection per operation
        assert (first.status, second.status) == (Status.APPROVED, Status.APPROVED)
        assert line.url.startswith("socket://127.0.0.1:")
    finally:
        emulator.stop()
        thread.join(timeout=5)
        line.close()


def test_a_line_is_there_or_says_why_not(tmp_path) -> None:
    device = tmp_path / "ttyUSB0"
    assert line_present(str(device)) == f"{device} does not exist"
    device.touch()
    assert line_present(str(device)) is None
    with socket.socket() as listening_socket:
        listening_socket.bind(("127.0.0.1", 0))
        listening_socket.listen()
        port = listening_socket.getsockname()[1]
        assert line_present(f"socket://127.0.0.1:{port}") is None
    assert "does not answer" in line_present(f"socket://127.0.0.1:{port}")
    assert line_present("") == "no line configured"
