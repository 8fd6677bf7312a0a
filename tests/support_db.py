"""The tests' databases: the throw-away PostgreSQL cluster (kpchain.devnet.postgres, started once
per test session, one fresh database per test), a migrated store on a URL, and a dump of the
index to compare two indexes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.devnet.postgres import PostgresCluster, postgres_bindir
from kpchain.indexer.tables import INDEX_TABLES
from kpchain.store import Base, create_engine, migrate

__all__ = ["Dump", "PostgresCluster", "dump_index", "migrated", "postgres_bindir"]

Dump = dict[str, list[tuple[Any, ...]]]

# Ids are the order rows were written in, not part of what the index says: an authority term
# re-derived after a reorg gets a new id, an event indexed again after a rebuild too.
_VOLATILE = {"events": {"id"}, "authorities": {"id"}, "validators": {"id"}}


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    """An engine on `url` with every migration applied, disposed of on leaving."""
    engine = create_engine(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def dump_index(sessions: sessionmaker[Session]) -> Dump:
    """Every index table's rows (ids and bookkeeping left out), sorted: equal dumps mean equal
    indexes."""
    tables: Dump = {}
    with sessions() as session:
        for name in INDEX_TABLES:
            table = Base.metadata.tables[name]
            columns = [c for c in table.columns if c.name not in _VOLATILE.get(name, set())]
            query = select(*columns)
            if name == "blocks":
                # Which blocks without events are kept depends on how the ranges fell.
                query = query.where(table.c.has_events.is_(True))
            rows = session.execute(query).all()
            tables[name] = sorted((tuple(row) for row in rows), key=repr)
    return tables
