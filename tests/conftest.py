"""Fixtures shared across the tests: a real anvil node with the consortium profile, and a clean
kpchain environment for code that reads settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from kpchain.chain.connection import connect
from kpchain.config import get_settings
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.store import session_factory
from support_chain import Devnet
from support_db import PostgresCluster, migrated, postgres_bindir

# In CI (CI=true) property tests run from a fixed seed, so a red build reproduces exactly; on a
# developer's machine they keep exploring new examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    settings.load_profile("ci")


@pytest.fixture
def anvil() -> Iterator[AnvilNode]:
    """A fresh anvil (chain id 2021, gas price and base fee 0) on a free port, for one test."""
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as node:
        yield node


@pytest.fixture
def w3(anvil: AnvilNode) -> Web3:
    """A Web3 connected to `anvil`."""
    return connect(anvil.rpc_url, expected_chain_id=anvil.chain_id)


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No KPCHAIN_* variables from the developer's shell, and no settings cached across tests."""
    for name in list(os.environ):
        if name.startswith("KPCHAIN_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of the test session's own (see support_db). Without PostgreSQL's
    server binaries the PostgreSQL tests are skipped, except in CI, where they fail."""
    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    cluster = PostgresCluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, once SQLite (a file in tmp_path) and once PostgreSQL (a fresh
    database in `postgres_cluster`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kpchain.db'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated store on `database_url` (each database, unless a module narrows that fixture
    to one)."""
    with migrated(database_url) as engine:
        yield engine


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine`."""
    return session_factory(engine)


@pytest.fixture
def seeded(w3: Web3) -> Devnet:
    """The registry deployed and seeded with the demo participants, on a fresh anvil.

    Not named `chain`: ape's pytest plugin has a `chain` fixture of its own, which the contract
    tests use.
    """
    return Devnet.deploy_and_seed(w3)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of the test's own."""
    return f"sqlite:///{tmp_path / 'kpchain.db'}"
