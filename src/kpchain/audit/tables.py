"""The audit trail's table (migration 0010_audit): outside the index (`INDEX_TABLES`), so an
index rebuild never deletes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from kpchain.store import Base

# SQLite numbers rows itself only for an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer, "sqlite")

PATH_MAX = 500
SUBJECT_MAX = 200
LABEL_MAX = 200
IDEMPOTENCY_KEY_MAX = 200
REQUEST_ID_MAX = 64
CLIENT_MAX = 64
KEY_ID_MAX = 16
ERROR_CODE_MAX = 64


class AuditRecord(Base):
    """One request that changed, or tried to change, something.

    A row is written before the request is handled (`status` NULL: incomplete) and completed
    once it was answered; a process that dies in between leaves it incomplete, so even a write
    that crashed leaves a trace. `key_id` is at first the id the request's bearer token claims;
    the completion writes the key it was authenticated as (or the claimed id again, when it
    was not).
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        # An auditor's reads: its participant's records in a time range, in order.
        Index("ix_audit_records_participant_at", "participant", "at", "id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # UTC
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(PATH_MAX))
    client: Mapped[str | None] = mapped_column(String(CLIENT_MAX))
    key_id: Mapped[str | None] = mapped_column(String(KEY_ID_MAX))
    role: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(LABEL_MAX))
    participant: Mapped[str | None] = mapped_column(String(2))
    subject: Mapped[str | None] = mapped_column(String(SUBJECT_MAX))
    idempotency_key: Mapped[str | None] = mapped_column(String(IDEMPOTENCY_KEY_MAX))
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX))
    status: Mapped[int | None] = mapped_column(SmallInteger)
    error_code: Mapped[str | None] = mapped_column(String(ERROR_CODE_MAX))
