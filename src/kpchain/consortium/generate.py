"""`kpchain consortium init`: the files of a new QBFT network, one folder per validator node.

Layout of the output folder::

    genesis.json            the network's genesis (every node needs the same one)
    network.json            what was generated: chain id, gas limit and cap, the APIs of each
                            listener, and per node its validator address, enode, RPC URL (the
                            service's) and admin URL (loopback only) (no secrets)
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

import itertools
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
    ADMIN_APIS,
    CONFIG_FILE,
    GENESIS_FILE,
    PERMISSIONS_FILE,
    RPC_APIS,
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
# The smallest `rpc-gas-cap`: a plain transfer. Besu reads 0 as "no cap", which is refused.
MIN_RPC_GAS_CAP = 21_000


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
        rpc_port_base: node i serves HTTP JSON-RPC (the service's APIs) on this port + i.
        admin_port_base: node i serves the admin APIs (WebSocket JSON-RPC, 127.0.0.1 only) on
            this port + i.
        rpc_host: the interface the HTTP JSON-RPC listener listens on.
        rpc_gas_cap: the most gas one `eth_call` or `eth_estimateGas` may use; default: the
            block gas limit (no transaction can use more).
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
    admin_port_base: int = 8645
    rpc_host: str = "127.0.0.1"
    rpc_gas_cap: int | None = None
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
        rpc_host: the interface the HTTP JSON-RPC listener listens on.
        rpc_gas_cap: every node's `rpc-gas-cap`.
    """

    directory: Path
    nodes: tuple[Node, ...]
    created_keys: tuple[str, ...]
    allowlist: tuple[AllowedAccount, ...]
    genesis: dict[str, Any]
    rpc_host: str
    rpc_gas_cap: int

    def node_folder(self, node: Node) -> Path:
        return self.directory / NODES_DIR / node.code

    def rpc_url(self, node: Node) -> str:
        """The node's HTTP JSON-RPC listener: what its participant's service talks to."""
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
            host for a participant that runs no node; a port past 65535, or port ranges that
            overlap; a gas cap of less than 21,000 or above the block gas limit; an EVM version
            the genesis cannot activate.
    """
    codes = _validator_codes(options.validators, participants)
    _check_hosts(options.hosts, codes)
    _check_ports(options, len(codes))
    rpc_gas_cap = _rpc_gas_cap(options)
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
                admin_port=options.admin_port_base + index,
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
        rpc_gas_cap=rpc_gas_cap,
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
        config = besu_config(
            node, rpc_host=network.rpc_host, rpc_gas_cap=network.rpc_gas_cap, bootnodes=bootnodes
        )
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
        "gas_limit": int(network.genesis["gasLimit"], 16),
        "rpc_gas_cap": network.rpc_gas_cap,
        "rpc_apis": list(RPC_APIS),
        "admin_apis": list(ADMIN_APIS),
        "nodes": {
            node.code: {
                "validator": node.validator,
                "enode": node.enode,
                "rpc_url": network.rpc_url(node),
                "admin_url": node.admin_url,
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


def _check_ports(options: NetworkOptions, count: int) -> None:
    """Every port within 65535, and the P2P, RPC and admin ranges apart: nodes may share a
    machine, and each of a node's listeners needs a port of its own."""
    ranges = {
        "--p2p-port-base": options.p2p_port_base,
        "--rpc-port-base": options.rpc_port_base,
        "--admin-port-base": options.admin_port_base,
    }
    last_port = max(ranges.values()) + count - 1
    if last_port > MAX_PORT:
        raise ConfigError(f"with {count} nodes the ports run to {last_port}, past {MAX_PORT}")
    named = sorted(ranges.items(), key=lambda item: item[1])
    for (name, base), (next_name, next_base) in itertools.pairwise(named):
        if next_base < base + count:
            raise ConfigError(
                f"{next_name} {next_base} falls within the {count} ports from {name} {base}; "
                "move one of them",
                detail={name: base, next_name: next_base},
            )


def _rpc_gas_cap(options: NetworkOptions) -> int:
    gas_limit = options.parameters.gas_limit
    cap = gas_limit if options.rpc_gas_cap is None else options.rpc_gas_cap
    if not MIN_RPC_GAS_CAP <= cap <= gas_limit:
        raise ConfigError(
            f"--rpc-gas-cap {cap} must be from {MIN_RPC_GAS_CAP:,} to the block gas limit "
            f"{gas_limit:,}: no transaction can use more than a block holds, and Besu reads 0 "
            "as no cap at all",
            detail={"rpc_gas_cap": cap, "gas_limit": gas_limit},
        )
    return cap
