"""Which gateway serves which provider: `GATEWAYS[name]`. A new provider is its module and
one line here."""

from providers.base import Gateway
from providers.click.gateway import GATEWAY as CLICK
from providers.humo.gateway import GATEWAY as HUMO
from providers.payme.gateway import GATEWAY as PAYME
from providers.uzum.gateway import GATEWAY as UZUM

GATEWAYS: dict[str, Gateway] = {gateway.name: gateway for gateway in (CLICK, PAYME, UZUM, HUMO)}


def names(**capabilities: bool) -> list[str]:
    """The providers' names; with capabilities (`takes_fiscal_receipts=True`, ...), only
    those whose gateway has them so."""
    return [
        name
        for name, g in GATEWAYS.items()
        if all(getattr(g, flag) == wanted for flag, wanted in capabilities.items())
    ]
