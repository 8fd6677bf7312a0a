"""Fixtures for the index tests: one seeded devnet for the whole session, rolled back after each
test (anvil snapshots), and indexers on the migrated store of each database (tests/conftest.py's
`sessions`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kpchain.chain.connection import connect
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.indexer import Indexer
from kpchain.store import create_engine, migrate, session_factory
from support_chain import Devnet
from support_db import Dump, dump_index


@pytest.fixture(scope="session")
def seeded_devnet() -> Iterator[Devnet]:
    """anvil with the registry deployed and the demo dozen seeded, once per session: seeding
    takes ~30 transactions, so the tests share it and each rolls back what it did."""
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as node:
        w3 = connect(node.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
        yield Devnet.deploy_and_seed(w3)


@pytest.fixture
def devnet(seeded_devnet: Devnet) -> Iterator[Devnet]:
    """The seeded devnet, reverted to its seeded state after the test."""
    snapshot = seeded_devnet.snapshot()
    yield seeded_devnet
    seeded_devnet.revert(snapshot)


@pytest.fixture
def make_indexer(devnet: Devnet, sessions: sessionmaker[Session]) -> Callable[..., Indexer]:
    """An Indexer of the devnet's registry on `sessions` (or other sessions given)."""

    def build(store: sessionmaker[Session] | None = None, **options: Any) -> Indexer:
        return Indexer(devnet.w3, store or sessions, registry=devnet.address, **options)

    return build


@pytest.fixture
def reference(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Dump]:
    """Indexes the devnet as it is now from scratch, in one pass, into a new SQLite store, and
    returns its dump: what any other way of getting there must equal."""

    def build() -> Dump:
        path = tmp_path_factory.mktemp("reference") / "index.db"
        engine = create_engine(f"sqlite:///{path}")
        try:
            migrate(engine)
            store = session_factory(engine)
            Indexer(devnet.w3, store, registry=devnet.address).sync()
            return dump_index(store)
        finally:
            engine.dispose()

    return build
