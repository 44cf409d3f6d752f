"""HUMO cards on the PIN pad, as a gateway like the others.

It wraps the `pinpad` library (which knows nothing of payments) and is the only place that
turns the terminal's statuses into payment outcomes: approved is SUCCESS; declined, busy
and unavailable are FAILED (nothing was charged); unknown stays UNKNOWN. Every exchange on
the line goes up with the result, like an HTTP provider's.
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from pinpad import reasons
from pinpad.link import LinkTiming
from pinpad.messages import ACTION_NAMES, CODECS, UZS, Action, PinpadAnswer
from pinpad.service import Pinpad, PinpadResult, Status, classify
from pinpad.slips import parse_totals
from pinpad.transport import LineSettings, line_present
from providers import sayings
from providers.base import (
    AccountField,
    BaseGateway,
    Exchange,
    GatewayResult,
    Operation,
    Outcome,
    PaymentData,
    journaled,
    record_exchange,
)

# The terminal library's own sentences (a result's message when the terminal gave no answer
# to carry), known to the back office like every gateway's (providers/sayings.py).
TERMINAL_SAYINGS = [sayings.Saying(template) for template in reasons.ALL]

OUTCOMES = {
    Status.APPROVED: Outcome.SUCCESS,
    Status.DECLINED: Outcome.FAILED,
    Status.BUSY: Outcome.FAILED,  # nothing reached the terminal
    Status.UNAVAILABLE: Outcome.FAILED,  # nothing reached the terminal
    Status.UNSUPPORTED: Outcome.FAILED,  # the protocol cannot say it: nothing was sent
    Status.UNKNOWN: Outcome.UNKNOWN,
}


# The message protocols the PIN pad may speak (PINPAD_PROTOCOL).
PROTOCOLS = sorted(CODECS)


@dataclass(frozen=True)
class PinpadAccount:
    """One PIN pad: its line, the link's deadlines, and how long a customer may take."""

    line: LineSettings
    timing: LinkTiming
    answer_wait: float
    pos: str = "01"
    protocol: str = "tlv"  # or "concert-e+"

    def pinpad(self) -> Pinpad:
        return Pinpad(
            self.line,
            self.timing,
            answer_wait=self.answer_wait,
            pos=self.pos,
            protocol=self.protocol,
        )


class HumoGateway(BaseGateway):
    name = "humo"
    label = "HUMO"
    # Lazy: read in the language of whoever is shown it.
    partial_refunds = True  # a cancel of a part, with its own RRN and slip
    knows_only_latest = True  # the terminal remembers its last transaction only
    takes_fiscal_receipts = False
    closes_day = True  # the terminal's shift
    account_is_a_device = True  # the PIN pad at one till

    account_fields: tuple[AccountField, ...] = (
        AccountField("url", "Line", help_text="the serial port: /dev/ttyUSB0, rfc2217://host:port"),
        AccountField("protocol", "Protocol", default="tlv", choices=tuple(PROTOCOLS)),
        AccountField("baudrate", "Baud rate", default="9600"),
        AccountField("bytesize", "Data bits", default="8", choices=("7", "8")),
        AccountField("parity", "Parity", default="N", choices=("N", "E", "O")),
        AccountField("stopbits", "Stop bits", default="1", choices=("1", "1.5", "2")),
        AccountField("pos", "POS number", default="01", help_text="as the terminal knows us"),
    )

    def account(self, values: Mapping[str, str]) -> PinpadAccount:
        protocol = values.get("protocol") or "tlv"
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}")
        return PinpadAccount(
            line=LineSettings(
                url=str(values["url"]),
                baudrate=int(values.get("baudrate") or 9600),
                bytesize=int(values.get("bytesize") or 8),
                parity=str(values.get("parity") or "N"),
                stopbits=float(values.get("stopbits") or 1),
                write_timeout=settings.PINPAD_WRITE_TIMEOUT,
                lock_dir=settings.PINPAD_LOCK_DIR,
                lock_wait=settings.PINPAD_LOCK_WAIT,
                reopen_backoff=tuple(settings.PINPAD_REOPEN_BACKOFF),
            ),
            timing=LinkTiming(**settings.PINPAD_LINK_TIMING),
            answer_wait=settings.PINPAD_ANSWER_WAIT,
            pos=str(values.get("pos") or "01"),
            protocol=protocol,
        )

    def configured_account(self) -> dict[str, str] | None:
        if not settings.PINPAD_URL:
            return None
        return {
            "url": settings.PINPAD_URL,
            "protocol": settings.PINPAD_PROTOCOL,
            "baudrate": str(settings.PINPAD_BAUDRATE),
            "bytesize": str(settings.PINPAD_BYTESIZE),
            "parity": settings.PINPAD_PARITY,
            "stopbits": f"{settings.PINPAD_STOPBITS:g}",
            "pos": settings.PINPAD_POS_NUMBER,
        }

    def unreachable(self, account: PinpadAccount) -> str | None:
        return line_present(account.line.url)

    def poll_schedule(self) -> tuple[int, float]:
        return 0, 0.0  # the terminal answers once, with the final word

    def longest_wait(self) -> float:
        account = self.account({"url": ""})  # the waits are the deployment's, not a line's
        # The operation, then the last-transaction query after a lost answer: each may
        # wait for the line, reopen it, and hold it for the answer wait and the link's bound.
        one = (
            account.line.lock_wait
            + sum(account.line.reopen_backoff)
            + account.answer_wait
            + account.timing.exchange_bound()
        )
        return 2 * one

    @journaled
    def charge(self, payment: PaymentData[PinpadAccount]) -> GatewayResult:
        pad = payment.account.pinpad()
        return _outcome(_journal(payment.account, pad.purchase(payment.amount, order_id(payment))))

    @journaled
    def reverse(self, payment: PaymentData[PinpadAccount]) -> GatewayResult:
        """The cancel described by `payment` (its own order id) of the purchase whose RRN
        is `payment.reversed_reference`."""
        pad = payment.account.pinpad()
        done = pad.cancel(payment.reversed_reference, payment.amount, order_id(payment))
        return _outcome(_journal(payment.account, done))

    @journaled
    def check(self, payment: PaymentData[PinpadAccount]) -> GatewayResult:
        """What the terminal's last transaction says of this operation. Only the latest
        operation can be judged: when the terminal reports another one, the result says
        which (`latest_reference`) and asks for a person."""
        last = _journal(payment.account, payment.account.pinpad().last_transaction())
        late = _late(last)
        answer = last.answer
        if answer is None:
            return GatewayResult(
                Outcome.UNKNOWN,
                message=sayings.TERMINAL_SILENT(reason=last.reason),
                needs_attention=True,
                late=late,
            )
        if _is_about(answer, payment):
            return _answer_result(answer, last.status, "found by last_transaction", late)
        reported = "" if not answer.reported_action else _transaction_id(answer.order_id)
        return GatewayResult(
            Outcome.UNKNOWN,
            message=sayings.TERMINAL_REPORTS_ANOTHER(),
            needs_attention=True,
            latest_reference=reported,
            late=late,
        )

    @journaled
    def shift_report(self, account: PinpadAccount) -> GatewayResult:
        """The shift's totals so far, printed by the terminal (the shift stays open); the
        report in `slip_text`."""
        return _report(account, account.pinpad().shift_report())

    @journaled
    def close_day(self, account: PinpadAccount) -> GatewayResult:
        """The terminal's end of day; `raw` has the totals its report prints (None when it
        cannot be read): purchases and reversals, their count and sum in tiyin."""
        return _report(account, account.pinpad().close_day())


GATEWAY = HumoGateway()


def _report(account: PinpadAccount, done: PinpadResult) -> GatewayResult:
    """A report the terminal printed (the end of day's, or the shift's so far), journaled."""
    done = _journal(account, done)
    outcome = Outcome.SUCCESS if done.status == Status.APPROVED else Outcome.FAILED
    printed = parse_totals(done.slip)
    totals = None
    if printed is not None:
        totals = {
            "purchases": printed.purchases,
            "purchase_amount": printed.purchase_amount,
            "reversals": printed.cancels,
            "reversal_amount": printed.cancel_amount,
        }
    return GatewayResult(
        outcome,
        provider_status=str(done.status),
        code=done.host_code or None,
        message=done.reason,
        slip_text=done.slip,
        late=_late(done),
        raw={"totals": totals},
    )


def order_id(payment: PaymentData[PinpadAccount]) -> str:
    """Our transaction id as the terminal carries it (32 hex digits)."""
    return uuid.UUID(payment.transaction_id).hex


def _transaction_id(order: str) -> str:
    """An order id back as our transaction id; an id that is not ours stays as it came."""
    try:
        return str(uuid.UUID(hex=order))
    except ValueError:
        return order


def _outcome(done: PinpadResult) -> GatewayResult:
    if done.answer is None:
        return GatewayResult(
            OUTCOMES[done.status],
            provider_status=str(done.status),
            message=done.reason,
            late=_late(done),
        )
    return _answer_result(done.answer, done.status, done.reason, _late(done))


def _answer_result(
    answer: PinpadAnswer,
    status: Status,
    reason: str,
    late: tuple[tuple[str, GatewayResult], ...] = (),
) -> GatewayResult:
    return GatewayResult(
        OUTCOMES[status],
        provider_payment_id=answer.rrn,
        provider_status=str(status),
        code=answer.host_code or None,
        message=reason,
        masked_card=answer.masked_pan,
        auth_code=answer.auth_code,
        terminal_id=answer.terminal_id,
        slip_text=answer.slip,
        late=late,
    )


def _late(done: PinpadResult) -> tuple[tuple[str, GatewayResult], ...]:
    """Answers of earlier operations that came in meanwhile: they settle those."""
    return tuple(
        (_transaction_id(answer.order_id), _answer_result(answer, classify(answer), "late answer"))
        for answer in done.stale
        if answer.order_id
    )


def _is_about(answer: PinpadAnswer, payment: PaymentData[PinpadAccount]) -> bool:
    expected = Action.CANCEL if payment.operation == Operation.REVERSAL else Action.PURCHASE
    return (
        answer.order_id == order_id(payment)
        and answer.reported_action == expected
        and answer.amount == payment.amount
        and answer.currency == UZS
    )


def _journal(account: PinpadAccount, done: PinpadResult) -> PinpadResult:
    """One exchange per operation on the line: the request, the answer, what crossed it."""
    request, answer = done.request, done.answer
    record_exchange(
        Exchange(
            provider=GATEWAY.name,
            operation=ACTION_NAMES.get(request.action, request.action),
            method="SERIAL",
            url=account.line.url[:500],
            request_body={
                "action": request.action,
                "order_id": request.order_id,
                "amount": request.amount,
                "original_rrn": request.original_rrn,
            },
            response_body=json.dumps(
                {
                    "status": str(done.status),
                    "answer": answer.__dict__ if answer else None,
                    "late_answers": [a.order_id for a in done.stale],
                    "unmatched_answer": done.unmatched.__dict__ if done.unmatched else None,
                    "trace": done.trace,
                },
                ensure_ascii=False,
            ),
            error=done.reason[:255],
            duration_ms=done.duration_ms,
            started_at=datetime.fromtimestamp(done.started_at, UTC),
        )
    )
    return done
