"""A payment's story on its page: its changes, every exchange with the provider or the PIN
pad, and what operators did to it, in one time line, oldest first.

The service stores a change's reason as a code with its parameters (payments/reasons.py:
`sent`, `reconcile` with the answer's outcome, `by_hand` with the operator's words); the
story says it in the operator's language, and leaves the operator's and the provider's own
words as they are.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from payments.admin.actions import BY_NAME
from payments.admin.base import uzs
from payments.admin.outcomes import action_outcome
from payments.admin.sayings import said
from payments.logformat import scrub
from payments.models import FiscalStatus, Payment, PaymentEvent, label_of
from payments.models import PaymentStatus as S
from payments.reasons import TEXT, Filled
from providers.money import json_text

# The reasons the service stores (payments/reasons.py: a code and its parameters), as the
# operators read them. `%(outcome)s` is the provider's answer's outcome, in their words too.
REASONS = {
    "sent": _("sent to the provider"),
    "prepared": _("prepared at the provider: %(outcome)s"),
    "answered": _("the provider answered: %(outcome)s"),
    "status_after_lost_answer": _("status asked after a lost answer: %(outcome)s"),
    "status_poll": _("status asked again (%(attempt)s): %(outcome)s"),
    "after_polling": _("after asking again: %(outcome)s"),
    "status_lookup": _("status asked: %(outcome)s"),
    "reconcile": _("reconcile: %(outcome)s"),
    "settled_by_late_answer": _("settled by a late answer: %(outcome)s"),
    "more_than_is_left": _("more than is left to give back"),
    "fiscal_accepted": _("fiscal receipt accepted"),
    "fiscal_not_accepted": _("fiscal receipt not accepted: %(outcome)s"),
    "fiscal_on_file": _("the receipt was already on file at the provider"),
    "reversed_at_provider": _("reversed at the provider"),
    "reversed_part": _("%(amount)s UZS given back by %(by)s"),
    "no_such_payment": _("the provider has no such payment"),
    "never_reached_provider": _(
        "never reached the provider: its latest operation is an earlier one"
    ),
    "never_sent": _("never sent to the provider"),
    "register_hung_up": _("the register hung up before it was sent"),
    "by_hand": _("by hand: %(words)s"),
    "could_not_settle": _("could not be settled: %(error)s"),
    "reversal_sent": _("reversal sent to the provider"),
    "reversal_unanswered": _("reversal sent, no answer: ask the provider before giving money back"),
    "reversal_refused": _("reversal refused: %(message)s"),
    "reversal_not_done": _("the provider did not reverse it: the purchase stands"),
    "flagged": _("flagged: %(note)s"),
}
# Who changed a payment, when it was not an operator (PaymentEvent.actor).
ACTORS = {
    "system": pgettext_lazy("who changed it", "the service"),
    "reconcile": pgettext_lazy("who changed it", "reconcile"),
}
# A provider's own words after "reversed at the provider", when it gave some.
REVERSED_SAYING = _("reversed at the provider: %(message)s")
# What a provider's answer meant (providers.base.Outcome).
OUTCOMES = {
    "success": pgettext_lazy("outcome", "success"),
    "pending": pgettext_lazy("outcome", "pending"),
    "failed": pgettext_lazy("outcome", "declined"),
    "unknown": pgettext_lazy("outcome", "unknown"),
}


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str  # change, exchange, action: the page's style of the line
    what: str
    who: str = ""
    words: str = ""  # the reason, the outcome, the error
    # An exchange's operation as the provider names it ("click_pass/payment"): not words.
    operation: str = ""
    request: str = ""  # an exchange's request and answer, as journaled (secrets redacted)
    response: str = ""


def reason_text(code: str, data: dict | None = None) -> str:
    """A stored reason in the operator's language. A code of ours is said in their words,
    its parameters filled in (an outcome in their words, an amount in UZS); an operator's
    or a provider's own words stay as they are. An old row's sentence (`text`) is shown as
    it was stored."""
    data = data or {}
    if code == TEXT:
        return str(data.get("text", ""))
    template = REASONS.get(code)
    if code == "reversed_at_provider" and data.get("message"):
        template = REVERSED_SAYING
    if template is None:
        return code  # a code no release of ours wrote (a test's, say): as it is
    values = Filled({key: str(value) for key, value in data.items()})
    for name in ("note", "message"):  # a gateway's sentence, when it is one of ours
        if name in values:
            values[name] = said(values[name])
    if "outcome" in data:
        values["outcome"] = str(OUTCOMES.get(data["outcome"], data["outcome"]))
    if "amount" in data:
        values["amount"] = uzs(int(data["amount"]))
    return str(template) % values


def flag_reason(payment: Payment) -> str:
    """Why a payment waits for a person, in the operator's words: the reason of the step
    that flagged it (`selectors.with_flag_reason`), or what it is when no step says."""
    code = getattr(payment, "flag_code", None)
    if code:
        words = reason_text(code, getattr(payment, "flag_data", None) or {})
    elif payment.status == S.UNKNOWN:
        words = gettext("outcome unknown: ask the provider")
    else:
        words = gettext("flagged for a person")
    # What the provider said of it, unless the reason says it already.
    message = said(payment.provider_message) if payment.provider_message else ""
    return f"{words} ({message})" if message and message not in words else words


def _change(event: PaymentEvent) -> str:
    parts = []
    if event.to_status:
        was, now = label_of(S, event.from_status), label_of(S, event.to_status)
        parts.append(f"{was} → {now}")
    if event.to_fiscal_status:
        fiscal = gettext("fiscal receipt: %(was)s → %(now)s")
        was = label_of(FiscalStatus, event.from_fiscal_status)
        now = label_of(FiscalStatus, event.to_fiscal_status)
        parts.append(fiscal % {"was": was, "now": now})
    if event.flagged is not None:
        flag = (
            gettext("needs attention") if event.flagged else gettext("attention no longer needed")
        )
        parts.append(flag)
    return "; ".join(parts) or gettext("details recorded")


def _answer(body: str) -> str:
    try:
        # Numbers with a fraction stay exactly as the provider wrote them.
        return json_text(json.loads(body, parse_float=Decimal), indent=2)
    except ValueError:
        return body


def story_of(payment: Payment, *, personal: bool = True) -> list[Moment]:
    """The payment's moments, oldest first; without `personal`, the payer's phone and card
    numbers in the journal's requests and answers are masked."""
    shown = (lambda text: text) if personal else scrub
    moments = [
        Moment(
            event.created_at,
            "change",
            _change(event),
            str(ACTORS.get(event.actor, event.actor)),
            reason_text(event.reason, event.reason_data),
        )
        for event in payment.events.all()
    ]
    for row in payment.exchanges.all():
        answered = str(row.response_status) if row.response_status is not None else ""
        words = row.error or gettext("answered %(status)s in %(ms)d ms") % {
            "status": answered or "—",
            "ms": row.duration_ms,
        }
        sent = {"url": row.url, "headers": row.request_headers, "body": row.request_body}
        moments.append(
            Moment(
                row.started_at or row.created_at,
                "exchange",
                row.get_provider_display(),
                operation=row.operation,
                words=words,
                request=shown(json_text(sent, indent=2)),
                response=shown(_answer(row.response_body)),
            )
        )
    for action in payment.operator_actions.select_related("user"):
        known = BY_NAME.get(action.action)
        what = known.description if known else action.action
        outcome = action_outcome(action) if action.outcome else ""
        words = f"{action.reason} — {outcome}" if outcome else action.reason
        moments.append(Moment(action.created_at, "action", str(what), str(action.user), words))
    return sorted(moments, key=lambda moment: moment.at)
