"""The date rules of issuing that depend on the day and the exporter's time zone
(kpchain.certificates.dates): the date of issue not after today nor older than the limit, at
their boundaries, and the expiry offset of the exporter's zone on the expiry day."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from helpers.documents import document
from kpchain.certificates import dates
from kpchain.certificates.conversions import expiry_date, expiry_seconds, issued_at_seconds
from kpchain.certificates.document import CertificateDocument

TODAY = date(2026, 7, 15)


def _issued(day: date, **fields: str) -> CertificateDocument:
    return CertificateDocument.model_validate(
        document("BW-2026-D0001", issued_at=day.isoformat(), **fields)
    )


def test_issue_date_is_accepted_from_the_oldest_allowed_day_through_today() -> None:
    for day in (TODAY, date(2026, 6, 15)):  # today, and 30 days before it
        assert dates.issue_date_problems(_issued(day), today=TODAY, max_age_days=30) == []


def test_issue_date_is_refused_the_day_after_today_and_the_day_before_the_oldest() -> None:
    future = dates.issue_date_problems(_issued(date(2026, 7, 16)), today=TODAY, max_age_days=30)
    old = dates.issue_date_problems(
        _issued(date(2026, 6, 14)), today=TODAY, max_age_days=30, field="3.issued_at"
    )

    assert [(p["field"], p["type"]) for p in future] == [("issued_at", "issue_date_in_future")]
    assert "2026-07-15" in future[0]["message"]
    assert [(p["field"], p["type"]) for p in old] == [("3.issued_at", "issue_date_too_old")]
    assert "2026-06-15 or later" in old[0]["message"]


def test_zone_expiry_offset_follows_summer_time_on_the_expiry_day() -> None:
    new_york = ZoneInfo("America/New_York")

    assert dates.zone_expiry_offset(new_york, date(2026, 1, 15)) == "-05:00"
    assert dates.zone_expiry_offset(new_york, date(2026, 7, 15)) == "-04:00"
    assert dates.zone_expiry_offset(ZoneInfo("Africa/Gaborone"), date(2026, 7, 15)) == "+02:00"
    assert dates.zone_expiry_offset(ZoneInfo("UTC"), date(2026, 7, 15)) is None


def test_with_expiry_offset_fills_in_the_zones_offset_and_refuses_another() -> None:
    gaborone = ZoneInfo("Africa/Gaborone")
    plain = _issued(TODAY)

    filled, problems = dates.with_expiry_offset(plain, gaborone)
    same, none = dates.with_expiry_offset(_issued(TODAY, expiry_utc_offset="+02:00"), gaborone)
    _, wrong = dates.with_expiry_offset(_issued(TODAY, expiry_utc_offset="+03:00"), gaborone)
    utc, _ = dates.with_expiry_offset(plain, None)
    _, wrong_utc = dates.with_expiry_offset(_issued(TODAY, expiry_utc_offset="+03:00"), None)

    assert (filled.expiry_utc_offset, problems) == ("+02:00", [])
    assert (same.expiry_utc_offset, none) == ("+02:00", [])
    assert [(p["field"], p["type"]) for p in wrong] == [
        ("expiry_utc_offset", "expiry_offset_mismatch")
    ]
    assert "+02:00" in wrong[0]["message"]
    assert "Africa/Gaborone" in wrong[0]["message"]
    assert utc is plain
    assert "+00:00" in wrong_utc[0]["message"]


def test_expiry_instant_is_the_end_of_the_day_at_the_offset_and_reads_back_as_that_day() -> None:
    day = date(2026, 7, 15)
    midnight_after = issued_at_seconds(date(2026, 7, 16))

    assert expiry_seconds(day) == midnight_after - 1
    assert expiry_seconds(day, "+02:00") == midnight_after - 1 - 2 * 3600
    assert expiry_seconds(day, "-04:00") == midnight_after - 1 + 4 * 3600
    for offset in (None, "+13:59", "+02:00", "-04:00", "-10:00"):
        assert expiry_date(expiry_seconds(day, offset)) == day, offset
