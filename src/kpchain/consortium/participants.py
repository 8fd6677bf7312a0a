"""The participants of a consortium and their accounts, read from the deployed registry: its
views give every admitted participant's status, admin and current authority accounts. (Before
there is a registry, the founding members' public parts say the same: see
`kpchain.consortium.members`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from kpchain.chain.connection import connect
from kpchain.chain.transactions import call_node
from kpchain.config import Settings
from kpchain.contracts.enums import ParticipantStatus
from kpchain.contracts.registry import Registry
from kpchain.deploy import Deployment
from kpchain.errors import ConfigError


@dataclass(frozen=True)
class Participant:
    """A participant and the accounts that act for it.

    Attributes:
        code: its ISO 3166-1 alpha-2 code ("EU" for the European Union).
        status: its standing (founding members are taken as Active).
        admin: the account that adds and revokes its authorities, when known.
        authorities: its current authority accounts, checksummed.
    """

    code: str
    status: ParticipantStatus
    admin: str | None
    authorities: tuple[str, ...]


@dataclass(frozen=True)
class RegistrySource:
    """The registry the participants are read from, and what the deployments file adds.

    Attributes:
        w3: connected to a node of the registry's chain.
        address: the registry's address.
        deployment: the deployments file's record of this registry, when there is one (it names
            the deployer).
    """

    w3: Web3
    address: str
    deployment: Deployment | None


def open_registry(
    rpc_url: str, settings: Settings, *, registry_address: str | None = None
) -> RegistrySource:
    """Connects to the registry at `registry_address`, or the one `settings` name (the
    registry address setting, or the deployments file).

    When the address comes from the deployments file, the node must serve the chain the file
    records.

    Raises:
        ConfigError: no registry address anywhere, or no contract at it.
        ChainUnavailableError / ChainIdMismatchError: the node is unreachable or serves another
            chain.
    """
    path = settings.deployment_path
    deployment = Deployment.read(path) if path.exists() else None
    address = registry_address or settings.registry_address
    if address is None:
        if deployment is None:
            raise ConfigError(
                f"no registry address: give --registry, set KPCHAIN_REGISTRY_ADDRESS, or point "
                f"KPCHAIN_DEPLOYMENT_FILE at a deployments file (looked for {path})"
            )
        address = deployment.address
    address = Web3.to_checksum_address(address)
    if deployment is not None and deployment.address != address:
        deployment = None  # it records another registry
    w3 = connect(rpc_url, expected_chain_id=deployment.chain_id if deployment else None)
    if not call_node(lambda: w3.eth.get_code(address)):
        raise ConfigError(
            f"no contract at {address} on chain {w3.eth.chain_id}: check the registry address "
            "and the RPC URL",
            detail={"registry": address},
        )
    return RegistrySource(w3, address, deployment)


def read_registry(w3: Web3, address: str) -> dict[str, Participant]:
    """Every admitted participant, with its status, admin and current authorities, as the
    registry at `address` has them at the latest block."""
    functions = Registry(w3, address).contract.functions
    codes: list[bytes] = call_node(lambda: functions.participantCodes().call())
    return {code.decode("ascii"): _participant(functions, code) for code in codes}


def _participant(functions: Any, code: bytes) -> Participant:
    status, _restricted, admin, _admitted_at = call_node(lambda: functions.participant(code).call())
    authorities = call_node(lambda: functions.authoritiesOf(code).call())
    return Participant(
        code=code.decode("ascii"),
        status=ParticipantStatus(status),
        admin=Web3.to_checksum_address(admin),
        authorities=tuple(Web3.to_checksum_address(account) for account in authorities),
    )
