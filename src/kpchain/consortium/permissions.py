"""Besu's local permissioning, kept in step with the registry: the accounts allowed to send
transactions, the nodes allowed to connect, and pushing a new accounts allowlist to running nodes.

Besu 25.6 removed on-chain permissioning, so kpchain's contracts enforce who may do what, and the
nodes' allowlists keep everyone else from sending transactions at all: on a chain where gas is
free, that is what stops a stranger from filling blocks. The accounts allowlist holds

- the authority accounts of Active participants (only they can act on certificates);
- the admins of Active and Suspended participants (a suspended participant may still have to
  revoke a leaked key), but not of Withdrawn ones;
- the deployer and the governor (from the deployments file, or as given);
- any account the operator adds (`--account`).

A running node's allowlist changes through Besu's `perm_addAccountsToAllowlist` and
`perm_removeAccountsFromAllowlist` (the PERM API); Besu writes the change into the node's
permissions file itself, so it survives a restart.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from kpchain.chain.connection import redact_url
from kpchain.consortium.addresses import checksum_address
from kpchain.consortium.participants import Participant
from kpchain.contracts.enums import ParticipantStatus
from kpchain.errors import ChainError, ChainUnavailableError, ConfigError

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
    governor: str | None = None,
    accounts: Iterable[str] = (),
) -> list[AllowedAccount]:
    """The accounts allowed to send transactions (see the module docstring), in address order.

    Raises:
        ConfigError: `deployer`, `governor` or one of `accounts` is not an address.
    """
    reasons: dict[str, list[str]] = {}

    def allow(address: str, reason: str) -> None:
        reasons.setdefault(checksum_address(address, what=reason), []).append(reason)

    if deployer is not None:
        allow(deployer, "deployer")
    if governor is not None:
        allow(governor, "governor")
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
        node_url: the node's JSON-RPC endpoint; it must serve the PERM API.
        accounts: the allowlist the node should have.
        dry_run: only work out the change; send nothing that changes the node.
        timeout: seconds to wait for each answer.

    Raises:
        ChainUnavailableError: the node does not answer.
        ChainError: the node refused a request (PERM API not enabled, account allowlisting off).
    """
    wanted = {account.lower(): account for account in accounts}
    with _JsonRpc(node_url, timeout=timeout) as node:
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


class _JsonRpc:
    """A minimal JSON-RPC client for the PERM methods, which web3.py does not wrap."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.name = redact_url(url)
        self._url = url
        self._client = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def __enter__(self) -> _JsonRpc:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def call(self, method: str, params: list[Any]) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            response = self._client.post(self._url, json=request)
        except httpx.HTTPError as exc:
            raise ChainUnavailableError(
                f"cannot reach the node at {self.name}: {type(exc).__name__}; is it running, "
                "with rpc-http-enabled?",
                detail={"node": self.name},
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ChainError(
                f"{self.name} did not answer {method} in JSON-RPC (HTTP {response.status_code})",
                detail={"node": self.name, "method": method},
            )
        error = answer.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            raise ChainError(
                f"{self.name} refused {method}: {message}; the node needs the PERM API in "
                "rpc-http-api and permissions-accounts-config-file-enabled=true",
                detail={"node": self.name, "method": method, "error": error},
            )
        return answer.get("result")
