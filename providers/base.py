"""The boundary between the payments app and the providers: what a gateway is given, what
it answers, and the record of every exchange it made on the way.

A gateway never sees a database row. It gets a `PaymentData` (a frozen copy of what it
needs: amount, codes, ids, the account to use) and returns a `GatewayResult` that carries
the exchanges it made; the payments service stores both under the payment's row lock.
"""

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from providers import sayings


class Outcome(StrEnum):
    SUCCESS = "success"  # the provider did what was asked: paid, submitted, reversed
    PENDING = "pending"  # accepted but not final yet: ask again
    FAILED = "failed"  # the provider refused, or the request never left us
    UNKNOWN = "unknown"  # no answer we can trust: it may or may not have happened


@dataclass(frozen=True)
class Exchange:
    """One request to a provider (or one exchange on the PIN pad's line), secrets already
    redacted: what the journal keeps."""

    provider: str
    operation: str
    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    response_status: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0
    # When the request went out (for the PIN pad: when the line was ours).
    started_at: datetime | None = None


@dataclass(frozen=True)
class RegisterInfo:
    """The register a payment is made at, as providers need to name it."""

    inn: str
    kkm_id: str
    device_id: str
    cashbox_code: str


@dataclass(frozen=True)
class OfdReceipt:
    """The register's fiscal receipt, read from the OFD URL printed on it."""

    url: str
    terminal_id: str
    receipt_number: str
    issued_at: datetime
    fiscal_sign: str


class Operation(StrEnum):
    PURCHASE = "purchase"
    # Taking money back as an operation of its own (a HUMO cancel has its own RRN and slip).
    REVERSAL = "reversal"


# The account a gateway charges through: each provider's module defines its own (a CLICK
# service, a Payme cashbox, a PIN pad), and types its steps' input with it.
AccountT = TypeVar("AccountT")


@dataclass(frozen=True)
class PaymentData(Generic[AccountT]):
    """What a gateway knows of a payment: a frozen copy, never the row. A gateway reads it
    as `PaymentData[ItsAccount]`; the services, which serve every gateway, as it comes."""

    transaction_id: str  # ours, a UUID in its canonical form
    amount: int  # tiyin
    created_at: datetime
    account: AccountT  # the provider's own account value (its module defines it)
    register: RegisterInfo
    operation: Operation = Operation.PURCHASE
    qr_code: str = ""
    provider_payment_id: str = ""
    payer_phone: str = ""
    # For a refund (operation REVERSAL), the purchase it gives back: the provider's id of
    # it, our transaction id of it, and whether this refund gives back all of it.
    reversed_reference: str = ""
    reversed_transaction_id: str = ""
    reverses_whole: bool = False


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
    # What a card terminal adds: the authorization code, its id, the slip as printed.
    auth_code: str = ""
    terminal_id: str = ""
    slip_text: str = ""
    # The provider says a person must look at this payment.
    needs_attention: bool = False
    # A lookup the provider answered with "no such payment" (see RECONCILE_NOT_FOUND_IS_FAILED).
    not_found: bool = False
    # A provider that can only tell its latest operation, when that is not this one: our
    # transaction id of the operation it reports, or "" when it reports none at all.
    latest_reference: str | None = None
    # Answers to earlier operations that arrived meanwhile: (our transaction id, result).
    late: tuple[tuple[str, "GatewayResult"], ...] = ()
    # The provider's answer body, when the register is to see it as it came.
    raw: dict[str, Any] | None = field(default=None, repr=False)
    # Every exchange made to produce this result, in order: the journal's rows to be.
    exchanges: tuple[Exchange, ...] = field(default=(), repr=False)


def refund_state(
    purchase: GatewayResult, outcome: Outcome, message: str, *, needs_attention: bool = False
) -> GatewayResult:
    """What a lookup of a purchase says of its refund: `outcome` (SUCCESS: the money went
    back; FAILED: it did not; PENDING: it is going back), with the purchase's status and
    code as the provider gave them, and nothing that would make the purchase's identity,
    payer or card the refund's."""
    return GatewayResult(
        outcome,
        provider_status=purchase.provider_status,
        code=purchase.code,
        message=message,
        needs_attention=needs_attention,
    )


@dataclass(frozen=True)
class AccountField:
    """One setting of a provider account (a CLICK service, a Payme cashbox, a PIN pad), as
    operators fill it in. A secret field holds the *name* of a secret the deployment keeps
    in its environment, never the secret itself."""

    name: str
    label: str
    secret: bool = False
    default: str = ""
    help_text: str = ""
    choices: tuple[str, ...] = ()


def secret_field(name: str, label: str, holds: str) -> AccountField:
    """A field that names the environment secret holding `holds`."""
    help_text = f"the name of the environment secret that holds {holds}"
    return AccountField(name, label, secret=True, help_text=help_text)


class Gateway(Protocol):
    """What every provider implements. Optional steps have a neutral default in
    `BaseGateway`, so callers never ask whether a gateway has them."""

    name: str  # the provider's name in our records: "click"
    label: str  # how people call it, and how the back office names it: "CLICK"
    # Whether a refund may give back part of a purchase (CLICK's partial reversal, a HUMO
    # cancel of a part); elsewhere only the whole of it, in one refund.
    partial_refunds: bool
    # Whether `check` can only speak of the provider's latest operation (a card terminal
    # remembers its last transaction only).
    knows_only_latest: bool
    # Whether the register sends a fiscal receipt to pass to the provider.
    takes_fiscal_receipts: bool
    # Whether the provider has a day to close (a terminal's shift, see `close_day`).
    closes_day: bool
    # Whether an account is a device at one till (a PIN pad): one register only, or one
    # register's end of day would close and print the other's shift.
    account_is_a_device: bool

    # The settings of one account at this provider, as operators fill them in.
    account_fields: tuple[AccountField, ...]

    def account(self, values: Mapping[str, str]) -> Any:
        """The account to charge through, from an account's settings (`account_fields`,
        secrets already read). ValueError when a value cannot be one."""
        ...

    def configured_account(self) -> dict[str, str] | None:
        """The account settings the deployment's own settings describe (the first
        register's; secret fields by name), or None when they describe none."""
        ...

    def unreachable(self, account: Any) -> str | None:
        """Why the account's own equipment cannot be reached (a PIN pad's line), checked
        without disturbing it; None when it can, or when there is nothing local to check."""
        ...

    def poll_schedule(self) -> tuple[int, float]:
        """(attempts, seconds apart) for asking `check` while a charge is PENDING."""
        ...

    def longest_wait(self) -> float:
        """Seconds the longest request can spend on this provider: every call of a charge
        at its timeouts, its lost-answer lookup and the whole polling window. A graceful
        restart must wait at least this long for requests in flight."""
        ...

    def prepare(self, payment: PaymentData) -> GatewayResult | None:
        """Make what the charge needs first (Payme's receipt); charges nothing. SUCCESS with
        the provider's id, or FAILED; None when the provider needs nothing first."""
        ...

    def charge(self, payment: PaymentData) -> GatewayResult:
        """Take the money, once. Never retried by anyone."""
        ...

    def check(self, payment: PaymentData) -> GatewayResult:
        """Ask what became of the payment (read-only, safe to repeat). Of a refund: SUCCESS
        when the provider gave the money back, FAILED when it says it did not, PENDING
        while it is still giving it back."""
        ...

    def settle_after_polling(self, payment: PaymentData, last: GatewayResult) -> GatewayResult:
        """End a payment still PENDING after the polling window, the provider's own way."""
        ...

    def reverse(self, payment: PaymentData) -> GatewayResult:
        """Give back the refund `payment` describes (its amount, of the purchase it names),
        once. SUCCESS when the money went back, PENDING while the provider is giving it
        back, FAILED only on the provider's word."""
        ...

    def submit_fiscal(self, payment: PaymentData, receipt: OfdReceipt) -> GatewayResult:
        """Pass the register's fiscal receipt to the provider."""
        ...

    def fiscal_on_file(self, payment: PaymentData, receipt: OfdReceipt) -> GatewayResult:
        """SUCCESS when the provider already holds this receipt."""
        ...

    def close_day(self, account: Any) -> GatewayResult:
        """End the provider's day (a terminal's shift); the report in `slip_text`."""
        ...

    def shift_report(self, account: Any) -> GatewayResult:
        """The day's totals so far (a terminal's shift, which stays open); the report in
        `slip_text`."""
        ...


class BaseGateway:
    """Neutral defaults for the optional steps of `Gateway`."""

    name = ""
    label = ""
    partial_refunds = False
    knows_only_latest = False
    takes_fiscal_receipts = True
    closes_day = False
    account_is_a_device = False
    account_fields: tuple[AccountField, ...] = ()

    def prepare(self, payment: PaymentData) -> GatewayResult | None:
        return None  # nothing to prepare

    def configured_account(self) -> dict[str, str] | None:
        return None

    def unreachable(self, account: Any) -> str | None:
        return None  # a provider over the internet is not ours to check on every probe

    def settle_after_polling(self, payment: PaymentData, last: GatewayResult) -> GatewayResult:
        return last  # left as it is: the register hears "unknown", reconcile asks later

    def fiscal_on_file(self, payment: PaymentData, receipt: OfdReceipt) -> GatewayResult:
        return GatewayResult(Outcome.UNKNOWN, message=sayings.CANNOT_BE_ASKED(provider=self.label))

    def submit_fiscal(self, payment: PaymentData, receipt: OfdReceipt) -> GatewayResult:
        return GatewayResult(
            Outcome.FAILED, message=sayings.NO_FISCAL_RECEIPTS(provider=self.label)
        )

    def close_day(self, account: Any) -> GatewayResult:
        return GatewayResult(Outcome.FAILED, message=sayings.NO_END_OF_DAY(provider=self.label))

    def shift_report(self, account: Any) -> GatewayResult:
        return GatewayResult(Outcome.FAILED, message=sayings.NO_SHIFT_REPORT(provider=self.label))


# --- the exchanges a gateway call made ---------------------------------------------------

_exchanges: ContextVar[list[Exchange] | None] = ContextVar("exchanges", default=None)


def record_exchange(exchange: Exchange) -> None:
    """Note one exchange of the gateway call running in this context (see `journaled`)."""
    log = _exchanges.get()
    if log is None:
        raise RuntimeError("an exchange outside a journaled gateway call would be lost")
    log.append(exchange)


@contextmanager
def _collecting() -> Iterator[list[Exchange]]:
    log: list[Exchange] = []
    token = _exchanges.set(log)
    try:
        yield log
    finally:
        _exchanges.reset(token)


logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., GatewayResult])


def journaled(method: F) -> F:
    """A gateway step whose result carries every exchange made while it ran. Steps that
    call other steps hand them all up in one result.

    A step that raises (an answer shaped in a way its parser never met) may have reached
    the provider: its outcome is unknown, never an error that loses what was sent."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> GatewayResult:
        if _exchanges.get() is not None:
            return method(*args, **kwargs)  # inside another step: that one hands them up
        with _collecting() as log:
            try:
                result = method(*args, **kwargs)
            except Exception as exc:
                logger.exception("%s raised; its outcome is unknown", method.__qualname__)
                message = f"the step failed: {type(exc).__name__}: {exc}"[:255]
                result = GatewayResult(Outcome.UNKNOWN, message=message)
        return replace(result, exchanges=tuple(log))

    return wrapper  # type: ignore[return-value]
