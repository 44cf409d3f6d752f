"""Amounts of money: integer tiyin in our records, UZS (soum) with two decimals where people
or providers read them. `Decimal` only: no float ever carries an amount.

It lives at the bottom of the layers so that gateways, the admin and the commands all
convert the same way.
"""

from decimal import Decimal

TIYIN_PER_UZS = 100
_CENTS = Decimal("0.01")


def to_uzs(tiyin: int) -> Decimal:
    """500050 tiyin -> Decimal("5000.50")."""
    return (Decimal(tiyin) / TIYIN_PER_UZS).quantize(_CENTS)


def to_tiyin(uzs: Decimal) -> int:
    """Decimal("5000.50") -> 500050; refuses fractions of a tiyin."""
    tiyin = uzs * TIYIN_PER_UZS
    if tiyin != tiyin.to_integral_value():
        raise ValueError(f"{uzs} UZS is not a whole number of tiyin")
    return int(tiyin)


def format_uzs(tiyin: int) -> str:
    """500000 tiyin -> "5 000.00": thousands apart (a no-break space), as cashiers read them."""
    whole, fraction = divmod(tiyin, TIYIN_PER_UZS)
    return f"{whole:,}".replace(",", "\u00a0") + f".{fraction:02d}"
