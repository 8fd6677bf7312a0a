"""A deployments file for a registry the tests deployed themselves (the seeded devnet), as
`kpchain deploy` would have written it (deployer and governor are the devnet governor), a free
port for a node's admin listener, and members' public parts made from fresh keys (as `join`
makes them, without its keystores' work)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from eth_account import Account

from kpchain.consortium.encryption import EncryptionKey
from kpchain.consortium.members import Member, enode_url
from kpchain.consortium.nodes import NodeKey
from kpchain.deploy import INTERFACES, Deployment
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import governor_account


def write_deployments_file(
    directory: Path, address: str, *, network: str = "kp-devnet", chain_id: int = DEVNET_CHAIN_ID
) -> Path:
    """Writes `directory/deployments/<network>.json` naming the registry at `address`."""
    governor = governor_account().address
    deployment = Deployment(
        network=network,
        chain_id=chain_id,
        contracts=dict.fromkeys(INTERFACES, address),
        block=1,
        block_hash="0x" + "00" * 32,
        tx_hash="0x" + "00" * 32,
        deployer=governor,
        governor=governor,
        code_hashes={},
        compiler={},
        deployed_at="2026-11-28T00:00:00+00:00",
    )
    return deployment.write(directory / "deployments")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on once this returns."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def make_member(code: str, index: int = 0, *, key: NodeKey | None = None, **changes: Any) -> Member:
    """`code`'s public parts with fresh keys; member `index` of a test network on one machine
    gets ports of its own (P2P 30303 + index, RPC 8545 + index, admin 8645 + index)."""
    key = key or NodeKey.generate()
    parts: dict[str, Any] = {
        "code": code,
        "host": "127.0.0.1",
        "p2p_port": 30303 + index,
        "rpc_port": 8545 + index,
        "admin_port": 8645 + index,
        "validator": key.address,
        "authority": Account.create().address,
        "admin": Account.create().address,
        "encryption_public_key": EncryptionKey.generate().public_key_hex,
    } | changes
    parts.setdefault("enode", enode_url(key.public_key, parts["host"], parts["p2p_port"]))
    return Member(**parts)
