"""Which gateway module serves which QR provider (settings.QR_PROVIDERS)."""

from importlib import import_module
from types import ModuleType

from django.conf import settings


def qr_gateway(provider: str) -> ModuleType:
    """The gateway module of a QR provider: charge, check, submit_fiscal, reverse, ..."""
    return import_module(settings.QR_PROVIDERS[provider])
