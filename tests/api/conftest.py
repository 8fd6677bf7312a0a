"""The authority service against real parts: anvil (deployed and seeded as the devnet is), a real
database, the hosted devnet signers, and FastAPI's TestClient running the app's lifespan (so the
indexer and the reconciler threads run as in production)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kpchain.app import create_app
from support_api import Service, create_keys, service_settings
from support_chain import Devnet


@pytest.fixture
def chain(seeded: Devnet) -> Devnet:
    """`seeded` under the name these tests use (ape's own `chain` is not used here)."""
    return seeded


@pytest.fixture
def service(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Service]:
    """The service on SQLite (the default store)."""
    yield from _running(tmp_path, anvil.rpc_url, chain, sqlite_url)


@pytest.fixture
def service_on(tmp_path: Path, anvil: Any, chain: Devnet, database_url: str) -> Iterator[Service]:
    """The service once on SQLite and once on PostgreSQL."""
    yield from _running(tmp_path, anvil.rpc_url, chain, database_url)


@pytest.fixture(params=[False, True], ids=["one-tx-per-write", "coalesced"])
def service_by_writes(
    request: pytest.FixtureRequest, tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str
) -> Iterator[Service]:
    """The service on SQLite, once with every write a transaction of its own and once with
    concurrent writes coalesced into batches (the default)."""
    yield from _running(tmp_path, anvil.rpc_url, chain, sqlite_url, coalesce_writes=request.param)


def _running(
    tmp_path: Path, rpc_url: str, chain: Devnet, database_url: str, **overrides: Any
) -> Iterator[Service]:
    settings = service_settings(tmp_path, rpc_url, chain, database_url, **overrides)
    governor, keys = create_keys(database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)
