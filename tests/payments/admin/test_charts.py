"""Placing the overview's bars: round axis steps, stacks in the series' order, nothing
drawn for nothing."""

import pytest

from payments.admin import charts

SERIES = charts.series_of([("click", "CLICK"), ("payme", "Payme")])


@pytest.mark.parametrize(
    ("largest", "step"), [(0, 1), (3, 1), (7, 2), (40, 10), (180, 50), (1234, 500), (0.4, 0.1)]
)
def test_the_axis_steps_are_round(largest, step) -> None:
    assert charts.nice_step(largest) == pytest.approx(step)


def draw(values: dict, **options) -> charts.BarChart:
    return charts.stacked_bars(
        name="t",
        title="t",
        categories=[(0, "a"), (1, "b"), (2, "c")],
        series=SERIES,
        values=values,
        show=str,
        describe=lambda when, who, value: f"{when} {who} {value}",
        **options,
    )


def test_a_stack_rises_from_the_axis_in_the_series_order() -> None:
    drawn = draw({(1, "click"): 30, (1, "payme"): 10, (2, "payme"): 20})
    bottom = drawn.bottom
    click, payme_on_click, payme = drawn.bars
    assert (click.title, payme_on_click.title, payme.title) == (
        "b CLICK 30",
        "b Payme 10",
        "c Payme 20",
    )
    assert click.y + click.height == pytest.approx(bottom)  # CLICK at the bottom of b
    assert payme_on_click.y + payme_on_click.height == pytest.approx(click.y)  # Payme on it
    assert click.height == pytest.approx(3 * payme_on_click.height, rel=0.02)
    assert click.x == payme_on_click.x < payme.x
    assert [t.label for t in drawn.value_ticks] == ["0", "10", "20", "30", "40"]
    assert drawn.value_ticks[-1].position == pytest.approx(drawn.top)  # the top is 40
    assert not drawn.empty


def test_nothing_is_drawn_for_nothing() -> None:
    drawn = draw({})
    assert drawn.bars == []
    assert drawn.empty
    assert [t.label for t in drawn.value_ticks] == ["0", "1"]


def test_the_colours_follow_the_providers() -> None:
    assert [s.colour for s in SERIES] == list(charts.PALETTE[:2])
    assert len(set(charts.PALETTE)) == len(charts.PALETTE)


def test_counts_are_not_cut_into_fractions() -> None:
    assert [t.label for t in draw({(0, "click"): 2}).value_ticks] == [
        "0.0",
        "0.5",
        "1.0",
        "1.5",
        "2.0",
    ]
    assert [t.label for t in draw({(0, "click"): 2}, whole=True).value_ticks] == ["0", "1", "2"]


def test_what_is_below_zero_hangs_under_the_axis() -> None:
    drawn = draw({(0, "click"): 30, (1, "click"): -10, (1, "payme"): 20})
    up, down, payme = drawn.bars
    assert up.y + up.height == pytest.approx(drawn.zero)  # rises from zero
    assert down.y == pytest.approx(drawn.zero)  # hangs from it
    assert payme.y + payme.height == pytest.approx(drawn.zero)  # the positive part rises
    assert up.height == pytest.approx(3 * down.height, rel=0.02)
    assert [t.label for t in drawn.value_ticks] == ["-10", "0", "10", "20", "30"]
    assert drawn.zero < drawn.bottom
