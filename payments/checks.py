"""Configuration checked at start-up (`manage.py check`, and before every command)."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

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
