"""The one result type every gateway function returns."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    SUCCESS = "success"  # the provider did what was asked: paid, submitted, reversed
    PENDING = "pending"  # accepted but not final yet: ask again
    FAILED = "failed"  # the provider refused, or the request never left us
    UNKNOWN = "unknown"  # no answer we can trust: it may or may not have happened


@dataclass(frozen=True)
class GatewayResult:
    outcome: Outcome
    provider_payment_id: str = ""
    provider_status: str = ""
    # The provider's own error code and text, verbatim (text also on success, e.g. a note).
    code: int | str | None = None
    message: str = ""
    payer_phone: str = ""
    masked_card: str = ""
    # The provider says a person must look at this payment.
    needs_attention: bool = False
    # A lookup the provider answered with "no such payment" (see RECONCILE_NOT_FOUND_IS_FAILED).
    not_found: bool = False
    # The provider's answer body, when the register is to see it as it came.
    raw: dict[str, Any] | None = field(default=None, repr=False)
