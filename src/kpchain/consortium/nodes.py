"""The nodes of a QBFT network: their keys, enode URLs and Besu configuration files.

A QBFT validator is identified by its node key: the validator address in the genesis is the
address of the node's public key, and the enode URL (how peers and the nodes allowlist name it)
carries the public key itself. The key is made by the node's own government (`kpchain
consortium join`); everything else here needs only its public key. Each node's folder holds what
Besu reads, with paths relative to the folder: the government's own `key` beside the files
`kpchain consortium init` writes, started there with ``besu --config-file=config.toml``.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_keys.datatypes import PrivateKey

from kpchain.consortium.members import Member, enode_url, node_address
from kpchain.errors import ConfigError

logger = logging.getLogger(__name__)

# The order of secp256k1's group: a private key is a number from 1 to N - 1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

KEY_FILE = "key"
PUBLIC_KEY_FILE = "key.pub"
CONFIG_FILE = "config.toml"
PERMISSIONS_FILE = "permissions_config.toml"
STATIC_NODES_FILE = "static-nodes.json"
GENESIS_FILE = "genesis.json"
DATA_DIR = "data"

# A node serves JSON-RPC on two listeners. The HTTP one, on `--rpc-host`, is the kpchain
# service's and deploy's: ETH, NET and WEB3 only (kpchain calls no txpool_* method).
RPC_APIS = ("ETH", "NET", "WEB3")
# The admin listener is Besu's WebSocket JSON-RPC service, always on the loopback interface:
# whoever reaches QBFT can vote validators in and out, whoever reaches PERM rewrites the
# allowlists, so only the node's own machine may. ADMIN shows peers and the node's enode,
# TXPOOL the pending transactions. (Besu's other second listener, IPC, is early access, and
# its Engine API port serves ENGINE methods only.)
ADMIN_APIS = ("ADMIN", "QBFT", "PERM", "TXPOOL")
ADMIN_HOST = "127.0.0.1"


@dataclass(frozen=True)
class NodeKey:
    """A node's secp256k1 key. The private key never appears in its repr."""

    private_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.private_key) != 32 or not 0 < int.from_bytes(self.private_key) < SECP256K1_N:
            raise ConfigError("a node key must be a secp256k1 private key of 32 bytes")

    @classmethod
    def generate(cls) -> NodeKey:
        """A fresh key from the operating system's random source."""
        while True:  # a 32-byte draw falls outside 1..N-1 about once in 2**128
            candidate = secrets.token_bytes(32)
            if 0 < int.from_bytes(candidate) < SECP256K1_N:
                return cls(candidate)

    @classmethod
    def read(cls, path: Path) -> NodeKey:
        """The key in a Besu `key` file (hex, with or without 0x, on one line).

        Raises:
            ConfigError: unreadable, or not a private key.
        """
        try:
            text = path.read_text(encoding="ascii").strip()
            return cls(bytes.fromhex(text.removeprefix("0x")))
        except (OSError, ValueError, ConfigError) as exc:
            # Never the file's content in the message: it is a private key.
            raise ConfigError(
                f"cannot read the node key in {path}: {type(exc).__name__}; it must hold one "
                "secp256k1 private key in hex",
                detail={"key_file": str(path)},
            ) from None

    def write(self, path: Path) -> None:
        """Writes the key as Besu's `key` file: hex without 0x, readable by the owner only.

        Raises:
            FileExistsError: `path` exists; a node key is never overwritten.
        """
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(self.private_key.hex() + "\n")

    @property
    def public_key(self) -> str:
        """The uncompressed public key without its 0x04 prefix: 128 hex digits (the node id)."""
        return PrivateKey(self.private_key).public_key.to_bytes().hex()

    @property
    def address(self) -> str:
        """The checksummed address of the public key: the validator address."""
        return str(PrivateKey(self.private_key).public_key.to_checksum_address())


@dataclass(frozen=True)
class Node:
    """One validator node, run by participant `code`. Only its public key is known here.

    Attributes:
        code: the participant running it (its folder is named after it).
        public_key: its node key's public key, 128 hex digits (the enode's node id).
        host: the address its peers reach it at (Besu's `p2p-host`).
        p2p_port: its P2P (TCP and discovery UDP) port.
        rpc_port: its HTTP JSON-RPC port (`RPC_APIS`).
        admin_port: its admin listener's port (WebSocket JSON-RPC on 127.0.0.1, `ADMIN_APIS`).
    """

    code: str
    public_key: str
    host: str
    p2p_port: int
    rpc_port: int
    admin_port: int

    @classmethod
    def of(cls, member: Member) -> Node:
        """The node a member's public parts describe."""
        return cls(
            code=member.code,
            public_key=member.node_public_key,
            host=member.host,
            p2p_port=member.p2p_port,
            rpc_port=member.rpc_port,
            admin_port=member.admin_port,
        )

    @property
    def enode(self) -> str:
        """Its enode URL: ``enode://<public key>@<host>:<port>``."""
        return enode_url(self.public_key, self.host, self.p2p_port)

    @property
    def validator(self) -> str:
        """Its validator address."""
        return node_address(self.public_key)

    @property
    def admin_url(self) -> str:
        """Its admin listener, reachable from the node's own machine only."""
        return f"ws://{ADMIN_HOST}:{self.admin_port}"


def write_key_files(folder: Path, key: NodeKey) -> NodeKey:
    """Writes `key`, unless `folder` holds a key already (a node key is never replaced), and
    the public key of the key it holds as `key.pub`.

    Returns:
        The key the folder holds.

    Raises:
        ConfigError: the folder's key file does not hold a key.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE
    if path.exists():
        key = NodeKey.read(path)
    else:
        key.write(path)
    write_public_key(folder, key.public_key)
    return key


def write_public_key(folder: Path, public_key: str) -> None:
    """Writes a node's public key as `key.pub`, as Besu's ``public-key export`` does."""
    (folder / PUBLIC_KEY_FILE).write_text(public_key + "\n", encoding="ascii")


def besu_config(
    node: Node, *, rpc_host: str, rpc_gas_cap: int, bootnodes: Sequence[str]
) -> dict[str, Any]:
    """The node's Besu configuration file (`config.toml`), as TOML keys and values.

    Paths are relative to the node's folder, where Besu is started. Gas is free
    (`min-gas-price` 0 on every node, with the genesis' `zeroBaseFee`), and both allowlists of
    the permissions file are enforced. The HTTP listener serves `RPC_APIS` on `rpc_host`; the
    admin APIs are on the WebSocket listener, bound to 127.0.0.1 whatever `rpc_host` is.

    Args:
        node: the node.
        rpc_host: the interface the HTTP JSON-RPC listener listens on; 127.0.0.1 keeps it on
            the machine.
        rpc_gas_cap: the most gas an `eth_call` or `eth_estimateGas` may use (`rpc-gas-cap`):
            with free gas, what bounds the work one request can ask of the node.
        bootnodes: enode URLs to discover peers from (the first node, for the others); none
            for the first node.
    """
    config: dict[str, Any] = {
        "data-path": DATA_DIR,
        "genesis-file": GENESIS_FILE,
        "node-private-key-file": KEY_FILE,
        "sync-mode": "FULL",
        "p2p-host": node.host,
        "p2p-port": node.p2p_port,
        "static-nodes-file": STATIC_NODES_FILE,
        "rpc-http-enabled": True,
        "rpc-http-host": rpc_host,
        "rpc-http-port": node.rpc_port,
        "rpc-http-api": list(RPC_APIS),
        "rpc-ws-enabled": True,
        "rpc-ws-host": ADMIN_HOST,
        "rpc-ws-port": node.admin_port,
        "rpc-ws-api": list(ADMIN_APIS),
        # Checked against the Host header of HTTP requests and WebSocket handshakes alike.
        "host-allowlist": sorted({"localhost", ADMIN_HOST, rpc_host}),
        "rpc-gas-cap": rpc_gas_cap,
        "min-gas-price": 0,
        # Receipts of failed transactions carry the revert data kpchain decodes.
        "revert-reason-enabled": True,
        "permissions-accounts-config-file-enabled": True,
        "permissions-accounts-config-file": PERMISSIONS_FILE,
        "permissions-nodes-config-file-enabled": True,
        "permissions-nodes-config-file": PERMISSIONS_FILE,
        # Besu takes only IP addresses in enode URLs (static nodes, bootnodes, the nodes
        # allowlist) unless domain names are on: an early access feature in Besu 25, and what a
        # government's node behind a DNS name needs. IP addresses work either way, and a later
        # member may come with a name.
        "Xdns-enabled": True,
    }
    if bootnodes:
        config["bootnodes"] = list(bootnodes)
    return config
