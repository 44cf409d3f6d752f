"""CLICK PASS gateway: charge a scanned code, ask its status, attach the receipt, reverse.

Every step takes a `PaymentData` and returns a `GatewayResult` with the exchanges it made;
none of them touches our tables. Facts behind the rules: the CLICK Merchant API reference,
sections 4-10.
"""

import hashlib
import time as clock
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
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
from providers.money import to_uzs

PAID = 2


@dataclass(frozen=True)
class ClickAccount:
    """A CLICK merchant service and the credentials of its `Auth` header."""

    base_url: str
    service_id: int
    merchant_user_id: str
    secret_key: str = field(repr=False)


def digest(timestamp: int, secret_key: str) -> str:
    # SHA-1 of the plain concatenation, timestamp first: CLICK's scheme, not an HMAC.
    return hashlib.sha1((str(timestamp) + secret_key).encode("utf-8")).hexdigest()


def auth_header(merchant_user_id: str, secret_key: str, now: int | None = None) -> str:
    """`Auth: <merchant_user_id>:<sha1(timestamp + secret)>:<timestamp>`."""
    timestamp = int(now if now is not None else clock.time())
    return f"{merchant_user_id}:{digest(timestamp, secret_key)}:{timestamp}"


class ClickGateway(BaseGateway):
    name = "click"
    label = "CLICK"
    partial_refunds = True  # payment/partial_reversal (not on docs.click.uz; several clients)

    account_fields: tuple[AccountField, ...] = (
        AccountField("service_id", "Service id", help_text="CLICK's number of the service"),
        AccountField("merchant_user_id", "Merchant user id"),
        secret_field("secret_key", "Secret key", "the service's key"),
    )

    def account(self, values: Mapping[str, str]) -> ClickAccount:
        return ClickAccount(
            base_url=settings.CLICK_BASE_URL,
            service_id=int(values["service_id"]),
            merchant_user_id=str(values["merchant_user_id"]),
            secret_key=values["secret_key"],
        )

    def configured_account(self) -> dict[str, str]:
        return {
            "service_id": str(settings.CLICK_SERVICE_ID),
            "merchant_user_id": str(settings.CLICK_MERCHANT_USER_ID),
            # Read from CLICK_SECRET_KEY where the deployment gives it so (accounts).
            "secret_key": "PROVIDER_SECRET_CLICK",
        }

    def poll_schedule(self) -> tuple[int, float]:
        return settings.CLICK_STATUS_POLL_ATTEMPTS, settings.CLICK_STATUS_POLL_INTERVAL

    def longest_wait(self) -> float:
        call = settings.PROVIDER_CONNECT_TIMEOUT + settings.CLICK_READ_TIMEOUT
        charge = settings.PROVIDER_CONNECT_TIMEOUT + settings.CLICK_PAYMENT_READ_TIMEOUT
        attempts, interval = self.poll_schedule()
        # The charge, its confirm or its check, a lookup by our id on two days and one by
        # CLICK's, then every poll.
        return charge + call + 3 * call + attempts * (interval + call)

    @journaled
    def charge(self, payment: PaymentData[ClickAccount]) -> GatewayResult:
        """`click_pass/payment`, then `click_pass/confirm` when CLICK asks for it. Sent once."""
        return _charge(payment)

    @journaled
    def check(self, payment: PaymentData[ClickAccount]) -> GatewayResult:
        """Ask CLICK what became of a payment: by its payment id, else by our transaction id."""
        return _check(payment)

    @journaled
    def submit_fiscal(
        self, payment: PaymentData[ClickAccount], receipt: OfdReceipt
    ) -> GatewayResult:
        """`payment/ofd_data/submit_qrcode`: link the register's receipt URL to the payment."""
        account = payment.account
        exchange = _call(
            account,
            "payment/ofd_data/submit_qrcode",
            "POST",
            "payment/ofd_data/submit_qrcode",
            {
                "service_id": account.service_id,
                "payment_id": _id_value(payment.provider_payment_id),
                "qrcode": receipt.url,
            },
        )
        return _plain_result(exchange, payment.provider_payment_id)

    @journaled
    def fiscal_on_file(
        self, payment: PaymentData[ClickAccount], receipt: OfdReceipt
    ) -> GatewayResult:
        """`GET payment/ofd_data`: SUCCESS when CLICK already holds this receipt URL."""
        path = (
            f"payment/ofd_data/{payment.account.service_id}/"
            f"{quote(payment.provider_payment_id, safe='')}"
        )
        exchange = _call(payment.account, "payment/ofd_data", "GET", path)
        if not exchange.answered:
            return http.unanswered(exchange, self.label, not_sent_fails=False)
        answer = exchange.json_object()
        # camelCase here, and maybe no error_code at all (reference §9b).
        on_file = answer.get("qrCodeURL") or answer.get("qr_code_url") or ""
        outcome = Outcome.SUCCESS if on_file == receipt.url else Outcome.FAILED
        return GatewayResult(outcome, provider_payment_id=payment.provider_payment_id, raw=answer)

    @journaled
    def reverse(self, payment: PaymentData[ClickAccount]) -> GatewayResult:
        """A refund: the whole purchase (`payment/reversal`) or a part of it
        (`payment/partial_reversal`, the amount in soum in the path), in the purchase's
        reporting month only, says CLICK. The refund has no CLICK id of its own."""
        account = payment.account
        purchase = f"{account.service_id}/{quote(payment.reversed_reference, safe='')}"
        if payment.reverses_whole:
            operation, path = "payment/reversal", f"payment/reversal/{purchase}"
        else:
            operation = "payment/partial_reversal"
            path = f"{operation}/{purchase}/{to_uzs(payment.amount)}"
        return _plain_result(_call(account, operation, "DELETE", path), "")


GATEWAY = ClickGateway()
LABEL = GATEWAY.label


def _charge(payment: PaymentData[ClickAccount]) -> GatewayResult:
    account: ClickAccount = payment.account
    exchange = _call(
        account,
        "click_pass/payment",
        "POST",
        "click_pass/payment",
        {
            "service_id": account.service_id,
            "otp_data": payment.qr_code,
            # Soum with two decimals, written exactly: 5000.50, never through a float.
            "amount": to_uzs(payment.amount),
            "cashbox_code": payment.register.cashbox_code,
            "transaction_id": payment.transaction_id,
        },
        read_timeout=settings.CLICK_PAYMENT_READ_TIMEOUT,
    )
    if not exchange.answered:
        return http.unanswered(exchange, LABEL)
    answer = exchange.json_object()
    result = _payment_result(exchange)
    if result.outcome is Outcome.FAILED and result.provider_payment_id:
        # A negative error_code does not promise that nothing was debited: one cheap look.
        verified = _check_by_payment_id(account, result.provider_payment_id)
        if verified.outcome is Outcome.SUCCESS:
            return verified
    if (
        result.outcome in (Outcome.FAILED, Outcome.UNKNOWN)
        or as_int(answer.get("confirm_mode")) != 1
    ):
        return result
    confirmed = _call(
        account,
        "click_pass/confirm",
        "POST",
        "click_pass/confirm",
        {
            "service_id": account.service_id,
            "payment_id": _id_value(result.provider_payment_id),
        },
        read_timeout=settings.CLICK_READ_TIMEOUT,
    )
    note = str(confirmed.json_object().get("error_note", "")) if confirmed.answered else ""
    # Whatever the confirm answered, payment/status tells the truth; the core polls it.
    return GatewayResult(
        outcome=Outcome.PENDING,
        provider_payment_id=result.provider_payment_id,
        provider_status=result.provider_status,
        code=result.code,
        message=note or result.message,
        payer_phone=result.payer_phone,
        masked_card=result.masked_card,
    )


def _check(payment: PaymentData[ClickAccount]) -> GatewayResult:
    account: ClickAccount = payment.account
    if payment.operation is Operation.REVERSAL:
        return _check_refund(payment)
    if payment.provider_payment_id:
        return _check_by_payment_id(account, payment.provider_payment_id)
    for day in _business_days(payment):
        path = (
            f"payment/status_by_mti/{account.service_id}/"
            f"{quote(payment.transaction_id, safe='')}/{day.isoformat()}"
        )
        result = _status_result(_call(account, "payment/status_by_mti", "GET", path))
        if not result.not_found:
            break
    if result.provider_payment_id and not result.provider_status:
        # Some answers carry only the id; its status is one more question away.
        return _check_by_payment_id(account, result.provider_payment_id)
    return result


def _check_refund(payment: PaymentData[ClickAccount]) -> GatewayResult:
    """What became of a refund, from CLICK's status of its purchase: a whole reversal done
    leaves it cancelled (a negative status), one not done leaves it paid. A part given back
    leaves the purchase paid either way, so the status cannot tell: a person looks in the
    merchant cabinet."""
    purchase = _check_by_payment_id(payment.account, payment.reversed_reference)
    if not payment.reverses_whole and purchase.outcome is not Outcome.FAILED:
        note = sayings.CLICK_PART_UNTOLD()
        return refund_state(purchase, Outcome.UNKNOWN, note, needs_attention=True)
    if purchase.outcome is Outcome.FAILED:
        return refund_state(purchase, Outcome.SUCCESS, sayings.PURCHASE_REVERSED(provider="CLICK"))
    if purchase.outcome is Outcome.SUCCESS:
        note = sayings.REVERSAL_NOT_DONE(provider="CLICK")
        return refund_state(purchase, Outcome.FAILED, note)
    return refund_state(purchase, Outcome.UNKNOWN, purchase.message)


def _business_days(payment: PaymentData[ClickAccount]) -> list[date]:
    """The Tashkent day the payment was made, and near midnight the neighbouring one too:
    which of the two CLICK files it under is not documented."""
    made = timezone.localtime(payment.created_at)
    days = [made.date()]
    if made.time() < time(0, 10):
        days.append(made.date() - timedelta(days=1))
    elif made.time() > time(23, 50):
        days.append(made.date() + timedelta(days=1))
    return days


def _check_by_payment_id(account: ClickAccount, provider_payment_id: str) -> GatewayResult:
    path = f"payment/status/{account.service_id}/{quote(provider_payment_id, safe='')}"
    return _status_result(_call(account, "payment/status", "GET", path))


# --- helpers ---------------------------------------------------------------------------


def _call(
    account: ClickAccount,
    operation: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    read_timeout: float | None = None,
) -> HttpExchange:
    return http.send_json(
        provider=GATEWAY.name,
        operation=operation,
        method=method,
        base_url=account.base_url,
        path=path,
        auth={"Auth": auth_header(account.merchant_user_id, account.secret_key)},
        body=body,
        read_timeout=read_timeout or settings.CLICK_READ_TIMEOUT,
        secrets=[account.secret_key],
    )


def _rejected(exchange: HttpExchange) -> GatewayResult | None:
    """HTTP 4xx: CLICK refused the request itself (auth, format); nothing was processed."""
    if exchange.status_code is not None and exchange.status_code >= 400:
        return GatewayResult(
            Outcome.FAILED,
            code=f"HTTP {exchange.status_code}",
            message=str(exchange.json_object().get("error_note", "request rejected by CLICK")),
        )
    return None


def _payment_result(exchange: HttpExchange) -> GatewayResult:
    """Read an answer carrying `payment_status` (payment and status calls)."""
    rejected = _rejected(exchange)
    if rejected:
        return rejected
    answer = exchange.json_object()
    error_code = as_int(answer.get("error_code"))
    payment_id = "" if answer.get("payment_id") in (None, "") else str(answer["payment_id"])
    raw_status = answer.get("payment_status")
    read = GatewayResult(
        Outcome.UNKNOWN,
        provider_payment_id=payment_id,
        provider_status="" if raw_status is None else str(raw_status),
        code=error_code,
        message=str(answer.get("error_note", "")),
        payer_phone=str(answer.get("phone_number") or ""),
        masked_card=str(answer.get("card_number") or ""),
    )
    status = as_int(raw_status)
    if error_code is None:
        return read
    if error_code < 0:
        return replace(read, outcome=Outcome.FAILED)
    if status is None:
        return read
    if status == PAID:
        return replace(read, outcome=Outcome.SUCCESS)
    if status < 0:
        return replace(read, outcome=Outcome.FAILED)
    return replace(read, outcome=Outcome.PENDING)


def _status_result(exchange: HttpExchange) -> GatewayResult:
    """Like `_payment_result`, but a lookup that fails tells nothing about the payment."""
    if not exchange.answered:
        return http.unanswered(exchange, LABEL, not_sent_fails=False)
    result = _payment_result(exchange)
    status_code = exchange.status_code or 0  # an answered exchange has one
    lookup_failed = status_code >= 400 or (
        result.code is not None and int(result.code) < 0 and not result.provider_status
    )
    if lookup_failed:
        # An answered lookup with an error and no payment: CLICK says it has none.
        absent = status_code < 400 and not result.provider_payment_id
        return GatewayResult(
            Outcome.UNKNOWN, code=result.code, message=result.message, not_found=absent
        )
    return result


def _plain_result(exchange: HttpExchange, provider_payment_id: str) -> GatewayResult:
    """Read an answer that is only `error_code` + `error_note`."""
    if not exchange.answered:
        return http.unanswered(exchange, LABEL)
    rejected = _rejected(exchange)
    if rejected:
        return rejected
    answer = exchange.json_object()
    error_code = as_int(answer.get("error_code"))
    outcome = Outcome.SUCCESS if error_code == 0 else Outcome.FAILED
    return GatewayResult(
        outcome,
        provider_payment_id=provider_payment_id,
        code=error_code,
        message=str(answer.get("error_note", "")),
        raw=answer,
    )


def _id_value(provider_payment_id: str) -> int | str:
    """CLICK types payment ids as int64 in bodies; keep anything else as it came."""
    return int(provider_payment_id) if provider_payment_id.isdigit() else provider_payment_id
