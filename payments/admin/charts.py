"""The overview's pictures, drawn on the server as SVG: nothing to load from outside, and
the same page in a browser with no network, in a test and in a screenshot.

This module only places shapes; `templates/admin/payments/charts/` turns them into SVG.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# One colour per provider, in the registry's order; colour-blind-safe (Okabe and Ito).
PALETTE = ("#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#d55e00")

# What went wrong, in the badges' colours: declined red, outcome unknown orange.
DECLINED, UNKNOWN = "#dc3545", "#fd7e14"

WIDTH, HEIGHT = 720, 220
TOP, RIGHT, BOTTOM = 12, 8, 22
CHAR_WIDTH = 6.5  # of an axis label at 11 px, to leave the labels room on the left


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class BarChart:
    """A stacked bar chart: one bar per category (an hour, a day), one colour per series
    (a provider, or what went wrong). `left` is where the plot starts, after the value
    labels."""

    name: str
    title: str
    series: Sequence[Series]
    bars: Sequence[Bar]
    value_ticks: Sequence[Tick]
    category_ticks: Sequence[Tick]
    left: float
    empty: bool
    zero: float = HEIGHT - BOTTOM  # where the value axis is 0: the plot's foot, or above it
    note: str = ""  # what the values are, under the title
    nothing: str = ""  # said across an empty chart
    width: int = WIDTH
    height: int = HEIGHT
    top: int = TOP
    bottom: float = HEIGHT - BOTTOM

    @property
    def right(self) -> float:
        return self.width - RIGHT

    @property
    def value_label_x(self) -> float:
        return self.left - 6

    @property
    def category_label_y(self) -> float:
        return self.height - 6

    @property
    def middle(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


def series_of(providers: Sequence[tuple[str, str]]) -> list[Series]:
    """Each provider (its name and title) with its colour."""
    return [
        Series(name, title, PALETTE[i % len(PALETTE)]) for i, (name, title) in enumerate(providers)
    ]


def nice_step(largest: float, *, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that covers `largest` in about
    `ticks` steps, so the axis reads 0, 50, 100, 150 rather than 0, 37, 74, 111."""
    if largest <= 0:
        return 1
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= rough)


def stacked_bars(
    *,
    name: str,
    title: str,
    categories: Sequence[tuple[object, str]],
    series: Sequence[Series],
    values: Mapping[tuple[object, str], float],
    show: Callable[[float], str],
    describe: Callable[[str, str, str], str],
    label_every: int = 1,
    whole: bool = False,
) -> BarChart:
    """Bars for `categories` (a key and its label, left to right), each stacked from the
    values of `series` (`values[category, series]`, missing is 0): what is above zero rises
    from the axis, what is below it (money given back in an hour that took none) hangs
    under it. `show` writes a value, `describe(category, series, value)` a bar's tooltip;
    every `label_every`-th category is labelled under the axis. `whole` values (counts) get
    no step below 1."""
    rows = [[values.get((key, s.key), 0) for s in series] for key, _ in categories]
    high = max((sum(v for v in row if v > 0) for row in rows), default=0)
    low = max((-sum(v for v in row if v < 0) for row in rows), default=0)
    step = nice_step(max(high, low))
    step = max(step, 1) if whole else step
    above = step * max(1 if not low else 0, math.ceil(high / step))
    below = step * math.ceil(low / step)
    value_ticks = [step * i for i in range(-int(round(below / step)), int(round(above / step)) + 1)]
    labels = [show(value) for value in value_ticks]
    left = 10 + CHAR_WIDTH * max(len(label) for label in labels)
    plot_width, plot_height = WIDTH - RIGHT - left, HEIGHT - TOP - BOTTOM
    scale = plot_height / (above + below)
    zero = TOP + above * scale
    slot = plot_width / max(1, len(categories))
    bars = []
    for index, ((_, label), row) in enumerate(zip(categories, rows, strict=True)):
        rising = hanging = 0.0
        for s, value in zip(series, row, strict=True):
            if not value:
                continue
            height = abs(value) * scale
            if value > 0:
                y, rising = zero - rising - height, rising + height
            else:
                y, hanging = zero + hanging, hanging + height
            bars.append(
                Bar(
                    x=round(left + index * slot + slot * 0.15, 1),
                    y=round(y, 1),
                    width=round(slot * 0.7, 1),
                    height=round(max(height, 0.5), 1),
                    colour=s.colour,
                    title=describe(label, s.label, show(value)),
                )
            )
    return BarChart(
        name=name,
        title=title,
        series=series,
        bars=bars,
        value_ticks=[
            Tick(round(zero - v * scale, 1), text)
            for v, text in zip(value_ticks, labels, strict=True)
        ],
        category_ticks=[
            Tick(round(left + (index + 0.5) * slot, 1), label)
            for index, (_, label) in enumerate(categories)
            if index % label_every == 0
        ],
        left=left,
        empty=not any(any(row) for row in rows),
        zero=round(zero, 1),
    )


@dataclass(frozen=True)
class Share:
    """A part of a whole, e.g. the declined payments of a provider today."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return 100 * self.part / self.whole if self.whole else None

    @property
    def width(self) -> float:
        """The bar's length out of 100, at least a sliver when the part is not nothing."""
        percent = self.percent or 0
        return max(percent, 1.0) if self.part else 0.0
