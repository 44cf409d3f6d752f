"""What operators do to a payment from the back office, and the audit row of each.

The same services the commands use; every action is written to the audit trail
(`OperatorAction`) here, whatever came of it. A payment that someone else (reconcile, a
request's late answer) settled a moment earlier refuses the action with a clear reason.
"""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.utils.translation import gettext, gettext_lazy

from payments import states
from payments.errors import ApplicationError, ErrorCode
from payments.models import FiscalStatus, OperatorAction, Payment, PaymentStatus, label_of
from payments.services import fiscal, reversals
from payments.services.charging import check_status, gateway_input
from payments.store import IllegalTransitionError, change_payment
from providers import registry

# What an operator may set an open payment to (states' rule), as the back office shows it.
SETTLED_BY_HAND = tuple(PaymentStatus(status) for status in states.SETTLED_BY_HAND)


def run(
    action: str,
    payment: Payment,
    *,
    user: User,
    reason: str,
    status: str = "",
) -> tuple[bool, str]:
    """Run one operator action on one payment and audit it: (done, what came of it)."""
    do = ACTIONS[action]
    actor = user.get_username()
    try:
        outcome, done = do(payment, actor, status=status, reason=reason), True
    except ApplicationError as exc:
        if exc.code == ErrorCode.OUTCOME_UNKNOWN:
            # Not a refusal: the provider may have acted. The payment says so (flagged).
            outcome = gettext(
                "no answer from the provider: it may have gone through; the payment is "
                "flagged until the provider says"
            )
        else:
            outcome = gettext("refused: %(why)s") % {"why": why_refused(exc)}
        done = False
    except IllegalTransitionError as exc:
        now = label_of(PaymentStatus, exc.payment.status)
        outcome, done = (
            gettext("refused: settled meanwhile, it is %(status)s now") % {"status": now},
            False,
        )
    OperatorAction.objects.create(
        user=user, action=action, payment=payment, reason=reason, outcome=outcome[:255]
    )
    return done, outcome


# Why the services refuse an action on a payment (their `conflict` reasons), as an operator
# reads it; the register API answers the same refusals with their codes.
REFUSALS = {
    "not_paid": gettext_lazy("it is not paid: it is %(status)s"),
    "not_open": gettext_lazy("it is no longer open: it is %(status)s"),
    "not_a_final_status": gettext_lazy("%(status)s is not an outcome to settle with"),
    "already_reversed": gettext_lazy("it has already been given back"),
    "partial_reversal_not_supported": gettext_lazy(
        "this provider gives back only the whole amount"
    ),
    "cancel_in_progress": gettext_lazy("a reversal of it is already under way"),
    "receipt_reused": gettext_lazy("that receipt belongs to another payment"),
    "not_found": gettext_lazy("the provider has no such payment"),
}


def why_refused(exc: ApplicationError) -> str:
    """An application error as the operator reads it: our reasons in the operator's
    language, a provider's or the PIN pad's own words as they came."""
    data = exc.data or {}
    if exc.code == ErrorCode.PAYMENT and data.get("reason") in REFUSALS:
        status = label_of(PaymentStatus, data["status"]) if data.get("status") else ""
        return REFUSALS[data["reason"]] % {"status": status}
    if exc.code == ErrorCode.BILLING:
        return gettext("%(provider)s answered %(code)s: %(note)s") % {
            "provider": registry.GATEWAYS[data["provider"]].label
            if data.get("provider") in registry.GATEWAYS
            else data.get("provider", ""),
            "code": data.get("code", ""),
            "note": data.get("note", ""),
        }
    if exc.code == ErrorCode.XUMO and data.get("account"):
        return gettext("the account %(account)s cannot be used now (%(reason)s)") % {
            "account": data["account"],
            "reason": data.get("reason", ""),
        }
    if exc.code == ErrorCode.XUMO:
        return gettext("the PIN pad answered %(code)s: %(reason)s") % {
            "code": data.get("host_code") or "—",
            "reason": data.get("reason", ""),
        }
    return f"{exc.message} {data or ''}".strip()


def ask_status(payment: Payment, actor: str, **_: str) -> str:
    """Ask the provider what became of the payment; say what it said."""
    gateway = registry.GATEWAYS[payment.provider]
    if gateway.knows_only_latest and not payment.is_open:
        return gettext("%(status)s: %(provider)s is asked only about open operations") % {
            "status": label_of(PaymentStatus, payment.status),
            "provider": gateway.label,
        }
    before = payment.status
    if payment.reversal_in_flight:  # its reversal's answer was lost: settled by the answer
        result = gateway.check(gateway_input(payment))
        payment = reversals.settle_in_flight(payment, result, actor=actor)
    else:
        payment = check_status(payment, actor=actor)
    said = payment.provider_status or gettext("no status")
    return f"{label_of(PaymentStatus, before)} → {label_of(PaymentStatus, payment.status)} ({said})"


def retry_fiscal(payment: Payment, actor: str, **_: str) -> str:
    if not payment.can_retry_fiscal:
        return gettext("nothing to send: fiscal status %(status)s") % {
            "status": label_of(FiscalStatus, payment.fiscal_status)
        }
    payment = fiscal.retry(payment, actor=actor)
    return gettext("fiscal status %(status)s") % {
        "status": label_of(FiscalStatus, payment.fiscal_status)
    }


def reverse(payment: Payment, actor: str, **_: str) -> str:
    """Give the money back at the payment's provider (which says why it cannot)."""
    answered = reversals.reverse(payment, actor=actor)
    if answered.pk == payment.pk:
        return label_of(PaymentStatus, answered.status)
    return gettext("reversal %(status)s (%(code)s)") % {
        "status": label_of(PaymentStatus, answered.status),
        "code": answered.provider_code or gettext("no code"),
    }


def settle_by_hand(payment: Payment, actor: str, *, status: str, reason: str) -> str:
    """An operator who knows (the provider's cabinet, the terminal's journal) says what
    happened."""
    if status not in SETTLED_BY_HAND:
        raise ApplicationError.conflict("not_a_final_status", status=status)
    if not payment.can_settle_by_hand:
        raise ApplicationError.conflict("not_open", status=payment.status)
    change_payment(
        payment, status=status, reason=f"by hand: {reason}", actor=actor, needs_attention=False
    )
    return label_of(PaymentStatus, status)


ACTIONS: dict[str, Callable[..., str]] = {
    "check_status": ask_status,
    "retry_fiscal": retry_fiscal,
    "reverse_payments": reverse,
    "settle_by_hand": settle_by_hand,
}
