"""Why a payment changed, and what came of an operator's action, as they are stored: a code
and its parameters (`{"code": "reconcile", "outcome": "success"}`), never a sentence. The
back office says each code in the operator's language when it shows it
(`payments/admin/story.py`); a code used here without words there fails a test.

Stored rows from before codes were converted by migration 0022; what it could not read
is kept as it was, under the code `text`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any


class Code(StrEnum):
    """Every code the service stores. Each has its words in the back office
    (payments/admin/story.py for a timeline step, payments/admin/outcomes.py for an
    operator's action): a test holds the two to one another."""

    # Why a payment changed (PaymentEvent.reason)
    SENT = "sent"
    PREPARED = "prepared"
    ANSWERED = "answered"
    STATUS_AFTER_LOST_ANSWER = "status_after_lost_answer"
    STATUS_POLL = "status_poll"
    AFTER_POLLING = "after_polling"
    STATUS_LOOKUP = "status_lookup"
    RECONCILE = "reconcile"
    SETTLED_BY_LATE_ANSWER = "settled_by_late_answer"
    MORE_THAN_IS_LEFT = "more_than_is_left"
    FISCAL_ACCEPTED = "fiscal_accepted"
    FISCAL_NOT_ACCEPTED = "fiscal_not_accepted"
    FISCAL_ON_FILE = "fiscal_on_file"
    REVERSED_AT_PROVIDER = "reversed_at_provider"
    REVERSED_PART = "reversed_part"
    NO_SUCH_PAYMENT = "no_such_payment"
    NEVER_REACHED_PROVIDER = "never_reached_provider"
    NEVER_SENT = "never_sent"
    REGISTER_HUNG_UP = "register_hung_up"
    BY_HAND = "by_hand"
    COULD_NOT_SETTLE = "could_not_settle"
    # Written on a purchase by releases before refunds were rows of their own (and by
    # migration 0025): no longer written, still read in yesterday's timelines.
    REVERSAL_SENT = "reversal_sent"
    REVERSAL_UNANSWERED = "reversal_unanswered"
    REVERSAL_REFUSED = "reversal_refused"
    REVERSAL_NOT_DONE = "reversal_not_done"
    FLAGGED = "flagged"
    # What came of an operator's action (OperatorAction.outcome)
    STATUS_ASKED = "status_asked"
    ASKED_ONLY_OPEN = "asked_only_open"
    FISCAL_NOTHING_TO_SEND = "fiscal_nothing_to_send"
    FISCAL_STATUS = "fiscal_status"
    STATUS_NOW = "status_now"
    REVERSAL_ANSWERED = "reversal_answered"
    NO_ANSWER = "no_answer"
    SETTLED_MEANWHILE = "settled_meanwhile"
    REFUSED = "refused"


STEPS = frozenset(Code) - {
    Code.STATUS_ASKED,
    Code.ASKED_ONLY_OPEN,
    Code.FISCAL_NOTHING_TO_SEND,
    Code.FISCAL_STATUS,
    Code.STATUS_NOW,
    Code.REVERSAL_ANSWERED,
    Code.NO_ANSWER,
    Code.SETTLED_MEANWHILE,
    Code.REFUSED,
}
OUTCOMES = frozenset(Code) - STEPS


@dataclass(frozen=True)
class Reason:
    code: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def with_data(self, **more: Any) -> "Reason":
        return Reason(self.code, {**self.data, **_stored(more)})


def because(code: Code, /, **data: Any) -> Reason:
    """A reason with its parameters, as JSON keeps them (an enum by its value)."""
    return Reason(code.value, _stored(data))


def _stored(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Enum) else v for k, v in data.items()}


def reason_of(given: "Reason | str") -> Reason:
    """A code alone may be given as its text."""
    return given if isinstance(given, Reason) else Reason(given)


# Old rows' words, kept as they were.
TEXT = "text"


class Filled(dict):
    """Parameters to fill a sentence with: one an old or odd row lacks reads as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"
