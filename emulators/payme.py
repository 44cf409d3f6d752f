"""A Payme Subscribe API emulator (JSON-RPC over real HTTP), for `make run` and the tests.

It serves the receipts.* methods this service uses with Payme's receipt states, checks
`X-Auth` (cashbox id and key), treats a scanned code as single-use, and counts every charge
request (receipts.pay) it receives and every receipt it paid. Scripted behaviours are
picked by the scanned code (`token` of receipts.pay); any other code is paid at once. The
table is in docs/emulators.md:

    9801CCCCC  receipts.pay answers error -CCCCC (e.g. 980131630: declined), not paid
    9802N      pay answers state 2 (debiting); paid at the N-th receipts.check (N = 1..9)
    9803DD     slow: pay answers after DD tenths of a second, paid
    9804       timeout: pay never answers, nothing paid
    9805       HTTP 500, nothing paid
    9806       paid, but the answer is an HTML page, not JSON
    9807       paid, but the answer is lost (never answers)
    9808       stuck: pay answers state 0 and the receipt stays waiting
    9809       pay answers state 20 (paused by Payme for manual review)
    9810       pay never answers; the payment lands late, when the receipt is cancelled (21)
    9811       connection reset, nothing paid
    9812       pay answers error -32400 (system error), yet the receipt is paid

receipts.cancel of a paid receipt queues it for reversal (state 21) and gives the money
back `reversal_seconds` later (state 50, read by check, get or cancel).

By amount, for receipts.create: less than 100 tiyin is refused (-31611, below the
minimum); an amount ending in 0404 makes the receipt but loses the answer; one ending in
0505 is HTTP 500 and makes nothing.

Run: python -m emulators.payme --port 8102
"""

import argparse
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from emulators.counters import ChargeCounters
from emulators.server import EmulatorServer, Reply, leading_number

PATH = "/api"
MINIMUM_AMOUNT = 100


@dataclass
class EmulatedReceipt:
    receipt_id: str
    amount: int
    account: list[dict[str, str]]
    create_time: int
    cashbox: str = ""  # the cashbox that created it; only it sees the receipt
    state: int = 0
    pay_time: int = 0
    cancel_time: int = 0
    token: str = ""
    checks_until_paid: int = 0
    lands_on_cancel: bool = False
    fiscal_data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        paid = self.pay_time > 0
        return {
            "_id": self.receipt_id,
            "create_time": self.create_time,
            "pay_time": self.pay_time,
            "cancel_time": self.cancel_time,
            "state": self.state,
            "type": 1,
            "amount": self.amount,
            "currency": 860,
            "commission": 0,
            "account": self.account,
            "card": {"number": "860006******6311", "expire": "9903"} if paid else None,
            "payer": {"phone": "998901234567"} if paid else None,
            "merchant": {"_id": "5e730e8e0b852a417aa49ceb", "name": "Emulated shop"},
        }


class PaymeError(Exception):
    """A JSON-RPC error. Its message is a plain string, or {ru, uz, en} when `localized`:
    Payme is seen answering both ways."""

    def __init__(self, code: int, ru: str, data: Any = None, *, localized: bool = False) -> None:
        self.code, self.ru, self.data, self.localized = code, ru, data, localized


class PaymeEmulator:
    """The emulator's receipts and rules; `EmulatorServer` puts it on HTTP."""

    def __init__(
        self,
        *,
        cashbox_id: str = "5e730e8e0b852a417aa49ceb",
        key: str = "EMULATOR_PAYME_KEY",
        hang_seconds: float = 60.0,
        reversal_seconds: float = 5.0,
    ) -> None:
        self.reversal_seconds = reversal_seconds
        self.cashbox_id = cashbox_id
        self.key = key
        self.cashboxes = {cashbox_id: key}  # a merchant may have several (add_cashbox)
        self.hang_seconds = hang_seconds
        # Payme documents two success shapes for set_fiscal_data: "receipt" or "success".
        self.fiscal_answer_shape = "receipt"
        self._lock = threading.Lock()
        self.reset()

    def add_cashbox(self, cashbox_id: str, key: str) -> None:
        with self._lock:
            self.cashboxes[cashbox_id] = key

    def _cashbox_of(self, x_auth: str) -> str | None:
        """The cashbox whose `id:key` the X-Auth header is."""
        cashbox_id, _, key = x_auth.partition(":")
        with self._lock:
            known = self.cashboxes.get(cashbox_id)
        return cashbox_id if known is not None and hmac.compare_digest(known, key) else None

    def reset(self) -> None:
        with self._lock:
            self.receipts: dict[str, EmulatedReceipt] = {}
            self.counters = ChargeCounters()
            self.used_codes: set[str] = set()
            self._next = time.time_ns() // 1000

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counters.stats(), "receipts": len(self.receipts)}

    # --- JSON-RPC ------------------------------------------------------------------------

    def operation_of(self, method: str, path: str, raw: bytes) -> str:
        try:
            return str(json.loads(raw or b"{}").get("method", ""))
        except (ValueError, AttributeError):
            return ""

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        if path.rstrip("/") != PATH:
            return Reply(404, "Not found")
        try:
            request = json.loads(raw.decode() or "null")
        except ValueError:
            return _error_reply(None, PaymeError(-32700, "Ошибка разбора JSON"))
        if method != "POST" or not isinstance(request, dict):
            return _error_reply(None, PaymeError(-32300, "Неверный запрос"))
        request_id, name = request.get("id"), str(request.get("method", ""))
        given = request.get("params")
        params: dict[str, Any] = given if isinstance(given, dict) else {}
        with self._lock:
            self.counters.received(
                name, is_charge=name == "receipts.pay", is_reversal=name == "receipts.cancel"
            )
        cashbox = self._cashbox_of(headers.get("x-auth", ""))
        if cashbox is None:
            return _error_reply(request_id, PaymeError(-32504, "Недостаточно привилегий"))
        handlers = {
            "receipts.create": self._create,
            "receipts.pay": self._pay,
            "receipts.check": self._check,
            "receipts.get": self._get,
            "receipts.cancel": self._cancel,
            "receipts.set_fiscal_data": self._set_fiscal_data,
            "receipts.get_all": self._get_all,
        }
        if name not in handlers:
            return _error_reply(request_id, PaymeError(-32601, "Метод не найден", name))
        try:
            outcome = handlers[name](params, cashbox)
        except PaymeError as exc:
            return _error_reply(request_id, exc)
        if isinstance(outcome, Reply):
            return outcome
        # The docs' own receipts.pay example answers with "id": null.
        answer_id = None if name == "receipts.pay" else request_id
        return Reply(body={"jsonrpc": "2.0", "id": answer_id, "result": outcome})

    def _create(self, params: dict[str, Any], cashbox: str) -> dict[str, Any] | Reply:
        amount = params.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise PaymeError(-31610, "Неверное значение поля", "amount")
        if amount < MINIMUM_AMOUNT:
            raise PaymeError(-31611, "Сумма меньше минимальной", "amount")
        if amount % 10000 == 505:
            return Reply(500, "Internal Server Error")
        account = params.get("account")
        if not isinstance(account, dict) or not account:
            raise PaymeError(-31050, "Неверный счёт", "account")
        with self._lock:
            self._next += 1
            receipt = EmulatedReceipt(
                receipt_id=f"{int(time.time()):08x}{self._next:016x}",  # 24 hex, like Payme's
                amount=amount,
                cashbox=cashbox,
                account=[{"name": k, "title": k, "value": str(v)} for k, v in account.items()],
                create_time=_now_ms(),
            )
            self.receipts[receipt.receipt_id] = receipt
            if amount % 10000 == 404:
                return Reply(action="hang")
            return {"receipt": receipt.as_dict()}

    def _pay(self, params: dict[str, Any], cashbox: str) -> dict[str, Any] | Reply:
        token = str(params.get("token") or "")
        scenario, argument = token[:4], token[4:]
        with self._lock:
            receipt = self._find(params, cashbox)
            if not token:
                raise PaymeError(-32602, "Неверные параметры", "token")
            if scenario == "9801":
                code = -leading_number(argument, 5, default=31630)
                raise PaymeError(code, "Отказ в оплате", localized=True)
            if scenario in ("9804", "9805", "9811"):
                return _FAULTS[scenario]
            if token in self.used_codes or receipt.state != 0:
                raise PaymeError(-31630, "Код уже использован или чек не ожидает оплаты")
            self.used_codes.add(token)
            receipt.token = token
            if scenario == "9808":
                return {"receipt": receipt.as_dict()}
            if scenario == "9810":
                receipt.lands_on_cancel = True
                return Reply(action="hang")
            self._mark_paid(receipt)
            if scenario == "9802":
                receipt.state = 2
                receipt.checks_until_paid = leading_number(argument, 1, default=2)
            if scenario == "9809":
                receipt.state = 20
            answer = {"receipt": receipt.as_dict()}
        if scenario == "9812":
            raise PaymeError(-32400, "Системная ошибка")
        if scenario == "9803":
            return Reply(
                body=_rpc_result(answer), delay=leading_number(argument, 2, default=15) / 10
            )
        if scenario in ("9806", "9807"):
            return _FAULTS[scenario]
        return answer

    def _check(self, params: dict[str, Any], cashbox: str) -> dict[str, Any]:
        with self._lock:
            receipt = self._find(params, cashbox)
            self._reversal_done(receipt)
            if receipt.checks_until_paid > 0:
                receipt.checks_until_paid -= 1
                if receipt.checks_until_paid == 0:
                    receipt.state = 4
            return {"state": receipt.state}

    def _get(self, params: dict[str, Any], cashbox: str) -> dict[str, Any]:
        with self._lock:
            receipt = self._find(params, cashbox)
            self._reversal_done(receipt)
            return {"receipt": receipt.as_dict()}

    def _cancel(self, params: dict[str, Any], cashbox: str) -> dict[str, Any]:
        with self._lock:
            receipt = self._find(params, cashbox)
            self._reversal_done(receipt)
            if receipt.lands_on_cancel and receipt.state == 0:
                # The pay that never answered is processed now, just before the cancel.
                self._mark_paid(receipt)
            if receipt.state == 0:
                receipt.state = 50
            elif receipt.state == 4:
                receipt.state = 21  # a paid receipt is queued for reversal
                self.counters.reversed(receipt.token)
            elif receipt.state not in (21, 50):
                raise PaymeError(-31007, "Невозможно отменить чек в этом состоянии")
            receipt.cancel_time = receipt.cancel_time or _now_ms()
            return {"receipt": receipt.as_dict()}

    def _set_fiscal_data(self, params: dict[str, Any], cashbox: str) -> dict[str, Any]:
        fiscal = params.get("fiscal_data")
        with self._lock:
            receipt = self._find(params, cashbox)
            if not isinstance(fiscal, dict) or not isinstance(fiscal.get("receipt_id"), int):
                raise PaymeError(-32602, "Неверные параметры", "fiscal_data.receipt_id")
            if not str(fiscal.get("qr_code_url", "")).startswith("https://"):
                raise PaymeError(-32602, "Неверные параметры", "fiscal_data.qr_code_url")
            if receipt.state != 4:
                raise PaymeError(-31610, "Чек не оплачен", "id")
            receipt.fiscal_data = fiscal
            if self.fiscal_answer_shape == "success":
                return {"success": True}
            return {
                "receipt": {
                    "_id": receipt.receipt_id,
                    "create_time": receipt.create_time,
                    "pay_time": receipt.pay_time,
                }
            }

    def _get_all(self, params: dict[str, Any], cashbox: str) -> list[dict[str, Any]]:
        count = min(int(params.get("count") or 50), 50)
        start, end = int(params.get("from") or 0), int(params.get("to") or 0)
        offset = int(params.get("offset") or 0)
        with self._lock:
            found = [
                r.as_dict()
                for r in self.receipts.values()
                if r.cashbox == cashbox and start <= r.create_time <= (end or r.create_time)
            ]
        return found[offset : offset + count]

    def _find(self, params: dict[str, Any], cashbox: str) -> EmulatedReceipt:
        receipt = self.receipts.get(str(params.get("id") or ""))
        if receipt is None or receipt.cashbox != cashbox:  # another cashbox's is not ours
            raise PaymeError(-31602, "Чек не найден", "id")
        return receipt

    def _reversal_done(self, receipt: EmulatedReceipt) -> None:
        """A receipt queued for reversal (21) long enough ago has its money back (50)."""
        waited = _now_ms() - receipt.cancel_time
        if receipt.state == 21 and waited >= self.reversal_seconds * 1000:
            receipt.state = 50

    def _mark_paid(self, receipt: EmulatedReceipt) -> None:
        receipt.state = 4
        receipt.pay_time = _now_ms()
        self.counters.charged(receipt.token, account=receipt.cashbox)


_FAULTS = {
    "9804": Reply(action="hang"),
    "9805": Reply(500, "Internal Server Error"),
    "9806": Reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "9807": Reply(action="hang"),
    "9811": Reply(action="reset"),
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _rpc_result(result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "result": result}


def _error_reply(request_id: Any, error: PaymeError) -> Reply:
    message: Any = error.ru
    if error.localized:
        message = {"ru": error.ru, "uz": "To'lov rad etildi", "en": "Payment declined"}
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": error.code, "message": message, "data": error.data},
    }
    return Reply(body=body)


KEY_VARIABLE = "PAYME_EMULATOR_KEY"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=f"Payme Subscribe API emulator (the cashbox's key: ${KEY_VARIABLE})"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--cashbox-id", default="5e730e8e0b852a417aa49ceb")
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    parser.add_argument(
        "--reversal-seconds", type=float, default=5.0, help="a cancelled paid receipt: 21 -> 50"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    emulator = PaymeEmulator(
        cashbox_id=args.cashbox_id,
        # From the environment, not the command line: argv is visible to every user in `ps`.
        key=os.environ.get(KEY_VARIABLE, "EMULATOR_PAYME_KEY"),
        hang_seconds=args.hang_seconds,
        reversal_seconds=args.reversal_seconds,
    )
    server = EmulatorServer(emulator, args.host, args.port, PATH, args.latency_ms / 1000)
    server.verbose = args.verbose
    server.serve_until_interrupted("Payme emulator")


if __name__ == "__main__":
    main()
