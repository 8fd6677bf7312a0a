"""Reads of the audit trail: a time range, a page of it, and the same rows as CSV."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from kpchain.audit.tables import AuditRecord
from kpchain.audit.views import AuditPage, AuditRecordView, as_utc
from kpchain.errors import CursorInvalidError, ErrorCode, InvalidRequestError

MAX_PAGE = 500
_DATE_LENGTH = len("2026-01-31")

CSV_COLUMNS = (
    "id",
    "at",
    "finished_at",
    "outcome",
    "method",
    "path",
    "status",
    "error_code",
    "key_id",
    "role",
    "label",
    "participant",
    "client",
    "subject",
    "idempotency_key",
    "request_id",
)


@dataclass(frozen=True)
class TimeRange:
    """From `start` (included) to `end` (excluded), UTC; either open."""

    start: datetime | None
    end: datetime | None


def time_range(start: str | None, end: str | None) -> TimeRange:
    """The range `from`/`to` name: ISO dates (`2026-01-31`: a `to` date takes in that whole
    day) or datetimes (UTC when they carry no zone; a `to` datetime is excluded).

    Raises:
        InvalidRequestError: a bound is neither, or `to` comes before `from`
            (audit_range_invalid).
    """
    bounds = TimeRange(_bound(start, "from", end_of_day=False), _bound(end, "to", end_of_day=True))
    # A `to` date's whole day lies before `from` when its end is not after it.
    to_date = end is not None and len(end) == _DATE_LENGTH
    if (
        bounds.start is not None
        and bounds.end is not None
        and (bounds.end < bounds.start or (to_date and bounds.end == bounds.start))
    ):
        raise InvalidRequestError(
            f"`to` ({end}) is before `from` ({start})",
            code=ErrorCode.AUDIT_RANGE_INVALID,
            detail={"from": start, "to": end},
        )
    return bounds


def page(
    session: Session,
    *,
    participant: str | None,
    bounds: TimeRange,
    limit: int,
    cursor: str | None,
) -> AuditPage:
    """A page of `participant`'s records (every record for None) in `bounds`, oldest first.

    Raises:
        CursorInvalidError: `cursor` is not one this function returned.
    """
    query = _records(participant, bounds)
    if cursor is not None:
        at, record_id = _decode_cursor(cursor)
        query = query.where(
            or_(AuditRecord.at > at, and_(AuditRecord.at == at, AuditRecord.id > record_id))
        )
    rows = list(session.scalars(query.limit(limit + 1)))
    items = [AuditRecordView.of(row) for row in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(items=items, next_cursor=_encode_cursor(rows[limit - 1]) if more else None)


def records_csv(session: Session, *, participant: str | None, bounds: TimeRange) -> str:
    """Every record `page` would list, as CSV with a header row (times in ISO 8601, UTC)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in session.scalars(_records(participant, bounds).execution_options(yield_per=1000)):
        view = AuditRecordView.of(row).model_dump(mode="json")
        writer.writerow(["" if view[name] is None else view[name] for name in CSV_COLUMNS])
    return out.getvalue()


def _records(participant: str | None, bounds: TimeRange) -> Select[AuditRecord]:
    conditions: list[ColumnElement[bool]] = []
    if participant is not None:
        conditions.append(AuditRecord.participant == participant)
    if bounds.start is not None:
        conditions.append(AuditRecord.at >= bounds.start)
    if bounds.end is not None:
        conditions.append(AuditRecord.at < bounds.end)
    return select(AuditRecord).where(*conditions).order_by(AuditRecord.at, AuditRecord.id)


def _bound(text: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        if len(text) == _DATE_LENGTH:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(
            f"`{name}` must be an ISO date (2026-01-31) or datetime (2026-01-31T12:00:00Z), "
            f"not {text[:40]!r}",
            code=ErrorCode.AUDIT_RANGE_INVALID,
            detail={name: text[:100]},
        ) from None
    return as_utc(parsed)


def _encode_cursor(row: AuditRecord) -> str:
    raw = json.dumps([as_utc(row.at).isoformat(), row.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, record_id = json.loads(raw)
        moment = as_utc(datetime.fromisoformat(at))
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise TypeError(record_id)
        if not 0 < record_id < 2**63:
            raise ValueError(record_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise CursorInvalidError(
            "the cursor is not one this API returned; start again without one",
            detail={"cursor": cursor[:100]},
        ) from exc
    return moment, record_id
