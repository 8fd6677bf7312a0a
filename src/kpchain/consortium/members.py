"""A member's public parts: what `kpchain consortium join` prints and writes to ``public.json``,
and all that `kpchain consortium init` and `add-member` need to know of a government.

```json
{
  "format": "kpchain-member/1",
  "code": "BW",
  "enode": "enode://<128 hex digits: the node's public key>@bw-node.example:30303",
  "validator": "0x…",              // the node key's address: its QBFT validator address
  "authority": "0x…",              // the participant's first authority account
  "admin": "0x…",                  // the participant's admin account (its governance seat)
  "encryption_public_key": "0x…",  // X25519, 32 bytes (kpchain.consortium.encryption)
  "host": "bw-node.example",       // where peers reach the node
  "p2p_port": 30303,               // its P2P port (TCP and UDP), open to the other nodes
  "rpc_port": 8545,                // its HTTP JSON-RPC, for the member's own service
  "admin_port": 8645               // its admin listener, on 127.0.0.1 only
}
```

Nothing in it is secret. Reading one checks that it holds together (the enode's public key has
the validator address, its host and port are `host` and `p2p_port`, no port or account is used
twice), so that a file edited by hand or pasted wrong is refused before it reaches a genesis.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import coincurve
from eth_keys.datatypes import PublicKey
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kpchain.certificates.fields import Address, ParticipantCode
from kpchain.configfile import ConfigFile
from kpchain.consortium.encryption import checked_public_key
from kpchain.errors import ConfigError

MEMBER_FORMAT: Literal["kpchain-member/1"] = "kpchain-member/1"
PUBLIC_FILE = "public.json"
_ENODE = re.compile(r"enode://(?P<id>[0-9a-f]{128})@(?P<host>[^:/@\s]+):(?P<port>[0-9]{1,5})")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def node_address(public_key: str) -> str:
    """The checksummed address of a node's public key (128 hex digits): its validator address.

    Raises:
        ValueError: not a point of secp256k1 (eth-keys hashes any 64 bytes; coincurve checks).
    """
    raw = bytes.fromhex(public_key)
    coincurve.PublicKey(b"\x04" + raw)  # raises ValueError off the curve
    return str(PublicKey(raw).to_checksum_address())


def enode_url(public_key: str, host: str, port: int) -> str:
    """``enode://<public key>@<host>:<port>``, as peers and the nodes allowlist name a node."""
    return f"enode://{public_key}@{host}:{port}"


def checked_host(value: str) -> str:
    """`value` as the host peers reach a node at: an IPv4 address or a DNS name.

    Raises:
        ConfigError: anything else: an IPv6 address (an enode URL would need brackets, which
            Besu's allowlist matching does not take), an address peers cannot reach
            (0.0.0.0), a URL or a host with a port.
    """
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is not None:
        if address.version != 4 or address.is_unspecified:
            raise ConfigError(
                f"host {value!r}: give the IPv4 address or DNS name that the other nodes reach "
                "this node at",
                detail={"host": value},
            )
        return value
    labels = value.removesuffix(".").split(".")
    # A name whose last label is a number is a mistyped address (10.0.0.300), not a DNS name.
    if (
        len(value) > 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ConfigError(
            f"host {value!r} is neither an IPv4 address nor a DNS name (no scheme, no port)",
            detail={"host": value},
        )
    return value.lower()


def is_dns_name(host: str) -> bool:
    """Whether `host` is a DNS name rather than an IP address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


class Member(BaseModel):
    """A government's public parts (see the module docstring). Immutable and checked on creation.

    Raises:
        pydantic.ValidationError: on creation, anything malformed or inconsistent.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["kpchain-member/1"] = MEMBER_FORMAT
    code: ParticipantCode
    enode: str
    validator: Address
    authority: Address
    admin: Address
    encryption_public_key: str
    host: str
    p2p_port: int = Field(ge=1, le=65_535)
    rpc_port: int = Field(ge=1, le=65_535)
    admin_port: int = Field(ge=1, le=65_535)

    @field_validator("encryption_public_key")
    @classmethod
    def _encryption_key(cls, value: str) -> str:
        return _as_value_error(checked_public_key, value)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _as_value_error(checked_host, value)

    @model_validator(mode="after")
    def _consistent(self) -> Member:
        match = _ENODE.fullmatch(self.enode)
        if match is None:
            raise ValueError("enode is not enode://<128 lower-case hex digits>@<host>:<port>")
        if (match["host"], int(match["port"])) != (self.host, self.p2p_port):
            raise ValueError(f"the enode names {match['host']}:{match['port']}, not host:p2p_port")
        try:
            address = node_address(match["id"])
        except ValueError:
            raise ValueError("the enode's node id is not a secp256k1 public key") from None
        if address != self.validator:
            raise ValueError(f"the enode's public key has address {address}, not the validator")
        ports = [self.p2p_port, self.rpc_port, self.admin_port]
        if len(set(ports)) != len(ports):
            raise ValueError("p2p_port, rpc_port and admin_port must differ: each is a listener")
        accounts = [self.validator, self.authority, self.admin]
        if len(set(accounts)) != len(accounts):
            raise ValueError("validator, authority and admin must be three different keys")
        return self

    @property
    def node_public_key(self) -> str:
        """The node's public key, 128 hex digits (the enode's node id)."""
        return self.enode.removeprefix("enode://").split("@", 1)[0]

    def ports(self) -> tuple[int, int, int]:
        return (self.p2p_port, self.rpc_port, self.admin_port)

    def write(self, path: Path) -> None:
        """Writes the public parts to `path` as JSON, replacing the file in one step."""
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(self.model_dump(), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)


def read_member(path: Path) -> Member:
    """The public parts in `path`.

    Raises:
        ConfigFileError: the file cannot be read, is not JSON, or is malformed or inconsistent
            (the message gives the line).
    """
    file = ConfigFile.read(path, what="member file", format="JSON")
    return file.validate(Member, headline="is not a member's public parts")


def read_members(paths: Iterable[Path]) -> list[Member]:
    """The members in `paths`, in order; a folder stands for its ``*.json`` files, by name.

    Raises:
        ConfigError: no member file, a file that is not one, or two members that share a code,
            a node, an account, an encryption key, or a port on one host.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise ConfigError(f"{path} holds no member file (*.json)")
            files.extend(found)
        else:
            files.append(path)
    if not files:
        raise ConfigError("name the founding members' public parts: --members public-BW.json …")
    members = [read_member(path) for path in files]
    check_members(members)
    return members


def check_members(members: Sequence[Member]) -> None:
    """Refuses members that could not run one network together.

    Raises:
        ConfigError: two members with the same code, node, validator, encryption key or
            account, or two listeners on one port of one host.
    """
    _refuse_repeats("participant code", [member.code for member in members])
    _refuse_repeats("node (enode public key)", [member.node_public_key for member in members])
    _refuse_repeats(
        "account",
        [a for m in members for a in (m.validator, m.authority, m.admin)],
    )
    _refuse_repeats("encryption public key", [m.encryption_public_key for m in members])
    # Members on one host (a test network on one machine) need ports of their own.
    _refuse_repeats(
        "host and port",
        [f"{member.host}:{port}" for member in members for port in member.ports()],
    )


def _refuse_repeats(what: str, values: Sequence[str]) -> None:
    repeated = sorted(value for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise ConfigError(
            f"two members share a {what}: {', '.join(repeated)}; each government runs "
            "`kpchain consortium join` for itself",
            detail={"repeated": repeated},
        )


def _as_value_error(check: Any, value: str) -> str:
    """`check(value)`, its ConfigError turned into the ValueError a pydantic validator raises."""
    try:
        result: str = check(value)
    except ConfigError as exc:
        raise ValueError(exc.message) from None
    return result
