"""PAYME GO gateway over Payme's Subscribe API (JSON-RPC): receipts.* methods.

A charge is two calls: `receipts.create` (prepare; the receipt id is committed before the
money moves) and `receipts.pay` with the scanned code as `token`. Only receipt state 4 is
paid. Every step takes a `PaymentData` and returns a `GatewayResult` with the exchanges it
made. Facts behind the rules: the Payme receipts reference, sections 5-10.
"""

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

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

LABEL = "Payme"

PAID = 4
WAITING = 0  # created, not paid: the only state in which a cancel cannot hit money
MANUAL = 20  # paused by Payme for a person to look at
CANCELLED = frozenset({21, 50})  # 21: queued for cancellation (money going back); 50: done

# Error classes of `receipts.pay` (reference §9). F: certainly not charged. C: our
# configuration or request is wrong, not charged either. Every other code, listed or not,
# leaves the outcome unknown and sends the payment to recovery.
NOT_CHARGED_CODES = frozenset(
    {-32500, -31300, -31301, -31303, -31400, -31602, -31610, -31611, -31612, -31630}
    | set(range(-31099, -31049))
    | {-32300, -32700, -32600, -32601, -32602, -32504, -31601}
)

_request_ids = itertools.count(1)
_GET_ALL_PAGE = 50  # Payme's maximum
_GET_ALL_MAX_PAGES = 20


@dataclass(frozen=True)
class PaymeAccount:
    """A Payme cashbox: its id and key (`X-Auth`), and the receipt's `account` fields as the
    cashbox is configured at Payme (templates over our transaction id and register)."""

    base_url: str
    cashbox_id: str
    key: str = field(repr=False)
    receipt_account: tuple[tuple[str, str], ...] = ()


def account_for(payment: PaymentData[PaymeAccount]) -> dict[str, str]:
    """The receipt's `account` fields for this payment."""
    values = {
        "transaction_id": payment.transaction_id,
        "kkm_id": payment.register.kkm_id,
        "device_id": payment.register.device_id,
        "inn": payment.register.inn,
        "cashbox_code": payment.register.cashbox_code,
    }
    return {name: template.format(**values) for name, template in payment.account.receipt_account}


class PaymeGateway(BaseGateway):
    name = "payme"
    label = LABEL

    account_fields: tuple[AccountField, ...] = (
        AccountField("cashbox_id", "Cashbox id", help_text="Payme's id of the cashbox"),
        secret_field("key", "Cashbox key", "the cashbox's key"),
    )

    def account(self, values: Mapping[str, str]) -> PaymeAccount:
        return PaymeAccount(
            base_url=settings.PAYME_BASE_URL,
            cashbox_id=str(values["cashbox_id"]),
            key=values["key"],
            receipt_account=tuple(settings.PAYME_ACCOUNT.items()),
        )

    def configured_account(self) -> dict[str, str]:
        # The key is read from PAYME_KEY where the deployment gives it so (accounts).
        return {"cashbox_id": str(settings.PAYME_CASHBOX_ID), "key": "PROVIDER_SECRET_PAYME"}

    def poll_schedule(self) -> tuple[int, float]:
        """The recovery window: receipts.check this many times, this many seconds apart."""
        return settings.PAYME_CHECK_ATTEMPTS, settings.PAYME_CHECK_INTERVAL

    def longest_wait(self) -> float:
        connect = settings.PROVIDER_CONNECT_TIMEOUT
        call = connect + settings.PAYME_READ_TIMEOUT
        create = connect + settings.PAYME_CREATE_READ_TIMEOUT
        attempts, interval = self.poll_schedule()
        # Two creates with the search between them, the pay, the check and get after a lost
        # answer, every poll (check and get), the cancel at the end of the window.
        prepare = 2 * create + _GET_ALL_MAX_PAGES * call
        pay = connect + settings.PAYME_PAY_READ_TIMEOUT
        return prepare + pay + 2 * call + attempts * (interval + 2 * call) + call

    def prepare(self, payment: PaymentData[PaymeAccount]) -> GatewayResult | None:
        if payment.operation is Operation.REVERSAL:
            return None  # a refund cancels the purchase's own receipt
        return self._make_receipt(payment)

    @journaled
    def _make_receipt(self, payment: PaymentData[PaymeAccount]) -> GatewayResult:
        return _prepare(payment)

    @journaled
    def charge(self, payment: PaymentData[PaymeAccount]) -> GatewayResult:
        return _charge(payment)

    @journaled
    def check(self, payment: PaymentData[PaymeAccount]) -> GatewayResult:
        if payment.operation is Operation.REVERSAL:
            return _refund_state(payment, "receipts.check")
        return _check(payment)

    @journaled
    def settle_after_polling(
        self, payment: PaymentData[PaymeAccount], last: GatewayResult
    ) -> GatewayResult:
        if payment.operation is Operation.REVERSAL:
            return last  # a receipt being returned (21) is left to finish: reconcile asks
        return _settle_after_polling(payment, last)

    @journaled
    def submit_fiscal(
        self, payment: PaymentData[PaymeAccount], receipt: OfdReceipt
    ) -> GatewayResult:
        return _submit_fiscal(payment, receipt)

    @journaled
    def reverse(self, payment: PaymentData[PaymeAccount]) -> GatewayResult:
        return _reverse(payment)


GATEWAY = PaymeGateway()


def _prepare(payment: PaymentData[PaymeAccount]) -> GatewayResult:
    """`receipts.create`: a receipt for the amount, in tiyin as Payme wants it.

    A lost answer may hide a receipt Payme did make: it is looked up by our account values
    first, and only if it is not there is one more made. Nothing is charged either way
    (an orphan receipt stays unpaid; reconciliation cancels such receipts).
    """
    created = _create(payment)
    if created.outcome is not Outcome.UNKNOWN:
        return created
    found = find_receipt(payment)
    if found is not None:
        return GatewayResult(
            Outcome.SUCCESS,
            provider_payment_id=str(found["_id"]),
            provider_status=str(found.get("state", "")),
        )
    again = _create(payment)
    if again.outcome is Outcome.UNKNOWN:
        return GatewayResult(Outcome.FAILED, message=again.message)
    return again


def find_receipt(payment: PaymentData[PaymeAccount]) -> dict[str, Any] | None:
    """The receipt made for this payment, found by its `account` values with
    receipts.get_all around the payment's creation; None when not found or not searchable."""
    if not any("{transaction_id}" in t for _, t in payment.account.receipt_account):
        return None  # without our id in the account, a receipt cannot be told apart
    wanted = account_for(payment)
    window = timedelta(minutes=5)
    period = {
        "from": int((payment.created_at - window).timestamp() * 1000),
        "to": int((timezone.now() + window).timestamp() * 1000),
    }
    for page in range(_GET_ALL_MAX_PAGES):
        exchange = _rpc(
            payment,
            "receipts.get_all",
            {"count": _GET_ALL_PAGE, "offset": page * _GET_ALL_PAGE, **period},
            settings.PAYME_READ_TIMEOUT,
        )
        receipts = exchange.json_object().get("result") if exchange.answered else None
        if not isinstance(receipts, list):
            return None
        for receipt in receipts:
            account = {
                entry.get("name"): entry.get("value")
                for entry in receipt.get("account") or []
                if isinstance(entry, dict)
            }
            if all(account.get(name) == value for name, value in wanted.items()):
                return receipt
        if len(receipts) < _GET_ALL_PAGE:
            return None
    return None


def _charge(payment: PaymentData[PaymeAccount]) -> GatewayResult:
    """`receipts.pay` with the scanned code as `token`. Sent once, never again."""
    exchange = _rpc(
        payment,
        "receipts.pay",
        {"id": payment.provider_payment_id, "token": payment.qr_code},
        settings.PAYME_PAY_READ_TIMEOUT,
    )
    if not exchange.answered:
        return http.unanswered(exchange, LABEL)
    error = _error(exchange)
    if error and int(error.code or 0) not in NOT_CHARGED_CODES:
        return GatewayResult(Outcome.UNKNOWN, code=error.code, message=error.message)
    if error:
        # Certainly not charged. Cancel the receipt all the same, so no late pay can land.
        cancelled = _cancel(payment)
        if cancelled.needs_attention:
            return cancelled
        return error
    return _from_receipt(_receipt(exchange))


def _check(payment: PaymentData[PaymeAccount]) -> GatewayResult:
    """`receipts.check` (state only); on a payment just found paid, `receipts.get` for the
    payer's phone and card. A payment whose receipt id we never wrote (its process died
    between Payme's answer and our record) is looked up by our account values."""
    if not payment.provider_payment_id:
        found = find_receipt(payment)
        if found is None:
            return GatewayResult(
                Outcome.UNKNOWN, message=sayings.PAYME_NO_RECEIPT(), not_found=True
            )
        return _from_receipt(found)
    exchange, failed = _on_receipt(payment, "receipts.check")
    if failed:
        return failed
    state = as_int(_result(exchange).get("state"))
    if state == PAID and not payment.payer_phone:
        full = _rpc(
            payment,
            "receipts.get",
            {"id": payment.provider_payment_id},
            settings.PAYME_READ_TIMEOUT,
        )
        if full.answered and not _error(full) and as_int(_receipt(full).get("state")) == PAID:
            return _from_receipt(_receipt(full))
    return state_result(state, payment.provider_payment_id)


def _settle_after_polling(payment: PaymentData[PaymeAccount], last: GatewayResult) -> GatewayResult:
    """After the window: a receipt still waiting (state 0) is cancelled, so a late pay
    cannot land. Any other pending state is left as it is (the register gets 110)."""
    if last.provider_status != str(WAITING):
        return last
    # The receipt the last answer speaks of: a lookup by our id may have just found it.
    payment = replace(
        payment, provider_payment_id=last.provider_payment_id or payment.provider_payment_id
    )
    cancelled = _cancel(payment)
    if cancelled.outcome is Outcome.SUCCESS:
        return GatewayResult(
            Outcome.FAILED,
            provider_payment_id=payment.provider_payment_id,
            provider_status=cancelled.provider_status,
            message=sayings.PAYME_TOO_LATE(),
        )
    return cancelled


def _submit_fiscal(payment: PaymentData[PaymeAccount], receipt: OfdReceipt) -> GatewayResult:
    """`receipts.set_fiscal_data` with the register's receipt, parsed from its OFD URL."""
    fiscal_data = {
        "status_code": 0,
        "terminal_id": receipt.terminal_id,
        "receipt_id": int(receipt.receipt_number),
        "date": receipt.issued_at.strftime("%Y%m%d%H%M%S"),
        "fiscal_sign": receipt.fiscal_sign,
        "qr_code_url": receipt.url,
    }
    exchange = _rpc(
        payment,
        "receipts.set_fiscal_data",
        {"id": payment.provider_payment_id, "fiscal_data": fiscal_data},
        settings.PAYME_READ_TIMEOUT,
    )
    if not exchange.answered:
        return http.unanswered(exchange, LABEL)
    error = _error(exchange)
    if error:
        return error
    result = _result(exchange)
    echoed_id = (result.get("receipt") or {}).get("_id")
    # Two success shapes are in use: {"success": true} and {"receipt": {...}}.
    refused = not result or result.get("success") is False
    if refused or (echoed_id and echoed_id != payment.provider_payment_id):
        return GatewayResult(Outcome.FAILED, message=sayings.UNEXPECTED_ANSWER(answer=result))
    answer = exchange.json_object()
    return GatewayResult(
        Outcome.SUCCESS,
        provider_payment_id=payment.provider_payment_id,
        raw={"id": answer.get("id"), "result": result, "error": None},
    )


def _reverse(payment: PaymentData[PaymeAccount]) -> GatewayResult:
    """A refund: `receipts.cancel` of the purchase's paid receipt, whole (Payme cancels
    receipts, not parts of them). Payme queues it (state 21) and gives the money back
    (state 50). One that never left us is a refusal: nothing was given back."""
    return _refund_state(payment, "receipts.cancel", not_sent_fails=True)


def _refund_state(
    payment: PaymentData[PaymeAccount], method: str, *, not_sent_fails: bool = False
) -> GatewayResult:
    """What `method` on the purchase's receipt says of its refund: cancelled (50) -> done;
    queued for it (21) -> still being given back; paid (4) -> not done."""
    receipt = replace(payment, provider_payment_id=payment.reversed_reference)
    exchange, failed = _on_receipt(receipt, method, not_sent_fails=not_sent_fails)
    if failed:
        # An error answer to the cancel is Payme's refusal; to the check, it tells nothing.
        refused = method == "receipts.cancel" and failed.code is not None
        return replace(failed, outcome=Outcome.FAILED) if refused else failed
    answer = _receipt(exchange) or _result(exchange)
    state = as_int(answer.get("state"))
    said = GatewayResult(Outcome.UNKNOWN, provider_status="" if state is None else str(state))
    if state == 50:
        return refund_state(said, Outcome.SUCCESS, sayings.PAYME_CANCELLED())
    if state == 21:
        return refund_state(said, Outcome.PENDING, sayings.PAYME_RETURNING())
    if state == PAID:
        note = sayings.PAYME_NOT_CANCELLED()
        return refund_state(said, Outcome.FAILED, note)
    return refund_state(
        said, Outcome.UNKNOWN, sayings.PAYME_ANSWERED_STATE(method=method, state=state)
    )


# --- helpers ---------------------------------------------------------------------------


def _rpc(
    payment: PaymentData[PaymeAccount], method: str, params: dict[str, Any], timeout: float
) -> HttpExchange:
    account: PaymeAccount = payment.account
    return http.send(
        provider=GATEWAY.name,
        operation=method,
        method="POST",
        url=account.base_url,
        headers={
            "Content-Type": "application/json",
            "X-Auth": f"{account.cashbox_id}:{account.key}",
        },
        json_body={"jsonrpc": "2.0", "id": next(_request_ids), "method": method, "params": params},
        read_timeout=timeout,
        secrets=[account.key],
    )


def _create(payment: PaymentData[PaymeAccount]) -> GatewayResult:
    exchange = _rpc(
        payment,
        "receipts.create",
        {"amount": payment.amount, "account": account_for(payment)},
        settings.PAYME_CREATE_READ_TIMEOUT,
    )
    if not exchange.answered:
        return http.unanswered(exchange, f"{LABEL} to receipts.create")
    error = _error(exchange)
    if error:
        return error
    receipt = _receipt(exchange)
    if not receipt.get("_id"):
        return GatewayResult(Outcome.FAILED, message=sayings.PAYME_NO_RECEIPT_IN_ANSWER())
    return GatewayResult(
        Outcome.SUCCESS,
        provider_payment_id=str(receipt["_id"]),
        provider_status=str(receipt.get("state", "")),
    )


def _on_receipt(
    payment: PaymentData[PaymeAccount], method: str, *, not_sent_fails: bool = False
) -> tuple[HttpExchange, GatewayResult | None]:
    """Call `method` on the payment's receipt. A call that got no answer, or an error, says
    nothing about the receipt: then the second value is an UNKNOWN result to return (with
    `not_sent_fails`, FAILED for one that never left us)."""
    exchange = _rpc(
        payment, method, {"id": payment.provider_payment_id}, settings.PAYME_READ_TIMEOUT
    )
    if not exchange.answered:
        return exchange, http.unanswered(exchange, LABEL, not_sent_fails=not_sent_fails)
    error = _error(exchange)
    if error:
        return exchange, GatewayResult(Outcome.UNKNOWN, code=error.code, message=error.message)
    return exchange, None


def _cancel(payment: PaymentData[PaymeAccount]) -> GatewayResult:
    """`receipts.cancel`: SUCCESS when the receipt ended cancelled (50); a 21 means money
    had moved and is now being returned, which a person must know."""
    exchange, failed = _on_receipt(payment, "receipts.cancel")
    if failed:
        return failed
    state = as_int(_receipt(exchange).get("state"))
    if state == 50:
        return GatewayResult(Outcome.SUCCESS, provider_status="50")
    if state == 21:
        return GatewayResult(
            Outcome.FAILED,
            provider_status="21",
            message=sayings.PAYME_RETURNED_LATE(),
            needs_attention=True,
        )
    return GatewayResult(
        Outcome.UNKNOWN,
        provider_status=str(state),
        message=sayings.PAYME_ANSWERED_STATE(method="cancel", state=state),
    )


def _from_receipt(receipt: dict[str, Any]) -> GatewayResult:
    result = state_result(as_int(receipt.get("state")), str(receipt.get("_id") or ""))
    payer = receipt.get("payer") or {}
    card = receipt.get("card") or {}
    return GatewayResult(
        result.outcome,
        provider_payment_id=result.provider_payment_id,
        provider_status=result.provider_status,
        message=result.message,
        needs_attention=result.needs_attention,
        payer_phone=str(payer.get("phone") or ""),
        masked_card=str(card.get("number") or ""),
    )


def state_result(state: int | None, receipt_id: str) -> GatewayResult:
    read = GatewayResult(
        Outcome.PENDING,
        provider_payment_id=receipt_id,
        provider_status="" if state is None else str(state),
    )
    if state is None:
        return replace(read, outcome=Outcome.UNKNOWN, message=sayings.PAYME_NO_STATE())
    if state == PAID:
        return replace(read, outcome=Outcome.SUCCESS)
    if state in CANCELLED:
        return replace(
            read, outcome=Outcome.FAILED, message=sayings.PAYME_RECEIPT_CANCELLED(state=state)
        )
    if state == MANUAL:
        return replace(
            read,
            outcome=Outcome.UNKNOWN,
            message=sayings.PAYME_MANUAL_REVIEW(),
            needs_attention=True,
        )
    return read


def _error(exchange: HttpExchange) -> GatewayResult | None:
    """A JSON-RPC error as a FAILED result with Payme's code and its Russian text."""
    error = exchange.json_object().get("error")
    if not error and exchange.status_code == 200:
        return None
    if not isinstance(error, dict):
        return GatewayResult(
            Outcome.FAILED,
            message=sayings.HTTP_STATUS(status=exchange.status_code, provider="Payme"),
        )
    return GatewayResult(
        Outcome.FAILED, code=as_int(error.get("code")), message=_text(error.get("message"))
    )


def _text(message: Any) -> str:
    # Payme's message is a string, or {ru, uz, en}; the cashier reads Russian.
    if isinstance(message, dict):
        return str(message.get("ru") or message.get("uz") or message.get("en") or "")
    return "" if message is None else str(message)


def _result(exchange: HttpExchange) -> dict[str, Any]:
    result = exchange.json_object().get("result")
    return result if isinstance(result, dict) else {}


def _receipt(exchange: HttpExchange) -> dict[str, Any]:
    receipt = _result(exchange).get("receipt")
    return receipt if isinstance(receipt, dict) else {}
