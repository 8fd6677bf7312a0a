"""Engines, sessions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import importlib
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from kpchain.errors import DatabaseInUseError

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

MODEL_MODULES: Final[tuple[str, ...]] = (
    "kpchain.indexer.tables",
    "kpchain.service.tables",
    "kpchain.exchange.tables",
    "kpchain.audit.tables",
)
"""Modules declaring tables on `Base`: `import_models` loads them so that the metadata holds
every table (alembic autogenerate, the schema test). A new table module belongs here."""

# pg_advisory_xact_lock key serialising concurrent `migrate` calls ("kpchain" in ASCII).
_MIGRATION_LOCK = 0x6B70636861696E
# pg_advisory_lock key of the process that owns the database ("kpowner" in ASCII).
_OWNER_LOCK = 0x6B706F776E6572


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


class OwnerLock:
    """The lock that makes one process the owner of a database (see `own`); `release` gives it
    up. The operating system (SQLite's lock file) or the server (PostgreSQL's session lock)
    drops it when the process dies, so a crash never leaves a database locked."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        """Gives the database up; releasing twice is harmless."""
        release, self._release = self._release, None
        if release is not None:
            release()


def own(engine: Engine) -> OwnerLock:
    """Makes this process the only kpchain service (or indexer) of `engine`'s database.

    Two processes on one database would each count their signers' nonces and drive the same
    operations: one process owns a database. SQLite takes an exclusive lock on a file beside the
    database (`<database>.lock`); PostgreSQL a session advisory lock, held on a connection of its
    own for as long as the process owns the database. An in-memory database is its process's
    alone already.

    Raises:
        DatabaseInUseError: another process owns the database.
    """
    shown = engine.url.render_as_string(hide_password=True)
    if engine.dialect.name == "postgresql":
        connection = engine.connect()
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": _OWNER_LOCK}
            ).scalar()
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            raise DatabaseInUseError(database=shown)

        def end_session() -> None:
            # Unlocked at once (a closed session's locks go only once the server has noticed),
            # then closed rather than back to the pool, where the session would live on.
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _OWNER_LOCK})
            finally:
                connection.invalidate()
                connection.close()

        return OwnerLock(end_session)
    database = engine.url.database or ""
    if (
        engine.dialect.name != "sqlite"
        or database in {"", ":memory:"}
        or database.startswith("file::memory:")
    ):
        return OwnerLock(lambda: None)
    lock_file = Path(database).expanduser().with_name(Path(database).name + ".lock")
    handle = lock_file.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseInUseError(database=shown) from None
    return OwnerLock(handle.close)  # closing the file releases its lock


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
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Puts the database in WAL mode (a setting of the file: once is enough, and every later
    connection finds it set).

    Switching needs the database to itself, and SQLite answers a switch that meets another
    connection's lock with "database is locked" at once, without waiting as its busy timeout
    makes other statements wait (seen when two processes open a new database together). So
    the switch waits here instead, up to the same timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            # Answers the mode it leaves: "wal" (or "memory", which an in-memory database keeps).
            cursor.execute("PRAGMA journal_mode=WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_begin(connection: sqlalchemy.Connection) -> None:
    immediate = connection.get_execution_options().get("kpchain_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
