"""CLICK PASS gateway: charge a scanned code, ask its status, attach the receipt, reverse.

Every function returns a `GatewayResult`; none of them changes the payment row (the core
does that through the locked path). Facts behind the rules: the CLICK Merchant API
reference, sections 4-10.
"""

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urljoin

from django.conf import settings
from django.utils import timezone

from payments.models import Payment
from payments.ofd import OfdReceipt
from providers import http
from providers.click.auth import auth_header
from providers.http import HttpExchange, as_int
from providers.results import GatewayResult, Outcome

PROVIDER = "click"
LABEL = "CLICK"
PAID = 2


def poll_schedule() -> tuple[int, float]:
    """How often, and how far apart, to ask the status of a payment still processing."""
    return settings.CLICK_STATUS_POLL_ATTEMPTS, settings.CLICK_STATUS_POLL_INTERVAL


def soum(amount_tiyin: int) -> Decimal:
    """CLICK's payment calls take soum with two decimals; we keep integer tiyin."""
    return (Decimal(amount_tiyin) / 100).quantize(Decimal("0.01"))


def charge(payment: Payment) -> GatewayResult:
    """`click_pass/payment`, then `click_pass/confirm` when CLICK asks for it. Sent once."""
    exchange = _call(
        payment,
        "click_pass/payment",
        "POST",
        "click_pass/payment",
        {
            "service_id": settings.CLICK_SERVICE_ID,
            "otp_data": payment.qr_code,
            "amount": http.json_number(soum(payment.amount)),
            "cashbox_code": settings.REGISTER_CASHBOX_CODE,
            "transaction_id": str(payment.transaction_id),
        },
        read_timeout=settings.CLICK_PAYMENT_READ_TIMEOUT,
    )
    if not exchange.answered:
        return http.unanswered(exchange, LABEL)
    answer = exchange.json_object()
    result = _payment_result(exchange)
    if result.outcome is Outcome.FAILED and result.provider_payment_id:
        # A negative error_code does not promise that nothing was debited: one cheap look.
        verified = check_by_payment_id(payment, result.provider_payment_id)
        if verified.outcome is Outcome.SUCCESS:
            return verified
    if (
        result.outcome in (Outcome.FAILED, Outcome.UNKNOWN)
        or as_int(answer.get("confirm_mode")) != 1
    ):
        return result
    confirmed = _call(
        payment,
        "click_pass/confirm",
        "POST",
        "click_pass/confirm",
        {
            "service_id": settings.CLICK_SERVICE_ID,
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


def check(payment: Payment) -> GatewayResult:
    """Ask CLICK what became of a payment: by its payment id, else by our transaction id."""
    if payment.provider_payment_id:
        return check_by_payment_id(payment, payment.provider_payment_id)
    for day in _business_days(payment):
        path = (
            f"payment/status_by_mti/{settings.CLICK_SERVICE_ID}/"
            f"{quote(str(payment.transaction_id), safe='')}/{day.isoformat()}"
        )
        result = _status_result(_call(payment, "payment/status_by_mti", "GET", path))
        if not result.not_found:
            break
    if result.provider_payment_id and not result.provider_status:
        # Some answers carry only the id; its status is one more question away.
        return check_by_payment_id(payment, result.provider_payment_id)
    return result


def _business_days(payment: Payment) -> list[date]:
    """The Tashkent day the payment was made, and near midnight the neighbouring one too:
    which of the two CLICK files it under is not documented."""
    made = timezone.localtime(payment.created_at)
    days = [made.date()]
    if made.time() < time(0, 10):
        days.append(made.date() - timedelta(days=1))
    elif made.time() > time(23, 50):
        days.append(made.date() + timedelta(days=1))
    return days


def check_by_payment_id(payment: Payment, provider_payment_id: str) -> GatewayResult:
    path = f"payment/status/{settings.CLICK_SERVICE_ID}/{quote(provider_payment_id, safe='')}"
    return _status_result(_call(payment, "payment/status", "GET", path))


def submit_fiscal(payment: Payment, receipt: OfdReceipt) -> GatewayResult:
    """`payment/ofd_data/submit_qrcode`: link the register's receipt URL to the payment."""
    exchange = _call(
        payment,
        "payment/ofd_data/submit_qrcode",
        "POST",
        "payment/ofd_data/submit_qrcode",
        {
            "service_id": settings.CLICK_SERVICE_ID,
            "payment_id": _id_value(payment.provider_payment_id),
            "qrcode": receipt.url,
        },
    )
    return _plain_result(exchange, payment.provider_payment_id)


def fiscal_on_file(payment: Payment, receipt: OfdReceipt) -> GatewayResult:
    """`GET payment/ofd_data`: SUCCESS when CLICK already holds this receipt URL."""
    path = (
        f"payment/ofd_data/{settings.CLICK_SERVICE_ID}/"
        f"{quote(payment.provider_payment_id, safe='')}"
    )
    exchange = _call(payment, "payment/ofd_data", "GET", path)
    if not exchange.answered:
        return http.unanswered(exchange, LABEL, not_sent_fails=False)
    answer = exchange.json_object()
    # camelCase here, and maybe no error_code at all (reference §9b).
    on_file = answer.get("qrCodeURL") or answer.get("qr_code_url") or ""
    outcome = Outcome.SUCCESS if on_file == receipt.url else Outcome.FAILED
    return GatewayResult(outcome, provider_payment_id=payment.provider_payment_id, raw=answer)


def reverse(payment: Payment) -> GatewayResult:
    """Full reversal (same reporting month only, says CLICK)."""
    path = (
        f"payment/reversal/{settings.CLICK_SERVICE_ID}/"
        f"{quote(payment.provider_payment_id, safe='')}"
    )
    return _plain_result(
        _call(payment, "payment/reversal", "DELETE", path), payment.provider_payment_id
    )


# --- helpers ---------------------------------------------------------------------------


def _call(
    payment: Payment,
    operation: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    read_timeout: float | None = None,
) -> HttpExchange:
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Auth": auth_header(settings.CLICK_MERCHANT_USER_ID, settings.CLICK_SECRET_KEY),
    }
    return http.send(
        payment=payment,
        provider=PROVIDER,
        operation=operation,
        method=method,
        url=urljoin(settings.CLICK_BASE_URL, path),
        headers=headers,
        json_body=body,
        read_timeout=read_timeout or settings.CLICK_READ_TIMEOUT,
        secrets=[settings.CLICK_SECRET_KEY],
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
    common = {
        "provider_payment_id": payment_id,
        "provider_status": "" if raw_status is None else str(raw_status),
        "code": error_code,
        "message": str(answer.get("error_note", "")),
        "payer_phone": str(answer.get("phone_number") or ""),
        "masked_card": str(answer.get("card_number") or ""),
    }
    if error_code is None:
        return GatewayResult(Outcome.UNKNOWN, **common)
    if error_code < 0:
        return GatewayResult(Outcome.FAILED, **common)
    status = as_int(raw_status)
    if status is None:
        return GatewayResult(Outcome.UNKNOWN, **common)
    if status == PAID:
        return GatewayResult(Outcome.SUCCESS, **common)
    if status < 0:
        return GatewayResult(Outcome.FAILED, **common)
    return GatewayResult(Outcome.PENDING, **common)


def _status_result(exchange: HttpExchange) -> GatewayResult:
    """Like `_payment_result`, but a lookup that fails tells nothing about the payment."""
    if not exchange.answered:
        return http.unanswered(exchange, LABEL, not_sent_fails=False)
    result = _payment_result(exchange)
    lookup_failed = exchange.status_code >= 400 or (
        result.code is not None and int(result.code) < 0 and not result.provider_status
    )
    if lookup_failed:
        # An answered lookup with an error and no payment: CLICK says it has none.
        absent = exchange.status_code < 400 and not result.provider_payment_id
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
