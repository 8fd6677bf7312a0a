"""API keys against a store another process writes to, as a running service's does."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event

from kpchain.service.keys import create_key, revoke_key
from kpchain.service.tables import ApiKey
from kpchain.store import session_factory


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the test is about SQLite's write lock."""
    return sqlite_url


def test_revoke_key_holds_the_write_lock_from_its_read_so_a_writer_in_between_cannot_fail_it(
    engine: Engine, sqlite_url: str
) -> None:
    with session_factory(engine)() as session:
        key_id = create_key(session, participant="BW", role="clerk").principal.key_id
        session.commit()
    # Another writer (the service's audit thread, say) tries to commit right after the key is
    # read. Had the revocation begun as a read, that commit would get in and the revocation's
    # UPDATE would fail at once with "database is locked"; begun as a write, the other waits.
    interloper: list[str] = []

    def write_in_between(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_keys" in statement:
            other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.1)
            try:
                other.execute("UPDATE api_keys SET label = 'elsewhere' WHERE id = ?", (key_id,))
                other.commit()
                interloper.append("committed")
            except sqlite3.OperationalError as exc:
                interloper.append(str(exc))
            finally:
                other.close()

    event.listen(engine, "after_cursor_execute", write_in_between)
    try:
        with session_factory(engine)() as session:
            assert revoke_key(session, key_id)
            session.commit()
    finally:
        event.remove(engine, "after_cursor_execute", write_in_between)

    assert interloper == ["database is locked"]
    with session_factory(engine)() as session:
        row = session.get_one(ApiKey, key_id)
        assert row.revoked_at is not None
        assert row.label is None
