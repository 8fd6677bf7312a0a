"""Fixtures for the governance tests: one seeded devnet (its governance deployed as the devnet's)
for the session, rolled back after each test, and an indexer that follows the registry and its
governance, as the service's does, on the migrated store of each database (tests/conftest.py's
`sessions`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kpchain.chain.connection import connect
from kpchain.deploy import GOVERNOR_CONTRACT, SEATS_CONTRACT, VALIDATOR_SET_CONTRACT
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.indexer import Indexer
from support_chain import Devnet


@pytest.fixture(scope="session")
def governed_devnet() -> Iterator[Devnet]:
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as node:
        yield Devnet.deploy_and_seed(connect(node.rpc_url, expected_chain_id=DEVNET_CHAIN_ID))


@pytest.fixture
def devnet(governed_devnet: Devnet) -> Iterator[Devnet]:
    """The seeded devnet, reverted to its seeded state after the test."""
    snapshot = governed_devnet.snapshot()
    yield governed_devnet
    governed_devnet.revert(snapshot)


@pytest.fixture
def make_indexer(devnet: Devnet, sessions: sessionmaker[Session]) -> Callable[..., Indexer]:
    """An Indexer of the devnet's registry and governance on `sessions`."""
    contracts = {
        devnet.deployment.contracts[name]: name
        for name in (GOVERNOR_CONTRACT, SEATS_CONTRACT, VALIDATOR_SET_CONTRACT)
    }

    def build(**options: Any) -> Indexer:
        return Indexer(
            devnet.w3,
            sessions,
            registry=devnet.address,
            start_block=devnet.deploy_block,
            contracts=contracts,
            **options,
        )

    return build
