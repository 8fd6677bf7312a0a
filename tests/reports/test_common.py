"""Amounts as the reports write them: exact two-decimal strings of any sum of hundredths, even
sums that no longer fit a uint64."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kpchain.reports.common import amount_text

UINT64_MAX = 2**64 - 1


def test_amount_text_writes_hundredths_with_two_decimals_when_sum_exceeds_uint64() -> None:
    assert amount_text(123456) == "1234.56"
    assert amount_text(5) == "0.05"
    assert amount_text(0) == "0.00"
    assert amount_text(3 * UINT64_MAX) == "553402322211286548.45"


@given(st.integers(min_value=0, max_value=10**40))
def test_amount_text_is_exact_when_any_non_negative_sum(hundredths: int) -> None:
    text = amount_text(hundredths)

    whole, _, cents = text.partition(".")
    assert len(cents) == 2
    assert whole == str(int(whole))  # no leading zeros, no exponent
    assert int(whole) * 100 + int(cents) == hundredths
