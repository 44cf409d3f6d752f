"""Which gateway module serves which QR provider (settings.QR_PROVIDERS).

A QR gateway is a module of functions, each returning a `GatewayResult`:

- `charge(payment)`: charge the scanned code, once. Never retried by anyone.
- `check(payment)`: ask what became of the payment (read-only, safe to repeat).
- `submit_fiscal(payment, receipt)`: pass the register's fiscal receipt URL.
- `reverse(payment)`: undo a paid payment.
- `poll_schedule()`: (attempts, seconds apart) for polling `check` while PENDING.

and optionally:

- `prepare(payment)`: make what the charge needs first (Payme's receipt); SUCCESS with the
  provider's id, or FAILED. Nothing is charged by it.
- `settle_after_polling(payment, last)`: end a payment still PENDING after the window.
"""

from importlib import import_module
from types import ModuleType

from django.conf import settings


def qr_gateway(provider: str) -> ModuleType:
    """The gateway module of a QR provider."""
    return import_module(settings.QR_PROVIDERS[provider])
