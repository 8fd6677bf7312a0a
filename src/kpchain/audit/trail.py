"""Recording the audit trail: the record of the request being served, and its two statements.

Each request that may change something gets an `Entry`: the API's middleware
(`kpchain.api.audit`) writes it with `AuditTrail.begin` before the request is handled and
completes it with `AuditTrail.finish` once it was answered. In between, the code that learns
something the middleware cannot see notes it on the current entry (a context variable, which
the worker threads serving blocking routes inherit):

- `note_key`: who is calling (`kpchain.service.keys.authenticate`, the dashboard's session);
- `note_subject`: what the request is about, when its path does not say (the operation's
  subject, or a draft's new id);
- `note_error`: the error code it was refused with (the API's one error mapping).

Outside a request (the CLI, the background threads) there is no current entry and the notes do
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Engine,
    String,
    Table,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    table,
    update,
)

from kpchain.audit.tables import (
    CLIENT_MAX,
    ERROR_CODE_MAX,
    IDEMPOTENCY_KEY_MAX,
    KEY_ID_MAX,
    LABEL_MAX,
    PATH_MAX,
    REQUEST_ID_MAX,
    SUBJECT_MAX,
    AuditRecord,
)
from kpchain.config import AUDIT_MIN_RETENTION_DAYS
from kpchain.store import WRITE


@dataclass(slots=True)
class Entry:
    """The audit record of the request being served, as it is learnt."""

    at: datetime
    method: str
    path: str
    client: str | None = None
    idempotency_key: str | None = None
    request_id: str | None = None
    key_id: str | None = None
    session_hash: str | None = None
    role: str | None = None
    label: str | None = None
    participant: str | None = None
    subjects: list[str] = field(default_factory=list)
    error_code: str | None = None
    id: int | None = None

    def subject(self, path_params: Mapping[str, Any] | None) -> str | None:
        """What the request was about: its route's path parameters (a certificate number, a
        draft or proposal id, a participant code), then in brackets what was noted besides
        (`note_subject`: the certificate an approved draft issues); else what was noted."""
        noted = ",".join(self.subjects)
        if path_params:
            values = [str(value) for value in path_params.values()]
            text = (
                values[0]
                if len(values) == 1
                else ",".join(f"{name}={value}" for name, value in path_params.items())
            )
            besides = [subject for subject in self.subjects if subject not in values]
            if besides:
                text = f"{text} ({','.join(besides)})"
        elif noted:
            text = noted
        else:
            return None
        return _cut(text, SUBJECT_MAX)


_TABLE = cast(Table, AuditRecord.__table__)

# The service's keys and dashboard sessions (kpchain.service.tables, a layer above): only the
# columns the first statement reads, so that a crashed request's record still names its key.
_KEYS = table("api_keys", column("id"), column("participant"), column("role"), column("label"))
_SESSIONS = table("dashboard_sessions", column("token_hash"), column("key_id"))

_current: ContextVar[Entry | None] = ContextVar("kpchain_audit_entry", default=None)


def current() -> Entry | None:
    """The entry of the request being served, if any."""
    return _current.get()


def serving(entry: Entry | None) -> Any:
    """Makes `entry` the current one; returns the token `done` takes back."""
    return _current.set(entry)


def done(token: Any) -> None:
    """Ends what `serving` began."""
    _current.reset(token)


def note_key(key_id: str, *, participant: str | None, role: str | None, label: str | None) -> None:
    """Notes the API key the request presented (a known key: also when it is revoked, or its
    secret is wrong, so that the attempt is in that participant's trail)."""
    entry = _current.get()
    if entry is not None:
        entry.key_id = _cut(key_id, KEY_ID_MAX)
        entry.participant, entry.role = participant, role
        entry.label = _cut(label, LABEL_MAX) if label is not None else None


def note_subject(subject: str) -> None:
    """Notes what the request is about, for routes whose path does not name it (a batch notes
    each of its certificates)."""
    entry = _current.get()
    if entry is not None and subject not in entry.subjects:
        entry.subjects.append(subject)


def note_error(code: str) -> None:
    """Notes the error code the request was answered with."""
    entry = _current.get()
    if entry is not None:
        entry.error_code = _cut(code, ERROR_CODE_MAX)


class AuditTrail:
    """Writes the trail: one INSERT before a request, one UPDATE after it, each its own short
    transaction (Core statements compiled once: no ORM unit of work on the write path)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        records = _TABLE
        # The key: the one the bearer token claims, or the dashboard session's.
        claimed = func.coalesce(
            bindparam("key_id", type_=String),
            select(_SESSIONS.c.key_id)
            .where(_SESSIONS.c.token_hash == bindparam("session_hash", type_=String))
            .scalar_subquery(),
        )

        def of_key(name: str) -> Any:
            return select(_KEYS.c[name]).where(_KEYS.c.id == claimed).scalar_subquery()

        self._insert = insert(records).values(
            at=bindparam("at"),
            method=bindparam("method"),
            path=bindparam("path"),
            client=bindparam("client"),
            idempotency_key=bindparam("idempotency_key"),
            request_id=bindparam("request_id"),
            key_id=claimed,
            participant=of_key("participant"),
            role=of_key("role"),
            label=of_key("label"),
        )
        self._update = (
            update(records)
            .where(records.c.id == bindparam("record_id"))
            .values(
                finished_at=bindparam("finished_at"),
                status=bindparam("status"),
                error_code=bindparam("error_code"),
                # What the request learnt, or else what the first statement found.
                key_id=func.coalesce(bindparam("key_id", type_=String), records.c.key_id),
                role=func.coalesce(bindparam("role", type_=String), records.c.role),
                label=func.coalesce(bindparam("label", type_=String), records.c.label),
                participant=func.coalesce(
                    bindparam("participant", type_=String), records.c.participant
                ),
                subject=bindparam("subject"),
            )
        )

    def begin(self, entry: Entry) -> int:
        """Writes `entry` as an incomplete record (committed before the request is handled),
        with the participant, role and label of the key it claims (its bearer token's, or its
        dashboard session's), so that a request whose process dies still names them; returns
        its id, which it also sets on `entry`."""
        values = {
            "at": entry.at,
            "method": entry.method,
            "path": _cut(entry.path, PATH_MAX),
            "client": _cut(entry.client, CLIENT_MAX),
            "key_id": entry.key_id,
            "session_hash": entry.session_hash,
            "idempotency_key": _cut(entry.idempotency_key, IDEMPOTENCY_KEY_MAX),
            "request_id": _cut(entry.request_id, REQUEST_ID_MAX),
        }
        with self._engine.connect() as connection:
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                result = connection.execute(self._insert, values)
        key = result.inserted_primary_key
        assert key is not None
        record_id = int(key[0])
        entry.id = record_id
        return record_id

    def finish(
        self, entry: Entry, *, status: int, path_params: Mapping[str, Any] | None = None
    ) -> None:
        """Completes `entry`'s record with how the request ended and what was learnt."""
        values = {
            "record_id": entry.id,
            "finished_at": datetime.now(UTC),
            "status": status,
            "error_code": entry.error_code if status >= 400 else None,
            "key_id": entry.key_id,
            "role": entry.role,
            "label": entry.label,
            "participant": entry.participant,
            "subject": entry.subject(path_params),
        }
        with self._engine.connect() as connection:
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                connection.execute(self._update, values)

    def purge(self, *, retention_days: int, now: datetime | None = None) -> int:
        """Deletes the records older than `retention_days` (never fewer than five years' worth);
        returns how many.

        Raises:
            ValueError: `retention_days` is under `AUDIT_MIN_RETENTION_DAYS`.
        """
        cutoff = purge_cutoff(retention_days, now=now)
        records = _TABLE
        with self._engine.connect() as connection:
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                result = connection.execute(delete(records).where(records.c.at < cutoff))
        return int(result.rowcount or 0)


def purge_cutoff(retention_days: int, *, now: datetime | None = None) -> datetime:
    """The time before which records may go.

    Raises:
        ValueError: `retention_days` is under `AUDIT_MIN_RETENTION_DAYS`.
    """
    check_retention(retention_days)
    return (now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=retention_days)


def check_retention(days: int) -> int:
    """`days`, when it keeps records at least five years.

    Raises:
        ValueError: fewer days than `AUDIT_MIN_RETENTION_DAYS`.
    """
    if days < AUDIT_MIN_RETENTION_DAYS:
        raise ValueError(
            f"the audit trail is kept at least five years: a retention of {days} days is "
            f"under {AUDIT_MIN_RETENTION_DAYS}"
        )
    return days


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    # PostgreSQL's text holds no NUL, which a path may carry (%00): the record is still written
    # (with U+FFFD in its place) rather than the request refused for want of one.
    text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"
