"""Payments for tests: one way to make them, in any state, without a provider."""

import itertools
import uuid
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission, User

from payments.models import Payment, PaymentStatus, Register
from payments.services import accounts
from payments.services.charging import gateway_input
from payments.services.registers import first_register, put_account, set_accounts
from payments.store import change_payment
from providers import registry
from providers.base import Operation, PaymentData

# The state machine's way to each status, from created.
_PATHS = {
    PaymentStatus.CREATED: [],
    PaymentStatus.PROCESSING: [PaymentStatus.PROCESSING],
    PaymentStatus.UNKNOWN: [PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN],
    PaymentStatus.PAID: [PaymentStatus.PROCESSING, PaymentStatus.PAID],
    PaymentStatus.FAILED: [PaymentStatus.PROCESSING, PaymentStatus.FAILED],
    PaymentStatus.REVERSED: [PaymentStatus.PROCESSING, PaymentStatus.PAID, PaymentStatus.REVERSED],
}


# The emulators' test accounts (tests/conftest.py starts them with these credentials).
CLICK_SERVICE = {
    "service_id": "40012",
    "merchant_user_id": "12345",
    "secret_key": "PROVIDER_SECRET_CLICK",
}
PAYME_CASHBOX = {"cashbox_id": "6f0c0e0a1b2c3d4e5f607182", "key": "PROVIDER_SECRET_PAYME"}
UZUM_SERVICE = {
    "service_id": "4012",
    "merchant_service_user_id": "8461",
    "secret_key": "PROVIDER_SECRET_UZUM",
}


def shop_register() -> Register:
    """The register tests call as (the first register, as the upgrade makes it), with the
    emulators' test accounts and the PIN pad at settings.PINPAD_URL (the pinpad fixture's)."""
    register = first_register()
    register.networks, register.active = "127.0.0.0/8\n::1/128", True
    register.save()
    pinpad = {"url": settings.PINPAD_URL or "/dev/null", "protocol": settings.PINPAD_PROTOCOL}
    set_accounts(
        register,
        [
            put_account("click", "test CLICK service", CLICK_SERVICE),
            put_account("payme", "test Payme cashbox", PAYME_CASHBOX),
            put_account("uzum", "test Uzum service", UZUM_SERVICE),
            put_account("humo", "test PIN pad", pinpad),
        ],
    )
    accounts.forget()
    return register


_codes = itertools.count(880101000001)
_SCANNED = object()  # a new scanned code, for the providers that take one


def make_payment(
    *,
    provider: str = "click",
    amount: int = 500,
    qr_code: Any = _SCANNED,
    status: str = PaymentStatus.CREATED,
    register: Register | None = None,
    **fields: Any,
) -> Payment:
    """A payment row brought to `status` through the locked path (so its timeline is
    real); `fields` are written on the way (provider ids, fiscal state, ...)."""
    if qr_code is _SCANNED:
        qr_code = str(next(_codes)) if registry.GATEWAYS[provider].takes_fiscal_receipts else None
    created = {k: fields.pop(k) for k in ("operation", "reverses", "created_at") if k in fields}
    register = register or shop_register()
    payment = Payment.objects.create(
        register=register, provider=provider, amount=amount, qr_code=qr_code, **created
    )
    if "created_at" in created:  # auto_now_add ignores it on insert
        Payment.objects.filter(pk=payment.pk).update(created_at=created["created_at"])
        payment.refresh_from_db()
    for step in _PATHS[status]:
        payment = change_payment(payment, status=step, reason="test set-up")
    if fields:
        payment = change_payment(payment, reason="test set-up", **fields)
    return payment


def operator(*codenames: str) -> User:
    """A back-office user who may view payments and do what `codenames` allow."""
    user = User.objects.create_user("op", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="payments", codename__in=["view_payment", *codenames]
        )
    )
    return user


def data_of(payment: Payment) -> PaymentData:
    """What the payment's gateway would be given."""
    return gateway_input(payment)


def refund_data(purchase: PaymentData, amount: int | None = None) -> PaymentData:
    """What a gateway would be given to refund `amount` (all of it by default) of the
    purchase `purchase` describes."""
    return replace(
        purchase,
        transaction_id=str(uuid.uuid4()),
        amount=purchase.amount if amount is None else amount,
        operation=Operation.REVERSAL,
        provider_payment_id="",
        reversed_reference=purchase.provider_payment_id,
        reversed_transaction_id=purchase.transaction_id,
        reverses_whole=amount is None or amount == purchase.amount,
    )


def pinpad_account() -> Any:
    """The HUMO gateway's account for the PIN pad the pinpad fixture set up."""
    values = {"url": settings.PINPAD_URL, "protocol": settings.PINPAD_PROTOCOL}
    return registry.GATEWAYS["humo"].account(values)
