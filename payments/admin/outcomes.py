"""What came of an operator's action, in the operator's language: the operations service
keeps it as a code and its parameters (`OperatorAction.outcome`, `.outcome_data`); the
audit trail, the payment's story and the action's message say it here, each in the
language of whoever reads it. A provider's or the PIN pad's own words stay as they came."""

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from payments.admin.sayings import said
from payments.errors import ErrorCode
from payments.models import FiscalStatus, OperatorAction, PaymentStatus, label_of
from payments.reasons import TEXT, Filled, Reason
from providers import registry

OUTCOMES = {
    "asked_only_open": _("%(status)s: %(provider)s is asked only about open operations"),
    "fiscal_nothing_to_send": _("nothing to send: fiscal status %(status)s"),
    "fiscal_status": _("fiscal status %(status)s"),
    "reversal_answered": _("reversal %(status)s (%(code)s)"),
    "no_answer": _(
        "no answer from the provider: it may have gone through; the payment is flagged until "
        "the provider says"
    ),
    "settled_meanwhile": _("not done, because it was settled meanwhile (it is %(status)s now)"),
    "refused": _("not done, because %(why)s"),
}

# Why the services refuse an action on a payment (their `conflict` reasons), as an operator
# reads it; the register API answers the same refusals with their codes.
REFUSALS = {
    "not_paid": _("it is not paid (it is %(status)s)"),
    "not_open": _("it is no longer open (it is %(status)s)"),
    "not_a_final_status": _("%(status)s is not an outcome to settle with"),
    "already_reversed": _("it has already been given back"),
    "partial_reversal_not_supported": _("this provider gives back only the whole amount"),
    "cancel_in_progress": _("a reversal of it is already under way"),  # before refunds
    "refund_in_progress": _("a refund of it is already under way"),
    "amount_exceeds": _("more than is left to give back"),
    "receipt_reused": _("that receipt belongs to another payment"),
    "not_found": _("the provider has no such payment"),
}


def outcome_text(outcome: Reason) -> str:
    data = dict(outcome.data)
    if outcome.code == TEXT:  # stored before outcomes were codes: as it was
        return str(data.get("text", ""))
    if outcome.code == "status_now":  # the payment's status, as it stands after the action
        return label_of(PaymentStatus, data.get("status", ""))
    if outcome.code == "status_asked":  # what it was, what it is, what the provider said
        was, now = (label_of(PaymentStatus, data.get(k, "")) for k in ("before", "after"))
        words = said(data["said"]) if data.get("said") else gettext("no status")
        if was == now:
            return gettext("still %(status)s (the provider said: %(said)s)") % {
                "status": now,
                "said": words,
            }
        return f"{was} → {now} ({words})"
    template = OUTCOMES.get(outcome.code)
    if template is None:
        return f"{outcome.code} {data}".strip()
    values = Filled({key: str(value) for key, value in data.items()})
    if "status" in data:
        values["status"] = label_of(PaymentStatus, data["status"])
    if "fiscal_status" in data:
        values["status"] = label_of(FiscalStatus, data["fiscal_status"])
    if "provider" in data:
        values["provider"] = _provider_label(data["provider"])
    values["code"] = data.get("code") or gettext("no code")
    if outcome.code == "refused":
        values["why"] = why_refused(data)
    return str(template) % values


# Outcomes of an action that ran and changed nothing: said as information, not success.
UNCHANGED = frozenset({"asked_only_open", "fiscal_nothing_to_send"})


def changed_nothing(outcome: Reason) -> bool:
    data = outcome.data
    asked_same = outcome.code == "status_asked" and data.get("before") == data.get("after")
    return asked_same or outcome.code in UNCHANGED


def action_outcome(action: OperatorAction) -> str:
    return outcome_text(Reason(action.outcome, action.outcome_data))


def why_refused(data: dict[str, Any]) -> str:
    """A service's refusal as the operator reads it: our reasons in the operator's
    language, a provider's or the PIN pad's own words as they came."""
    error = data.get("error")
    if error == ErrorCode.PAYMENT and data.get("reason") in REFUSALS:
        status = label_of(PaymentStatus, data["status"]) if data.get("status") else ""
        return str(REFUSALS[data["reason"]]) % {"status": status}
    if error == ErrorCode.BILLING:
        return gettext("%(provider)s answered %(code)s: %(note)s") % {
            "provider": _provider_label(data.get("provider", "")),
            "code": data.get("code", ""),
            "note": said(data.get("note", "")),
        }
    if error == ErrorCode.XUMO and data.get("account"):
        return gettext("the account %(account)s cannot be used now (%(reason)s)") % {
            "account": data["account"],
            "reason": data.get("reason", ""),
        }
    if error == ErrorCode.XUMO:
        return gettext("the PIN pad answered %(code)s: %(reason)s") % {
            "code": data.get("host_code") or "—",
            "reason": data.get("reason", ""),
        }
    rest = {k: v for k, v in data.items() if k not in ("error", "message")}
    return f"{data.get('message', '')} {rest or ''}".strip()


def _provider_label(name: str) -> str:
    gateway = registry.GATEWAYS.get(name)
    return gateway.label if gateway is not None else name
