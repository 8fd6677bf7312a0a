"""The dashboard chart's geometry: bars proportional to their values on a shared axis whose
lines fall on round numbers, one group per period."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kpchain.web.chart import HEIGHT, bar_chart, compact_number

D = Decimal


def test_bars_are_proportional_to_values_on_a_round_axis() -> None:
    chart = bar_chart(
        ["Q1", "Q2"], ["exports", "imports"], [[D("1234.56"), D(0)], [D(99), D(5000)]], unit="ct"
    )
    assert [tick.text for tick in chart.ticks] == ["0", "1k", "2k", "3k", "4k", "5k"]
    exports_q1, imports_q1, exports_q2, imports_q2 = chart.bars
    assert imports_q2.y == chart.ticks[-1].at  # the largest value reaches the top line
    assert imports_q2.height == pytest.approx(chart.baseline - chart.ticks[-1].at)
    assert exports_q1.height / imports_q2.height == pytest.approx(1234.56 / 5000, rel=1e-3)
    assert imports_q1.height == 0
    assert exports_q1.text == "Q1 exports: 1,234.56 ct"
    assert exports_q1.x < imports_q1.x < exports_q2.x < imports_q2.x  # grouped, in order
    assert [label.text for label in chart.periods] == ["Q1", "Q2"]
    assert all(0 <= bar.y <= HEIGHT for bar in chart.bars)
    assert not chart.empty


def test_all_zero_values_make_an_empty_chart() -> None:
    chart = bar_chart(["Q1"], ["exports", "imports"], [[D(0), D(0)]], unit="ct")
    assert chart.empty
    assert all(bar.height == 0 for bar in chart.bars)


def test_rows_not_matching_periods_and_series_are_refused() -> None:
    with pytest.raises(ValueError, match="one row per period"):
        bar_chart(["Q1", "Q2"], ["exports"], [[D(1)]], unit="ct")
    with pytest.raises(ValueError, match="negative"):
        bar_chart(["Q1"], ["exports"], [[D(-1)]], unit="ct")


@pytest.mark.parametrize(
    ("value", "text"),
    [(D(0), "0"), (D(950), "950"), (D(1500), "1.5k"), (D(12_000_000), "12M"), (D(3.2e9), "3.2B")],
)
def test_axis_figures_are_compact(value: Decimal, text: str) -> None:
    assert compact_number(value) == text
