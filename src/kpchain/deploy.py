"""The one deploy function, used by `kpchain deploy`, `ape run deploy` and the devnet.

CertificateRegistry extends ParticipantRegistry, so one contract is deployed and serves both
interfaces; the deployments file names it under both names so clients address each interface
by its own name.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3

from kpchain.artifacts import load_artifact
from kpchain.chain.connection import endpoint, node_chain_id
from kpchain.chain.transactions import TransactionSender
from kpchain.errors import ChainIdMismatchError, DeploymentError

logger = logging.getLogger(__name__)

DEPLOYED_CONTRACT = "CertificateRegistry"
INTERFACES = ("ParticipantRegistry", "CertificateRegistry")


@dataclass(frozen=True)
class Deployment:
    """What `deployments/<network>.json` records of a deployment."""

    network: str
    chain_id: int
    contracts: dict[str, str]  # interface name -> address
    block: int  # the deploy transaction's block
    block_hash: str
    tx_hash: str
    deployer: str
    governor: str
    code_hashes: dict[str, str]  # interface name -> keccak256 of the runtime code on chain
    compiler: dict[str, Any]  # solc version and standard-JSON settings
    deployed_at: str  # ISO 8601, UTC

    def write(self, directory: Path) -> Path:
        """Writes `directory/<network>.json` and returns its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.network}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> Deployment:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise DeploymentError(f"cannot read deployments file {path}: {exc}") from exc

    @property
    def address(self) -> str:
        """The address of the deployed contract (both interfaces)."""
        return self.contracts[DEPLOYED_CONTRACT]


def deploy(
    sender: TransactionSender,
    *,
    governor: str,
    network: str,
    expected_chain_id: int,
) -> Deployment:
    """Deploys the registry with `governor` holding the governance roles.

    Args:
        sender: signs and sends as the deployer.
        governor: the KP Chair/Secretariat account (or multisig) that gets DEFAULT_ADMIN_ROLE
            and GOVERNOR_ROLE.
        network: the network's name, used for the deployments file name.
        expected_chain_id: the chain id the operator means to deploy to.

    Raises:
        ChainIdMismatchError: the node serves another chain; nothing was sent.
    """
    w3 = sender.w3
    actual = node_chain_id(w3)
    if actual != expected_chain_id:
        raise ChainIdMismatchError(expected=expected_chain_id, actual=actual, rpc_url=endpoint(w3))
    artifact = load_artifact(DEPLOYED_CONTRACT)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = sender.transact(factory.constructor(Web3.to_checksum_address(governor)))
    address = receipt["contractAddress"]
    if address is None:
        raise DeploymentError("the deploy transaction created no contract")
    code_hash = "0x" + keccak(bytes(w3.eth.get_code(address))).hex()
    logger.info("deployed %s at %s in block %s", DEPLOYED_CONTRACT, address, receipt["blockNumber"])
    return Deployment(
        network=network,
        chain_id=actual,
        contracts={name: address for name in INTERFACES},
        block=receipt["blockNumber"],
        block_hash=receipt["blockHash"].to_0x_hex(),
        tx_hash=receipt["transactionHash"].to_0x_hex(),
        deployer=sender.signer.address,
        governor=Web3.to_checksum_address(governor),
        code_hashes={name: code_hash for name in INTERFACES},
        compiler=artifact.compiler,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
