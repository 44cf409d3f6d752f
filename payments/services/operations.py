"""What operators do to a payment from the back office, and the audit row of each.

The same services the commands use; every action is written to the audit trail
(`OperatorAction`) here, whatever came of it. A payment that someone else (reconcile, a
request's late answer) settled a moment earlier refuses the action with a clear reason.
"""

from collections.abc import Callable

from django.contrib.auth.models import User

from payments import states
from payments.errors import ApplicationError, ErrorCode
from payments.models import OperatorAction, Payment, PaymentStatus
from payments.reasons import Code, Reason, because
from payments.services import fiscal, reversals
from payments.services.charging import check_status
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
) -> tuple[bool, Reason]:
    """Run one operator action on one payment and audit it: (done, what came of it, as a
    code and its parameters: the back office says it in the operator's language)."""
    do = ACTIONS[action]
    actor = user.get_username()
    try:
        outcome, done = do(payment, actor, status=status, reason=reason), True
    except ApplicationError as exc:
        # No answer is not a refusal: the provider may have acted. The payment says so.
        unknown = exc.code == ErrorCode.OUTCOME_UNKNOWN
        outcome = because(Code.NO_ANSWER) if unknown else refusal(exc)
        done = False
    except IllegalTransitionError as exc:
        outcome, done = because(Code.SETTLED_MEANWHILE, status=exc.payment.status), False
    OperatorAction.objects.create(
        user=user,
        action=action,
        payment=payment,
        reason=reason,
        outcome=outcome.code,
        outcome_data=dict(outcome.data),
    )
    return done, outcome


def refusal(exc: ApplicationError) -> Reason:
    """A service's refusal of an action, as the audit trail keeps it: the error's code and
    its data (a conflict's reason, a provider's code and words, the PIN pad's answer)."""
    data = {"error": int(exc.code), "message": exc.message, **(exc.data or {})}
    return because(Code.REFUSED, **data)


def ask_status(payment: Payment, actor: str, **_: str) -> Reason:
    """Ask the provider what became of the payment; say what it said."""
    gateway = registry.GATEWAYS[payment.provider]
    if gateway.knows_only_latest and not payment.is_open:
        return because(Code.ASKED_ONLY_OPEN, status=payment.status, provider=payment.provider)
    before = payment.status
    payment = check_status(payment, actor=actor)  # a refund: what became of it
    return because(
        Code.STATUS_ASKED, before=before, after=payment.status, said=payment.provider_status
    )


def retry_fiscal(payment: Payment, actor: str, **_: str) -> Reason:
    if not payment.can_retry_fiscal:
        return because(Code.FISCAL_NOTHING_TO_SEND, fiscal_status=payment.fiscal_status)
    payment = fiscal.retry(payment, actor=actor)
    return because(Code.FISCAL_STATUS, fiscal_status=payment.fiscal_status)


def reverse(payment: Payment, actor: str, **_: str) -> Reason:
    """Give all that is left of a purchase back at its provider, as a refund of its own (the
    register's `/payment/refund` runs the same service)."""
    made = reversals.refund(payment)  # who asked for it: the audit row of the action
    if made.status == PaymentStatus.UNKNOWN:
        raise ApplicationError.outcome_unknown(made.transaction_id)  # not a refusal
    if made.status == PaymentStatus.PAID and made.reverses is not None:
        return because(Code.STATUS_NOW, status=made.reverses.status)  # the purchase now
    return because(Code.REVERSAL_ANSWERED, status=made.status, code=made.provider_code)


def settle_by_hand(payment: Payment, actor: str, *, status: str, reason: str) -> Reason:
    """An operator who knows (the provider's cabinet, the terminal's journal) says what
    happened."""
    if status not in SETTLED_BY_HAND:
        raise ApplicationError.conflict("not_a_final_status", status=status)
    if not payment.can_settle_by_hand:
        raise ApplicationError.conflict("not_open", status=payment.status)
    change_payment(
        payment,
        status=status,
        reason=because(Code.BY_HAND, words=reason),
        actor=actor,
        needs_attention=False,
    )
    return because(Code.STATUS_NOW, status=status)


ACTIONS: dict[str, Callable[..., Reason]] = {
    "check_status": ask_status,
    "retry_fiscal": retry_fiscal,
    "reverse_payments": reverse,
    "settle_by_hand": settle_by_hand,
}
