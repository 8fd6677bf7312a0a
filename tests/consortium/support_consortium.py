"""A deployments file for a registry the tests deployed themselves (the seeded devnet), as
`kpchain deploy` would have written it (deployer and governor are the devnet governor), and a
free port for a node's admin listener."""

from __future__ import annotations

import socket
from pathlib import Path

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
