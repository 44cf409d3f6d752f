"""A payment's story on its page: its changes, every exchange with the provider or the PIN
pad, and what operators did to it, in one time line, oldest first.

The service writes a change's reason as it happened ("sent", "reconcile: paid", "by hand:
<the operator's words>"); the story reads it back in the operator's language where the
words are ours, and leaves the operator's and the provider's own words as they are.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from payments.admin.actions import BY_NAME
from payments.admin.base import uzs
from payments.models import FiscalStatus, Payment, PaymentEvent, label_of
from payments.models import PaymentStatus as S
from providers.money import json_text

# The reasons the service writes, as the operators read them.
REASONS = {
    "sent": _("sent to the provider"),
    "prepared": _("prepared at the provider"),
    "answered": _("the provider answered"),
    "status after lost answer": _("status asked after a lost answer"),
    "after polling": _("after asking again"),
    "status lookup": _("status asked"),
    "reconcile": _("reconcile"),
    "settled by a late answer": _("settled by a late answer"),
    "more than is left": _("more than is left to give back"),
    "fiscal receipt accepted": _("fiscal receipt accepted"),
    "already on file at the provider": _("the receipt was already on file at the provider"),
    "reversed at the provider": _("reversed at the provider"),
    "the provider has no such payment": _("the provider has no such payment"),
    "never reached the provider: its latest operation is an earlier one": _(
        "never reached the provider: its latest operation is an earlier one"
    ),
}
# What a provider's answer meant (providers.base.Outcome), after a reason's colon.
OUTCOMES = {
    "success": pgettext_lazy("outcome", "success"),
    "pending": pgettext_lazy("outcome", "pending"),
    "failed": pgettext_lazy("outcome", "declined"),
    "unknown": pgettext_lazy("outcome", "unknown"),
}
# Reasons with someone's own words (or a number) after a fixed beginning.
PATTERNS = [
    (re.compile(r"by hand: (?P<words>.*)", re.S), _("by hand: %(words)s")),
    (
        re.compile(r"reversed at the provider: (?P<words>.*)", re.S),
        _("reversed at the provider: %(words)s"),
    ),
    (
        re.compile(r"could not be settled: (?P<words>.*)", re.S),
        _("could not be settled: %(words)s"),
    ),
    (re.compile(r"status poll (?P<number>\d+)"), _("status asked again (%(number)s)")),
    (
        re.compile(r"reversed (?P<tiyin>\d+) by (?P<by>\S+)"),
        _("%(amount)s UZS given back by %(by)s"),
    ),
    (
        re.compile(r"fiscal receipt not accepted: (?P<outcome>\w+)"),
        _("fiscal receipt not accepted: %(outcome)s"),
    ),
]


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: str  # change, exchange, action: the page's style of the line
    what: str
    who: str = ""
    words: str = ""  # the reason, the outcome, the error
    request: str = ""  # an exchange's request and answer, as journaled (secrets redacted)
    response: str = ""


def reason_text(reason: str) -> str:
    """A change's reason in the operator's language, where its words are the service's."""
    if reason in REASONS:
        return str(REASONS[reason])
    head, colon, tail = reason.partition(": ")
    if colon and head in REASONS and tail in OUTCOMES:
        return f"{REASONS[head]}: {OUTCOMES[tail]}"
    for pattern, template in PATTERNS:
        found = pattern.fullmatch(reason)
        if found:
            values = found.groupdict()
            if "tiyin" in values:
                values["amount"] = uzs(int(values["tiyin"]))
            if "outcome" in values:
                values["outcome"] = str(OUTCOMES.get(values["outcome"], values["outcome"]))
            return str(template) % values
    return reason


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
    return "; ".join(parts) or gettext("details recorded")


def _answer(body: str) -> str:
    try:
        # Numbers with a fraction stay exactly as the provider wrote them.
        return json_text(json.loads(body, parse_float=Decimal), indent=2)
    except ValueError:
        return body


def story_of(payment: Payment) -> list[Moment]:
    moments = [
        Moment(event.created_at, "change", _change(event), event.actor, reason_text(event.reason))
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
                gettext("%(provider)s: %(operation)s")
                % {"provider": row.get_provider_display(), "operation": row.operation},
                words=words,
                request=json_text(sent, indent=2),
                response=_answer(row.response_body),
            )
        )
    for action in payment.operator_actions.select_related("user"):
        known = BY_NAME.get(action.action)
        what = known.description if known else action.action
        words = f"{action.reason} — {action.outcome}" if action.outcome else action.reason
        moments.append(Moment(action.created_at, "action", str(what), str(action.user), words))
    return sorted(moments, key=lambda moment: moment.at)
