"""The date rules of issuing that depend on the day and on the exporter's settings, which the
document model cannot judge alone: `issued_at` is neither after today nor older than a number of
days, and a document's expiry offset is the exporting participant's time zone's on its expiry
day.

Dates of issue and of receipt are UTC calendar dates, as on chain (`issuedAt` and a receipt's
`receivedAt` are 00:00 UTC of the day, and the registry compares them with block time), so
"today" is UTC's: a service that judged by a local day east of UTC would accept a date the
registry then refuses as in the future. Only the expiry is local (the end of the expiry day in
the exporting participant's zone), and the document carries it as a UTC offset.

Each problem is reported as the API's validation errors are, `{"field", "message", "type"}`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.fields import utc_offset_text

Problem = dict[str, str]


def issue_date_problems(
    document: CertificateDocument, *, today: date, max_age_days: int, field: str = "issued_at"
) -> list[Problem]:
    """What is wrong with `document.issued_at` on `today` (UTC): after today, or more than
    `max_age_days` days before it. `field` names it in the problem ("0.issued_at" in a batch).
    """
    issued = document.issued_at
    if issued > today:
        return [
            {
                "field": field,
                "message": f"must not be after today ({today.isoformat()}, UTC): a certificate "
                "is dated the day it is issued",
                "type": "issue_date_in_future",
            }
        ]
    earliest = today - timedelta(days=max_age_days)
    if issued < earliest:
        return [
            {
                "field": field,
                "message": f"must be at most {max_age_days} days before today: "
                f"{earliest.isoformat()} or later (KPCHAIN_MAX_ISSUE_AGE_DAYS)",
                "type": "issue_date_too_old",
            }
        ]
    return []


def zone_expiry_offset(zone: ZoneInfo, day: date) -> str | None:
    """The UTC offset of `zone` at the end of `day` (23:59:59 there), as a document's
    `expiry_utc_offset` writes it ("+02:00"); None when it is UTC's."""
    offset = datetime.combine(day, time(23, 59, 59), tzinfo=zone).utcoffset()
    seconds = 0 if offset is None else int(offset.total_seconds())
    return None if seconds == 0 else utc_offset_text(seconds)


def with_expiry_offset(
    document: CertificateDocument, zone: ZoneInfo | None, *, field: str = "expiry_utc_offset"
) -> tuple[CertificateDocument, list[Problem]]:
    """`document` with the expiry offset of the exporting participant's `zone` (None: UTC): the
    document as given when it already names that offset, or with the offset filled in when it
    names none; a problem when it names another.
    """
    expected = None if zone is None else zone_expiry_offset(zone, document.expires_at)
    given = document.expiry_utc_offset
    if given == expected:
        return document, []
    if given is None:
        data = document.model_dump(mode="json")
        data["expiry_utc_offset"] = expected
        return CertificateDocument.model_validate(data), []
    name = "UTC" if zone is None else zone.key
    return document, [
        {
            "field": field,
            "message": f"must be {expected or '+00:00'} (or left out): the UTC offset of "
            f"{document.exporting_participant}'s time zone ({name}) at the end of "
            f"{document.expires_at.isoformat()}",
            "type": "expiry_offset_mismatch",
        }
    ]
