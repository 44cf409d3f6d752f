"""Configuration checked at start-up (`manage.py check`, and before every command)."""

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from providers.humo.gateway import PROTOCOLS


@register()
def pinpad_protocol(app_configs: Any, **kwargs: Any) -> list[Error]:
    if settings.PINPAD_PROTOCOL in PROTOCOLS:
        return []
    return [
        Error(
            f"PINPAD_PROTOCOL is {settings.PINPAD_PROTOCOL!r}",
            hint=f"Set it to one of: {', '.join(sorted(PROTOCOLS))}.",
            id="payments.E001",
        )
    ]


# The emulators' own keys (emulators/, make run): a deployment that still has them is not
# talking to a real provider, or is talking to one with a key everybody knows.
EMULATOR_SECRETS = frozenset({"EMULATOR_SECRET_KEY", "EMULATOR_PAYME_KEY"})


@register(deploy=False)
def safe_to_serve(app_configs: Any, **kwargs: Any) -> list[Error]:
    """With DEBUG off, refuse what only a test deployment may run with."""
    if settings.DEBUG or settings.ALLOW_TEST_DEPLOYMENT:
        return []
    hint = "Set it for this deployment, or ALLOW_TEST_DEPLOYMENT=true for a test one."
    errors = []
    if settings.SECRET_KEY == settings.INSECURE_SECRET_KEY or len(settings.SECRET_KEY) < 50:
        errors.append(
            Error(
                "SECRET_KEY is the built-in insecure key or too short",
                hint=hint,
                id="payments.E002",
            )
        )
    for name in ("CLICK_SECRET_KEY", "PAYME_KEY"):
        if getattr(settings, name) in EMULATOR_SECRETS:
            errors.append(Error(f"{name} is the emulator's key", hint=hint, id="payments.E003"))
    for name in ("CLICK_BASE_URL", "PAYME_BASE_URL"):
        host = urlsplit(getattr(settings, name)).hostname or ""
        if host == "localhost" or _is_loopback(host):
            errors.append(
                Error(f"{name} points at this machine ({host})", hint=hint, id="payments.E004")
            )
    return errors


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register(Tags.database)
def account_secrets(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[Error]:
    """Every active register's accounts name secrets the environment has (run with
    `manage.py check --database default`, as the systemd unit does before it starts)."""
    if not databases:
        return []
    from payments.models import ProviderAccount
    from payments.services.accounts import secret_is_set
    from providers.registry import GATEWAYS

    errors = []
    try:
        in_use = list(ProviderAccount.objects.filter(registers__active=True).distinct())
    except DatabaseError:
        return []  # not migrated yet: `migrate` comes first
    for account in in_use:
        for field in GATEWAYS[account.provider].account_fields:
            name = str(account.settings.get(field.name, ""))
            if field.secret and not secret_is_set(name):
                errors.append(
                    Error(
                        f"the account {account.name!r} names {name!r}, which is not set",
                        hint="Set it in the service's environment (deploy/production.env).",
                        id="payments.E005",
                    )
                )
    return errors
