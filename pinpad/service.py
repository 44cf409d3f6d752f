"""The PIN pad's service API: purchase, cancel, close_day, last_transaction.

Each call holds the line for one exchange (our request, the terminal's answer) and returns
one `PinpadResult`. The rules of the result:

- APPROVED / DECLINED: the terminal answered about our very request (POS number, order id,
  action, amount and currency all ours) and said so clearly: `classify` below. Approval
  follows the operation's success codes (a purchase `000`; a cancel `000`, or `400` as
  real HUMO cancel slips show).
- UNSUPPORTED: the configured protocol cannot carry the request (Concert E+ has no end of
  day, no last-transaction query, 8 digits of amount); nothing was sent.
- BUSY / UNAVAILABLE: nothing reached the terminal (the line is held by another request,
  cannot be opened, or the terminal never opened the session / refused our frame).
- UNKNOWN: the terminal may have acted but we have no answer we can believe (silence past
  the deadline, a lost line after our frame, an unreadable answer, an answer about another
  amount or currency, or one that says neither approved nor declined). Never declined.

A plain library: it knows nothing of payments or of any framework; its settings come in as
arguments (`providers.humo` builds it from the service's settings and turns its statuses
into payment outcomes).
"""

import time
from dataclasses import dataclass, field
from enum import StrEnum

from pinpad import reasons
from pinpad.link import Link, LinkError, LinkTiming, NoAnswer, Rejected, Trace
from pinpad.messages import CODECS, UZS, Action, MessageError, PinpadAnswer, PinpadRequest
from pinpad.transport import LineSettings, PinpadBusy, PinpadUnavailable, open_line


class Status(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    UNSUPPORTED = "unsupported"  # the protocol cannot say it: nothing was sent
    UNKNOWN = "unknown"


# Host response codes that mean success, per operation. "400" is how an approved cancel
# slip reads on HUMO terminals.
SUCCESS_CODES = {
    Action.PURCHASE: frozenset({"000"}),
    Action.CANCEL: frozenset({"000", "400"}),
    Action.CLOSE_DAY: frozenset({"000"}),
    Action.SHIFT_REPORT: frozenset({"000"}),
}
BUSY_CODES = frozenset({"984"})  # "PIN pad busy": nothing was done


@dataclass(frozen=True)
class PinpadResult:
    status: Status
    action: str
    request: PinpadRequest
    answer: PinpadAnswer | None = None
    reason: str = ""
    trace: list[str] = field(default_factory=list)
    # Answers of earlier operations that arrived meanwhile (they settle those operations).
    stale: list[PinpadAnswer] = field(default_factory=list)
    duration_ms: int = 0
    # An answer with our order id that does not match the rest of our request: kept for
    # the journal, believed for nothing.
    unmatched: PinpadAnswer | None = None
    # When the line was ours (epoch seconds): exchanges on one line are ordered by it.
    started_at: float = 0.0

    @property
    def host_code(self) -> str:
        return self.answer.host_code if self.answer else ""

    @property
    def rrn(self) -> str:
        return self.answer.rrn if self.answer else ""

    @property
    def slip(self) -> str:
        return self.answer.slip if self.answer else ""


class Pinpad:
    def __init__(
        self,
        line: LineSettings,
        timing: LinkTiming,
        answer_wait: float,
        pos: str = "01",
        protocol: str = "tlv",
    ) -> None:
        self.line = line
        self.timing = timing
        self.answer_wait = answer_wait
        self.pos = pos
        # The messages inside the frames: our TLV extension, or public Concert E+.
        self.codec = CODECS[protocol]

    def purchase(self, amount: int, order_id: str) -> PinpadResult:
        request = PinpadRequest(Action.PURCHASE, order_id=order_id, amount=amount, pos=self.pos)
        return self._exchange(request)

    def cancel(self, rrn: str, amount: int, order_id: str) -> PinpadResult:
        request = PinpadRequest(
            Action.CANCEL, order_id=order_id, amount=amount, original_rrn=rrn, pos=self.pos
        )
        return self._exchange(request)

    def close_day(self) -> PinpadResult:
        return self._exchange(PinpadRequest(Action.CLOSE_DAY, pos=self.pos))

    def shift_report(self) -> PinpadResult:
        """The shift's totals so far, as the terminal prints them (an X-report); the shift
        stays open."""
        return self._exchange(PinpadRequest(Action.SHIFT_REPORT, pos=self.pos))

    def last_transaction(self) -> PinpadResult:
        """What the terminal did last: the answer carries that operation's own fields, its
        action in `reported_action`, and APPROVED means that operation was approved."""
        return self._exchange(PinpadRequest(Action.LAST_TRANSACTION, pos=self.pos))

    def _exchange(self, request: PinpadRequest) -> PinpadResult:
        started = time.monotonic()
        line_taken = time.time()
        trace = Trace()
        link: Link | None = None

        def result(
            status: Status,
            answer: PinpadAnswer | None = None,
            reason: str = "",
            unmatched: PinpadAnswer | None = None,
        ) -> PinpadResult:
            stale = [self._decoded(p, request) for p in (link.stale if link else [])]
            return PinpadResult(
                status=status,
                action=request.action,
                request=request,
                answer=answer,
                reason=reason,
                trace=trace.events,
                stale=[a for a in stale if a is not None],
                duration_ms=int((time.monotonic() - started) * 1000),
                unmatched=unmatched,
                started_at=line_taken,
            )

        if not self.line.url:
            return result(Status.UNAVAILABLE, reason=reasons.NOT_CONFIGURED)
        cannot = self.codec.cannot(request)
        if cannot:
            return result(Status.UNSUPPORTED, reason=cannot)
        try:
            with open_line(self.line) as port:
                line_taken = time.time()
                # The line is held for the answer wait and the link's own fixed bound, no
                # longer, whatever the peer sends or trickles.
                held_until = time.monotonic() + self.answer_wait + self.timing.exchange_bound()
                link = Link(port, self.timing, trace, deadline=held_until)
                link.send_message(self.codec.encode(request))
                payload = link.receive_message(
                    self.answer_wait, accept=lambda p: self._answers(request, p)
                )
        except PinpadBusy as exc:
            return result(Status.BUSY, reason=str(exc))
        except PinpadUnavailable as exc:
            return result(Status.UNAVAILABLE, reason=str(exc))
        except (NoAnswer, Rejected) as exc:
            return result(Status.UNAVAILABLE, reason=reasons.NOT_TAKEN % {"error": exc})
        except LinkError as exc:
            status = Status.UNKNOWN if exc.delivered else Status.UNAVAILABLE
            return result(status, reason=f"{type(exc).__name__}: {exc}")
        answer = self._decoded(payload, request)
        if answer is None:
            return result(Status.UNKNOWN, reason=reasons.UNREADABLE)
        mismatch = _mismatch(request, answer)
        if mismatch:
            return result(
                Status.UNKNOWN, reason=reasons.NOT_OURS % {"mismatch": mismatch}, unmatched=answer
            )
        status = classify(answer)
        by_status = {
            Status.BUSY: reasons.BUSY,
            Status.UNKNOWN: reasons.NEITHER,
        }
        return result(status, answer, reason=by_status.get(status, ""))

    def _decoded(self, payload: bytes, request: PinpadRequest) -> PinpadAnswer | None:
        try:
            return self.codec.decode(payload, request)
        except MessageError:
            return None

    def _answers(self, request: PinpadRequest, payload: bytes) -> bool:
        """Whether a frame is the answer to this request, not a late one of an earlier."""
        answer = self._decoded(payload, request)
        if answer is None:
            return True  # unreadable: let the caller say so
        if request.action == Action.LAST_TRANSACTION:
            return answer.action == Action.LAST_TRANSACTION  # it reports another operation
        ours = self.codec.reference(request)
        return answer.order_id == ours and answer.action == request.action


def classify(answer: PinpadAnswer) -> Status:
    """What an answer says of its operation (for a last-transaction answer: of the
    operation it reports). Declined only on positive evidence.

    With our host code (XH), the action status and the code must agree: done with a success
    code is approved, not done with another code declined (984 busy); done with a failure
    code, or not done with a success code, is UNKNOWN. With the public V3 tags alone, the
    action status decides: AE 10 (done) approved, AE 01 (not done) declined.
    """
    if not answer.host_code:
        return Status.APPROVED if answer.done else Status.DECLINED
    if answer.host_code in BUSY_CODES and not answer.done:
        return Status.BUSY
    action = answer.reported_action if answer.action == Action.LAST_TRANSACTION else answer.action
    success = answer.host_code in SUCCESS_CODES.get(action, frozenset())
    if answer.done and success:
        return Status.APPROVED
    if not answer.done and not success:
        return Status.DECLINED
    return Status.UNKNOWN


def _mismatch(request: PinpadRequest, answer: PinpadAnswer) -> str:
    """What in an answer with our order id and action is not about our request ("" when
    all of it is): the POS number, the currency, and for a payment the amount (which an
    answer that did nothing may leave out)."""
    if answer.pos != request.pos:
        return f"POS {answer.pos or 'missing'}, ours is {request.pos}"
    if answer.currency != UZS:
        return f"currency {answer.currency or 'missing'}, ours is {UZS}"
    payment = request.action in (Action.PURCHASE, Action.CANCEL)
    if payment and (answer.done or answer.amount) and answer.amount != request.amount:
        return f"amount {answer.amount}, ours is {request.amount}"
    return ""
