"""Connect to a JSON-RPC node and check that it serves the expected chain."""

from __future__ import annotations

import logging

from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from kpchain.chain.errors import UNREACHABLE, unreachable
from kpchain.chain.transport import KeepAliveHTTPProvider, redact_url
from kpchain.errors import ChainIdMismatchError

logger = logging.getLogger(__name__)

__all__ = ["connect", "endpoint", "node_chain_id", "redact_url"]


def connect(rpc_url: str, *, expected_chain_id: int | None = None, timeout: float = 10.0) -> Web3:
    """A Web3 for `rpc_url`, after checking its chain id against `expected_chain_id`.

    POA chains (Besu QBFT, Clique) put more than 32 bytes in a block's extraData, which web3
    rejects unless the POA middleware strips it; it is harmless elsewhere, so it is always on.

    Raises:
        ChainUnavailableError: the node does not answer.
        ChainIdMismatchError: the node serves another chain.
    """
    w3 = Web3(KeepAliveHTTPProvider(rpc_url, timeout=timeout))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    # web3's ValidationMiddleware asks the node for eth_chainId twice on every eth_call and
    # eth_estimateGas, to check a `chainId` field kpchain's calls never carry (transactions are
    # signed locally, for the chain id checked below): a third of the write path's requests.
    w3.middleware_onion.remove("validation")
    chain_id = node_chain_id(w3)
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatchError(
            expected=expected_chain_id, actual=chain_id, rpc_url=redact_url(rpc_url)
        )
    logger.debug("connected to chain %s at %s", chain_id, redact_url(rpc_url))
    return w3


def node_chain_id(w3: Web3) -> int:
    """The chain id the node behind `w3` serves (`eth_chainId`).

    Raises:
        ChainUnavailableError: the node does not answer.
    """
    try:
        return int(w3.eth.chain_id)
    except UNREACHABLE as exc:
        raise unreachable(
            exc, rpc_url=endpoint(w3), hint="is the node running and KPCHAIN_RPC_URL right?"
        ) from exc


def latest_block_time(w3: Web3) -> int:
    """The time of the node's latest block: the clock contracts judging by block time (the
    governor's votes and timelock) read in a call or an estimate now.

    Raises:
        ChainUnavailableError: the node does not answer.
    """
    try:
        return int(w3.eth.get_block("latest")["timestamp"])
    except UNREACHABLE as exc:
        raise unreachable(exc, rpc_url=endpoint(w3)) from exc


def endpoint(w3: Web3) -> str:
    """The URL of the node behind `w3`, for messages: without credentials or query."""
    url = getattr(w3.provider, "endpoint_uri", None)
    return redact_url(str(url)) if url else "the node"
