"""A HUMO PIN-pad emulator: the terminal's side of our link and messages.

It listens on a pseudo-terminal (the driver opens the real `/dev/pts/N`, or a stable
symlink to it) or on a TCP socket (`socket://host:port`). It keeps a shift: purchases,
cancels by RRN, the end-of-day report with totals that add up, the last transaction.
Slips are in the HUMO layout (36 columns, Cyrillic). Scripted behaviours are picked by the
amount in tiyin of a purchase (or of a cancel, for the link faults), by its last three
digits (docs/emulators.md has the table):

    116, 117, 303  declined with that host code (no funds, wrong PIN, journal full)
    984            busy: nothing done, host code 984
    901            slow PIN entry: answers after --slow-seconds
    902            NAKs our request frame once
    903            the answer's first transmission has a bad LRC
    904            the answer's first transmission is truncated
    905            sends the answer of the previous transaction first (stale), then this one
    906            approved, but the answer never comes (the last-transaction query finds it)
    907            nothing done and never answers
    908            unplugged after taking the request: the line goes away, nothing done
    910            never ACKs or NAKs our request frame (nothing done)
    912            NAKs every transmission of our request frame (nothing done)
    911            approved, but every transmission of the answer has a bad LRC
    920            approves another amount (1.00 UZS) under our order id
    921            approves in another currency (978)
    922            approves with the public Concert V3 tags only (no host code XH)
    923            approves with a NUL byte inside the RRN
    924            approves and sends the full card number, in the answer and on the slip

Run: python -m emulators.pinpad --link .run/pinpad   (or --tcp 8103)
"""

import argparse
import contextlib
import os
import random
import select
import signal
import socket
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from emulators.counters import ChargeCounters
from pinpad.link import ACK, NAK, Link, LinkError, LinkTiming, Silence
from pinpad.messages import (
    ACTION_NAMES,
    CODECS,
    Action,
    MessageError,
    PinpadAnswer,
    PinpadRequest,
)
from pinpad.slips import (
    ShiftTotals,
    SlipData,
    cancel_slip,
    close_day_report,
    purchase_slip,
)

TERMINAL_ID = "01000002"
MERCHANT_ID = "190339999999902"


# --- the line ----------------------------------------------------------------------------


class PtyLine:
    """The master end of a pseudo-terminal. `unplug` closes it (the driver sees the line
    go away) and makes a new one, re-pointing the symlink."""

    def __init__(self, link_path: Path | None = None) -> None:
        self.link_path = link_path
        self.timeout: float | None = None
        self.deaf = False  # swallow everything: a terminal switched off
        self._plug()

    def _plug(self) -> None:
        self.master, self._slave = os.openpty()
        # Raw at once, or the line discipline echoes our bytes back until the driver opens.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        if self.link_path is not None:
            self.link_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.link_path.with_name(self.link_path.name + ".new")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(self.path)
            temporary.replace(self.link_path)
        # Our own slave descriptor stays open, so reading the master never fails with EIO
        # while no driver has the port open.

    @property
    def url(self) -> str:
        return str(self.link_path) if self.link_path is not None else self.path

    def unplug(self) -> None:
        self.close()
        self._plug()

    def close(self) -> None:
        for descriptor in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(descriptor)

    def read(self, size: int = 1) -> bytes:
        ready, _, _ = select.select([self.master], [], [], self.timeout)
        data = os.read(self.master, size) if ready else b""
        return b"" if self.deaf else data

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]
        return len(data)


class TcpLine:
    """One driver connection at a time on a TCP port (`socket://127.0.0.1:PORT`)."""

    def __init__(self, host: str, port: int) -> None:
        self.server = socket.create_server((host, port), reuse_port=False)
        self.timeout: float | None = None
        self.deaf = False
        self.connection: socket.socket | None = None

    @property
    def url(self) -> str:
        host, port = self.server.getsockname()[:2]
        return f"socket://{host}:{port}"

    def read(self, size: int = 1) -> bytes:
        if self.connection is None:
            self.server.settimeout(self.timeout)
            try:
                self.connection, _ = self.server.accept()
            except TimeoutError:
                return b""
        self.connection.settimeout(self.timeout)
        try:
            data = self.connection.recv(size)
        except TimeoutError:
            return b""
        if not data:  # the driver closed its end: wait for the next one
            self.connection.close()
            self.connection = None
        return b"" if self.deaf else data

    def write(self, data: bytes) -> int:
        if self.connection is None:
            raise OSError("no driver connected")
        self.connection.sendall(data)
        return len(data)

    def unplug(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        self.unplug()
        self.server.close()


# --- the terminal ------------------------------------------------------------------------


@dataclass
class Transaction:
    action: str
    order_id: str
    amount: int
    rrn: str
    auth_code: str
    host_code: str
    approved: bool
    number: int
    slip: str
    original_rrn: str = ""
    cancelled_amount: int = 0  # of a purchase: how much of it cancels took back
    # What a misbehaving terminal says of it (the scripted money faults, 920-924).
    currency: str = "860"
    pan: str = "986009******7856"
    public_tags_only: bool = False  # no host code of ours (XH): Concert V3 tags alone


# Money faults: what the terminal records and says, by the purchase's scenario.
FULL_PAN = "9860091234567856"


def _misbehave(record: Transaction, scenario: int) -> Transaction:
    if scenario == 920:  # approves another amount (1.00 UZS)
        return replace(record, amount=100)
    if scenario == 921:  # approves in another currency (EUR)
        return replace(record, currency="978")
    if scenario == 922:  # answers with the public V3 tags only
        return replace(record, public_tags_only=True)
    if scenario == 923:  # a NUL byte inside the RRN
        return replace(record, rrn=record.rrn[:4] + "\x00" + record.rrn[5:])
    if scenario == 924:  # the full card number, in the answer and on the slip
        return replace(record, pan=FULL_PAN, slip=record.slip.replace("986009******7856", FULL_PAN))
    return record


class PinpadEmulator:
    def __init__(
        self,
        line: PtyLine | TcpLine,
        timing: LinkTiming | None = None,
        slow_seconds: float = 5.0,
        protocol: str = "tlv",
    ) -> None:
        self.line = line
        # The messages it speaks: our TLV extension, or public Concert E+ (`--protocol`).
        self.codec = CODECS[protocol]
        self.timing = timing or LinkTiming(first_byte_wait=10.0)
        self.slow_seconds = slow_seconds
        self.shift = 1
        self.transactions: list[Transaction] = []
        self.last: Transaction | None = None
        self.requests: list[tuple[str, int, str]] = []  # (action, amount, order id)
        self.counters = ChargeCounters()  # purchases are the charges, order ids the codes
        self.link_errors: list[str] = []
        self._number = 0
        self._rrn_sequence = random.randint(10_000_000, 50_000_000)
        self._naked: set[str] = set()
        self._stop = threading.Event()

    # --- serving -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            self.serve_one()

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="pinpad-emulator", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def serve_one(self, wait: float = 0.5) -> None:
        """Serve at most one request (returns after `wait` seconds of an idle line)."""
        link = Link(self.line, self.timing, yields=False)
        try:
            payload = link.receive_message(wait, respond=self._respond)
            request = self.codec.decode_request(payload)
        except Silence:
            return
        except (LinkError, MessageError, OSError) as exc:
            self.link_errors.append(f"{type(exc).__name__}: {exc}")
            return
        self.requests.append((request.action, request.amount, request.order_id))
        self.counters.received(
            ACTION_NAMES.get(request.action, request.action),
            is_charge=request.action == Action.PURCHASE,
        )
        scenario = _scenario(request)
        if scenario == 908:
            self.line.unplug()
            return
        if scenario == 907:
            return  # nothing done, nothing said
        previous = self._answer_of(self.last) if self.last else None
        answer = self._handle(request, scenario)
        if scenario == 906:
            return  # done, but the answer never comes
        if scenario == 901:
            time.sleep(self.slow_seconds)
        try:
            if scenario == 905 and previous is not None:
                link.send_message(self.codec.encode_answer(replace(previous, pos=request.pos)))
            link.send_message(
                self.codec.encode_answer(replace(answer, pos=request.pos)),
                outgoing=_fault(scenario),
            )
        except (LinkError, OSError) as exc:
            self.link_errors.append(f"sending: {type(exc).__name__}: {exc}")

    @property
    def switched_off(self) -> bool:
        """A terminal that hears nothing: no ACK to ENQ, ever."""
        return self.line.deaf

    @switched_off.setter
    def switched_off(self, value: bool) -> None:
        self.line.deaf = value

    def _respond(self, payload: bytes) -> int | None:
        try:
            request = self.codec.decode_request(payload)
        except MessageError:
            return NAK
        scenario = _scenario(request)
        if scenario == 910:
            return None
        if scenario == 912:
            return NAK
        if scenario == 902 and request.order_id not in self._naked:
            self._naked.add(request.order_id)
            return NAK
        return ACK

    # --- business ------------------------------------------------------------------------

    def _handle(self, request: PinpadRequest, scenario: int) -> PinpadAnswer:
        if request.action == Action.PURCHASE:
            return self._purchase(request, scenario)
        if request.action == Action.CANCEL:
            return self._cancel(request)
        if request.action == Action.CLOSE_DAY:
            return self._close_day()
        if request.action == Action.LAST_TRANSACTION:
            return self._last_transaction()
        if request.action == Action.SHIFT_REPORT:
            return self._shift_report()
        return PinpadAnswer(action=request.action, done=False, host_code="999")

    def _purchase(self, request: PinpadRequest, scenario: int) -> PinpadAnswer:
        if scenario == 984:
            return PinpadAnswer(
                action=Action.PURCHASE, done=False, host_code="984", order_id=request.order_id
            )
        host_code = f"{scenario:03d}" if scenario in (116, 117, 303) else "000"
        record = self._transact(request, host_code, "000", purchase_slip)
        self.last = _misbehave(record, scenario)
        self.transactions[-1] = self.last
        return self._answer_of(self.last)

    def _cancel(self, request: PinpadRequest) -> PinpadAnswer:
        def cancels(t: Transaction) -> bool:
            if not (t.action == Action.PURCHASE and t.approved):
                return False
            if request.original_rrn:
                return t.rrn == request.original_rrn
            # Concert E+ cannot name the purchase: as a terminal that asks for the card,
            # take the latest one with that much left.
            return t.amount - t.cancelled_amount >= request.amount

        original = next((t for t in reversed(self.transactions) if cancels(t)), None)
        if original is None:
            host_code = "914"  # original not found
        elif original.cancelled_amount >= original.amount:
            host_code = "218"  # already cancelled
        elif request.amount > original.amount - original.cancelled_amount:
            host_code = "915"  # more than what is left of the original
        else:
            host_code = "400"  # how an approved cancel reads on HUMO slips

        def slip(data: SlipData, approved: bool) -> str:
            return cancel_slip(data, request.original_rrn, approved)

        record = self._transact(request, host_code, "400", slip)
        if record.approved and original is not None:
            original.cancelled_amount += request.amount
        return self._answer_of(record)

    def _transact(
        self,
        request: PinpadRequest,
        host_code: str,
        approval_code: str,
        make_slip: Callable[[SlipData, bool], str],
    ) -> Transaction:
        """Record one purchase or cancel of the shift, with its slip."""
        approved = host_code == approval_code
        number = self._next_number()
        data = self._slip_data(number, request.amount, host_code, approved)
        record = Transaction(
            action=request.action,
            order_id=request.order_id,
            amount=request.amount,
            rrn=data.rrn,
            auth_code=data.auth_code,
            host_code=host_code,
            approved=approved,
            number=number,
            slip=make_slip(data, approved),
            original_rrn=request.original_rrn,
        )
        self._record(record)
        if approved and request.action == Action.PURCHASE:
            self.counters.charged(request.order_id)
        return record

    def _shift_report(self) -> PinpadAnswer:
        """The shift's totals so far, printed; nothing is closed or forgotten."""
        return self._report(Action.SHIFT_REPORT, closing=False)

    def _close_day(self) -> PinpadAnswer:
        answer = self._report(Action.CLOSE_DAY, closing=True)
        self.shift += 1
        self.transactions = []
        self._number = 0
        return answer

    def _report(self, action: str, *, closing: bool) -> PinpadAnswer:
        """The shift's report as printed: at its end of day (`closing`), or so far."""
        totals = self.totals()
        report = close_day_report(
            TERMINAL_ID, MERCHANT_ID, self.shift, totals, _now(), closing=closing
        )
        return PinpadAnswer(
            action=action,
            done=True,
            host_code="000",
            terminal_id=TERMINAL_ID,
            shift=str(self.shift),
            slip=report,
        )

    def _last_transaction(self) -> PinpadAnswer:
        if self.last is None:
            return PinpadAnswer(action=Action.LAST_TRANSACTION, done=False, host_code="202")
        last = self._answer_of(self.last)
        return PinpadAnswer(
            **{**last.__dict__, "action": Action.LAST_TRANSACTION, "reported_action": last.action}
        )

    def stats(self) -> dict:
        """The same counters as the HTTP emulators'."""
        return self.counters.stats()

    def totals(self) -> ShiftTotals:
        approved = [t for t in self.transactions if t.approved]
        purchases = [t for t in approved if t.action == Action.PURCHASE]
        cancels = [t for t in approved if t.action == Action.CANCEL]
        return ShiftTotals(
            purchases=len(purchases),
            purchase_amount=sum(t.amount for t in purchases),
            cancels=len(cancels),
            cancel_amount=sum(t.amount for t in cancels),
        )

    def _record(self, record: Transaction) -> None:
        self.transactions.append(record)
        self.last = record

    def _answer_of(self, record: Transaction) -> PinpadAnswer:
        return PinpadAnswer(
            action=record.action,
            done=record.approved,
            host_code="" if record.public_tags_only else record.host_code,
            order_id=record.order_id,
            amount=record.amount,
            rrn=record.rrn,
            auth_code=record.auth_code,
            masked_pan=record.pan,
            terminal_id=TERMINAL_ID,
            slip_number=str(record.number),
            shift=str(self.shift),
            original_rrn=record.original_rrn,
            slip=record.slip,
            currency=record.currency,
        )

    def _next_number(self) -> int:
        self._number += 1
        return self._number

    def _slip_data(self, number: int, amount: int, host_code: str, approved: bool) -> SlipData:
        when = _now()
        self._rrn_sequence += 1
        # RRNs start with the year's last digit and the day of the year, as HUMO's do.
        rrn = f"{when.year % 10}{when.timetuple().tm_yday:03d}{self._rrn_sequence:08d}"
        return SlipData(
            terminal_id=TERMINAL_ID,
            merchant_id=MERCHANT_ID,
            shift=self.shift,
            number=number,
            amount=amount,
            rrn=rrn,
            auth_code=f"{random.randint(100000, 999999)}" if approved else "",
            host_code=host_code,
            masked_pan="986009******7856",
            when=when,
        )


def _scenario(request: PinpadRequest) -> int:
    """The scripted behaviour: the last three digits of a purchase's or a cancel's amount."""
    return request.amount % 1000 if request.action in (Action.PURCHASE, Action.CANCEL) else 0


def _fault(scenario: int):
    """The answer's transmission filter for the scripted link faults."""
    if scenario == 903:
        return lambda n, data: data[:-1] + bytes([data[-1] ^ 0x55]) if n == 0 else data
    if scenario == 904:
        return lambda n, data: data[: len(data) // 2] if n == 0 else data
    if scenario == 911:
        return lambda n, data: data[:-1] + bytes([data[-1] ^ 0x55])
    return None


def _now() -> datetime:
    return datetime.now().astimezone()


def main() -> None:
    parser = argparse.ArgumentParser(description="HUMO PIN-pad emulator")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--link", type=Path, help="symlink to create to the pty")
    where.add_argument("--tcp", type=int, help="listen on this TCP port instead")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument(
        "--protocol", choices=sorted(CODECS), default="tlv", help="the messages it speaks"
    )
    args = parser.parse_args()
    line = TcpLine(args.host, args.tcp) if args.tcp else PtyLine(args.link)
    emulator = PinpadEmulator(line, slow_seconds=args.slow_seconds, protocol=args.protocol)
    where_to = f"{line.url} -> {line.path}" if isinstance(line, PtyLine) else line.url
    print(f"PIN pad emulator on {where_to}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: emulator.stop())
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        line.close()
        if isinstance(line, PtyLine) and line.link_path is not None:
            line.link_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
