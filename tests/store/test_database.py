"""Engines and migrations on real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, inspect, text

from helpers.polling import wait_until
from kpchain.errors import DatabaseInUseError
from kpchain.indexer.tables import INDEX_TABLES, Checkpoint
from kpchain.store import WRITE, create_engine, migrate, own, session_factory
from kpchain.store.database import MIGRATIONS, import_models


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database: unlike tests/conftest.py's, not migrated, since these
    tests are about the migrations."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def test_create_engine_creates_parent_directory_when_sqlite_path_missing(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "kpchain.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()

    assert path.exists()


def test_create_engine_sets_wal_foreign_keys_and_busy_timeout_when_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'kpchain.db'}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        engine.dispose()

    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 30_000,
        "synchronous": 1,  # NORMAL
    }


@pytest.mark.parametrize(
    "url",
    ["postgresql://kp:secret@db.example:5432/kpchain", "postgres://kp@db.example/kpchain"],
)
def test_create_engine_uses_psycopg_when_postgresql_url_names_no_driver(url: str) -> None:
    engine = create_engine(url)  # nothing connects until first use

    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    assert engine.url.database == "kpchain"


def test_write_option_begins_immediate_when_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'kpchain.db'}")
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    try:
        sessions = session_factory(engine)
        with sessions.begin() as session:
            session.connection(execution_options=WRITE)
            session.execute(text("SELECT 1"))
        with sessions.begin() as session:
            session.execute(text("SELECT 2"))
    finally:
        engine.dispose()

    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]


def test_migrate_creates_index_tables_at_head_when_database_empty(engine: Engine) -> None:
    migrate(engine)

    tables = set(inspect(engine).get_table_names())
    assert set(INDEX_TABLES) <= tables
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == _head_revision()


def test_migrate_changes_nothing_when_run_again(engine: Engine) -> None:
    migrate(engine)
    with session_factory(engine).begin() as session:
        session.add(Checkpoint(id=1, block_number=7, block_hash="0x" + "ab" * 32))

    migrate(engine)

    with session_factory(engine)() as session:
        checkpoint = session.get(Checkpoint, 1)
    assert checkpoint is not None
    assert checkpoint.block_number == 7


def test_migrate_succeeds_once_when_two_processes_migrate_at_once(database_url: str) -> None:
    # Two engines stand for two service processes starting together on a new database.
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(migrate, engines))
        with engines[0].connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    finally:
        for engine in engines:
            engine.dispose()

    assert [version for (version,) in versions] == [_head_revision()]


def test_migrate_builds_schema_the_models_declare_when_run(engine: Engine) -> None:
    metadata = import_models()
    migrate(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)

    assert differences == []


def test_checkpoint_refuses_second_row_when_inserted(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as connection, pytest.raises(Exception, match=r"(?i)check"):
        connection.execute(
            text("INSERT INTO checkpoint (id, block_number, block_hash) VALUES (2, 1, '0x')")
        )


# --- one owner a database ------------------------------------------------------------------------


def test_second_owner_of_a_database_is_refused_until_the_first_releases_it(
    database_url: str,
) -> None:
    first, second = create_engine(database_url), create_engine(database_url)
    try:
        owner = own(first)
        with pytest.raises(DatabaseInUseError) as refused:
            own(second)
        assert refused.value.code == "database_in_use"
        owner.release()
        owner.release()  # twice is harmless
        own(second).release()
    finally:
        first.dispose()
        second.dispose()


def test_owner_lock_is_released_when_the_owning_process_dies(database_url: str) -> None:
    script = (
        "import os, sys\n"
        "from kpchain.store import create_engine, own\n"
        "owner = own(create_engine(sys.argv[1]))\n"
        "print('owned', flush=True)\n"
        "sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    engine = create_engine(database_url)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "owned"
        with pytest.raises(DatabaseInUseError):
            own(engine)
        child.kill()  # no clean-up runs: the system drops the lock
        child.wait(timeout=10)
        wait_until(lambda: _can_own(engine), timeout=10, what="the dead owner's lock to go")
    finally:
        child.kill()
        engine.dispose()


def _can_own(engine: Engine) -> bool:
    try:
        own(engine).release()
    except DatabaseInUseError:
        return False
    return True
