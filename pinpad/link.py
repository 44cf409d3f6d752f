"""The Concert-compatible link layer: ENQ/ACK sessions, STX…ETX+LRC frames, ACK/NAK, EOT.

Half duplex, one direction at a time. The same two functions serve both roles: the cash
register sends its request with `send_message` and waits for the answer with
`receive_message`; the terminal (the emulator) does the opposite. Retry counts and
deadlines are ours (`LinkTiming`); the framing, control characters and LRC follow the
public Concert protocol (docs/pinpad-protocol.md).
"""

import contextlib
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

STX, ETX, EOT, ENQ, ACK, NAK = 0x02, 0x03, 0x04, 0x05, 0x06, 0x15

# What a line that went away raises: pyserial's SerialException is an OSError; termios
# errors come from reconfiguring a tty that was hung up.
LINE_ERRORS = (OSError, ValueError, termios.error)
_NAMES = {STX: "STX", ETX: "ETX", EOT: "EOT", ENQ: "ENQ", ACK: "ACK", NAK: "NAK"}


class Port(Protocol):
    """What the link needs of a line: pyserial's Serial, or the emulator's pty master."""

    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


@dataclass(frozen=True)
class LinkTiming:
    enq_wait: float = 2.0  # for the ACK to our ENQ
    enq_attempts: int = 3
    retry_pause: float = 1.0  # after EOT, before the next ENQ attempt
    frame_ack_wait: float = 3.0  # for the ACK/NAK to our frame
    transmissions: int = 3  # of one frame (on NAK or silence), then EOT
    first_byte_wait: float = 3.0  # for STX after we ACKed the peer's ENQ
    inter_byte_wait: float = 1.0  # our own inter-byte deadline inside a frame
    eot_wait: float = 2.0  # for the peer's EOT after our final ACK; missing = warning
    max_frame: int = 8192  # data bytes; real Concert terminals take 512
    frame_wait: float = 15.0  # for a whole frame, STX to LRC (8 KiB at 9600 baud: 8.5 s)

    def exchange_bound(self) -> float:
        """The most one exchange takes besides the wait for the peer's answer: opening our
        session, every transmission of our frame, every transmission of the peer's, the
        closing EOT. With the answer wait, the longest the line is held."""
        opening = self.enq_attempts * (self.enq_wait + self.retry_pause)
        # Yielding to the peer's late answers, at most once per ENQ attempt.
        late_answers = self.enq_attempts * self.transmissions * self.frame_wait
        ours = self.transmissions * self.frame_ack_wait
        theirs = self.transmissions * (self.frame_wait + self.first_byte_wait)
        return opening + late_answers + ours + theirs + self.eot_wait


class LinkError(Exception):
    """The link failed. `delivered` says whether the peer may have accepted our frame:
    False means certainly not (safe to report a failure), True means perhaps."""

    delivered = False


class NoAnswer(LinkError):
    """Our ENQ was never ACKed: the session did not open, nothing was sent."""


class Rejected(LinkError):
    """Every transmission of our frame was NAKed: the peer refused it."""


class Unconfirmed(LinkError):
    """Neither ACK nor NAK after our last transmission: the peer may have taken it."""

    delivered = True


class Garbled(LinkError):
    """The peer's frame stayed unreadable (bad LRC, truncated) through every resend."""

    delivered = True


class Silence(LinkError):
    """The peer did not open its session (ENQ) before the deadline."""

    delivered = True


class Expired(LinkError):
    """The exchange ran past its deadline (a peer that trickles bytes, or floods)."""

    def __init__(self, message: str, *, delivered: bool) -> None:
        super().__init__(message)
        self.delivered = delivered


class LinkLost(LinkError):
    """The line went away (unplugged, closed). `delivered` is set by when it happened."""

    def __init__(self, message: str, *, delivered: bool) -> None:
        super().__init__(message)
        self.delivered = delivered


def lrc(body: bytes) -> int:
    """XOR of every byte after STX up to and including ETX."""
    value = 0
    for byte in body:
        value ^= byte
    return value


def frame(payload: bytes) -> bytes:
    tail = payload + bytes([ETX])
    return bytes([STX]) + tail + bytes([lrc(tail)])


@dataclass
class Trace:
    """What crossed the line, for the journal: `>` sent, `<` received. At most `limit`
    events are kept; past that only their number, so a flooding peer cannot grow it."""

    limit: int = 200
    _events: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, direction: str, what: bytes | str) -> None:
        if len(self._events) >= self.limit:
            self.dropped += 1
            return
        if isinstance(what, bytes):
            what = _NAMES.get(what[0], f"0x{what[0]:02x}") if len(what) == 1 else f"{len(what)}B"
        self._events.append(f"{direction}{what}")

    @property
    def events(self) -> list[str]:
        more = [f"... {self.dropped} more"] if self.dropped else []
        return [*self._events, *more]


class Link:
    """One side of the line. The cash register `yields` when both sides open a session at
    once: it lets the terminal speak first (a late answer) and keeps what it said in
    `stale`; the terminal does not yield and waits for its ACK."""

    def __init__(
        self,
        port: Port,
        timing: LinkTiming,
        trace: Trace | None = None,
        *,
        yields: bool = True,
        deadline: float | None = None,
    ) -> None:
        self.port = port
        self.timing = timing
        self.trace = trace if trace is not None else Trace()
        self.yields = yields
        # time.monotonic() past which no wait of this link goes on (None: no end).
        self.deadline = deadline
        # Frames `receive_message` was not waiting for (answers of earlier transactions).
        self.stale: list[bytes] = []

    # --- sending -------------------------------------------------------------------------

    def send_message(
        self, payload: bytes, outgoing: Callable[[int, bytes], bytes] | None = None
    ) -> None:
        """Open a session, deliver one frame, close the session. Raises a LinkError.

        `outgoing(n, frame)` may replace the bytes of the n-th transmission: the emulator
        uses it to send a bad LRC or a truncated frame on purpose.
        """
        if len(payload) > self.timing.max_frame:
            raise ValueError(f"frame of {len(payload)} bytes over {self.timing.max_frame}")
        self._open_session()
        data = frame(payload)
        sent_once = False
        for transmission in range(self.timing.transmissions):
            # Once a whole frame went out, the peer may have taken it, whatever follows.
            self._write(outgoing(transmission, data) if outgoing else data, delivered=sent_once)
            sent_once = True
            self.trace.add(">", data)
            reply = self._await_reply(self.timing.frame_ack_wait, delivered=True)
            if reply == ACK:
                self._write(bytes([EOT]), delivered=True)
                self.trace.add(">", bytes([EOT]))
                return
            # NAK or silence: send the same bytes again.
        self._write(bytes([EOT]), delivered=True)
        self.trace.add(">", bytes([EOT]))
        if reply == NAK:
            raise Rejected(f"frame NAKed {self.timing.transmissions} times")
        raise Unconfirmed(f"no ACK/NAK after {self.timing.transmissions} transmissions")

    def _open_session(self) -> None:
        attempt = yielded = 0
        while attempt < self.timing.enq_attempts:
            if attempt:
                self._write(bytes([EOT]), delivered=False)
                self.trace.add(">", bytes([EOT]))
                time.sleep(self.timing.retry_pause)
            self._write(bytes([ENQ]), delivered=False)
            self.trace.add(">", bytes([ENQ]))
            reply = self._await_reply(self.timing.enq_wait, delivered=False, peer_enq=True)
            if reply == ACK:
                return
            if reply == ENQ and yielded < self.timing.enq_attempts:
                # Both opened at once: the terminal has an answer to give. Take it first.
                yielded += 1
                self._write(bytes([ACK]), delivered=False)
                self.trace.add(">", bytes([ACK]))
                # An unreadable late answer is dropped; ours has not been sent yet.
                with contextlib.suppress(Garbled, _SessionEnded):
                    self.stale.append(self._read_frame_with_retries())
                continue
            attempt += 1
        raise NoAnswer(f"no ACK to ENQ after {self.timing.enq_attempts} attempts")

    def _await_reply(self, wait: float, *, delivered: bool, peer_enq: bool = False) -> int | None:
        """ACK or NAK within `wait` (or the peer's ENQ, when we yield and `peer_enq`).
        Other bytes, such as the peer's own ENQ when we do not yield, are passed over."""
        deadline = time.monotonic() + wait
        while (remaining := deadline - time.monotonic()) > 0:
            byte = self._read_byte(remaining, delivered=delivered)
            if byte is None:
                return None
            self.trace.add("<", bytes([byte]))
            if byte in (ACK, NAK) or (byte == ENQ and peer_enq and self.yields):
                return byte
        return None

    # --- receiving -----------------------------------------------------------------------

    def receive_message(
        self,
        wait: float,
        accept: Callable[[bytes], bool] | None = None,
        respond: Callable[[bytes], int | None] | None = None,
    ) -> bytes:
        """Wait up to `wait` seconds for the peer's session and return its frame's payload.

        A frame `accept` refuses (a stale answer of an earlier transaction) is ACKed, kept in
        `self.stale`, and the wait goes on. `respond(payload)` may answer a good frame with
        NAK or with silence (None) instead of ACK: the emulator's faults.
        """
        deadline = time.monotonic() + wait
        while True:
            self._await_enq(deadline)
            try:
                payload = self._read_frame_with_retries(respond)
            except _SessionEnded:
                continue  # the peer closed its session without a frame (a probe, an abort)
            if accept is None or accept(payload):
                return payload
            self.stale.append(payload)

    def _await_enq(self, deadline: float) -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Silence("the peer did not open its session in time")
            byte = self._read_byte(min(remaining, 1.0), delivered=True)
            if byte == ENQ:
                self.trace.add("<", bytes([ENQ]))
                self._write(bytes([ACK]), delivered=True)
                self.trace.add(">", bytes([ACK]))
                return
            # Anything else while idle (a stray EOT, noise) is ignored.

    def _read_frame_with_retries(
        self, respond: Callable[[bytes], int | None] | None = None
    ) -> bytes:
        """The peer's frame, inside the session it opened. An EOT instead of the frame
        ends that session (_SessionEnded); an ENQ starts it again: ACKed, and read anew."""
        for _ in range(self.timing.transmissions):
            try:
                payload = self._read_frame()
            except _Restarted:
                self.trace.add("<", bytes([ENQ]))
                self._write(bytes([ACK]), delivered=True)
                self.trace.add(">", bytes([ACK]))
                continue
            except _BadFrame as exc:
                self.trace.add("<", f"bad frame ({exc})")
                self._write(bytes([NAK]), delivered=True)
                self.trace.add(">", bytes([NAK]))
                continue
            reply = respond(payload) if respond else ACK
            if reply is None:
                continue  # say nothing: the peer will send it again
            self._write(bytes([reply]), delivered=True)
            self.trace.add(">", bytes([reply]))
            if reply == ACK:
                self._await_eot()
                return payload
        raise Garbled(f"no readable frame in {self.timing.transmissions} transmissions")

    def _read_frame(self) -> bytes:
        first = self._read_byte(self.timing.first_byte_wait, delivered=True)
        if first == EOT:
            self.trace.add("<", bytes([EOT]))
            raise _SessionEnded
        if first == ENQ:
            raise _Restarted
        if first != STX:
            raise _BadFrame("no STX" if first is None else f"0x{first:02x} instead of STX")
        frame_deadline = time.monotonic() + self.timing.frame_wait
        body = bytearray()
        while True:
            if time.monotonic() > frame_deadline:
                raise _BadFrame("too slow")
            byte = self._read_byte(self.timing.inter_byte_wait, delivered=True)
            if byte is None:
                raise _BadFrame("truncated")
            body.append(byte)
            if byte == ETX:
                check = self._read_byte(self.timing.inter_byte_wait, delivered=True)
                if check is None:
                    raise _BadFrame("truncated before LRC")
                if check != lrc(bytes(body)):
                    raise _BadFrame("LRC mismatch")
                self.trace.add("<", bytes([STX]) + bytes(body) + bytes([check]))
                return bytes(body[:-1])
            if len(body) > self.timing.max_frame + 1:
                raise _BadFrame("too long")

    def _await_eot(self) -> None:
        if self._read_byte(self.timing.eot_wait, delivered=True) == EOT:
            self.trace.add("<", bytes([EOT]))
        else:
            self.trace.add("<", "no EOT")

    # --- bytes ---------------------------------------------------------------------------

    def _read_byte(self, wait: float, *, delivered: bool) -> int | None:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Expired("the exchange ran past its deadline", delivered=delivered)
            wait = min(wait, left)
        try:
            # Setting pyserial's timeout reconfigures the tty: it fails too on a dead line.
            self.port.timeout = max(wait, 0.0)
            data = self.port.read(1)
        except LINE_ERRORS as exc:
            raise LinkLost(f"line lost: {exc}", delivered=delivered) from exc
        return data[0] if data else None

    def _write(self, data: bytes, *, delivered: bool) -> None:
        try:
            self.port.write(data)
        except LINE_ERRORS as exc:
            raise LinkLost(f"line lost: {exc}", delivered=delivered) from exc


class _BadFrame(Exception):
    pass


class _SessionEnded(Exception):
    """The peer sent EOT where its frame should have been."""


class _Restarted(Exception):
    """The peer sent ENQ where its frame should have been: it starts its session again."""
