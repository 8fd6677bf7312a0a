"""Engines, sessions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
"""alembic's script location: env.py and versions/, shipped inside the package."""

WRITE: Final[Mapping[str, Any]] = {"kpchain_write": True}
"""Execution options of a transaction that will write: `session.connection(execution_options=
WRITE)` as its first statement. On SQLite it begins with BEGIN IMMEDIATE, taking the write lock
up front; a deferred transaction that reads and then writes fails with "database is locked"
when another writer got in between, whatever the busy timeout. PostgreSQL ignores it."""



def begin_write(session: Session) -> None:
    """Ends the session's read transaction, if any, and begins a write transaction.

    On SQLite a write must start as one (BEGIN IMMEDIATE): a read transaction that later
    writes fails at once when another writer committed in between.
    """
    session.commit()
    session.connection(execution_options=WRITE)


BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another's write lock before failing."""

# Constraint names alembic can reproduce on every database (and that SQLite batch migrations
# need to find a constraint again).
NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MODEL_MODULES: Final[tuple[str, ...]] = ("kpchain.indexer.tables", "kpchain.service.tables")
"""Modules declaring tables on `Base`: `import_models` loads them so that the metadata holds
every table (alembic autogenerate, the schema test). A new table module belongs here."""

# pg_advisory_xact_lock key serialising concurrent `migrate` calls ("kpchain" in ASCII).
_MIGRATION_LOCK = 0x6B70636861696E


class Base(DeclarativeBase):
    """The declarative base of every kpchain table (index and service alike)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def import_models() -> MetaData:
    """Imports every module of `MODEL_MODULES`; returns the metadata, now complete."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def create_engine(url: str) -> Engine:
    """An Engine for `url`, tuned for a multi-threaded service.

    SQLite (`sqlite:///path/to/kpchain.db`): the parent directory is created; connections use
    WAL (readers never block the writer nor each other), foreign keys on, a 30 s busy timeout,
    `synchronous=NORMAL` (durable across a process crash; a power loss may drop the last
    commits, never corrupt the file) and may be shared across threads. Transactions begin
    explicitly (BEGIN, or BEGIN IMMEDIATE under `WRITE`), which pysqlite otherwise defers to
    the first write.

    PostgreSQL (`postgresql://…` or `postgresql+psycopg://…`): psycopg 3, pre-pinged pooled
    connections.

    Args:
        url: an SQLAlchemy database URL.

    Returns:
        The engine; nothing is connected yet.
    """
    parsed = _normalise(make_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return sqlalchemy.create_engine(
        parsed, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=1800
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`. Objects stay readable after commit (no expiry), because
    callers hand rows to the API layer after the transaction ended."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest revision (alembic `upgrade head`), in one transaction.

    Safe to call from several processes at once: they take turns (SQLite's write lock, a
    PostgreSQL advisory lock) and the later ones find nothing to do.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    logger.debug("database schema at head on %s", engine.url.render_as_string(hide_password=True))


def _normalise(url: URL) -> URL:
    """psycopg 3 for PostgreSQL URLs that name no driver (SQLAlchemy would pick psycopg2)."""
    if url.drivername in {"postgresql", "postgres"}:
        return url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    memory = database in {"", ":memory:"} or database.startswith("file::memory:")
    if not memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    if memory:
        # One in-memory database exists per connection: share a single one across threads.
        engine = sqlalchemy.create_engine(url, connect_args=connect_args, poolclass=StaticPool)
    else:
        engine = sqlalchemy.create_engine(
            url, connect_args=connect_args, pool_size=10, max_overflow=20, pool_timeout=30
        )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control away from pysqlite: it would BEGIN only before the first write,
    # so a read-then-write transaction would see two snapshots. `_sqlite_on_begin` emits BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: sqlalchemy.Connection) -> None:
    immediate = connection.get_execution_options().get("kpchain_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
