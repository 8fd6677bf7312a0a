"""The write path against real parts: anvil deployed and seeded as the devnet is, a real database,
and the service either in-process (`runtime`, no background threads: the test drives the writer
itself) or as a real ``python -m kpchain serve`` process it can kill (see support_service)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kpchain.runtime import Runtime, build_runtime
from kpchain.store import session_factory
from support_api import service_settings
from support_chain import Devnet
from support_db import migrated


@pytest.fixture
def chain(seeded: Devnet) -> Devnet:
    """`seeded` under the name these tests use (ape's own `chain` is not used here)."""
    return seeded


@pytest.fixture
def runtime(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Runtime]:
    """The service core on SQLite, without its indexer and reconciler threads."""
    built = build_runtime(service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url))
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture
def runtime_one_by_one(
    tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str
) -> Iterator[Runtime]:
    """`runtime` with every write a transaction of its own (no coalescing): the only way one
    service has two transactions of one account in the node's pool at once."""
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url, coalesce_writes=False)
    built = build_runtime(settings)
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the SQLite store, for looking at the service's tables from the test."""
    with migrated(sqlite_url) as engine:
        yield session_factory(engine)
