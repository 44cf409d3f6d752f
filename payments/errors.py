"""The one application error type and the register-facing error codes.

Services raise `ApplicationError`; the API's exception handler turns it into the envelope.
"""

from enum import IntEnum
from typing import Any


class ErrorCode(IntEnum):
    VALIDATION = 7
    INTERNAL = 103
    BILLING = 104
    PAYMENT = 106
    XUMO = 108
    OUTCOME_UNKNOWN = 110
    UNAUTHORIZED = 111
    # Outside the register contract's table: the path or the method does not exist.
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405


ERROR_MESSAGES = {
    ErrorCode.INTERNAL: "INTERNAL_ERROR",
    ErrorCode.BILLING: "BILLING_ERROR",
    ErrorCode.PAYMENT: "PAYMENT_ERROR",
    ErrorCode.XUMO: "XUMO_ERROR",
    ErrorCode.OUTCOME_UNKNOWN: "PAYMENT_OUTCOME_UNKNOWN",
    ErrorCode.UNAUTHORIZED: "UNAUTHORIZED",
    ErrorCode.NOT_FOUND: "NOT_FOUND",
    ErrorCode.METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
}


class ApplicationError(Exception):
    def __init__(
        self,
        code: ErrorCode,
        data: dict[str, Any] | None = None,
        *,
        message: str | None = None,
        http_status: int = 200,
    ) -> None:
        self.code = code
        self.message = message if message is not None else ERROR_MESSAGES[code]
        self.data = data
        self.http_status = http_status
        super().__init__(f"{int(code)} {self.message} {data or ''}".strip())

    @classmethod
    def billing(cls, provider: str, provider_code: Any, note: str) -> "ApplicationError":
        """The provider declined or answered with an error of its own."""
        return cls(ErrorCode.BILLING, {"provider": provider, "code": provider_code, "note": note})

    @classmethod
    def conflict(cls, reason: str, **details: Any) -> "ApplicationError":
        """The request conflicts with what we know about the payment."""
        return cls(ErrorCode.PAYMENT, {"reason": reason, **details})

    @classmethod
    def pinpad(cls, host_code: str | None, reason: str, slip: str = "") -> "ApplicationError":
        """The PIN pad declined, was busy or could not be reached."""
        return cls(ErrorCode.XUMO, {"host_code": host_code, "reason": reason, "slip": slip or None})

    @classmethod
    def unavailable(cls, reason: str, **details: Any) -> "ApplicationError":
        """The register's own setup cannot serve this request (its account at the provider
        is misconfigured, say); nothing was sent. The register's other providers and every
        other register go on being served."""
        return cls(ErrorCode.XUMO, {"reason": reason, **details})

    @classmethod
    def outcome_unknown(cls, transaction_id: Any) -> "ApplicationError":
        """The charge may or may not have gone through; the register must ask, not recharge.
        (No transaction id yet while a replayed request is still starting.)"""
        known = None if transaction_id is None else str(transaction_id)
        return cls(ErrorCode.OUTCOME_UNKNOWN, {"transaction_id": known})
