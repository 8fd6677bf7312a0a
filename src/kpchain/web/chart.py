"""Geometry of the dashboard's bar chart, drawn by the template as inline SVG.

The chart is computed here, in numbers, so the page needs no script and no chart library, and so
the geometry can be tested without a browser. Its figures are also printed as a table next to it
for screen readers and for anyone who wants the exact numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

# Small user units, so that the stylesheet's 14px labels stay readable once a phone scales the
# chart down to its width (and not huge on a desktop, where the figure's width is capped).
WIDTH = 400
HEIGHT = 240
_LEFT = 44  # room for the value axis' labels
_RIGHT = 6
_TOP = 10
_BOTTOM = 24  # room for the period labels
_GROUP_GAP = 0.3  # share of a period's width left empty between groups
_TICKS = 5  # at most this many steps on the value axis


@dataclass(frozen=True)
class Bar:
    """One bar: a series' value in one period, in SVG user units."""

    series: int  # index into BarChart.series
    x: float
    y: float
    width: float
    height: float
    value: Decimal
    text: str  # "Q1 exports: 1,234.56 carats", the bar's tooltip and accessible name


@dataclass(frozen=True)
class Label:
    """A text on an axis at a position along it."""

    at: float
    text: str


@dataclass(frozen=True)
class BarChart:
    """A grouped bar chart: for each period, one bar per series, on a shared value axis."""

    width: int
    height: int
    series: tuple[str, ...]
    bars: tuple[Bar, ...]
    periods: tuple[Label, ...]  # x of each group's centre
    ticks: tuple[Label, ...]  # y of each value line
    left: float
    right: float
    baseline: float
    empty: bool  # every value is zero: the template says so instead of drawing flat bars


def bar_chart(
    periods: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[Decimal]],
    *,
    unit: str,
) -> BarChart:
    """The chart of `values[period][series]`.

    Args:
        periods: the group labels, in order ("Q1" … "Q4").
        series: the series names ("exports", "imports").
        values: one row per period, one non-negative value per series.
        unit: what the values count, for the bars' texts ("carats").

    Raises:
        ValueError: the rows do not match `periods` and `series`, or a value is negative.
    """
    if len(values) != len(periods) or any(len(row) != len(series) for row in values):
        raise ValueError("values must have one row per period and one value per series")
    if any(value < 0 for row in values for value in row):
        raise ValueError("a bar chart of amounts takes no negative values")
    top = max((value for row in values for value in row), default=Decimal(0))
    step = _nice_step(top)
    # The axis ends at the first value line at or above the largest value.
    axis_max = step * max(1, int((top / step).to_integral_value(rounding=ROUND_CEILING)))
    left, right, baseline = float(_LEFT), float(WIDTH - _RIGHT), float(HEIGHT - _BOTTOM)
    scale = (baseline - _TOP) / float(axis_max)
    group = (right - left) / max(1, len(periods))
    bar_width = group * (1 - _GROUP_GAP) / max(1, len(series))
    bars: list[Bar] = []
    labels: list[Label] = []
    for p, (period, row) in enumerate(zip(periods, values, strict=True)):
        start = left + p * group + group * _GROUP_GAP / 2
        labels.append(Label(left + (p + 0.5) * group, period))
        for s, (name, value) in enumerate(zip(series, row, strict=True)):
            height = float(value) * scale
            bars.append(
                Bar(
                    series=s,
                    x=round(start + s * bar_width, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    value=value,
                    text=f"{period} {name}: {format_number(value)} {unit}",
                )
            )
    ticks = tuple(
        Label(round(baseline - float(step * i) * scale, 2), compact_number(step * i))
        for i in range(int(axis_max / step) + 1)
    )
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        series=tuple(series),
        bars=tuple(bars),
        periods=tuple(labels),
        ticks=ticks,
        left=left,
        right=right,
        baseline=baseline,
        empty=top == 0,
    )


def format_number(value: Decimal) -> str:
    """A figure with thousands separators and its decimals as given ("1,234.56")."""
    return f"{value:,}"


def compact_number(value: Decimal) -> str:
    """A short figure for an axis: 950, 1.5k, 12M, 3.2B."""
    for size, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if value >= size:
            return f"{(value / size).normalize():f}"[:4].rstrip(".") + suffix
    return f"{value.normalize():f}"


def _nice_step(top: Decimal) -> Decimal:
    """The step between value lines: 1, 2 or 5 times a power of ten, so that at most `_TICKS`
    steps cover `top`."""
    if top <= 0:
        return Decimal(1)
    rough = top / _TICKS
    power = Decimal(10) ** rough.adjusted()
    for factor in (1, 2, 5, 10):
        if power * factor >= rough:
            return power * factor
    raise AssertionError("unreachable: 10 * 10**adjusted() exceeds any number")
