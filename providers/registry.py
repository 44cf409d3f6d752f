"""Which gateway serves which provider. A new provider is its module and one line here."""

from providers.base import Gateway
from providers.click.gateway import GATEWAY as CLICK
from providers.humo.gateway import GATEWAY as HUMO
from providers.payme.gateway import GATEWAY as PAYME

GATEWAYS: dict[str, Gateway] = {gateway.name: gateway for gateway in (CLICK, PAYME, HUMO)}


def gateway(provider: str) -> Gateway:
    return GATEWAYS[provider]


def names(*, takes_fiscal_receipts: bool | None = None) -> list[str]:
    """The providers' names, optionally only those that take fiscal receipts (or not)."""
    return [
        name
        for name, g in GATEWAYS.items()
        if takes_fiscal_receipts is None or g.takes_fiscal_receipts == takes_fiscal_receipts
    ]
