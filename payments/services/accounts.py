"""The provider account a register charges through, with its secrets read from the
environment (they are never stored in the database: docs/configuration.md says why)."""

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from payments.errors import ApplicationError
from payments.models import ProviderAccount, Register
from providers import registry

logger = logging.getLogger(__name__)

# What a secret field may name: one secret kept under PROVIDER_SECRET_ (any other setting,
# such as SECRET_KEY, cannot be named). The first register's CLICK and Payme keys are named
# so as well; a deployment may still give them as it always did (CLICK_SECRET_KEY,
# PAYME_KEY), which is where they are read from when the PROVIDER_SECRET_ one is not set.
SECRET_NAME = re.compile(r"PROVIDER_SECRET_[A-Z0-9_]+")
FIRST_REGISTER_KEYS = {
    "PROVIDER_SECRET_CLICK": "CLICK_SECRET_KEY",
    "PROVIDER_SECRET_PAYME": "PAYME_KEY",
}

# Accounts change seldom and are read on every provider call: each process keeps what it
# read for a few seconds. A change made in this process is seen at once.
CACHE_SECONDS = 10.0
_cache: dict[int, tuple[float, Register, dict[str, ProviderAccount]]] = {}
_cache_lock = threading.Lock()


class MissingSecret(LookupError):
    pass


def secret(name: str) -> str:
    """The value of the environment secret `name`."""
    if not SECRET_NAME.fullmatch(name):
        raise MissingSecret(f"{name!r} is not a name a provider secret may have")
    value = settings.PROVIDER_SECRETS.get(name, "")
    if not value and name in FIRST_REGISTER_KEYS:
        value = getattr(settings, FIRST_REGISTER_KEYS[name], "")
    if not value:
        raise MissingSecret(f"the environment has no {name}")
    return value


def secret_is_set(name: str) -> bool:
    try:
        secret(name)
    except MissingSecret:
        return False
    return True


def account_values(account: ProviderAccount) -> dict[str, str]:
    """The account's settings as its gateway takes them: defaults filled in, secrets read."""
    gateway = registry.GATEWAYS[account.provider]
    values = {}
    for field in gateway.account_fields:
        value = str(account.settings.get(field.name, "") or field.default)
        values[field.name] = secret(value) if field.secret else value
    return values


def register_and_accounts(register_id: int) -> tuple[Register, dict[str, ProviderAccount]]:
    """A register and its accounts by provider, as this process read them lately."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(register_id)
    if cached is None or now - cached[0] >= CACHE_SECONDS:
        register = Register.objects.get(pk=register_id)
        accounts = {row.provider: row for row in register.accounts.all()}
        cached = (now, register, accounts)
        with _cache_lock:
            _cache[register_id] = cached
    return cached[1], cached[2]


def account_of(register_id: int, provider: str) -> Any:
    """The gateway's account that the register charges through at `provider`. A register
    with none is refused (code 106), one whose account cannot be built (a secret not set)
    with 108 `misconfigured`, before anything is sent: the problem stays with that account."""
    row = register_and_accounts(register_id)[1].get(provider)
    if row is None:
        raise ApplicationError.conflict("no_account", provider=provider)
    # Built anew each time: the secrets and the provider's address are read as they are now.
    account, problem = _built(row)
    if problem is not None:
        logger.warning("the account %r cannot serve: %s", row.name, problem)
        raise ApplicationError.unavailable("misconfigured", account=row.name)
    return account


def account_problem(row: ProviderAccount) -> str | None:
    """Why this account cannot be used as it is configured now (None: it can): a secret
    it names is not in the environment, or its settings make no account."""
    return _built(row)[1]


def _built(row: ProviderAccount) -> tuple[Any, str | None]:
    try:
        return registry.GATEWAYS[row.provider].account(account_values(row)), None
    except MissingSecret as exc:
        return None, str(exc)
    except (ValueError, TypeError, KeyError) as exc:
        return None, f"its settings make no account: {exc}"


def values_problem(provider: str, values: Mapping[str, Any]) -> str | None:
    """Why these settings cannot make an account at `provider` (None: they can)."""
    gateway = registry.GATEWAYS[provider]
    missing = [f.label for f in gateway.account_fields if not (values.get(f.name) or f.default)]
    if missing:
        return f"missing: {', '.join(missing)}"
    for field in gateway.account_fields:
        value = str(values.get(field.name) or field.default)
        if field.choices and value not in field.choices:
            return f"{field.label} must be one of {', '.join(field.choices)}"
        if field.secret and not SECRET_NAME.fullmatch(value):
            return f"{field.label} must name an environment secret: PROVIDER_SECRET_<NAME>"
    placeholders = {
        f.name: "x" if f.secret else str(values.get(f.name) or f.default)
        for f in gateway.account_fields
    }
    try:
        gateway.account(placeholders)
    except (ValueError, TypeError, KeyError) as exc:
        return str(exc)
    return None


@receiver(post_save, sender=ProviderAccount)
@receiver(post_save, sender=Register)
@receiver(post_delete, sender=ProviderAccount)
@receiver(post_delete, sender=Register)
@receiver(m2m_changed, sender=Register.accounts.through)
def forget(**_: Any) -> None:
    """What this process read of registers and accounts is read again on next use."""
    with _cache_lock:
        _cache.clear()


@dataclass(frozen=True)
class AccountProblem:
    """An account in use that cannot serve its registers as it stands now."""

    account: str
    provider: str
    registers: tuple[str, ...]
    kind: str  # "misconfigured" (a secret not set, settings that make no account),
    # "shared" (a device several registers have) or "equipment" (its own device, a PIN
    # pad's line, is not there)
    detail: str


def problems() -> list[AccountProblem]:
    """Every account of an active register that cannot serve, and why. Each stays with its
    own registers: the others, and this instance, go on serving."""
    found = []
    in_use = ProviderAccount.objects.filter(registers__active=True).distinct().order_by("name")
    for row in in_use.prefetch_related("registers"):
        problem = problem_of(row)
        if problem is not None:
            registers = tuple(sorted(r.name for r in row.registers.all() if r.active))
            found.append(AccountProblem(row.name, row.provider, registers, *problem))
    return found


def problem_of(row: ProviderAccount) -> tuple[str, str] | None:
    """(kind, detail) of why the account cannot serve as it stands now; None: it can."""
    account, problem = _built(row)
    if problem is not None:
        return "misconfigured", problem
    sharing = shared_by(row)
    if sharing:
        return "shared", f"one PIN pad, several registers: {', '.join(sharing)}"
    problem = registry.GATEWAYS[row.provider].unreachable(account)
    return None if problem is None else ("equipment", problem)


def shared_by(row: ProviderAccount) -> list[str]:
    """The registers that share this device (a PIN pad two registers were given before one
    register per device was the rule); empty when it is one register's, or no device."""
    if not registry.GATEWAYS[row.provider].account_is_a_device:
        return []
    names = sorted(register.name for register in row.registers.all())
    return names if len(names) > 1 else []


def device_of(register_id: int, provider: str) -> Any:
    """`account_of` for what acts on the device as a whole (its end of day): refused with
    108 `shared` while several registers share it, or one would close the other's shift."""
    account = account_of(register_id, provider)
    row = register_and_accounts(register_id)[1][provider]
    if shared_by(row):
        raise ApplicationError.unavailable("shared", account=row.name)
    return account
