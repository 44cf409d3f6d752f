"""The payment's state machine as plain code: its statuses, the changes allowed between
them, and what an answer or an action does to a payment (`decide`), written once and used
by every path that writes one: the charge, the reversal, the fiscal claim, reconcile and
the operators' actions. Nothing here reads or writes a database; `payments.store` applies
what is decided here, and decides again under the row's lock when someone wrote the row
meanwhile.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from providers.base import GatewayResult, Outcome


class Status(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    UNKNOWN = "unknown"
    REVERSED = "reversed"


class Fiscal(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"  # paid, the register's receipt is awaited
    SUBMITTED = "submitted"
    FAILED = "failed"


# Its outcome is not known yet: a provider (or a person) may still settle it.
OPEN = frozenset({Status.CREATED, Status.PROCESSING, Status.UNKNOWN})

ALLOWED_STATUS_CHANGES: dict[str, frozenset[str]] = {
    Status.CREATED: frozenset({Status.PROCESSING, Status.FAILED, Status.UNKNOWN}),
    Status.PROCESSING: frozenset({Status.PAID, Status.FAILED, Status.UNKNOWN}),
    Status.UNKNOWN: frozenset({Status.PROCESSING, Status.PAID, Status.FAILED}),
    Status.PAID: frozenset({Status.REVERSED}),
    Status.FAILED: frozenset(),
    Status.REVERSED: frozenset(),
}

ALLOWED_FISCAL_CHANGES: dict[str, frozenset[str]] = {
    Fiscal.NOT_REQUIRED: frozenset({Fiscal.PENDING}),
    Fiscal.PENDING: frozenset({Fiscal.SUBMITTED, Fiscal.FAILED}),
    Fiscal.FAILED: frozenset({Fiscal.SUBMITTED}),
    Fiscal.SUBMITTED: frozenset(),
}

# --- what an answer means ------------------------------------------------------------------

# What an outcome means for the payment's status, by the kind of step that gave it.
CHARGE_STATUS: Mapping[Outcome, str] = {
    Outcome.SUCCESS: Status.PAID,
    Outcome.PENDING: Status.PROCESSING,
    Outcome.FAILED: Status.FAILED,
    Outcome.UNKNOWN: Status.UNKNOWN,
}
# A lookup that got no answer changes nothing: UNKNOWN is absent on purpose.
CHECK_STATUS: Mapping[Outcome, str] = {
    k: v for k, v in CHARGE_STATUS.items() if k is not Outcome.UNKNOWN
}
# Preparing charges nothing: only a refusal changes the payment (to failed).
PREPARE_STATUS: Mapping[Outcome, str] = {Outcome.FAILED: Status.FAILED}


def is_final(outcome: Outcome) -> bool:
    """The provider's last word on an operation: it happened, or it certainly did not."""
    return outcome in (Outcome.SUCCESS, Outcome.FAILED)


def is_trusted_absence(outcome: Outcome, *, not_found: bool, absence_trusted: bool) -> bool:
    """A lookup's "no such payment" that settles an open payment failed: only where the
    provider's absence is trusted (RECONCILE_NOT_FOUND_IS_FAILED); by default it proves
    nothing and a person decides."""
    return outcome is Outcome.UNKNOWN and not_found and absence_trusted


def lookup_status(outcome: Outcome, *, not_found: bool, absence_trusted: bool) -> str | None:
    """The status a lookup's answer gives an open payment, or None when it settles nothing."""
    if is_trusted_absence(outcome, not_found=not_found, absence_trusted=absence_trusted):
        return Status.FAILED
    return CHECK_STATUS.get(outcome)


# What an operator may set an open payment to, having found the answer elsewhere.
SETTLED_BY_HAND = (Status.PAID, Status.FAILED)


def can_settle_by_hand(status: str) -> bool:
    """Sent, outcome unknown: a person who found the answer may settle it."""
    return status in (Status.PROCESSING, Status.UNKNOWN)


# Fields of an answer copied onto the payment when the provider gave them.
RESULT_FIELDS = (
    "provider_payment_id",
    "payer_phone",
    "masked_card",
    "auth_code",
    "terminal_id",
    "slip_text",
)


def answer_intended(
    result: GatewayResult,
    statuses: Mapping[Outcome, str],
    *,
    provider_status: str,
    provider_message: str,
) -> "Intended":
    """What a provider's answer changes on a payment that holds `provider_status` and
    `provider_message`: the fields it brings and the status its outcome means (`statuses`:
    CHARGE_STATUS, CHECK_STATUS, ... by the kind of step that gave it)."""
    fields: dict[str, Any] = {
        "provider_status": result.provider_status or provider_status,
        "provider_code": "" if result.code is None else str(result.code),
    }
    # The charge's own note is what the register shows; a later lookup replaces it only to
    # say why the payment failed, or why the provider wants a person to look (the note is
    # the reason the admin shows beside the flag).
    replaces = result.outcome is Outcome.FAILED or result.needs_attention
    if result.message and (replaces or not provider_message):
        fields["provider_message"] = result.message
    for name in RESULT_FIELDS:
        value = getattr(result, name)
        if value:
            fields[name] = value
    status = statuses.get(result.outcome)
    if result.needs_attention:
        # The provider itself says a person must look (Payme state 20, a late payment
        # being returned, a terminal that reports another operation): flag it, and an
        # open outcome becomes ours too.
        fields["needs_attention"] = True
        if result.outcome is Outcome.UNKNOWN:
            status = Status.UNKNOWN
    return Intended(status, None, fields)


def identity_taken(intended: "Intended", provider_payment_id: str, holder: str) -> "Intended":
    """An answer that names as this payment's the provider's id of another payment
    (`holder`): not this payment's identity. What else it said is kept, the payment is
    flagged, and it is never called paid on that word."""
    fields = {k: v for k, v in intended.fields.items() if k != "provider_payment_id"}
    fields["needs_attention"] = True
    fields["provider_message"] = f"{provider_payment_id} is already the provider's id of {holder}"
    status = Status.UNKNOWN if intended.status == Status.PAID else intended.status
    return Intended(status, intended.fiscal_status, fields)


# --- one change, decided -------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the rules need to know of a payment as it stands."""

    status: str
    fiscal_status: str
    needs_attention: bool = False
    # A QR payment: once paid, it waits for the register's fiscal receipt.
    takes_receipt: bool = False


@dataclass(frozen=True)
class Intended:
    """A change someone wants: a status, a fiscal status (None: unchanged) and fields."""

    status: str | None = None
    fiscal_status: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decided:
    """The change as it will be made: the statuses it moves (None: unchanged), whether it
    sets or clears the payment's need of a person (None: neither), every field to write
    (the statuses' own included), and whether it is a step of the timeline."""

    from_status: str | None
    to_status: str | None
    from_fiscal: str | None
    to_fiscal: str | None
    fields: dict[str, Any]
    flagged: bool | None = None

    @property
    def moves(self) -> bool:
        return self.to_status is not None or self.to_fiscal is not None

    @property
    def is_step(self) -> bool:
        """A step of the timeline: a status moves, or a person is (no longer) needed, and
        the timeline keeps why."""
        return self.moves or self.flagged is not None


@dataclass(frozen=True)
class Illegal:
    """A change the state machine refuses (often: someone settled the payment first)."""

    field: str
    current: str
    wanted: str


def decide(state: State, intended: Intended, *, now: datetime) -> Decided | Illegal:
    """The change `intended` makes to a payment in `state`, or why it may not."""
    fields = dict(intended.fields)
    from_status = to_status = from_fiscal = to_fiscal = None
    status, fiscal = intended.status, intended.fiscal_status
    if status is not None and status != state.status:
        if status not in ALLOWED_STATUS_CHANGES[state.status]:
            return Illegal("status", state.status, status)
        from_status, to_status = state.status, status
        fields["status"] = status
        if status == Status.PAID:
            fields["paid_at"] = now
            fields.setdefault("needs_attention", False)
            if state.takes_receipt and state.fiscal_status == Fiscal.NOT_REQUIRED:
                fiscal = Fiscal.PENDING
    if fiscal is not None and fiscal != state.fiscal_status:
        if fiscal not in ALLOWED_FISCAL_CHANGES[state.fiscal_status]:
            return Illegal("fiscal_status", state.fiscal_status, fiscal)
        from_fiscal, to_fiscal = state.fiscal_status, fiscal
        fields["fiscal_status"] = fiscal
    flag = fields.get("needs_attention")
    flagged = bool(flag) if flag is not None and bool(flag) != state.needs_attention else None
    return Decided(from_status, to_status, from_fiscal, to_fiscal, fields, flagged)


# --- the fiscal claim ----------------------------------------------------------------------

# A fiscal submission this old is taken to have died with its process (or its answer could
# not be written): another may start, and `retry_fiscal` asks the provider about it.
FISCAL_SENDING_ABANDONED = timedelta(minutes=5)


@dataclass(frozen=True)
class FiscalClaim:
    """Where a payment's receipt stands when a submission of `url` would start."""

    fiscal_status: str
    receipt_url: str  # the one on file
    sending_url: str  # the one being sent, if any
    sending_since: datetime | None


def claim_receipt(claim: FiscalClaim, url: str, *, now: datetime) -> str | None:
    """Whether a submission of `url` may start: None when it may, "on_file" when this very
    receipt is on file already (nothing to send), else the conflict's reason."""
    if claim.fiscal_status == Fiscal.SUBMITTED:
        return "on_file" if claim.receipt_url == url else "already_fiscalized"
    since = claim.sending_since
    if since is not None and now - since < FISCAL_SENDING_ABANDONED:
        return "fiscal_in_progress"
    return None
