"""The SQL store: one SQLAlchemy metadata for the index and the service, migrated by alembic.

SQLite by default, PostgreSQL (psycopg 3) by URL. `create_engine` tunes each for many threads
of one service: SQLite in WAL mode so readers never wait for the writer, PostgreSQL with a
checked pool.
"""

from kpchain.store.database import (
    WRITE,
    Base,
    OwnerLock,
    begin_write,
    create_engine,
    migrate,
    own,
    session_factory,
)

__all__ = [
    "WRITE",
    "Base",
    "OwnerLock",
    "begin_write",
    "create_engine",
    "migrate",
    "own",
    "session_factory",
]
