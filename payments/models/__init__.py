"""The payment record with its timeline and journal, and the registers it belongs to."""

from payments.models.operator import OperatorLanguage
from payments.models.payment import (
    FISCAL_BACKLOG_STATUSES,
    FISCAL_SENDING_ABANDONED,
    OPEN_STATUSES,
    REGISTER_HUNG_UP,
    FiscalStatus,
    IdempotencyKey,
    Operation,
    OperatorAction,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderExchange,
    label_of,
    provider_choices,
)
from payments.models.register import ProviderAccount, Register, RegisterKey, parse_networks
from payments.models.tally import CountedDay, DayTally

__all__ = [
    "CountedDay",
    "DayTally",
    "FISCAL_BACKLOG_STATUSES",
    "FISCAL_SENDING_ABANDONED",
    "OPEN_STATUSES",
    "REGISTER_HUNG_UP",
    "FiscalStatus",
    "IdempotencyKey",
    "Operation",
    "OperatorAction",
    "OperatorLanguage",
    "Payment",
    "PaymentEvent",
    "PaymentStatus",
    "ProviderAccount",
    "ProviderExchange",
    "Register",
    "RegisterKey",
    "label_of",
    "parse_networks",
    "provider_choices",
]
