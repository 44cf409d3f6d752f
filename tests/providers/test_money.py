"""Tiyin and UZS: exact both ways, in JSON too, shown as cashiers read them."""

import json
from decimal import Decimal

import pytest

from providers.money import (
    ExactJSONDecoder,
    ExactJSONEncoder,
    format_uzs,
    json_text,
    to_tiyin,
    to_uzs,
)


@pytest.mark.parametrize(
    ("tiyin", "uzs"),
    [(500, "5.00"), (50000, "500.00"), (1, "0.01"), (1234567, "12345.67"), (10**12, "1E+10")],
)
def test_conversion_is_exact_both_ways(tiyin: int, uzs: str) -> None:
    assert to_uzs(tiyin) == Decimal(uzs)
    assert to_tiyin(to_uzs(tiyin)) == tiyin


def test_a_fraction_of_a_tiyin_is_refused() -> None:
    with pytest.raises(ValueError, match="whole number of tiyin"):
        to_tiyin(Decimal("0.001"))


def test_shown_with_thousands_apart() -> None:
    assert format_uzs(500000) == "5\u00a0000.00"
    assert format_uzs(99999999999999) == "999\u00a0999\u00a0999\u00a0999.99"
    assert format_uzs(7) == "0.07"


def test_decimal_amounts_are_written_exactly_without_a_float() -> None:
    text = json_text({"amount": Decimal("99999999999.99"), "note": "Успешно"})
    assert text == '{"amount": 99999999999.99, "note": "Успешно"}'
    assert json.loads(text, parse_float=Decimal)["amount"] == Decimal("99999999999.99")
    assert json_text({"amount": Decimal("5.00")}) == '{"amount": 5.00}'


def test_a_json_field_keeps_an_amount_exactly_as_sent() -> None:
    stored = json.dumps({"amount": Decimal("49900.00")}, cls=ExactJSONEncoder)
    assert stored == '{"amount": 49900.00}'
    assert json.loads(stored, cls=ExactJSONDecoder) == {"amount": Decimal("49900.00")}
