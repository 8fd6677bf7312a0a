"""The audit trail's time ranges: ISO dates and datetimes, a `to` date taking in its whole day,
and the 422 of a bound that is neither or of a reversed range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kpchain.audit.queries import TimeRange, time_range
from kpchain.errors import ErrorCode, InvalidRequestError


def test_dates_take_in_whole_days_and_datetimes_are_utc_without_a_zone() -> None:
    assert time_range("2026-01-01", "2026-01-31") == TimeRange(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    )
    assert time_range("2026-01-01T08:30:00", "2026-01-01T12:00:00+02:00") == TimeRange(
        datetime(2026, 1, 1, 8, 30, tzinfo=UTC), datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    )
    assert time_range(None, None) == TimeRange(None, None)
    assert time_range("", "2026-03-01") == TimeRange(None, datetime(2026, 3, 2, tzinfo=UTC))
    assert time_range("2026-01-01T00:00:00Z", None).start == datetime(2026, 1, 1, tzinfo=UTC)
    same_day = time_range("2026-05-05", "2026-05-05")
    assert (same_day.start, same_day.end) == (
        datetime(2026, 5, 5, tzinfo=UTC),
        datetime(2026, 5, 6, tzinfo=UTC),
    )
    instant = time_range("2026-05-05T10:00:00Z", "2026-05-05T10:00:00Z")
    assert instant.start == instant.end  # empty, but not reversed


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("yesterday", None),
        (None, "2026-13-01"),
        ("2026-01-01T25:00:00", None),
        ("2026-02-01", "2026-01-31"),
        ("2026-02-01T00:00:00Z", "2026-01-31"),
        ("2026-01-01T10:00:00Z", "2026-01-01T09:59:59Z"),
        ("2026-01-01T10:00:00+00:00", "2026-01-01T11:00:00+02:00"),
    ],
)
def test_a_bound_that_is_no_date_or_a_reversed_range_is_refused(
    start: str | None, end: str | None
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        time_range(start, end)
    assert refused.value.code == ErrorCode.AUDIT_RANGE_INVALID
