"""The counters every emulator keeps, under the same names, so a test reads any of them
alike: each charge request received (refused repeats included, so a second send shows),
each charge that moved money by the code it charged and by the merchant account that
took it, each reversal request received and each reversal that gave money back (by the
code of the purchase it gave back), and the operations received in order. The emulator
that owns them holds its own lock around every call."""

import threading
from typing import Any


class ChargeCounters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.charge_requests = 0
        self.charges_by_code: dict[str, int] = {}
        self.charges_by_account: dict[str, int] = {}
        self.reversal_requests = 0
        self.reversals_by_code: dict[str, int] = {}
        self.operations: list[str] = []

    def received(
        self, operation: str, *, is_charge: bool = False, is_reversal: bool = False
    ) -> None:
        self.operations.append(operation)
        if is_charge:
            self.charge_requests += 1
        if is_reversal:
            self.reversal_requests += 1

    def reversed(self, code: str) -> None:
        """A purchase's money given back (once per purchase: a repeat gives nothing)."""
        self.reversals_by_code[code] = self.reversals_by_code.get(code, 0) + 1

    def charged(self, code: str, account: str = "") -> None:
        self.charges_by_code[code] = self.charges_by_code.get(code, 0) + 1
        self.charges_by_account[account] = self.charges_by_account.get(account, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {
            "charge_requests": self.charge_requests,
            "charges": sum(self.charges_by_code.values()),
            "charges_by_code": dict(self.charges_by_code),
            "charges_by_account": dict(self.charges_by_account),
            "reversal_requests": self.reversal_requests,
            "reversals": sum(self.reversals_by_code.values()),
            "reversals_by_code": dict(self.reversals_by_code),
            "requests": list(self.operations),
        }


class MerchantServices:
    """What the CLICK and Uzum emulators share: several merchant services, each with the
    user id and secret its requests are signed with, and their payments counted."""

    def __init__(self, service_id: int, user_id: str, secret_key: str) -> None:
        self.services = {service_id: (user_id, secret_key)}
        self._lock = threading.Lock()
        self.payments: dict[Any, Any] = {}
        self.counters = ChargeCounters()

    def add_service(self, service_id: int, user_id: str, secret_key: str) -> None:
        with self._lock:
            self.services[service_id] = (user_id, secret_key)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counters.stats(), "payments": len(self.payments)}
