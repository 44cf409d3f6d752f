"""Configuration checked at start-up (`manage.py check`, and before every command)."""

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
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


@register()
def readable_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Every variable could be read (config/settings.py notes those it could not, instead
    of a traceback that names none)."""
    return [
        Error(
            f"{problem}",
            hint="Give it a value of its kind (docs/configuration.md), or remove it for the "
            "default.",
            id="payments.E009",
        )
        for problem in settings.UNREADABLE_SETTINGS
    ]


@register(deploy=False)
def safe_to_serve(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Refuse what only a test deployment may run with: whatever DEBUG says, for DEBUG is
    one of those things (it shows settings, paths and versions to whoever errs)."""
    if settings.ALLOW_TEST_DEPLOYMENT:
        return []
    hint = "Set it for this deployment, or ALLOW_TEST_DEPLOYMENT=true for a test one."
    errors = [
        Error(f"{name} still holds the template's placeholder", hint=hint, id="payments.E010")
        for name in settings.UNFILLED_SETTINGS
    ]
    if settings.DEBUG:
        errors.append(
            Error(
                "DEBUG is on outside a test deployment",
                hint="Set DEBUG=false (it shows settings and paths to any caller), or "
                "ALLOW_TEST_DEPLOYMENT=true on a developer's machine.",
                id="payments.E008",
            )
        )
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
def accounts_in_use(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[Warning]:
    """Every active register's accounts can serve: their secrets are set, their PIN pads are
    there (run with `manage.py check --database default`, as the systemd unit does before it
    starts). A warning, never an error: one register's account must not stop `migrate`, a
    start or the other registers. Until it is mended, that register's requests at that
    provider are refused with 108 `misconfigured`, and the back office lists the account."""
    if not databases:
        return []
    from payments.services.accounts import problems

    try:
        found = problems()
    except DatabaseError:
        return []  # not migrated yet: `migrate` comes first
    return [
        Warning(
            f"the account {problem.account!r} ({', '.join(problem.registers)}) cannot serve: "
            f"{problem.detail}",
            hint=_MENDS[problem.kind],
            id=_IDS[problem.kind],
        )
        for problem in found
    ]


_IDS = {"misconfigured": "payments.W005", "equipment": "payments.W007", "shared": "payments.W008"}
_MENDS = {
    "misconfigured": (
        "Set the secret in the service's environment (the file ENV_FILE names; `make run` "
        "writes its own) and restart; until then only this account's requests are refused."
    ),
    "equipment": "Plug the PIN pad in, or correct the account's line in the back office.",
    "shared": (
        "Give each register its own PIN pad account; until then the end of day of that PIN "
        "pad is refused (it would close every sharing register's shift)."
    ),
}
