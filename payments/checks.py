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


@register()
def back_office_language(app_configs: Any, **kwargs: Any) -> list[Error]:
    known = [code for code, _ in settings.LANGUAGES]
    if settings.LANGUAGE_CODE in known:
        return []
    return [
        Error(
            f"BACK_OFFICE_LANGUAGE is {settings.LANGUAGE_CODE!r}",
            hint=f"Set it to one of: {', '.join(known)}.",
            id="payments.E006",
        )
    ]


# The emulators' own keys (emulators/, make run) all begin so: a deployment that still has
# one is not talking to a real provider, or is talking to one with a key everybody knows.
EMULATOR_KEY_PREFIX = "EMULATOR_"


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
    for name, value in _provider_secrets():
        if value.startswith(EMULATOR_KEY_PREFIX):
            errors.append(Error(f"{name} is the emulator's key", hint=hint, id="payments.E003"))
    for name in _provider_urls():
        host = urlsplit(getattr(settings, name)).hostname or ""
        if host == "localhost" or _is_loopback(host):
            errors.append(
                Error(f"{name} points at this machine ({host})", hint=hint, id="payments.E004")
            )
    return errors


def _provider_secrets() -> list[tuple[str, str]]:
    """The first register's two keys, as they always were, and every PROVIDER_SECRET_*."""
    named = [(name, getattr(settings, name)) for name in ("CLICK_SECRET_KEY", "PAYME_KEY")]
    return named + sorted(settings.PROVIDER_SECRETS.items())


def _provider_urls() -> list[str]:
    """Every provider's base URL setting (`<PROVIDER>_BASE_URL`)."""
    return sorted(name for name in dir(settings) if name.endswith("_BASE_URL"))


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
