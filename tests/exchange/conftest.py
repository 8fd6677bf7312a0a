"""The exchange tests' chain: one anvil with the registry deployed and seeded, shared by a
module's services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kpchain.chain.connection import connect
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from support_chain import Devnet


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilNode]:
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as anvil:
        yield anvil


@pytest.fixture(scope="module")
def devnet(node: AnvilNode) -> Devnet:
    return Devnet.deploy_and_seed(connect(node.rpc_url, expected_chain_id=node.chain_id))
