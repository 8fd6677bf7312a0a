"""Besu's local permissioning, kept in step with the registry: the accounts allowed to send
transactions, the nodes allowed to connect, and pushing a new accounts allowlist to running nodes.

Besu 25.6 removed on-chain permissioning, so kpchain's contracts enforce who may do what, and the
nodes' allowlists keep everyone else from sending transactions at all: on a chain where gas is
free, that is what stops a stranger from filling blocks. The accounts allowlist holds

- the authority accounts of Active participants (only they can act on certificates);
- the admins of Active and Suspended participants (a suspended participant may still have to
  revoke a leaked key), but not of Withdrawn ones;
- the deployer (from the deployments file, or as given); no account governs: the governance is
  a contract, and the admins who vote are allowlisted as admins;
- any account the operator adds (`--account`).

A running node's allowlist changes through Besu's `perm_addAccountsToAllowlist` and
`perm_removeAccountsFromAllowlist` (the PERM API, on the node's admin listener: WebSocket on
127.0.0.1, see `kpchain.chain.admin`); Besu writes the change into the node's permissions
file itself, so it survives a restart.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from kpchain.chain.admin import AdminClient
from kpchain.consortium.addresses import checksum_address
from kpchain.consortium.participants import Participant
from kpchain.contracts.enums import ParticipantStatus
from kpchain.errors import ChainError, ConfigError

ACCOUNTS_KEY = "accounts-allowlist"
NODES_KEY = "nodes-allowlist"

_ACTING = {ParticipantStatus.ACTIVE}
_ADMINISTERING = {ParticipantStatus.ACTIVE, ParticipantStatus.SUSPENDED}


@dataclass(frozen=True)
class AllowedAccount:
    """An account of the accounts allowlist, and why it is there ("BW authority", "deployer")."""

    address: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class AllowlistChange:
    """What pushing the allowlist to a node changed (or would change, on a dry run)."""

    node: str  # the node's URL without credentials
    added: tuple[str, ...]
    removed: tuple[str, ...]


def accounts_allowlist(
    participants: Mapping[str, Participant],
    *,
    deployer: str | None = None,
    accounts: Iterable[str] = (),
) -> list[AllowedAccount]:
    """The accounts allowed to send transactions (see the module docstring), in address order.

    Raises:
        ConfigError: `deployer` or one of `accounts` is not an address.
    """
    reasons: dict[str, list[str]] = {}

    def allow(address: str, reason: str) -> None:
        reasons.setdefault(checksum_address(address, what=reason), []).append(reason)

    if deployer is not None:
        allow(deployer, "deployer")
    for participant in sorted(participants.values(), key=lambda p: p.code):
        if participant.status in _ACTING:
            for authority in participant.authorities:
                allow(authority, f"{participant.code} authority")
        if participant.status in _ADMINISTERING and participant.admin is not None:
            allow(participant.admin, f"{participant.code} admin")
    for account in accounts:
        allow(account, "--account")
    return [
        AllowedAccount(address, tuple(why))
        for address, why in sorted(reasons.items(), key=lambda item: item[0].lower())
    ]


def write_permissions_file(path: Path, *, accounts: Sequence[str], nodes: Sequence[str]) -> None:
    """Writes a Besu permissions file with both allowlists."""
    path.write_text(tomli_w.dumps({ACCOUNTS_KEY: list(accounts), NODES_KEY: list(nodes)}))


def replace_accounts_allowlist(path: Path, accounts: Sequence[str]) -> None:
    """Writes `accounts` as the accounts allowlist of the permissions file `path`, keeping its
    nodes allowlist (and anything else in it); creates the file when there is none.

    Raises:
        ConfigError: the file exists but is not TOML.
    """
    document = read_permissions_file(path) if path.exists() else {}
    document[ACCOUNTS_KEY] = list(accounts)
    path.write_text(tomli_w.dumps(document))


def read_permissions_file(path: Path) -> dict[str, Any]:
    """The permissions file `path`, parsed.

    Raises:
        ConfigError: unreadable or not TOML.
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"cannot read permissions file {path}: {exc}", detail={"permissions_file": str(path)}
        ) from None


def push_accounts_allowlist(
    node_url: str, accounts: Sequence[str], *, dry_run: bool = False, timeout: float = 10.0
) -> AllowlistChange:
    """Makes the accounts allowlist of the running node at `node_url` equal `accounts`.

    Reads the node's list (`perm_getAccountsAllowlist`), adds what is missing and removes what is
    no longer allowed. Addresses compare without regard to case: Besu keeps them lower-case.

    Args:
        node_url: the node's admin listener, ``ws://127.0.0.1:<rpc-ws-port>``; it must serve
            the PERM API.
        accounts: the allowlist the node should have.
        dry_run: only work out the change; send nothing that changes the node.
        timeout: seconds to wait for the connection and for each answer.

    Raises:
        ConfigError: `node_url` is not a ws:// or wss:// URL; nothing was sent.
        ChainUnavailableError: the node does not answer.
        ChainError: the node refused a request (PERM API not enabled, account allowlisting off).
    """
    wanted = {account.lower(): account for account in accounts}
    with AdminClient(node_url, timeout=timeout) as node:
        current = node.call("perm_getAccountsAllowlist", [])
        if not isinstance(current, list) or not all(isinstance(a, str) for a in current):
            raise ChainError(
                f"{node.name} answered perm_getAccountsAllowlist with {current!r}, not a list of "
                "addresses",
                detail={"node": node.name},
            )
        held = {account.lower() for account in current}
        added = tuple(account for lower, account in wanted.items() if lower not in held)
        removed = tuple(account for account in current if account.lower() not in wanted)
        if not dry_run:
            if added:
                node.call("perm_addAccountsToAllowlist", [list(added)])
            if removed:
                node.call("perm_removeAccountsFromAllowlist", [list(removed)])
    return AllowlistChange(node.name, added, removed)
