"""A consortium network's files as one value: what `kpchain consortium init` writes and
`add-member` reads back (`kpchain.consortium.generate`), and what the operators' README is
filled in from (`kpchain.consortium.readme`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpchain.consortium.members import Member
from kpchain.consortium.nodes import Node
from kpchain.consortium.permissions import AllowedAccount

NODES_DIR = "nodes"


@dataclass(frozen=True)
class ConsortiumNetwork:
    """A network's files, as `create_network` wrote them or `load_network` read them back.

    Attributes:
        directory: the output folder.
        members: the members' public parts, the founding ones in the order given, then those
            added later.
        allowlist: the accounts allowlist every node starts with.
        genesis: the genesis.
        rpc_host: the interface the HTTP JSON-RPC listeners listen on.
        rpc_gas_cap: every node's `rpc-gas-cap`.
    """

    directory: Path
    members: tuple[Member, ...]
    allowlist: tuple[AllowedAccount, ...]
    genesis: dict[str, Any]
    rpc_host: str
    rpc_gas_cap: int

    @property
    def nodes(self) -> tuple[Node, ...]:
        """One validator node a member, in the members' order."""
        return tuple(Node.of(member) for member in self.members)

    def node_folder(self, node: Node) -> Path:
        return self.directory / NODES_DIR / node.code

    def rpc_url(self, node: Node) -> str:
        """The node's HTTP JSON-RPC listener: what its participant's service talks to."""
        host = "127.0.0.1" if self.rpc_host in {"0.0.0.0", "::"} else self.rpc_host
        return f"http://{host}:{node.rpc_port}"

    def member(self, code: str) -> Member | None:
        return next((member for member in self.members if member.code == code), None)
