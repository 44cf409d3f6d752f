"""An Uzum Bank Fast Pay merchant API emulator over real HTTP, for `make run` and the tests.

It serves the four Fast Pay calls (payment, status, reversal, fiscal) under
`/api/apelsin-pay/merchant/`, answers HTTP 200 with `error_code` and `error_message` keys
as Uzum does, checks the `Authorization` digest and its 50 s window (reading its
timestamp as configured: plain epoch or Tashkent's clock), keeps payments with their
statuses, refuses a used code, a repeated order and a repeated transaction, and counts
every charge request it receives and every charge that moved money. Codes are at least 40
characters; behaviours are picked by the first four (docs/emulators.md):

    9901  declined: 400 operation.failed (insufficient funds)
    9902  declined: 416 apelsin.pay.safe.mode.on
    9903  declined: 400 apelsin.pay.user.otp.data.expired
    9904  timeout: never answers, nothing charged
    9905  HTTP 500 with a body that is not JSON, nothing charged
    9906  charged, but the answer is cut short (not JSON)
    9907  charged, but the answer is lost (never answers)
    9908  connection reset, nothing charged
    9909  in process (HOLD, with a payment id), paid at the N-th status call (5th digit N)
    9910  in process without a payment id; HOLD, paid at the N-th status call
    9911  in process (HOLD), failed at the N-th status call
    9912  service down: 503 apelsin.pay.service.not.working
    9913  charged, then a proxy's HTTP 502 page
    9914  slow: answers after DD tenths of a second (5th-6th digits), paid
    9915  declined: 400 limit.was.set
    9916  paid; its reversal is refused: 400 apelsin.pay.reverse.not.allowed
    any other code of 40 characters or more: paid at once

Assumptions the reference marks as such, and the emulator's choice: a repeated
`order_id` is answered `DUPLICATED` with the earlier payment's id (or, with
`duplicate_answer="key"`, `order.id.duplicated`); it is checked before a repeated
`transaction_id`, so a byte-identical repeat of a charge names the first one. A declined
attempt does not use up its code.

Run: python -m emulators.uzum --port 8104
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from emulators.counters import ChargeCounters, MerchantServices
from emulators.server import EmulatorServer, Reply, leading_number

TASHKENT = ZoneInfo("Asia/Tashkent")
PREFIX = "/api/apelsin-pay/merchant/"
HEADER = re.compile(r"^(\d+):([0-9a-f]{40}):(\d+)$")
WINDOW_MS = 50_000
READINGS = {"epoch": 0, "tashkent": 5 * 3600 * 1000}
ALLOWED_FISCAL_PREFIX = "https://ofd.soliq.uz/"

DECLINES = {
    "9901": (400, "operation.failed"),
    "9902": (416, "apelsin.pay.safe.mode.on"),
    "9903": (400, "apelsin.pay.user.otp.data.expired"),
    "9912": (503, "apelsin.pay.service.not.working"),
    "9915": (400, "limit.was.set"),
}


def error(code: int, key: str | None) -> dict[str, Any]:
    return {"error_code": code, "error_message": key}


@dataclass
class EmulatedPayment:
    payment_id: str
    service_id: int
    order_id: str
    transaction_id: str
    otp_data: str
    amount: int
    status: str = "SUCCESS"
    polls_left: int = 0
    final: str = "SUCCESS"
    fiscal_url: str = ""
    created: str = ""
    phone: str = "998901112233"
    rrn: str = ""


class UzumEmulator(MerchantServices):
    """The emulator's state and rules; `EmulatorServer` puts it on HTTP."""

    def __init__(
        self,
        *,
        service_id: int = 4012,
        merchant_service_user_id: str = "8461",
        secret_key: str = "EMULATOR_UZUM_SECRET_KEY",
        timestamp_reading: str = "epoch",
        hang_seconds: float = 60.0,
        duplicate_answer: str = "status",
    ) -> None:
        super().__init__(service_id, merchant_service_user_id, secret_key)
        self.shift_ms = READINGS[timestamp_reading]
        self.hang_seconds = hang_seconds
        self.duplicate_answer = duplicate_answer
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.payments: dict[str, EmulatedPayment] = {}
            self.counters = ChargeCounters()
            self.auth_timestamps: list[int] = []

    # --- dispatch ------------------------------------------------------------------------

    def operation_of(self, method: str, path: str, raw: bytes) -> str:
        route = path[len(PREFIX) :].strip("/")
        return "payment/reversal" if route.startswith("v2/payment/reversal/") else route

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        if not path.startswith(PREFIX):
            return Reply(404, error(404, "operation.not.found"))
        route = path[len(PREFIX) :].strip("/")
        with self._lock:
            self.counters.received(
                f"{method} {route}",
                is_charge=(method, route) == ("POST", "v2/payment"),
                is_reversal=method == "PUT" and route.startswith("v2/payment/reversal/"),
            )
        refused, services = self._authorized(headers.get("authorization", ""))
        if refused is not None:
            return refused
        try:
            body = json.loads(raw.decode()) if raw else {}
        except ValueError:
            return Reply(body=error(400, "apelsin.pay.unsupported.operation"))
        if not isinstance(body, dict) or body.get("service_id") not in services:
            return Reply(body=error(401, "apelsin.pay.authorization.error"))
        if (method, route) == ("POST", "v2/payment"):
            return self._pay(body)
        if (method, route) == ("POST", "payment/status"):
            return self._status(body)
        if (method, route) == ("POST", "payment/fiscal"):
            return self._fiscal(body)
        if method == "PUT" and route.startswith("v2/payment/reversal/"):
            return self._reverse(route.rsplit("/", 1)[1], body)
        return Reply(404, error(404, "operation.not.found"))

    def _authorized(self, header: str) -> tuple[Reply | None, set[int]]:
        """The services of the till whose header this is, or the refusal."""
        match = HEADER.match(header)
        if match is None:
            return Reply(body=error(401, "apelsin.pay.authorization.error")), set()
        user, digest, timestamp = match.group(1), match.group(2), int(match.group(3))
        with self._lock:
            known = list(self.services.items())
            self.auth_timestamps.append(timestamp)
        services = {
            service
            for service, (till, secret) in known
            if till == user
            and hmac.compare_digest(
                digest, hashlib.sha1(f"{timestamp}{secret}".encode()).hexdigest()
            )
        }
        if not services:
            return Reply(body=error(401, "apelsin.pay.authorization.error")), set()
        now_ms = int(time.time() * 1000) + self.shift_ms
        if abs(now_ms - timestamp) > WINDOW_MS:
            return Reply(body=error(403, None)), set()
        return None, services

    # --- the charge --------------------------------------------------------------------------

    def _pay(self, body: dict[str, Any]) -> Reply:
        otp = str(body.get("otp_data") or "")
        amount = body.get("amount")
        order_id, transaction_id = (
            str(body.get("order_id") or ""),
            str(body.get("transaction_id") or ""),
        )
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return Reply(body=error(400, "apelsin.pay.unsupported.operation"))
        if len(otp) < 40:
            return Reply(body=error(400, "apelsin.pay.wrong.prefix.otp.data"))
        if not order_id or not transaction_id:
            return Reply(body=error(400, "apelsin.pay.unsupported.operation"))
        scenario, argument = otp[:4], otp[4:]
        if scenario == "9904":
            return Reply(action="hang")
        if scenario == "9905":
            return Reply(500, "Internal Server Error")
        if scenario == "9908":
            return Reply(action="reset")

        with self._lock:
            earlier = self._by_order(body["service_id"], order_id)
            if earlier is not None:
                if self.duplicate_answer == "key":
                    return Reply(body=error(400, "order.id.duplicated"))
                return Reply(
                    body={
                        "payment_id": earlier.payment_id,
                        "payment_status": "DUPLICATED",
                        "error_code": 0,
                        "error_message": None,
                        "operation_time": earlier.created,
                    }
                )
            if any(p.transaction_id == transaction_id for p in self.payments.values()):
                return Reply(body=error(400, "transaction.duplicated"))
            if any(p.otp_data == otp and p.status != "FAILED" for p in self.payments.values()):
                return Reply(body=error(400, "qr.duplicated"))
            if scenario in DECLINES:
                return Reply(body=error(*DECLINES[scenario]))
            payment = self._new_payment(body["service_id"], order_id, transaction_id, otp, amount)
            if scenario in ("9909", "9910", "9911"):
                payment.status = "HOLD"
                payment.polls_left = leading_number(argument, 1, default=2) or 1
                payment.final = "FAILED" if scenario == "9911" else "SUCCESS"
                answer = {
                    "payment_id": payment.payment_id,
                    "error_code": 0,
                    "error_message": "operation.is.inProcess",
                }
                if scenario == "9910":
                    del answer["payment_id"]
                return Reply(body=answer)
            self.counters.charged(otp, account=str(payment.service_id))
            answer = self._paid_answer(payment)
        if scenario == "9906":
            return Reply(body=json.dumps(answer)[:25])
        if scenario == "9907":
            return Reply(action="hang")
        if scenario == "9913":
            return Reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
        if scenario == "9914":
            return Reply(body=answer, delay=leading_number(argument, 2, default=15) / 10)
        return Reply(body=answer)

    def record_charge(self, otp: str, amount: int, order_id: str, service_id: int = 4012) -> str:
        """A paid charge, as if v2/payment had taken it (for set-ups): its payment id."""
        with self._lock:
            payment = self._new_payment(service_id, order_id, order_id, otp, amount)
            self.counters.charged(otp, account=str(service_id))
            return payment.payment_id

    def _new_payment(
        self, service_id: int, order_id: str, transaction_id: str, otp: str, amount: int
    ) -> EmulatedPayment:
        payment = EmulatedPayment(
            payment_id=str(uuid.uuid4()),
            service_id=service_id,
            order_id=order_id,
            transaction_id=transaction_id,
            otp_data=otp,
            amount=amount,
            created=datetime.now(TASHKENT).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            rrn=str(uuid.uuid4().int)[:12],
        )
        self.payments[payment.payment_id] = payment
        return payment

    def _paid_answer(self, payment: EmulatedPayment) -> dict[str, Any]:
        return {
            "payment_id": payment.payment_id,
            "payment_status": payment.status,
            "error_code": 0,
            "error_message": None,
            "client_phone_number": payment.phone,
            "card_type": 2,
            "processing_reference_number": payment.rrn,
        }

    def _by_order(self, service_id: int, order_id: str) -> EmulatedPayment | None:
        for payment in self.payments.values():
            if (payment.service_id, payment.order_id) == (service_id, order_id):
                return payment
        return None

    # --- status, reversal, fiscal -----------------------------------------------------------

    def _status(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            payment = self._find(body)
            if payment is None:
                return Reply(body=error(404, "operation.not.found"))
            if payment.status == "HOLD":
                payment.polls_left -= 1
                if payment.polls_left <= 0:
                    payment.status = payment.final
                    if payment.final == "SUCCESS":
                        self.counters.charged(payment.otp_data, account=str(payment.service_id))
            return Reply(body=self._brief(payment))

    def _reverse(self, order_id: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            payment = self._find(body)
            if payment is None or payment.order_id != order_id:
                return Reply(body=error(400, "operation.not.found"))
            if payment.otp_data.startswith("9916"):
                return Reply(body=error(400, "apelsin.pay.reverse.not.allowed"))
            if payment.status == "SUCCESS":
                payment.status = "REVERSED"
                self.counters.reversed(payment.otp_data)
            if payment.status != "REVERSED":
                return Reply(body=error(400, "apelsin.pay.unsupported.operation"))
            return Reply(body=self._brief(payment))

    def _fiscal(self, body: dict[str, Any]) -> Reply:
        url = str(body.get("fiscal_url") or "")
        with self._lock:
            payment = self._find(body)
            if payment is None:
                return Reply(body=error(404, "operation.not.found"))
            if not url.startswith(ALLOWED_FISCAL_PREFIX):
                return Reply(body=error(400, "unsupported.fiscal.url"))
            payment.fiscal_url = url  # the last one sent wins
            return Reply(body=self._brief(payment))

    def _find(self, body: dict[str, Any]) -> EmulatedPayment | None:
        payment = self.payments.get(str(body.get("payment_id") or ""))
        if payment is None or payment.service_id != body.get("service_id"):
            return None
        return payment

    @staticmethod
    def _brief(payment: EmulatedPayment) -> dict[str, Any]:
        return {
            "payment_id": payment.payment_id,
            "payment_status": payment.status,
            "error_code": 0,
            "error_message": None,
        }


SECRET_VARIABLE = "UZUM_EMULATOR_SECRET_KEY"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=f"Uzum Fast Pay merchant API emulator (the secret key: ${SECRET_VARIABLE})"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--service-id", type=int, default=4012)
    parser.add_argument("--merchant-service-user-id", default="8461")
    parser.add_argument("--timestamp-reading", choices=tuple(READINGS), default="epoch")
    parser.add_argument("--duplicate-answer", choices=("status", "key"), default="status")
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    emulator = UzumEmulator(
        service_id=args.service_id,
        merchant_service_user_id=args.merchant_service_user_id,
        # From the environment, not the command line: argv is visible to every user in `ps`.
        secret_key=os.environ.get(SECRET_VARIABLE, "EMULATOR_UZUM_SECRET_KEY"),
        timestamp_reading=args.timestamp_reading,
        hang_seconds=args.hang_seconds,
        duplicate_answer=args.duplicate_answer,
    )
    server = EmulatorServer(emulator, args.host, args.port, PREFIX)
    server.verbose = args.verbose
    server.serve_until_interrupted("Uzum emulator")


if __name__ == "__main__":
    main()
