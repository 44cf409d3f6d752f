"""Taking money: one path for every gateway (CLICK PASS and PAYME GO codes, HUMO cards).

The row is committed before the provider hears of it; the charge is sent once; a lost
answer is settled by asking the provider, never by charging again.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction

from payments.errors import ApplicationError
from payments.models import Payment, PaymentStatus
from payments.selectors import payment_by_code
from payments.services.reconnect import on_live_connection, record_or_unknown
from payments.services.transitions import (
    CHARGE_STATUS,
    CHECK_STATUS,
    PREPARE_STATUS,
    change_payment,
    record_result,
)
from providers import registry
from providers.base import GatewayResult, Outcome, PaymentData, RegisterInfo

logger = logging.getLogger(__name__)


def charge(
    *,
    provider: str,
    amount: int,
    qr_code: str | None = None,
    on_payment: Callable[[Payment], None] = lambda payment: None,
) -> Payment:
    """Charge `amount` tiyin once; return the payment as it now stands. `on_payment` hears
    of the payment in the very transaction that makes it (or finds it again).

    A scanned code is charged once per provider: the same code again returns the first
    request's payment untouched (another amount is a conflict).
    """
    if qr_code is None:
        with transaction.atomic():
            payment = Payment.objects.create(provider=provider, amount=amount)
            on_payment(payment)
    else:
        payment, created = _create_once(
            provider=provider, amount=amount, qr_code=qr_code, on_payment=on_payment
        )
        if not created:
            on_payment(payment)  # the first request's payment: the key speaks of it too
            if payment.amount != amount:
                raise ApplicationError.conflict(
                    "qr_code_reused", transaction_id=str(payment.transaction_id)
                )
            return payment
    return send(payment, registry.GATEWAYS[provider].charge)


def send(payment: Payment, step: Callable[[PaymentData], GatewayResult]) -> Payment:
    """Run a committed operation at its provider: prepare, the step itself (sent once), a
    lookup if its answer was lost, polling while the provider says it is not final."""
    gateway = registry.GATEWAYS[payment.provider]
    payment = on_live_connection(
        lambda: change_payment(payment, status=PaymentStatus.PROCESSING, reason="sent"),
        what=f"sending {payment.transaction_id}",
    )
    prepared = gateway.prepare(gateway_input(payment))
    if prepared is not None:
        # What the charge needs first (Payme's receipt): its id is committed before the
        # charge, so a lost charge answer can still be looked up.
        payment = _record(payment, prepared, PREPARE_STATUS, "prepared")
        if prepared.outcome is not Outcome.SUCCESS:
            return payment

    result = step(gateway_input(payment))
    payment = _record(payment, result, CHARGE_STATUS, "answered")
    if result.outcome is Outcome.UNKNOWN:
        # It may have gone through. Ask; never send it again.
        result = gateway.check(gateway_input(payment))
        payment = _record(payment, result, CHECK_STATUS, "status after lost answer")
    attempts, interval = gateway.poll_schedule()
    for attempt in range(1, attempts + 1):
        if result.outcome is not Outcome.PENDING:
            break
        time.sleep(interval)
        result = gateway.check(gateway_input(payment))
        payment = _record(payment, result, CHECK_STATUS, f"status poll {attempt}")
    if result.outcome is Outcome.PENDING:
        # Still not final after the window: the provider's own way to end it (Payme
        # cancels a receipt still waiting, so that a late payment cannot land).
        settled = gateway.settle_after_polling(gateway_input(payment), result)
        if settled is not result:
            payment = _record(payment, settled, CHECK_STATUS, "after polling")
    return payment


def _record(
    payment: Payment, result: GatewayResult, statuses: dict[Outcome, str], reason: str
) -> Payment:
    """`record_result`; once the provider may have acted, its answer must not be lost."""
    return record_or_unknown(
        lambda: record_result(payment, result, statuses, reason=reason),
        transaction_id=payment.transaction_id,
        exchanges=result.exchanges,
        what=f"the provider's answer ({reason})",
    )


def check_status(payment: Payment, *, actor: str = "system") -> Payment:
    """Ask the provider once what became of a payment and record the answer."""
    result = registry.GATEWAYS[payment.provider].check(gateway_input(payment))
    return record_result(payment, result, CHECK_STATUS, reason="status lookup", actor=actor)


def gateway_input(payment: Payment) -> PaymentData:
    """What the payment's gateway needs to know of it, and the account to use."""
    reverses = payment.reverses
    return PaymentData(
        transaction_id=str(payment.transaction_id),
        amount=payment.amount,
        created_at=payment.created_at,
        account=registry.GATEWAYS[payment.provider].account(),
        register=RegisterInfo(
            inn=settings.REGISTER_INN,
            kkm_id=settings.REGISTER_KKM_ID,
            device_id=settings.REGISTER_DEVICE_ID,
            cashbox_code=settings.REGISTER_CASHBOX_CODE,
        ),
        operation=payment.operation,
        qr_code=payment.qr_code or "",
        provider_payment_id=payment.provider_payment_id,
        payer_phone=payment.payer_phone,
        reversed_reference=reverses.provider_payment_id if reverses else "",
    )


def _create_once(
    *, provider: str, amount: int, qr_code: str, on_payment: Callable[[Payment], None]
) -> tuple[Payment, bool]:
    try:
        with transaction.atomic():
            payment = Payment.objects.create(provider=provider, amount=amount, qr_code=qr_code)
            on_payment(payment)
            return payment, True
    except IntegrityError:
        # The unique (provider, qr_code) constraint: this code was seen before.
        return payment_by_code(provider, qr_code), False
