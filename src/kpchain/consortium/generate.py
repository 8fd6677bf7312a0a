"""`kpchain consortium init`: the files of a new QBFT network, built from the founding members'
public parts alone (`kpchain consortium join` makes each government's keys on its own machine),
and `kpchain consortium add-member`'s update of them for a member admitted later.

Layout of the output folder::

    genesis.json            the network's genesis (every node needs the same one)
    network.json            what the network is made of: chain id, gas limit and cap, the APIs of
                            each listener, per node its validator address, enode, RPC URL (the
                            service's) and admin URL (loopback only), every member's public
                            parts, and the accounts allowlist (no secrets)
    README.md               how operators start the network, deploy, admit members, vote
    nodes/<CODE>/           what participant CODE's node needs besides its key:
        key.pub             its public key (the enode's node id), to check the key against
        config.toml         Besu's configuration (paths relative to this folder)
        permissions_config.toml   the accounts and nodes allowlists
        static-nodes.json   the other validators, kept connected
        genesis.json        a copy of the genesis

No private key is written, read or needed here. Each operator copies ``nodes/<CODE>/`` into the
``node/`` folder `join` made, beside the node's own `key`. A node folder that holds a `key`
already (an operator building the files on their own machine) keeps it, when it is the member's.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from kpchain.consortium.addresses import checksum_address
from kpchain.consortium.genesis import QbftParameters, genesis
from kpchain.consortium.members import Member, check_members
from kpchain.consortium.network import ConsortiumNetwork
from kpchain.consortium.nodes import (
    ADMIN_APIS,
    CONFIG_FILE,
    GENESIS_FILE,
    KEY_FILE,
    PERMISSIONS_FILE,
    RPC_APIS,
    STATIC_NODES_FILE,
    NodeKey,
    besu_config,
    write_public_key,
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

NETWORK_FILE = "network.json"
README_FILE = "README.md"
# What `--fund` gives the deployer: gas is free, so this only satisfies tools that check a balance.
FUNDED_BALANCE_WEI = 1_000_000 * 10**18
# The smallest `rpc-gas-cap`: a plain transfer. Besu reads 0 as "no cap", which is refused.
MIN_RPC_GAS_CAP = 21_000


@dataclass(frozen=True)
class NetworkOptions:
    """What `kpchain consortium init` is asked for, besides the members.

    Attributes:
        parameters: the genesis' network-wide settings.
        deployer: the account that deploys kpchain (allowlisted).
        accounts: more accounts to allowlist.
        fund: give the deployer a balance at genesis.
        rpc_host: the interface every node's HTTP JSON-RPC listener listens on.
        rpc_gas_cap: the most gas one `eth_call` or `eth_estimateGas` may use; default: the
            block gas limit (no transaction can use more).
        genesis_time: the genesis block's time, Unix seconds; default: now.
    """

    parameters: QbftParameters
    deployer: str
    accounts: Sequence[str] = ()
    fund: bool = False
    rpc_host: str = "127.0.0.1"
    rpc_gas_cap: int | None = None
    genesis_time: int | None = None


def create_network(
    directory: Path, members: Sequence[Member], options: NetworkOptions
) -> ConsortiumNetwork:
    """Writes the files of a QBFT network whose validators are the members' nodes.

    Args:
        directory: the output folder (created when missing).
        members: the founding members' public parts; the first one's node is the bootnode.
        options: the network-wide settings and the accounts to allowlist besides the members'.

    Raises:
        ConfigError: no member; two members sharing a code, node, account, encryption key or a
            port of one host; a malformed address; a gas cap of less than 21,000 or above the
            block gas limit; an EVM version the genesis cannot activate; a node folder holding
            a `key` that is not its member's. Nothing is written then.
    """
    if not members:
        raise ConfigError("name the founding members' public parts: --members public-BW.json …")
    check_members(members)
    rpc_gas_cap = _rpc_gas_cap(options)
    deployer = checksum_address(options.deployer, what="--deployer")
    allowlist = accounts_allowlist(
        _participants(members),
        deployer=deployer,
        accounts=options.accounts,
    )
    document = genesis(
        [member.validator for member in members],
        options.parameters,
        timestamp=int(time.time()) if options.genesis_time is None else options.genesis_time,
        balances={deployer: FUNDED_BALANCE_WEI} if options.fund else None,
    )
    network = ConsortiumNetwork(
        directory=directory,
        members=tuple(members),
        allowlist=tuple(allowlist),
        genesis=document,
        rpc_host=options.rpc_host,
        rpc_gas_cap=rpc_gas_cap,
    )
    _refuse_foreign_keys(network)
    _write(network)
    return network


def load_network(directory: Path) -> ConsortiumNetwork:
    """The network `create_network` wrote into `directory` (its network.json and genesis.json).

    Raises:
        ConfigError: the files are missing, unreadable, or not those of this kpchain.
    """
    summary_path, genesis_path = directory / NETWORK_FILE, directory / GENESIS_FILE
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        document = json.loads(genesis_path.read_text(encoding="utf-8"))
        members = tuple(Member.model_validate(raw) for raw in summary["members"].values())
        allowlist = tuple(
            AllowedAccount(address, tuple(reasons))
            for address, reasons in summary["accounts_allowlist"].items()
        )
        rpc_host, rpc_gas_cap = str(summary["rpc_host"]), int(summary["rpc_gas_cap"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = (
            "a member is malformed"
            if isinstance(exc, ValidationError)
            else f"{type(exc).__name__}: {exc}"
        )
        raise ConfigError(
            f"{directory} is not a network folder `kpchain consortium init` wrote ({problem}); "
            f"give the folder that holds {NETWORK_FILE} and {GENESIS_FILE}",
            detail={"network": str(directory)},
        ) from None
    return ConsortiumNetwork(
        directory=directory,
        members=members,
        allowlist=allowlist,
        genesis=document,
        rpc_host=rpc_host,
        rpc_gas_cap=rpc_gas_cap,
    )


def add_member(network: ConsortiumNetwork, member: Member) -> tuple[ConsortiumNetwork, bool]:
    """Adds a member admitted after the genesis to the network's files: its node folder, and
    its node and accounts in every other node's files, network.json and the README. The genesis
    stays as it is: the new validator is voted in on the running chain.

    Adding the same public parts again changes nothing.

    Returns:
        The network with the member, and whether it was new to it.

    Raises:
        ConfigError: the network has a member of that code with other public parts, or the new
            member shares a node, account, encryption key or port of a host with another.
    """
    known = network.member(member.code)
    if known is not None:
        if known != member:
            raise ConfigError(
                f"the network's {member.code} has other public parts than these (another node "
                f"or other keys); {network.directory / NETWORK_FILE} keeps the first",
                detail={"participant": member.code},
            )
        return network, False
    members = (*network.members, member)
    check_members(members)
    added = accounts_allowlist(_participants([member]))
    updated = ConsortiumNetwork(
        directory=network.directory,
        members=members,
        allowlist=_merged(network.allowlist, added),
        genesis=network.genesis,
        rpc_host=network.rpc_host,
        rpc_gas_cap=network.rpc_gas_cap,
    )
    _refuse_foreign_keys(updated)
    _write(updated)
    return updated, True


def _participants(members: Sequence[Member]) -> dict[str, Participant]:
    """The members as the participants the allowlist is made for: Active, with their admin and
    their first authority (the registry takes over once kpchain is deployed)."""
    return {
        member.code: Participant(
            code=member.code,
            status=ParticipantStatus.ACTIVE,
            admin=member.admin,
            authorities=(member.authority,),
        )
        for member in members
    }


def _merged(
    allowlist: Sequence[AllowedAccount], more: Sequence[AllowedAccount]
) -> tuple[AllowedAccount, ...]:
    reasons = {account.address: list(account.reasons) for account in allowlist}
    for account in more:
        held = reasons.setdefault(account.address, [])
        held.extend(reason for reason in account.reasons if reason not in held)
    return tuple(
        AllowedAccount(address, tuple(why))
        for address, why in sorted(reasons.items(), key=lambda item: item[0].lower())
    )


def _refuse_foreign_keys(network: ConsortiumNetwork) -> None:
    """A `key` found in a node folder must be that member's: Besu would start with it, and a
    node whose key is another than its member's is no validator of this network."""
    for node in network.nodes:
        path = network.node_folder(node) / KEY_FILE
        if path.exists() and NodeKey.read(path).public_key != node.public_key:
            raise ConfigError(
                f"{path} is not {node.code}'s node key (its public parts name another node); "
                "remove it: each operator keeps the key `join` made on their own machine",
                detail={"key_file": str(path)},
            )


def _write(network: ConsortiumNetwork) -> None:
    directory = network.directory
    directory.mkdir(parents=True, exist_ok=True)
    genesis_path = directory / GENESIS_FILE
    text = json.dumps(network.genesis, indent=2) + "\n"
    if not genesis_path.exists() or genesis_path.read_text(encoding="utf-8") != text:
        genesis_path.write_text(text)
    accounts = [account.address for account in network.allowlist]
    nodes = network.nodes
    enodes = [node.enode for node in nodes]
    bootnode = nodes[0]
    for node in nodes:
        folder = network.node_folder(node)
        folder.mkdir(parents=True, exist_ok=True)
        write_public_key(folder, node.public_key)
        shutil.copyfile(genesis_path, folder / GENESIS_FILE)
        others = [other.enode for other in nodes if other != node]
        bootnodes = [] if node == bootnode else [bootnode.enode]
        config = besu_config(
            node, rpc_host=network.rpc_host, rpc_gas_cap=network.rpc_gas_cap, bootnodes=bootnodes
        )
        (folder / CONFIG_FILE).write_text(tomli_w.dumps(config))
        write_permissions_file(folder / PERMISSIONS_FILE, accounts=accounts, nodes=enodes)
        (folder / STATIC_NODES_FILE).write_text(json.dumps(others, indent=2) + "\n")
    (directory / NETWORK_FILE).write_text(json.dumps(_summary(network), indent=2) + "\n")
    (directory / README_FILE).write_text(operator_readme(network))
    logger.info("wrote a %s-validator QBFT network to %s", len(nodes), directory)


def _summary(network: ConsortiumNetwork) -> dict[str, Any]:
    return {
        "chain_id": network.genesis["config"]["chainId"],
        "qbft": network.genesis["config"]["qbft"],
        "gas_limit": int(network.genesis["gasLimit"], 16),
        "rpc_gas_cap": network.rpc_gas_cap,
        "rpc_host": network.rpc_host,
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
        "members": {member.code: member.model_dump() for member in network.members},
        "accounts_allowlist": {
            account.address: list(account.reasons) for account in network.allowlist
        },
    }


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
