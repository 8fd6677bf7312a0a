"""A member's public parts: written and read back, checked for consistency (a validator that is
not the enode's, a pasted host or port), and a set of members that could not share a network."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from support_consortium import make_member

from kpchain.consortium.members import (
    Member,
    checked_host,
    node_address,
    read_member,
    read_members,
)
from kpchain.consortium.nodes import NodeKey
from kpchain.errors import ConfigError

# anvil's first development key, whose public key and address are well known.
ANVIL_KEY = NodeKey(
    bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
)
ANVIL_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _written(path: Path, member: Member, **changes: Any) -> Path:
    path.write_text(json.dumps(member.model_dump() | changes))
    return path


def test_node_address_is_the_public_keys_ethereum_address() -> None:
    assert node_address(ANVIL_KEY.public_key) == ANVIL_ADDRESS


def test_public_parts_read_back_as_written(tmp_path: Path) -> None:
    member = make_member("BW", key=ANVIL_KEY, host="bw-node.example")
    path = tmp_path / "public.json"

    member.write(path)

    assert read_member(path) == member
    assert json.loads(path.read_text())["format"] == "kpchain-member/1"
    assert member.node_public_key == ANVIL_KEY.public_key
    assert member.enode == f"enode://{ANVIL_KEY.public_key}@bw-node.example:30303"
    assert member.validator == ANVIL_ADDRESS


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"validator": Account.create().address}, "the enode's public key has address"),
        ({"host": "10.0.0.9"}, "the enode names 127.0.0.1:30303, not host:p2p_port"),
        ({"p2p_port": 30304}, "not host:p2p_port"),
        ({"enode": "enode://abc@127.0.0.1:30303"}, "enode is not enode://"),
        ({"enode": f"enode://{'00' * 64}@127.0.0.1:30303"}, "not a secp256k1 public key"),
        ({"rpc_port": 30303}, "must differ"),
        ({"admin_port": 70_000}, "admin_port"),
        ({"encryption_public_key": "0x1234"}, "32-byte X25519 public key"),
        ({"code": "bw"}, "code"),
        ({"authority": "0x1234"}, "authority"),
        ({"private_key": "00" * 32}, "private_key: Extra inputs are not permitted"),
        ({"format": "kpchain-member/0"}, "format"),
    ],
    ids=[
        "validator-not-the-enodes",
        "host-not-the-enodes",
        "port-not-the-enodes",
        "malformed-enode",
        "not-a-public-key",
        "ports-clash",
        "port-out-of-range",
        "encryption-key",
        "code",
        "address",
        "unknown-field",
        "format",
    ],
)
def test_inconsistent_public_parts_are_refused_naming_the_problem(
    tmp_path: Path, changes: dict[str, Any], problem: str
) -> None:
    path = _written(tmp_path / "public-BW.json", make_member("BW"), **changes)

    with pytest.raises(ConfigError, match=f"member file {path} is not a member's") as caught:
        read_member(path)

    assert problem in caught.value.message


def test_one_key_for_two_roles_is_refused(tmp_path: Path) -> None:
    member = make_member("BW")
    path = _written(tmp_path / "public.json", member, admin=member.authority)

    with pytest.raises(ConfigError, match="three different keys"):
        read_member(path)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "public.json"
    path.write_text("BW: {}")

    with pytest.raises(ConfigError, match="cannot read member file"):
        read_member(path)


@pytest.mark.parametrize(
    ("host", "expected"),
    [("10.1.2.3", "10.1.2.3"), ("BW-Node.Example", "bw-node.example"), ("node1", "node1")],
)
def test_hosts_are_ipv4_addresses_or_dns_names(host: str, expected: str) -> None:
    assert checked_host(host) == expected


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::1", "10.0.0.300", "http://bw.example", "bw.example:30303", "-bw.example", ""],
)
def test_hosts_peers_cannot_reach_are_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="host"):
        checked_host(host)


def test_a_folder_of_members_is_read_by_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "members"
    folder.mkdir()
    for index, code in enumerate(("RU", "BW", "EU")):
        make_member(code, index).write(folder / f"public-{code}.json")
    (folder / "README.txt").write_text("not a member")

    members = read_members([folder])

    assert [member.code for member in members] == ["BW", "EU", "RU"]


def test_files_are_read_in_the_order_given(tmp_path: Path) -> None:
    paths = []
    for index, code in enumerate(("RU", "BW")):
        paths.append(tmp_path / f"{code}.json")
        make_member(code, index).write(paths[-1])

    assert [member.code for member in read_members(paths)] == ["RU", "BW"]


def test_a_folder_without_members_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no member file"):
        read_members([tmp_path])


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        (lambda bw: {"code": "BW"}, "share a participant code: BW"),
        (lambda bw: {"admin": bw.authority}, "share a account: "),
        (lambda bw: {"encryption_public_key": bw.encryption_public_key}, "encryption public key"),
        (lambda bw: {"p2p_port": bw.p2p_port}, "share a host and port: 127.0.0.1:30303"),
        (lambda bw: {"admin_port": bw.rpc_port}, "share a host and port: 127.0.0.1:8545"),
    ],
    ids=["code", "account", "encryption-key", "p2p-port", "admin-on-rpc-port"],
)
def test_members_that_could_not_share_a_network_are_refused(
    tmp_path: Path, second: Callable[[Member], dict[str, Any]], problem: str
) -> None:
    bw = make_member("BW", 0)
    paths = [tmp_path / "BW.json", tmp_path / "RU.json"]
    bw.write(paths[0])
    parts = {"code": "RU"} | second(bw)
    make_member(parts.pop("code"), 1, **parts).write(paths[1])

    with pytest.raises(ConfigError, match="two members share a") as caught:
        read_members(paths)

    assert problem in caught.value.message


def test_the_same_node_twice_is_refused(tmp_path: Path) -> None:
    key = NodeKey.generate()
    paths = [tmp_path / "BW.json", tmp_path / "RU.json"]
    make_member("BW", 0, key=key).write(paths[0])
    make_member("RU", 0, key=key, host="10.0.0.2").write(paths[1])

    with pytest.raises(ConfigError, match="share a node"):
        read_members(paths)
