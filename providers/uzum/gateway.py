"""Uzum Bank Fast Pay gateway: charge a scanned code, ask its status, attach the receipt,
reverse.

Facts behind the rules: the Uzum Fast Pay reference (`uzum-fastpay.md`), sections 3-10.
Uzum answers HTTP 200 for errors too: an answer is read by its `error_code`,
`error_message` key and `payment_status`. Fast Pay looks payments up only by its own
`payment_id`, so a charge whose answer was lost is settled by sending the identical
request again (section 10b): Uzum refuses a repeated `order_id`, so that repeat can never
be a second charge.
"""

import hashlib
import time as clock
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone

from providers import http, sayings
from providers.base import (
    AccountField,
    BaseGateway,
    GatewayResult,
    OfdReceipt,
    Operation,
    Outcome,
    PaymentData,
    journaled,
    refund_state,
    secret_field,
)
from providers.http import HttpExchange, as_int

# How Uzum's "UNIX time in milliseconds for the UTC+5 time zone" is read: the plain epoch,
# or Tashkent's wall clock written as if it were UTC. Which one an account needs is found
# by calibration (a status call with each), so it is a setting of the account.
TIMESTAMP_READINGS = {"epoch": 0, "tashkent": 5 * 3600 * 1000}

# Uzum refuses a request whose Authorization timestamp is more than 50 s old; a charge
# that had not started by then can never run late. Our margin on top of it.
AUTH_WINDOW = timedelta(seconds=50)
REPEAT_AFTER = AUTH_WINDOW + timedelta(seconds=10)

# Keys that mean "this request was not processed, because an earlier one with the same
# order, transaction or code was": on a repeat of our own charge, the first one ran.
DUPLICATE_KEYS = frozenset({"order.id.duplicated", "transaction.duplicated", "qr.duplicated"})
# Keys that mean the outcome is not known yet.
IN_PROCESS_KEYS = frozenset({"operation.is.inProcess", "external.service.unavailable"})
NOT_FOUND_KEY = "operation.not.found"
# error_code values of a refused Authorization header (credentials; the 50 s window).
AUTH_CODES = frozenset({401, 403})

# The environment secret that holds the first register's key (`configured_account`).
FIRST_REGISTER_SECRET = "PROVIDER_SECRET_UZUM"


@dataclass(frozen=True)
class UzumAccount:
    """A Fast Pay service and the credentials of its `Authorization` header."""

    base_url: str
    service_id: int
    merchant_service_user_id: str
    secret_key: str = field(repr=False)
    timestamp_shift_ms: int = 0


def auth_header(user_id: str, secret_key: str, now_ms: int, shift_ms: int = 0) -> str:
    """`Authorization: <user id>:<sha1(timestamp + secret)>:<timestamp>`, the timestamp in
    milliseconds as the account reads it. SHA-1 of the plain concatenation, not an HMAC."""
    timestamp = str(now_ms + shift_ms)
    digest = hashlib.sha1((timestamp + secret_key).encode("utf-8")).hexdigest()
    return f"{user_id}:{digest}:{timestamp}"


class UzumGateway(BaseGateway):
    name = "uzum"
    label = "Uzum"

    account_fields: tuple[AccountField, ...] = (
        AccountField("service_id", "Service id", help_text="Uzum's number of the service"),
        AccountField(
            "merchant_service_user_id",
            "Merchant service user id",
            help_text="digits: the till's user id at Uzum",
        ),
        secret_field("secret_key", "Secret key", "the service's key"),
        AccountField(
            "timestamp_reading",
            "Timestamp reading",
            default="epoch",
            choices=tuple(TIMESTAMP_READINGS),
            help_text="how Uzum reads the header's time: epoch, or Tashkent's clock as UTC",
        ),
    )

    def account(self, values: Mapping[str, str]) -> UzumAccount:
        user_id = str(values["merchant_service_user_id"])
        if not user_id.isdigit():
            raise ValueError("the merchant service user id is digits only")
        reading = values.get("timestamp_reading") or "epoch"
        if reading not in TIMESTAMP_READINGS:
            raise ValueError(f"the timestamp reading is one of {', '.join(TIMESTAMP_READINGS)}")
        return UzumAccount(
            base_url=settings.UZUM_BASE_URL,
            service_id=int(values["service_id"]),
            merchant_service_user_id=user_id,
            secret_key=values["secret_key"],
            timestamp_shift_ms=TIMESTAMP_READINGS[reading],
        )

    def configured_account(self) -> dict[str, str] | None:
        if not settings.UZUM_SERVICE_ID:
            return None
        return {
            "service_id": str(settings.UZUM_SERVICE_ID),
            "merchant_service_user_id": str(settings.UZUM_MERCHANT_SERVICE_USER_ID),
            # Kept under the names every later account uses (PROVIDER_SECRET_*), so the
            # first register's Uzum key needs no rule of its own.
            "secret_key": FIRST_REGISTER_SECRET,
            "timestamp_reading": settings.UZUM_TIMESTAMP_READING,
        }

    def poll_schedule(self) -> tuple[int, float]:
        return settings.UZUM_STATUS_POLL_ATTEMPTS, settings.UZUM_STATUS_POLL_INTERVAL

    def longest_wait(self) -> float:
        call = settings.PROVIDER_CONNECT_TIMEOUT + settings.UZUM_READ_TIMEOUT
        charge = settings.PROVIDER_CONNECT_TIMEOUT + settings.UZUM_PAYMENT_READ_TIMEOUT
        attempts, interval = self.poll_schedule()
        # The charge, the status of a duplicate or a lost answer, then every poll.
        return charge + 2 * call + attempts * (interval + call)

    @journaled
    def charge(self, payment: PaymentData[UzumAccount]) -> GatewayResult:
        """`v2/payment` with the scanned code. Sent once; in process: its status after."""
        result = _charge_result(_send_charge(payment), repeat=False)
        return _settle_duplicate(payment, result)

    @journaled
    def check(self, payment: PaymentData[UzumAccount]) -> GatewayResult:
        """What became of a payment: its status by Uzum's id; without one (the charge's
        answer was lost), the identical charge sent again once Uzum's 50 s window has shut
        on the first (section 10b). Of a refund: the purchase's status."""
        if payment.operation is Operation.REVERSAL:
            return _refund_status(payment)
        if payment.provider_payment_id:
            return _status(payment.account, payment.provider_payment_id)
        age = timezone.now() - payment.created_at
        if age < REPEAT_AFTER:
            wait = int((REPEAT_AFTER - age).total_seconds()) + 1
            return GatewayResult(
                Outcome.UNKNOWN,
                message=sayings.UZUM_REPEAT_SOON(seconds=wait),
            )
        result = _charge_result(_send_charge(payment), repeat=True)
        return _settle_duplicate(payment, result)

    @journaled
    def reverse(self, payment: PaymentData[UzumAccount]) -> GatewayResult:
        """A refund of the whole purchase, by its order id (our transaction id of it) and
        Uzum's payment id: Fast Pay has no partial one. The refund has no id of its own."""
        account: UzumAccount = payment.account
        path = f"v2/payment/reversal/{quote(payment.reversed_transaction_id, safe='')}"
        body = {"service_id": account.service_id, "payment_id": payment.reversed_reference}
        exchange = _call(account, "payment/reversal", "PUT", path, body)
        result = _operation_result(exchange, "", done={"REVERSED"})
        return replace(result, provider_payment_id="", payer_phone="")

    @journaled
    def submit_fiscal(
        self, payment: PaymentData[UzumAccount], receipt: OfdReceipt
    ) -> GatewayResult:
        """`payment/fiscal`: the register's receipt URL, sent as it came."""
        account: UzumAccount = payment.account
        body = {
            "payment_id": payment.provider_payment_id,
            "service_id": account.service_id,
            "fiscal_url": receipt.url,
        }
        exchange = _call(account, "payment/fiscal", "POST", "payment/fiscal", body)
        return _operation_result(exchange, payment.provider_payment_id, done=None)


GATEWAY = UzumGateway()
LABEL = GATEWAY.label


# --- the charge ---------------------------------------------------------------------------


def _send_charge(payment: PaymentData[UzumAccount]) -> HttpExchange:
    """The charge request: byte for byte the same each time it is sent for one payment."""
    account: UzumAccount = payment.account
    body = {
        "amount": payment.amount,  # tiyin, as Uzum counts
        "cashbox_code": payment.register.cashbox_code,
        "otp_data": payment.qr_code,
        # One id of ours in both places: unique per payment, and the reversal's path.
        "order_id": payment.transaction_id,
        "transaction_id": payment.transaction_id,
        "service_id": account.service_id,
    }
    return _call(
        account,
        "v2/payment",
        "POST",
        "v2/payment",
        body,
        read_timeout=settings.UZUM_PAYMENT_READ_TIMEOUT,
    )


def _charge_result(exchange: HttpExchange, *, repeat: bool) -> GatewayResult:
    """Classify an answer to the charge (section 10a); `repeat`: our own second sending,
    after which a duplicate refusal means the first one ran."""
    if not exchange.answered:
        # Sent again, an unanswered repeat still cannot have charged twice.
        return http.unanswered(exchange, LABEL, not_sent_fails=not repeat)
    refused = _refused_by_http(exchange)
    if refused is not None:
        # Refused before anything was processed: of a repeat, that says nothing of the first.
        return replace(refused, outcome=Outcome.UNKNOWN) if repeat else refused
    answer = exchange.json_object()
    common = _fields(answer)
    key = common["message"]
    status = common["provider_status"]
    if status == "DUPLICATED":
        # An earlier operation with this order: its status says what it became.
        return GatewayResult(Outcome.UNKNOWN, **common)
    if key in DUPLICATE_KEYS:
        if repeat:
            return GatewayResult(
                Outcome.UNKNOWN,
                needs_attention=True,
                **common | {"message": sayings.UZUM_REPEAT_REFUSED(key=key)},
            )
        return GatewayResult(Outcome.FAILED, **common)  # the customer's code was used before
    if key in IN_PROCESS_KEYS or status == "HOLD":
        outcome = Outcome.PENDING if common["provider_payment_id"] else Outcome.UNKNOWN
        return GatewayResult(outcome, **common)
    result = _by_code_and_status(common)
    if repeat and result.outcome is Outcome.FAILED and result.code not in (0, None):
        return _declined_repeat(result)
    return result


def _declined_repeat(result: GatewayResult) -> GatewayResult:
    """Uzum declined our repeat with a key of its own (section 10b): the order id was free,
    so the first charge most likely never ran; but Uzum does not say in which order it
    checks, so a person confirms it. Refused credentials or clock say nothing at all."""
    if result.code in AUTH_CODES:
        return replace(result, outcome=Outcome.UNKNOWN)
    reason = sayings.UZUM_REPEAT_DECLINED(message=result.message)
    return replace(result, needs_attention=True, message=reason)


def _settle_duplicate(payment: PaymentData[UzumAccount], result: GatewayResult) -> GatewayResult:
    """A `DUPLICATED` answer names the earlier operation: ask its status."""
    if result.provider_status == "DUPLICATED" and result.provider_payment_id:
        return _status(payment.account, result.provider_payment_id)
    return result


# --- status, reversal, fiscal -------------------------------------------------------------


def _status(account: UzumAccount, payment_id: str) -> GatewayResult:
    body = {"payment_id": payment_id, "service_id": account.service_id}
    exchange = _call(account, "payment/status", "POST", "payment/status", body)
    if not exchange.answered:
        return http.unanswered(exchange, LABEL, not_sent_fails=False)
    refused = _refused_by_http(exchange)
    if refused is not None:
        # A lookup refused (credentials, clock) says nothing of the payment.
        return GatewayResult(Outcome.UNKNOWN, code=refused.code, message=refused.message)
    common = _fields(exchange.json_object())
    if common["message"] == NOT_FOUND_KEY or common["code"] == 404:
        return GatewayResult(Outcome.UNKNOWN, not_found=True, **common)
    if common["code"] not in (0, None) and not common["provider_status"]:
        return GatewayResult(Outcome.UNKNOWN, **common)  # the lookup failed, not the payment
    if common["provider_status"] == "HOLD":
        return GatewayResult(Outcome.PENDING, **common)
    return _by_code_and_status(common | {"provider_payment_id": payment_id})


def _refund_status(payment: PaymentData[UzumAccount]) -> GatewayResult:
    """What became of a refund, from Uzum's status of its purchase: `REVERSED` -> done;
    still `SUCCESS` -> not done; anything else cannot tell."""
    purchase = _status(payment.account, payment.reversed_reference)
    if purchase.provider_status == "REVERSED":
        return refund_state(purchase, Outcome.SUCCESS, sayings.PURCHASE_REVERSED(provider="Uzum"))
    if purchase.outcome is Outcome.SUCCESS:
        note = sayings.REVERSAL_NOT_DONE(provider="Uzum")
        return refund_state(purchase, Outcome.FAILED, note)
    return refund_state(purchase, Outcome.UNKNOWN, purchase.message)


def _operation_result(
    exchange: HttpExchange, payment_id: str, *, done: set[str] | None
) -> GatewayResult:
    """A reversal (done when the status says so) or a fiscal link (done on error_code 0)."""
    if not exchange.answered:
        return http.unanswered(exchange, LABEL)
    refused = _refused_by_http(exchange)
    if refused is not None:
        return refused
    answer = exchange.json_object()
    common = _fields(answer) | {"provider_payment_id": payment_id}
    succeeded = common["code"] == 0 and (done is None or common["provider_status"] in done)
    if succeeded:
        return GatewayResult(Outcome.SUCCESS, raw=answer, **common)
    if common["code"] == 0 and common["provider_status"] == "REVERSE_PENDING":
        return GatewayResult(Outcome.PENDING, raw=answer, **common)
    return GatewayResult(Outcome.FAILED, raw=answer, **common)


# --- reading answers ----------------------------------------------------------------------


def _fields(answer: dict[str, Any]) -> dict[str, Any]:
    payment_id = answer.get("payment_id")
    status = answer.get("payment_status")
    return {
        "provider_payment_id": "" if payment_id in (None, "") else str(payment_id),
        "provider_status": "" if status is None else str(status),
        "code": as_int(answer.get("error_code")),
        "message": str(answer.get("error_message") or ""),
        "payer_phone": str(answer.get("client_phone_number") or ""),
    }


def _by_code_and_status(common: dict[str, Any]) -> GatewayResult:
    """What `error_code` and `payment_status` say together, once the special keys are read."""
    code, status = common["code"], common["provider_status"]
    if code is None:
        return GatewayResult(Outcome.UNKNOWN, **common)  # not an answer we can read
    if code != 0:
        return GatewayResult(Outcome.FAILED, **common)  # a decline: Uzum processed nothing
    if status == "SUCCESS" and common["provider_payment_id"]:
        return GatewayResult(Outcome.SUCCESS, **common)
    if status in ("FAILED", "REVERSED", "PARTIAL_CANCELLED"):
        # Uzum gives no key with a failed status: the status is the reason.
        return GatewayResult(Outcome.FAILED, **common | {"message": common["message"] or status})
    return GatewayResult(Outcome.UNKNOWN, **common)  # a status Fast Pay does not document


def _refused_by_http(exchange: HttpExchange) -> GatewayResult | None:
    """A real HTTP 4xx (Uzum documents 401 beside its 200s): nothing was processed."""
    if exchange.status_code is not None and exchange.status_code >= 400:
        answer = exchange.json_object()
        return GatewayResult(
            Outcome.FAILED,
            code=as_int(answer.get("error_code")) or exchange.status_code,
            message=str(answer.get("error_message") or f"HTTP {exchange.status_code}"),
        )
    return None


def _call(
    account: UzumAccount,
    operation: str,
    method: str,
    path: str,
    body: dict[str, Any],
    read_timeout: float | None = None,
) -> HttpExchange:
    # A fresh header for every request, retries included: Uzum's window is 50 s.
    header = auth_header(
        account.merchant_service_user_id,
        account.secret_key,
        int(clock.time() * 1000),
        account.timestamp_shift_ms,
    )
    return http.send_json(
        provider=GATEWAY.name,
        operation=operation,
        method=method,
        base_url=account.base_url,
        path=path,
        auth={"Authorization": header},
        body=body,
        read_timeout=read_timeout or settings.UZUM_READ_TIMEOUT,
        secrets=[account.secret_key],
    )
