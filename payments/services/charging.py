"""Taking money: one path for every gateway (CLICK PASS, PAYME GO and Uzum Fast Pay codes,
HUMO cards).

The row is committed before the provider hears of it, already `processing`; the charge is
sent once; what its answer changes is one more transaction. A lost answer is settled by
asking the provider, never by charging again.
"""

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from payments import metrics, peer, store
from payments.errors import ApplicationError, ErrorCode
from payments.models import (
    REGISTER_HUNG_UP,
    IdempotencyKey,
    Payment,
    PaymentStatus,
    Register,
)
from payments.reasons import Code, Reason, because, reason_of
from payments.selectors import payment_by_code
from payments.services import accounts, idempotency
from payments.services.reconnect import on_live_connection, record_or_unknown
from payments.states import CHARGE_STATUS, CHECK_STATUS, PREPARE_STATUS
from payments.store import change_payment, record_result, start
from providers import registry
from providers.base import GatewayResult, Operation, Outcome, PaymentData, RegisterInfo

logger = logging.getLogger(__name__)

HUNG_UP_REASON = Code.REGISTER_HUNG_UP  # the register hung up before it was sent


def charge(
    *,
    register: Register,
    provider: str,
    amount: int,
    qr_code: str | None = None,
    key: IdempotencyKey | None = None,
) -> Payment:
    """Charge `amount` tiyin once, through the register's own account at the provider;
    return the payment as it now stands. The request's Idempotency-Key (`key`) is bound to
    the payment in the very transaction that makes it (or finds it again); without a key,
    the payment's own statement is that transaction.

    A scanned code is charged once per provider: the same code again from the same register
    within the replay window returns the first request's payment untouched (another amount
    is a conflict); from another register, or later, it is refused and says nothing of the
    first payment.
    """
    accounts.account_of(register.pk, provider)  # no account there: refused, nothing made
    if qr_code is None:
        with _making(key):
            payment = start(register=register, provider=provider, amount=amount)
            idempotency.about(payment, key)
    else:
        payment, created = _create_once(
            register=register, provider=provider, amount=amount, qr_code=qr_code, key=key
        )
        if not created:
            window = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
            age = timezone.now() - payment.created_at
            if payment.register_id != register.pk or age > window:
                raise ApplicationError.conflict("qr_code_used")
            idempotency.about(payment, key)  # the first request's: the key speaks of it too
            if payment.amount != amount:
                raise ApplicationError.conflict(
                    "qr_code_reused", transaction_id=str(payment.transaction_id)
                )
            return payment
    return send(payment, registry.GATEWAYS[provider].charge)


def send(
    payment: Payment, step: Callable[[PaymentData], GatewayResult], *, poll: bool = True
) -> Payment:
    """Run a committed operation at its provider: prepare, the step itself (sent once), a
    lookup if its answer was lost, and (`poll`) polling while the provider says it is not
    final. Without polling, an operation the provider is still finishing stays
    `processing` for reconcile to ask about later."""
    status = "error"
    try:
        payment = _send(payment, step, poll)
        status = payment.status
    except ApplicationError as exc:
        status = PaymentStatus.UNKNOWN if exc.code == ErrorCode.OUTCOME_UNKNOWN else "error"
        raise
    finally:
        metrics.count_operation(payment.provider, payment.operation, status)
    return payment


def _send(payment: Payment, step: Callable[[PaymentData], GatewayResult], poll: bool) -> Payment:
    gateway = registry.GATEWAYS[payment.provider]
    if peer.caller_hung_up():
        # It waited for a thread while its caller gave up: the customer may have paid
        # another way meanwhile. Nothing is sent; the same code again hears why.
        return on_live_connection(
            lambda: change_payment(
                payment,
                status=PaymentStatus.FAILED,
                reason=HUNG_UP_REASON,
                provider_status=REGISTER_HUNG_UP,
            ),
            what=f"failing {payment.transaction_id}",
        )
    if payment.status == PaymentStatus.CREATED:
        # An operation made `created` (a reversal, checked before it is sent): committed
        # as sent before the provider hears of it. A charge is born `processing`.
        payment = on_live_connection(
            lambda: change_payment(payment, status=PaymentStatus.PROCESSING, reason=Code.SENT),
            what=f"sending {payment.transaction_id}",
        )
    prepared = gateway.prepare(gateway_input(payment))
    if prepared is not None:
        # What the charge needs first (Payme's receipt): its id is committed before the
        # charge, so a lost charge answer can still be looked up.
        payment = _record(payment, prepared, PREPARE_STATUS, Code.PREPARED)
        if prepared.outcome is not Outcome.SUCCESS:
            return payment

    result = step(gateway_input(payment))
    payment = _record(payment, result, CHARGE_STATUS, Code.ANSWERED)
    if result.outcome is Outcome.UNKNOWN:
        # It may have gone through. Ask; never send it again.
        result = gateway.check(gateway_input(payment))
        payment = _record(payment, result, CHECK_STATUS, Code.STATUS_AFTER_LOST_ANSWER)
    attempts, interval = gateway.poll_schedule() if poll else (0, 0.0)
    for attempt in range(1, attempts + 1):
        if result.outcome is not Outcome.PENDING:
            break
        time.sleep(interval)
        result = gateway.check(gateway_input(payment))
        payment = _record(payment, result, CHECK_STATUS, because(Code.STATUS_POLL, attempt=attempt))
    if result.outcome is Outcome.PENDING and poll:
        # Still not final after the window: the provider's own way to end it (Payme
        # cancels a receipt still waiting, so that a late payment cannot land).
        settled = gateway.settle_after_polling(gateway_input(payment), result)
        if settled is not result:
            payment = _record(payment, settled, CHECK_STATUS, Code.AFTER_POLLING)
    return payment


def _record(
    payment: Payment,
    result: GatewayResult,
    statuses: Mapping[Outcome, str],
    reason: Reason | str,
) -> Payment:
    """`record_result`; once the provider may have acted, its answer must not be lost."""
    return record_or_unknown(
        lambda: record_result(payment, result, statuses, reason=reason),
        transaction_id=payment.transaction_id,
        exchanges=result.exchanges,
        what=f"the provider's answer ({reason_of(reason).code})",
    )


def check_status(payment: Payment, *, actor: str = "system") -> Payment:
    """Ask the provider once what became of a payment and record the answer."""
    result = registry.GATEWAYS[payment.provider].check(gateway_input(payment))
    return record_result(payment, result, CHECK_STATUS, reason=Code.STATUS_LOOKUP, actor=actor)


def gateway_input(payment: Payment) -> PaymentData:
    """What the payment's gateway needs to know of it, and the account to use: its own
    register's."""
    reverses = payment.reverses
    register, _ = accounts.register_and_accounts(payment.register_id)
    return PaymentData(
        transaction_id=str(payment.transaction_id),
        amount=payment.amount,
        created_at=payment.created_at,
        account=accounts.account_of(payment.register_id, payment.provider),
        register=RegisterInfo(
            inn=register.inn,
            kkm_id=register.kkm_id,
            device_id=register.device_id,
            cashbox_code=register.cashbox_code,
        ),
        operation=Operation(payment.operation),
        qr_code=payment.qr_code or "",
        provider_payment_id=payment.provider_payment_id,
        payer_phone=payment.payer_phone,
        reversed_reference=reverses.provider_payment_id if reverses else "",
        reversed_transaction_id=str(reverses.transaction_id) if reverses else "",
        reverses_whole=reverses is not None and payment.amount == reverses.amount,
    )


def _making(key: IdempotencyKey | None) -> AbstractContextManager:
    """What holds the payment's making: one transaction with its key's binding (the key
    learns its payment in the same commit), or else only what the payment's own writes need
    (on PostgreSQL one statement, with no BEGIN and COMMIT round trips)."""
    return store.atomic(with_others=key is not None)


def _create_once(
    *,
    register: Register,
    provider: str,
    amount: int,
    qr_code: str,
    key: IdempotencyKey | None,
) -> tuple[Payment, bool]:
    try:
        with _making(key):
            payment = start(register=register, provider=provider, amount=amount, qr_code=qr_code)
            idempotency.about(payment, key)
            return payment, True
    except IntegrityError:
        # The unique (provider, qr_code) constraint: this code was seen before.
        return payment_by_code(provider, qr_code), False
