"""A CLICK Merchant API emulator over real HTTP, for `make run` and the tests.

It serves the endpoints this service uses, keeps payments in memory with their statuses,
confirmation mode, reversal and OFD data, checks the `Auth` digest and its timestamp, and
counts every charge request it receives and every charge that moved money. Scripted
behaviours are picked by the scanned code (`otp_data`); any other code is paid at once. The
table is in docs/emulators.md:

    9901CCCC  declined with error_code -CCCC (default -5017), no payment id
    9902N     processing, paid at the N-th status request (N = 1..9)
    9903DD    slow: answers after DD tenths of a second, paid
    9904      timeout: never answers, nothing charged
    9905      HTTP 500, nothing charged
    9906      charged, but the answer is an HTML page, not JSON
    9907      charged, but the answer is lost (never answers)
    9908      connection reset, nothing charged
    9909      confirmation mode: waits for click_pass/confirm (cancelled after the window)
    9910CCCC  declined with error_code -CCCC and a payment id; status says the same
    9911      declined answer with a payment id, yet the status says paid
    9912      paid, but filed under the previous reporting month: its reversals are refused

A reversal gives the whole payment back (`payment/reversal`), a partial reversal a part
(`payment/partial_reversal`, the amount in soum in the path); both only in the payment's
reporting month (on the first day of a month, the previous one's too), never more than is
left. A payment given back whole reads as status -2.

Run: python -m emulators.click --port 8101
"""

import argparse
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from emulators.counters import ChargeCounters, MerchantServices
from emulators.server import EmulatorServer, Reply, leading_number

TASHKENT = ZoneInfo("Asia/Tashkent")
PREFIX = "/v2/merchant/"
NOT_FOUND = -404  # the emulator's own code: CLICK publishes no list of Merchant API codes
CODE_ALREADY_USED = -400
CANCELLED_UNCONFIRMED = -1
REVERSED = -2
# The emulator's own codes for a refused reversal: CLICK publishes no list of them.
NOT_REVERSIBLE = -1
OUTSIDE_MONTH = -406


def digest(timestamp: int, secret_key: str) -> str:
    """CLICK's check of the `Auth` header: SHA-1 of the timestamp followed by the secret."""
    return hashlib.sha1((str(timestamp) + secret_key).encode("utf-8")).hexdigest()


@dataclass
class EmulatedPayment:
    payment_id: int
    service_id: int
    otp_data: str
    amount: Decimal
    transaction_id: str
    day: str
    created: float
    status: int
    confirm_mode: int = 0
    polls_until_paid: int = 0
    reversed_amount: Decimal = Decimal(0)  # soum given back so far
    month: str = ""  # the reporting month it is filed under, "YYYY-MM"
    ofd_qrcode: str = ""
    phone_number: str = "998901234567"
    card_number: str = "986011******4410"
    history: list[str] = field(default_factory=list)


class ClickEmulator(MerchantServices):
    """The emulator's state and rules; `EmulatorServer` puts it on HTTP."""

    def __init__(
        self,
        *,
        service_id: int = 40012,
        merchant_user_id: str = "12345",
        secret_key: str = "EMULATOR_SECRET_KEY",
        hang_seconds: float = 60.0,
        confirm_window: float = 30.0,
        max_clock_skew: int = 300,
    ) -> None:
        super().__init__(service_id, merchant_user_id, secret_key)
        self.service_id = service_id
        self.merchant_user_id = merchant_user_id
        self.secret_key = secret_key
        self.hang_seconds = hang_seconds
        self.confirm_window = confirm_window
        self.max_clock_skew = max_clock_skew
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.payments: dict[int, EmulatedPayment] = {}
            # Lookups by code and by our id, so that a long run (a benchmark's tens of
            # thousands of payments) costs no more per request than a short one.
            self._by_code: dict[str, EmulatedPayment] = {}
            self._by_transaction: dict[str, list[EmulatedPayment]] = {}
            self.counters = ChargeCounters()
            # Ids keep growing across restarts, so a restarted emulator never hands out an
            # id the service already stored.
            self._next_id = time.time_ns() // 1000

    # --- dispatch ----------------------------------------------------------------------

    def operation_of(self, method: str, path: str, raw: bytes) -> str:
        route = path[len(PREFIX) :].strip("/")
        if route in ("click_pass/payment", "click_pass/confirm", "payment/ofd_data/submit_qrcode"):
            return route
        return "/".join(route.split("/")[:2])  # payment/status/{service}/{id} -> payment/status

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        if not path.startswith(PREFIX):
            return Reply(404, {"error_code": -404, "error_note": "Not found"})
        route = path[len(PREFIX) :].strip("/")
        with self._lock:
            self.counters.received(
                f"{method} {route}",
                is_charge=(method, route) == ("POST", "click_pass/payment"),
                is_reversal=method == "DELETE"
                and route.startswith(("payment/reversal/", "payment/partial_reversal/")),
            )
        services = self._authorized(headers.get("auth", ""))
        if not services:
            return Reply(401, {"error_code": -401, "error_note": "Unauthorized"})
        try:
            body = json.loads(raw.decode(), parse_float=Decimal) if raw else {}
        except ValueError:
            return Reply(400, {"error_code": -400, "error_note": "Bad request: body is not JSON"})
        parts = route.split("/")
        routes = {
            ("POST", "click_pass/payment"): lambda: self._pay(body, services),
            ("POST", "click_pass/confirm"): lambda: self._confirm(body),
            ("POST", "payment/ofd_data/submit_qrcode"): lambda: self._submit_qrcode(body),
        }
        if (method, route) in routes:
            return routes[(method, route)]()
        if method in ("PUT", "DELETE") and parts[:2] == ["click_pass", "confirmation"]:
            return Reply(body={"error_code": 0, "error_note": "Успешно"})
        if method == "GET" and parts[:2] == ["payment", "status"] and len(parts) == 4:
            return self._status(parts[3])
        if method == "GET" and parts[:2] == ["payment", "status_by_mti"] and len(parts) >= 4:
            return self._status_by_mti(parts[3], parts[4] if len(parts) > 4 else "")
        if method == "DELETE" and parts[:2] == ["payment", "reversal"] and len(parts) == 4:
            return self._reverse(parts[3], None)
        if method == "DELETE" and parts[:2] == ["payment", "partial_reversal"] and len(parts) == 5:
            return self._reverse(parts[3], parts[4])
        if method == "GET" and parts[:2] == ["payment", "ofd_data"] and len(parts) == 4:
            return self._ofd_data(parts[3])
        return Reply(404, {"error_code": -404, "error_note": f"No route {method} {route}"})

    def _authorized(self, header: str) -> set[int]:
        """The services of the merchant user whose `Auth` header this is (none: refused)."""
        parts = header.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            return set()
        timestamp = int(parts[2])
        if abs(time.time() - timestamp) > self.max_clock_skew:
            return set()
        with self._lock:
            known = list(self.services.items())
        return {
            service
            for service, (user, secret) in known
            if user == parts[0] and hmac.compare_digest(parts[1], digest(timestamp, secret))
        }

    # --- CLICK PASS ----------------------------------------------------------------------

    def _pay(self, body: dict[str, Any], services: set[int]) -> Reply:
        otp = str(body.get("otp_data", ""))
        if body.get("service_id") not in services or not otp:
            return Reply(body={"error_code": -400, "error_note": "Неверные параметры"})
        try:
            amount = Decimal(str(body.get("amount")))
        except InvalidOperation:
            return Reply(body={"error_code": -400, "error_note": "Неверная сумма"})
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            return Reply(body={"error_code": -400, "error_note": "Неверная сумма"})
        scenario, argument = otp[:4], otp[4:]

        if scenario == "9904":
            return Reply(action="hang")
        if scenario == "9905":
            return Reply(500, "Internal Server Error")
        if scenario == "9908":
            return Reply(action="reset")
        if scenario == "9901":
            code = leading_number(argument, 4, default=5017)
            return Reply(body={"error_code": -code, "error_note": "Недостаточно средств"})

        with self._lock:
            if otp in self._by_code:
                return Reply(
                    body={"error_code": CODE_ALREADY_USED, "error_note": "QR-код уже использован"}
                )
            payment = self._new_payment(
                otp, amount, str(body.get("transaction_id", "")), service_id=body["service_id"]
            )
            if scenario == "9910":
                payment.status = -leading_number(argument, 4, default=5017)
                return Reply(body=self._payment_answer(payment, payment.status, "Отказ"))
            if scenario != "9909":  # in confirmation mode the money moves on confirm
                self.counters.charged(otp, account=str(payment.service_id))
            if scenario == "9911":
                return Reply(body=self._payment_answer(payment, -5017, "Отказ"))
            if scenario == "9912":
                payment.month = _previous_month(payment.month)
            if scenario == "9902":
                payment.status = 1
                payment.polls_until_paid = leading_number(argument, 1, default=2)
            if scenario == "9909":
                payment.status, payment.confirm_mode = 1, 1
            answer = self._payment_answer(payment, 0, "Успешно")
        if scenario == "9903":
            return Reply(body=answer, delay=leading_number(argument, 2, default=15) / 10)
        if scenario == "9906":
            return Reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>")
        if scenario == "9907":
            return Reply(action="hang")
        return Reply(body=answer)

    def record_charge(self, otp: str, amount: Decimal, transaction_id: str) -> int:
        """A paid charge, as if click_pass/payment had taken it (for benchmarks and set-ups)."""
        with self._lock:
            self.counters.charged(otp, account=str(self.service_id))
            return self._new_payment(otp, amount, transaction_id).payment_id

    def _new_payment(
        self, otp: str, amount: Decimal, transaction_id: str, service_id: int | None = None
    ) -> EmulatedPayment:
        self._next_id += 1
        now = time.time()
        payment = EmulatedPayment(
            payment_id=self._next_id,
            service_id=self.service_id if service_id is None else service_id,
            otp_data=otp,
            amount=amount,
            transaction_id=transaction_id,
            day=datetime.fromtimestamp(now, TASHKENT).date().isoformat(),
            created=now,
            status=2,
            month=datetime.fromtimestamp(now, TASHKENT).strftime("%Y-%m"),
        )
        self.payments[payment.payment_id] = payment
        self._by_code[otp] = payment
        self._by_transaction.setdefault(transaction_id, []).append(payment)
        return payment

    def _payment_answer(self, payment: EmulatedPayment, error_code: int, note: str) -> dict:
        return {
            "error_code": error_code,
            "error_note": note,
            "payment_id": payment.payment_id,
            "payment_status": payment.status,
            "confirm_mode": payment.confirm_mode,
            "card_type": "private",
            "processing_type": "HUMO",
            "card_number": payment.card_number,
            "phone_number": payment.phone_number,
        }

    def _confirm(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            payment = self._find(body.get("payment_id"))
            if payment is None:
                return Reply(body={"error_code": NOT_FOUND, "error_note": "Платёж не найден"})
            self._expire(payment)
            if payment.confirm_mode != 1 or payment.status != 1:
                return Reply(body={"error_code": -1, "error_note": "Платёж нельзя подтвердить"})
            payment.status = 2
            self.counters.charged(payment.otp_data, account=str(payment.service_id))
            return Reply(body={"error_code": 0, "error_note": "Успешно подтвержден"})

    # --- status, reversal, fiscal ----------------------------------------------------------

    def _status(self, payment_id: str) -> Reply:
        with self._lock:
            payment = self._find(payment_id)
            if payment is None:
                return Reply(body={"error_code": NOT_FOUND, "error_note": "Платёж не найден"})
            self._expire(payment)
            if payment.polls_until_paid > 0:
                payment.polls_until_paid -= 1
                if payment.polls_until_paid == 0:
                    payment.status = 2
            return Reply(body=self._status_answer(payment))

    def _status_by_mti(self, merchant_trans_id: str, day: str) -> Reply:
        with self._lock:
            for payment in self._by_transaction.get(merchant_trans_id, []):
                if not day or day == payment.day:
                    self._expire(payment)
                    answer = self._status_answer(payment)
                    answer["merchant_trans_id"] = merchant_trans_id
                    return Reply(body=answer)
        return Reply(body={"error_code": NOT_FOUND, "error_note": "Платёж не найден"})

    def _status_answer(self, payment: EmulatedPayment) -> dict[str, Any]:
        return {
            "error_code": 0,
            "error_note": "Успешно",
            "payment_id": payment.payment_id,
            "payment_status": payment.status,
        }

    def _reverse(self, payment_id: str, soum: str | None) -> Reply:
        """The whole payment back (`soum` None), or that part of it."""
        with self._lock:
            payment = self._find(payment_id)
            if payment is None:
                return Reply(body={"error_code": NOT_FOUND, "error_note": "Платёж не найден"})
            try:
                amount = payment.amount if soum is None else Decimal(soum)
            except InvalidOperation:
                return Reply(body={"error_code": -400, "error_note": "Неверная сумма"})
            left = payment.amount - payment.reversed_amount
            whole_refused = soum is None and payment.reversed_amount > 0
            if payment.status != 2 or whole_refused or not 0 < amount <= left:
                refused = {
                    "error_code": NOT_REVERSIBLE,
                    "error_note": "Платёж не может быть отменён",
                }
                return Reply(body=refused)
            if not _in_reporting_window(payment.month):
                note = "Отмена возможна только в текущем отчётном месяце"
                return Reply(body={"error_code": OUTSIDE_MONTH, "error_note": note})
            payment.reversed_amount += amount
            if payment.reversed_amount == payment.amount:
                payment.status = REVERSED
            self.counters.reversed(payment.otp_data)
            return Reply(
                body={"error_code": 0, "error_note": "Успешно", "payment_id": payment.payment_id}
            )

    def _submit_qrcode(self, body: dict[str, Any]) -> Reply:
        qrcode = str(body.get("qrcode", ""))
        with self._lock:
            payment = self._find(body.get("payment_id"))
            if payment is None:
                return Reply(body={"error_code": NOT_FOUND, "error_note": "Платёж не найден"})
            if payment.status != 2:
                return Reply(body={"error_code": -1, "error_note": "Платёж не оплачен"})
            if not qrcode.startswith("https://"):
                return Reply(body={"error_code": -400, "error_note": "Неверная ссылка на чек"})
            payment.ofd_qrcode = qrcode
            return Reply(body={"error_code": 0, "error_note": "Успешно"})

    def _ofd_data(self, payment_id: str) -> Reply:
        with self._lock:
            payment = self._find(payment_id)
            if payment is None:
                return Reply(body={"error_code": NOT_FOUND, "error_note": "Платёж не найден"})
            return Reply(body={"paymentId": payment.payment_id, "qrCodeURL": payment.ofd_qrcode})

    def _find(self, payment_id: Any) -> EmulatedPayment | None:
        try:
            return self.payments.get(int(payment_id))
        except (TypeError, ValueError):
            return None

    def _expire(self, payment: EmulatedPayment) -> None:
        # Confirmation mode: a payment not confirmed in time is cancelled by CLICK.
        unconfirmed = payment.confirm_mode == 1 and payment.status == 1
        if unconfirmed and time.time() - payment.created > self.confirm_window:
            payment.status = CANCELLED_UNCONFIRMED


def _previous_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _in_reporting_window(month: str) -> bool:
    """CLICK reverses payments of the current reporting month; on the first day of a month,
    the previous month's too."""
    today = datetime.now(TASHKENT)
    current = today.strftime("%Y-%m")
    return month == current or (today.day == 1 and month == _previous_month(current))


SECRET_VARIABLE = "CLICK_EMULATOR_SECRET_KEY"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=f"CLICK Merchant API emulator (the service's secret key: ${SECRET_VARIABLE})"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--service-id", type=int, default=40012)
    parser.add_argument("--merchant-user-id", default="12345")
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    parser.add_argument("--confirm-window", type=float, default=30.0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    emulator = ClickEmulator(
        service_id=args.service_id,
        merchant_user_id=args.merchant_user_id,
        # From the environment, not the command line: argv is visible to every user in `ps`.
        secret_key=os.environ.get(SECRET_VARIABLE, "EMULATOR_SECRET_KEY"),
        hang_seconds=args.hang_seconds,
        confirm_window=args.confirm_window,
    )
    server = EmulatorServer(emulator, args.host, args.port, PREFIX, args.latency_ms / 1000)
    server.verbose = args.verbose
    server.serve_until_interrupted("CLICK emulator")


if __name__ == "__main__":
    main()
