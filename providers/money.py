"""Amounts of money: integer tiyin in our records, UZS (soum) with two decimals where people
or providers read them. `Decimal` only: no float ever carries an amount.

It lives at the bottom of the layers so that gateways, the admin and the commands all
convert the same way.
"""

import json
from decimal import Decimal
from typing import Any

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


def format_uzs(tiyin: int, *, decimal_mark: str = ".") -> str:
    """500000 tiyin -> "5 000.00": thousands apart (a no-break space), as cashiers read them;
    Russian and Uzbek readers write the tiyin after a comma ("5 000,00")."""
    whole, fraction = divmod(tiyin, TIYIN_PER_UZS)
    return f"{whole:,}".replace(",", "\u00a0") + f"{decimal_mark}{fraction:02d}"


# --- amounts in JSON -------------------------------------------------------------------


def json_text(value: Any, **options: Any) -> str:
    """JSON in which a `Decimal` is a number written exactly as it is (5000.50 stays
    5000.50): amounts never pass through a float. `options` are json.dumps's."""
    numbers: dict[str, str] = {}

    def exact(item: Any) -> str:
        if not isinstance(item, Decimal):
            raise TypeError(f"{type(item).__name__} is not JSON serializable")
        placeholder = f"\x00{len(numbers)}\x00"
        numbers[json.dumps(placeholder)] = format(item, "f")
        return placeholder

    text = json.dumps(value, ensure_ascii=False, default=exact, **options)
    for placeholder, number in numbers.items():
        text = text.replace(placeholder, number)
    return text


class ExactJSONEncoder(json.JSONEncoder):
    """For a JSONField that keeps amounts exactly: Decimals are written as numbers."""

    def encode(self, o: Any) -> str:
        return json_text(o)


class ExactJSONDecoder(json.JSONDecoder):
    """Reads every JSON number with a fraction back as a Decimal, exactly as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "parse_float": Decimal})
