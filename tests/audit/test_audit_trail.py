"""Recording and keeping the audit trail on a real database (SQLite and PostgreSQL): the two
statements of a request, the notes taken in between, and the purge past the retention, which
never deletes a record younger than five years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, event, select

from kpchain.audit import trail
from kpchain.audit.tables import AuditRecord
from kpchain.audit.trail import (
    AuditTrail,
    Entry,
    note_error,
    note_key,
    note_subject,
    open_in,
)
from kpchain.config import AUDIT_DEFAULT_RETENTION_DAYS, AUDIT_MIN_RETENTION_DAYS, Settings
from kpchain.service.keys import create_key
from kpchain.store import session_factory

NOW = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)


def _rows(engine: Engine) -> list[AuditRecord]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def _record_at(audit: AuditTrail, at: datetime, path: str) -> None:
    audit.finish(Entry(at=at, method="POST", path=path), status=200)


def test_open_in_writes_an_incomplete_record_naming_the_claimed_key_with_its_transaction(
    engine: Engine,
) -> None:
    with session_factory(engine)() as session:
        key = create_key(session, participant="BW", role="officer", label="Kgosi").principal
        session.commit()
    entry = Entry(at=NOW, method="POST", path="/v1/certificates", key_id=key.key_id)
    token = trail.serving(entry)
    try:
        with engine.connect() as connection, connection.begin():
            open_in(connection)
            opened = entry.id
            open_in(connection)  # once per request
    finally:
        trail.done(token)

    (row,) = _rows(engine)  # read on another connection: committed with the transaction
    assert row.id == opened == entry.id
    assert (row.status, row.finished_at) == (None, None)
    assert (row.key_id, row.participant, row.role, row.label) == (
        key.key_id,
        "BW",
        "officer",
        "Kgosi",
    )

    AuditTrail(engine).finish(entry, status=201)

    (row,) = _rows(engine)  # completed, not written again
    assert (row.id, row.status, row.label) == (opened, 201, "Kgosi")
    assert row.finished_at is not None


def test_a_record_opened_in_a_transaction_that_rolled_back_is_written_when_finished(
    engine: Engine,
) -> None:
    entry = Entry(at=NOW, method="POST", path="/v1/certificates", key_id="000000000000")
    token = trail.serving(entry)
    try:
        with engine.connect() as connection:
            connection.begin()
            open_in(connection)
            connection.rollback()
    finally:
        trail.done(token)
    assert entry.id is not None
    assert _rows(engine) == []

    AuditTrail(engine).finish(entry, status=500)

    (row,) = _rows(engine)
    assert (row.path, row.status, row.key_id) == ("/v1/certificates", 500, "000000000000")


def test_open_in_does_nothing_outside_a_request(engine: Engine) -> None:
    with engine.connect() as connection, connection.begin():
        open_in(connection)
    assert _rows(engine) == []


def test_finish_writes_the_claimed_key_and_what_the_request_noted(engine: Engine) -> None:
    audit = AuditTrail(engine)
    entry = Entry(at=NOW, method="POST", path="/v1/certificates/batch", key_id="000000000000")
    token = trail.serving(entry)
    try:
        note_subject("BW-2026-000001")
        note_subject("BW-2026-000002")
        note_subject("BW-2026-000001")
        note_error("certificate_already_exists")
    finally:
        trail.done(token)
    note_subject("outside any request: ignored")

    audit.finish(entry, status=409)

    (row,) = _rows(engine)
    assert (row.status, row.error_code) == (409, "certificate_already_exists")
    assert row.subject == "BW-2026-000001,BW-2026-000002"
    assert row.key_id == "000000000000"  # unknown: claimed, never authenticated
    assert row.participant is None
    assert row.finished_at is not None


def test_the_path_names_the_subject_before_what_was_noted_besides(engine: Engine) -> None:
    audit = AuditTrail(engine)
    entry = Entry(at=NOW, method="POST", path="/v1/certificates/BW-2026-000009/ship")
    token = trail.serving(entry)
    try:
        note_key("abc", participant="BW", role="officer", label="x" * 300)
        note_subject("BW-2026-000009")  # what the path says already: not repeated
        note_subject("something else")
    finally:
        trail.done(token)

    audit.finish(entry, status=200, path_params={"cert_no": "BW-2026-000009"})

    (row,) = _rows(engine)
    assert row.subject == "BW-2026-000009 (something else)"
    assert (row.key_id, row.participant, row.role) == ("abc", "BW", "officer")
    assert row.label is not None
    assert len(row.label) == 200  # cut to the column, not refused
    assert row.error_code is None


def test_a_nul_in_what_a_request_sends_is_written_not_refused(engine: Engine) -> None:
    audit = AuditTrail(engine)
    entry = Entry(
        at=NOW,
        method="POST",
        path="/v1/certificates/BW\x00X/ship",
        idempotency_key="ship\x00-1",
        request_id="req\x00",
    )

    audit.finish(entry, status=422, path_params={"cert_no": "BW\x00X"})

    (row,) = _rows(engine)  # PostgreSQL's text refuses a NUL: each is replaced
    assert row.path == "/v1/certificates/BW\ufffdX/ship"
    assert (row.subject, row.idempotency_key, row.request_id) == (
        "BW\ufffdX",
        "ship\ufffd-1",
        "req\ufffd",
    )
    assert row.status == 422


def test_records_handed_over_are_written_by_the_trails_thread_and_flushed(
    engine: Engine,
) -> None:
    audit = AuditTrail(engine)
    audit.start()
    try:
        opened = Entry(at=NOW, method="POST", path="/v1/certificates", key_id="000000000000")
        token = trail.serving(opened)
        try:
            with engine.connect() as connection, connection.begin():
                open_in(connection)
        finally:
            trail.done(token)
        for number in range(5):
            audit.submit(Entry(at=NOW, method="POST", path=f"/v1/x/{number}"), status=201)
        audit.submit(opened, status=200)

        assert audit.flush()
        rows = _rows(engine)
        assert [(row.path, row.status) for row in rows] == [
            ("/v1/certificates", 200),  # completed, not written twice
            *((f"/v1/x/{number}", 201) for number in range(5)),
        ]
        audit.submit(Entry(at=NOW, method="DELETE", path="/v1/last"), status=204)
    finally:
        audit.close()  # writes what is left
    assert [(row.path, row.status) for row in _rows(engine)][-1] == ("/v1/last", 204)


def test_records_arriving_while_the_thread_lingers_share_its_transaction_and_flush_cuts_it_short(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trail, "LINGER_SECONDS", 60.0)  # a reader's flush must not wait that
    commits: list[int] = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    audit = AuditTrail(engine)
    audit.start()
    try:
        for number in range(50):
            audit.submit(Entry(at=NOW, method="POST", path=f"/v1/burst/{number}"), status=201)
        flushed = audit.flush(timeout=20)
        written = len(_rows(engine))
    finally:
        audit.close()

    assert flushed
    assert written == 50
    assert len(commits) == 1


def test_a_record_that_cannot_be_written_does_not_take_the_others_with_it(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    audit = AuditTrail(engine)
    audit.start()
    try:
        broken = Entry(at="not a time", method="POST", path="/v1/broken")  # type: ignore[arg-type]
        with audit._written:  # the writing thread waits: the three are one batch
            for entry in (Entry(at=NOW, method="POST", path="/v1/a"), broken):
                audit.submit(entry, status=201)
            audit.submit(Entry(at=NOW, method="POST", path="/v1/b"), status=201)
        assert audit.flush()
    finally:
        audit.close()

    assert [row.path for row in _rows(engine)] == ["/v1/a", "/v1/b"]
    assert "the record of /v1/broken could not be written" in caplog.text


def test_purge_deletes_only_records_older_than_the_retention(engine: Engine) -> None:
    audit = AuditTrail(engine)
    days = AUDIT_MIN_RETENTION_DAYS
    cutoff = NOW - timedelta(days=days)
    ages = {
        "older by a day": cutoff - timedelta(days=1),
        "older by a second": cutoff - timedelta(seconds=1),
        "at the cutoff": cutoff,
        "younger by a second": cutoff + timedelta(seconds=1),
        "a year old": NOW - timedelta(days=365),
        "new": NOW,
    }
    for path, at in ages.items():
        _record_at(audit, at, path)

    purged = audit.purge(retention_days=days, now=NOW)

    assert purged == 2
    assert [row.path for row in _rows(engine)] == [
        "at the cutoff",
        "younger by a second",
        "a year old",
        "new",
    ]
    assert audit.purge(retention_days=days, now=NOW) == 0


def test_purge_never_deletes_a_record_younger_than_five_years(engine: Engine) -> None:
    audit = AuditTrail(engine)
    five_years_ago = NOW.replace(year=NOW.year - 5)
    _record_at(audit, five_years_ago + timedelta(hours=1), "just under five years old")

    with pytest.raises(ValueError, match="at least five years"):
        audit.purge(retention_days=AUDIT_MIN_RETENTION_DAYS - 1, now=NOW)
    audit.purge(retention_days=AUDIT_MIN_RETENTION_DAYS, now=NOW)

    assert [row.path for row in _rows(engine)] == ["just under five years old"]


@pytest.mark.usefixtures("clean_settings")
def test_retention_setting_refuses_less_than_five_years(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().audit_retention_days == AUDIT_DEFAULT_RETENTION_DAYS
    assert AUDIT_DEFAULT_RETENTION_DAYS > AUDIT_MIN_RETENTION_DAYS >= 5 * 365 + 1
    assert Settings(audit_retention_days=AUDIT_MIN_RETENTION_DAYS).audit_retention_days == (
        AUDIT_MIN_RETENTION_DAYS
    )

    monkeypatch.setenv("KPCHAIN_AUDIT_RETENTION_DAYS", str(AUDIT_MIN_RETENTION_DAYS - 1))
    with pytest.raises(ValidationError, match="KPCHAIN_AUDIT_RETENTION_DAYS must be"):
        Settings()
    monkeypatch.setenv("KPCHAIN_AUDIT_RETENTION_DAYS", "365")
    with pytest.raises(ValidationError, match="at least five years"):
        Settings()
