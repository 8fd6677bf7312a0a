"""Recording the audit trail: the record of the request being served, and its statements.

Each request that may change something gets an `Entry`, which the API's middleware
(`kpchain.api.audit`) hands to `AuditTrail` once it was answered; the trail's own thread writes
what has arrived together, in one short transaction (an INSERT per new record, an UPDATE per
record a write opened). A write that reaches the chain opens its record earlier, incomplete, in
the transaction that records the write before it is signed (`open_in`, from
`kpchain.service.operations.Writer`): a write whose process dies while serving it still leaves
its record. Only the records of requests that sent no transaction (refusals among them) can be
lost, by a process killed in the milliseconds before the thread writes them.

In between, the code that learns something the middleware cannot see notes it on the current
entry (a context variable, which the worker threads serving blocking routes inherit):

- `note_key`: who is calling (`kpchain.service.keys.authenticate`, the dashboard's session);
- `note_subject`: what the request is about, when its path does not say (the operation's
  subject, or a draft's new id);
- `note_error`: the error code it was refused with (the API's one error mapping).

Outside a request (the CLI, the background threads) there is no current entry and the notes do
nothing.
"""

from __future__ import annotations

import getpass
import logging
import socket
import threading
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
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
from sqlalchemy.exc import SQLAlchemyError

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
from kpchain.errors import ErrorCode, ServiceError
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

logger = logging.getLogger(__name__)

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


def _statements() -> tuple[Any, Any]:
    """The trail's two statements, compiled once (Core: no ORM unit of work on the write path).

    The INSERT writes a whole record. What the request noted comes first; where it noted no key
    (refused before authentication, or a process that died), the participant, role and label
    are those of the key its bearer token claims, or of its dashboard session's key. The UPDATE
    completes a record a write's transaction opened (`open_in`)."""
    records = _TABLE
    key_id = func.coalesce(
        bindparam("key_id", type_=String),
        select(_SESSIONS.c.key_id)
        .where(_SESSIONS.c.token_hash == bindparam("session_hash", type_=String))
        .scalar_subquery(),
    )

    def of_key(name: str) -> Any:
        found = select(_KEYS.c[name]).where(_KEYS.c.id == key_id).scalar_subquery()
        return func.coalesce(bindparam(name, type_=String), found)

    insert_record = insert(records).values(
        at=bindparam("at"),
        finished_at=bindparam("finished_at"),
        method=bindparam("method"),
        path=bindparam("path"),
        client=bindparam("client"),
        idempotency_key=bindparam("idempotency_key"),
        request_id=bindparam("request_id"),
        key_id=key_id,
        participant=of_key("participant"),
        role=of_key("role"),
        label=of_key("label"),
        subject=bindparam("subject"),
        status=bindparam("status"),
        error_code=bindparam("error_code"),
    )
    complete_record = (
        update(records)
        .where(records.c.id == bindparam("record_id"))
        .values(
            {
                **{name: bindparam(name) for name in _COMPLETED},
                # What the request learnt after the record was opened, or else what it held.
                **{
                    name: func.coalesce(bindparam(name, type_=String), records.c[name])
                    for name in _LEARNT
                },
            }
        )
    )
    return insert_record, complete_record


_COMPLETED = ("finished_at", "status", "error_code", "subject")
"""What completing a record (`_UPDATE`) sets: how the request ended."""
_LEARNT = ("key_id", "role", "label", "participant")
"""What completing a record fills in where the request learnt it after the record was opened."""
_INSERT, _UPDATE = _statements()
# The parameters of the UPDATE (a column's name among another's would be SET as well).
_UPDATE_PARAMS = ("record_id", *_COMPLETED, *_LEARNT)


def _values(
    entry: Entry, *, status: int | None, path_params: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "at": entry.at,
        "finished_at": datetime.now(UTC) if status is not None else None,
        "method": entry.method,
        "path": _cut(entry.path, PATH_MAX),
        "client": _cut(entry.client, CLIENT_MAX),
        "idempotency_key": _cut(entry.idempotency_key, IDEMPOTENCY_KEY_MAX),
        "request_id": _cut(entry.request_id, REQUEST_ID_MAX),
        "key_id": entry.key_id,
        "session_hash": entry.session_hash,
        "participant": entry.participant,
        "role": entry.role,
        "label": entry.label,
        "subject": entry.subject(path_params),
        "status": status,
        "error_code": entry.error_code if status is not None and status >= 400 else None,
    }


def open_in(connection: Connection) -> None:
    """Writes the current request's record, incomplete (no status), in `connection`'s
    transaction: the Writer's, which records a write before it signs and sends it. Committed
    with the write, at the cost of one INSERT in a transaction that exists anyway, so that a
    write whose process dies while serving it still leaves its record; `AuditTrail.finish`
    completes it. Once per request; outside a request it does nothing.

    Raises:
        ServiceError: the record could not be written (audit_unavailable), so the write is not
            carried out (its transaction fails with it).
    """
    entry = _current.get()
    if entry is None or entry.id is not None:
        return
    try:
        result = connection.execute(_INSERT, _values(entry, status=None, path_params=None))
    except SQLAlchemyError as exc:
        raise ServiceError(
            "the audit trail could not record this request, so it was not carried out; try "
            "again, and tell the service's operator if it persists",
            code=ErrorCode.AUDIT_UNAVAILABLE,
        ) from exc
    key = result.inserted_primary_key
    assert key is not None
    entry.id = int(key[0])


def record_command(
    connection: Connection,
    command: str,
    *,
    key_id: str,
    participant: str | None = None,
    role: str | None = None,
    label: str | None = None,
) -> None:
    """Writes the record of a `kpchain` command that changed an API key (`keys create`,
    `keys revoke`) in `connection`'s transaction, the one that changes the key: method `CLI`,
    the command as path, the key as key and subject (its participant, role and label, looked
    up when not given), and the operating-system user and host that ran it as client."""
    now = datetime.now(UTC)
    entry = Entry(
        at=now,
        method="CLI",
        path=f"kpchain {command}",
        client=f"{_user()}@{socket.gethostname()}",
        key_id=key_id,
        participant=participant,
        role=role,
        label=label,
        subjects=[key_id],
    )
    connection.execute(_INSERT, _values(entry, status=200, path_params=None))


LINGER_SECONDS = 0.2
"""How long the trail's thread waits for more records once one has arrived."""

BATCH_MAX = 500
"""The most records one transaction of the trail writes."""


class AuditTrail:
    """Writes the trail. The middleware hands each answered request's record over (`submit`:
    no statement, no thread hop, on the request's path) to one thread of the trail's own,
    which writes what has arrived together, in one short transaction: the INSERT of each new
    record (one executemany) and the UPDATE of each record a write opened (`open_in`). Once a
    record arrives, the thread waits up to `LINGER_SECONDS` (or `BATCH_MAX` records) for more.

    A reader of the trail in this process calls `flush` first, so that it sees every request
    answered before it; `close` writes what is left when the service stops. A process killed
    with records handed over but not written (at most `LINGER_SECONDS`' worth) loses them,
    except the writes', which `open_in` committed with the write: those stay, incomplete.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._handed: list[dict[str, Any]] = []
        self._written = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._closing = False
        self._flushing = 0  # readers waiting in `flush`
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts the thread that writes what `submit` hands over."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kpchain-audit", daemon=True)
            self._thread.start()

    def submit(
        self, entry: Entry, *, status: int, path_params: Mapping[str, Any] | None = None
    ) -> None:
        """Hands `entry`'s record (how the request ended, what was learnt) to the writing
        thread; writes it at once when that thread is not running."""
        if self._thread is None:
            self.finish(entry, status=status, path_params=path_params)
            return
        values = _values(entry, status=status, path_params=path_params)
        values["record_id"] = entry.id
        with self._written:
            self._handed.append(values)
            self._submitted += 1
            self._written.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until every record handed over so far is written (or given up on, which the
        log says); returns whether that happened within `timeout` seconds."""
        with self._written:
            target = self._submitted
            self._flushing += 1
            self._written.notify_all()
            try:
                return self._written.wait_for(lambda: self._done >= target, timeout=timeout)
            finally:
                self._flushing -= 1

    def close(self) -> None:
        """Writes what is left, then stops the writing thread."""
        thread = self._thread
        if thread is None:
            return
        with self._written:
            self._closing = True
            self._written.notify_all()
        thread.join()
        self._thread = None

    def finish(
        self, entry: Entry, *, status: int, path_params: Mapping[str, Any] | None = None
    ) -> None:
        """Writes `entry`'s record with how the request ended and what was learnt (or completes
        the one its write opened), now, in a transaction of its own."""
        values = _values(entry, status=status, path_params=path_params)
        values["record_id"] = entry.id
        self._write([values])

    def _run(self) -> None:
        while True:
            with self._written:
                self._written.wait_for(lambda: bool(self._handed) or self._closing)
                # Then lets more arrive, so that one transaction writes many: a transaction of
                # the trail's own per request cost the write path about a quarter of its CPU
                # (each takes SQLite's write lock the writes wait for). A reader's `flush` and
                # `close` cut the wait short.
                self._written.wait_for(
                    lambda: len(self._handed) >= BATCH_MAX or self._closing or self._flushing > 0,
                    timeout=LINGER_SECONDS,
                )
                batch, self._handed = self._handed, []
                closing = self._closing
            if batch:
                self._write_each(batch)
                with self._written:
                    self._done += len(batch)
                    self._written.notify_all()
            elif closing:
                return

    def _write_each(self, batch: list[dict[str, Any]]) -> None:
        """Writes `batch` together, or else each record alone: one that cannot be written
        (logged) does not take the others with it."""
        try:
            self._write(batch)
            return
        except Exception:
            if len(batch) == 1:
                logger.exception("audit: the record of %s could not be written", batch[0]["path"])
                return
        for values in batch:
            self._write_each([values])

    def _write(self, batch: list[dict[str, Any]]) -> None:
        new = [values for values in batch if values["record_id"] is None]
        with self._engine.connect() as connection:
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                for values in batch:
                    if values["record_id"] is None:
                        continue
                    completing = {name: values[name] for name in _UPDATE_PARAMS}
                    if not connection.execute(_UPDATE, completing).rowcount:
                        # Its write's transaction rolled back after opening it.
                        new.append(values)
                if new:
                    rows = [{k: v for k, v in values.items() if k != "record_id"} for values in new]
                    connection.execute(_INSERT, rows)

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


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no password entry (a bare container)
        return "unknown"


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    # PostgreSQL's text holds no NUL, which a path may carry (%00): the record is still written
    # (with U+FFFD in its place) rather than the request refused for want of one.
    text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"
