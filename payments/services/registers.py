"""Registers and their API keys: issued (shown once), revoked, used."""

import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.models import ProviderAccount, Register, RegisterKey, parse_networks
from payments.selectors import key_digest
from providers import registry

KEY_PREFIX = "rk_"
# The last use is written at most this often per key: not one more write per request.
LAST_USE_RESOLUTION = timedelta(minutes=1)


def issue_key(register: Register, *, label: str = "") -> tuple[RegisterKey, str]:
    """A new key for the register, and the key itself: shown this once, kept only hashed.
    The register's other keys stay valid (rotation: issue, switch, then revoke)."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = RegisterKey.objects.create(
        register=register, prefix=plain[:10], digest=key_digest(plain), label=label[:100]
    )
    return row, plain


def revoke_key(key: RegisterKey) -> RegisterKey:
    """Refused from the next request on."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def key_used(key: RegisterKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_RESOLUTION:
        RegisterKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


@transaction.atomic
def add_register(
    *,
    name: str,
    inn: str,
    kkm_id: str,
    device_id: str = "",
    cashbox_code: str = "",
    networks: str = "",
    accounts: Sequence[ProviderAccount] = (),
) -> Register:
    parse_networks(networks)  # refused before anything is written
    register = Register.objects.create(
        name=name,
        inn=inn,
        kkm_id=kkm_id,
        device_id=device_id or kkm_id,
        cashbox_code=cashbox_code,
        networks=networks,
    )
    set_accounts(register, accounts)
    return register


def set_accounts(register: Register, accounts: Sequence[ProviderAccount]) -> None:
    """The accounts the register charges through: one per provider, and a device (a PIN
    pad) no other register has."""
    twice = providers_twice(accounts)
    if twice:
        raise ValueError(f"one account per provider: {', '.join(twice)} given twice")
    taken = device_taken(register, accounts)
    if taken is not None:
        account, owners = taken
        raise ValueError(
            f"the account {account.name!r} is a device of {', '.join(owners)}: one PIN pad "
            "serves one register (its end of day closes the shift of whoever shares it)"
        )
    register.accounts.set(accounts)


def providers_twice(accounts: Iterable[ProviderAccount]) -> list[str]:
    """The providers that more than one of these accounts is at."""
    providers = [account.provider for account in accounts]
    return sorted({p for p in providers if providers.count(p) > 1})


def device_taken(
    register: Register | None, accounts: Iterable[ProviderAccount]
) -> tuple[ProviderAccount, list[str]] | None:
    """A device among these accounts (a PIN pad) that another register already has, and
    whose it is; None when there is none. `register` is the one being set (None: new)."""
    for account in accounts:
        if not registry.GATEWAYS[account.provider].account_is_a_device:
            continue
        others = account.registers.all()
        if register is not None:
            others = others.exclude(pk=register.pk)
        owners = sorted(str(other) for other in others)
        if owners:
            return account, owners
    return None


def first_register() -> Register:
    """The first register (FIRST_REGISTER_NAME), made from the REGISTER_* settings if it
    is not there."""
    register, _ = Register.objects.get_or_create(
        name=settings.FIRST_REGISTER_NAME,
        defaults={
            "inn": settings.REGISTER_INN,
            "kkm_id": settings.REGISTER_KKM_ID,
            "device_id": settings.REGISTER_DEVICE_ID,
            "cashbox_code": settings.REGISTER_CASHBOX_CODE,
        },
    )
    return register


def put_account(provider: str, name: str, values: dict[str, str]) -> ProviderAccount:
    """The account called `name`, made or changed to these settings."""
    row, _ = ProviderAccount.objects.update_or_create(
        name=name, defaults={"provider": provider, "settings": values}
    )
    return row
