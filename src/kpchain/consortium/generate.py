"""`kpchain consortium init`: the files of a new QBFT network, one folder per validator node.

Layout of the output folder::

    genesis.json            the network's genesis (every node needs the same one)
    network.json            what was generated: chain id, and per node its validator address,
                            enode and RPC URL (no secrets)
    README.md               how operators start the network, add validators, update permissions
    nodes/<CODE>/           what participant CODE's operator runs, self-contained:
        key                 the node's private key (mode 0600), for that operator only
        key.pub             its public key (the enode's node id)
        config.toml         Besu's configuration (paths relative to this folder)
        permissions_config.toml   the accounts and nodes allowlists
        static-nodes.json   the other validators, kept connected
        genesis.json        a copy of the genesis

Generating again into the same folder keeps every node key it finds: a node key is the node's
identity and its validator address, so it is never replaced.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from kpchain.consortium.addresses import checked_code, checksum_address
from kpchain.consortium.genesis import QbftParameters, genesis
from kpchain.consortium.nodes import (
    CONFIG_FILE,
    GENESIS_FILE,
    PERMISSIONS_FILE,
    STATIC_NODES_FILE,
    Node,
    besu_config,
    existing_or_new_key,
    write_key_files,
)
from kpchain.consortium.participants import Participant
from kpchain.consortium.permissions import (
    AllowedAccount,
    accounts_allowlist,
    write_permissions_file,
)
from kpchain.consortium.readme import operator_readme
from kpchain.contracts.enums import ParticipantStatus
from kpchain.errors import ConfigError

logger = logging.getLogger(__name__)

NODES_DIR = "nodes"
NETWORK_FILE = "network.json"
README_FILE = "README.md"
# What `--fund` gives the deployer: gas is free, so this only satisfies tools that check a balance.
FUNDED_BALANCE_WEI = 1_000_000 * 10**18
MAX_PORT = 65_535


@dataclass(frozen=True)
class NetworkOptions:
    """What `kpchain consortium init` is asked for.

    Attributes:
        validators: participant codes; each runs one validator node, numbered in this order.
        parameters: the genesis' network-wide settings.
        deployer: the account that deploys kpchain (allowlisted).
        governor: the registry's governor, when another account than the deployer (allowlisted).
        accounts: more accounts to allowlist.
        fund: give the deployer a balance at genesis.
        host: the address peers reach every node at, unless `hosts` names one for it.
        hosts: per participant code, the address peers reach its node at.
        p2p_port_base: node i (from 0) listens for peers on this port + i.
        rpc_port_base: node i serves JSON-RPC on this port + i.
        rpc_host: the interface JSON-RPC listens on.
        genesis_time: the genesis block's time, Unix seconds; default: now.
    """

    validators: Sequence[str]
    parameters: QbftParameters
    deployer: str
    governor: str | None = None
    accounts: Sequence[str] = ()
    fund: bool = False
    host: str = "127.0.0.1"
    hosts: Mapping[str, str] = field(default_factory=dict)
    p2p_port_base: int = 30303
    rpc_port_base: int = 8545
    rpc_host: str = "127.0.0.1"
    genesis_time: int | None = None


@dataclass(frozen=True)
class ConsortiumNetwork:
    """What `create_network` wrote.

    Attributes:
        directory: the output folder.
        nodes: the validator nodes, in the order asked.
        created_keys: codes of the nodes whose key was created now (the others were kept).
        allowlist: the accounts allowlist every node starts with.
        genesis: the genesis.
        rpc_host: the interface JSON-RPC listens on.
    """

    directory: Path
    nodes: tuple[Node, ...]
    created_keys: tuple[str, ...]
    allowlist: tuple[AllowedAccount, ...]
    genesis: dict[str, Any]
    rpc_host: str

    def node_folder(self, node: Node) -> Path:
        return self.directory / NODES_DIR / node.code

    def rpc_url(self, node: Node) -> str:
        host = "127.0.0.1" if self.rpc_host in {"0.0.0.0", "::"} else self.rpc_host
        return f"http://{host}:{node.rpc_port}"


def create_network(
    directory: Path, participants: Mapping[str, Participant], options: NetworkOptions
) -> ConsortiumNetwork:
    """Writes the files of a QBFT network whose validators are run by `options.validators`.

    Args:
        directory: the output folder (created when missing).
        participants: the known participants and their accounts (registry or file).
        options: what to generate.

    Raises:
        ConfigError: an unknown, withdrawn or repeated validator code; a malformed address; a
            host for a participant that runs no node; a port past 65535; an EVM version the
            genesis cannot activate.
    """
    codes = _validator_codes(options.validators, participants)
    _check_hosts(options.hosts, codes)
    last_port = max(options.p2p_port_base, options.rpc_port_base) + len(codes) - 1
    if last_port > MAX_PORT:
        raise ConfigError(f"with {len(codes)} nodes the ports run to {last_port}, past {MAX_PORT}")
    deployer = checksum_address(options.deployer, what="--deployer")
    allowlist = accounts_allowlist(
        participants, deployer=deployer, governor=options.governor, accounts=options.accounts
    )
    nodes_dir = directory / NODES_DIR
    nodes: list[Node] = []
    created: list[str] = []
    for index, code in enumerate(codes):
        key, fresh = existing_or_new_key(nodes_dir / code)
        if fresh:
            created.append(code)
        nodes.append(
            Node(
                code=code,
                key=key,
                host=options.hosts.get(code, options.host),
                p2p_port=options.p2p_port_base + index,
                rpc_port=options.rpc_port_base + index,
            )
        )
    document = genesis(
        [node.validator for node in nodes],
        options.parameters,
        timestamp=int(time.time()) if options.genesis_time is None else options.genesis_time,
        balances={deployer: FUNDED_BALANCE_WEI} if options.fund else None,
    )
    network = ConsortiumNetwork(
        directory=directory,
        nodes=tuple(nodes),
        created_keys=tuple(created),
        allowlist=tuple(allowlist),
        genesis=document,
        rpc_host=options.rpc_host,
    )
    _write(network)
    return network


def _write(network: ConsortiumNetwork) -> None:
    directory = network.directory
    directory.mkdir(parents=True, exist_ok=True)
    genesis_path = directory / GENESIS_FILE
    genesis_path.write_text(json.dumps(network.genesis, indent=2) + "\n")
    accounts = [account.address for account in network.allowlist]
    enodes = [node.enode for node in network.nodes]
    bootnode = network.nodes[0]
    for node in network.nodes:
        folder = network.node_folder(node)
        write_key_files(folder, node.key)
        shutil.copyfile(genesis_path, folder / GENESIS_FILE)
        others = [other.enode for other in network.nodes if other is not node]
        bootnodes = [] if node is bootnode else [bootnode.enode]
        config = besu_config(node, rpc_host=network.rpc_host, bootnodes=bootnodes)
        (folder / CONFIG_FILE).write_text(tomli_w.dumps(config))
        write_permissions_file(folder / PERMISSIONS_FILE, accounts=accounts, nodes=enodes)
        (folder / STATIC_NODES_FILE).write_text(json.dumps(others, indent=2) + "\n")
    (directory / NETWORK_FILE).write_text(json.dumps(_summary(network), indent=2) + "\n")
    (directory / README_FILE).write_text(operator_readme(network))
    logger.info("wrote a %s-validator QBFT network to %s", len(network.nodes), directory)


def _summary(network: ConsortiumNetwork) -> dict[str, Any]:
    return {
        "chain_id": network.genesis["config"]["chainId"],
        "qbft": network.genesis["config"]["qbft"],
        "nodes": {
            node.code: {
                "validator": node.validator,
                "enode": node.enode,
                "rpc_url": network.rpc_url(node),
                "folder": str(network.node_folder(node).relative_to(network.directory)),
            }
            for node in network.nodes
        },
        "accounts_allowlist": {
            account.address: list(account.reasons) for account in network.allowlist
        },
    }


def _validator_codes(given: Sequence[str], participants: Mapping[str, Participant]) -> list[str]:
    codes = [checked_code(code, what="validator") for code in given]
    if not codes:
        raise ConfigError("name at least one validator (--validators BW,RU,…)")
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ConfigError(f"validator {', '.join(repeated)} is named twice; each runs one node")
    unknown = [code for code in codes if code not in participants]
    if unknown:
        known = ", ".join(sorted(participants)) or "none"
        raise ConfigError(
            f"validator {', '.join(unknown)} is not a participant (known: {known})",
            detail={"unknown": unknown},
        )
    gone = [code for code in codes if participants[code].status == ParticipantStatus.WITHDRAWN]
    if gone:
        raise ConfigError(f"validator {', '.join(gone)} has withdrawn from the KP")
    return codes


def _check_hosts(hosts: Mapping[str, str], codes: Sequence[str]) -> None:
    strays = sorted(set(hosts) - set(codes))
    if strays:
        raise ConfigError(f"--host names {', '.join(strays)}, which runs no validator node")
