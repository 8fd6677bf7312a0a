"""Node keys (Besu's `key` file, public key, validator address, enode) and the Besu configuration
file, parsed back with tomllib."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from coincurve import PublicKey
from eth_account import Account
from support_consortium import make_member

from kpchain.consortium.nodes import (
    ADMIN_APIS,
    KEY_FILE,
    PUBLIC_KEY_FILE,
    Node,
    NodeKey,
    besu_config,
    write_key_files,
)
from kpchain.errors import ConfigError

# anvil's (and Hardhat's) first development account: a key whose address everyone knows.
ANVIL_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
ANVIL_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ENODE = re.compile(r"enode://(?P<id>[0-9a-f]{128})@(?P<host>[^:]+):(?P<port>\d+)")


ADMINISTERING_APIS = {"ADMIN", "QBFT", "PERM"}  # votes, allowlists, peers: never on HTTP
GAS_CAP = 50_000_000


def _node(key: NodeKey, *, host: str = "127.0.0.1", port: int = 30303) -> Node:
    return Node(
        code="BW",
        public_key=key.public_key,
        host=host,
        p2p_port=port,
        rpc_port=8545,
        admin_port=8645,
    )


def _parsed_config(node: Node, *, rpc_host: str = "127.0.0.1") -> dict[str, Any]:
    config = besu_config(node, rpc_host=rpc_host, rpc_gas_cap=GAS_CAP, bootnodes=[])
    return tomllib.loads(tomli_w.dumps(config))


def test_node_key_address_is_the_keys_ethereum_address() -> None:
    assert NodeKey(ANVIL_KEY).address == ANVIL_ADDRESS


def test_generated_node_key_public_key_and_address_agree_with_other_libraries() -> None:
    key = NodeKey.generate()

    uncompressed = PublicKey.from_secret(key.private_key).format(compressed=False)
    assert uncompressed[0] == 0x04
    assert key.public_key == uncompressed[1:].hex()
    assert key.address == Account.from_key(key.private_key).address


def test_node_keys_are_fresh_each_time() -> None:
    assert NodeKey.generate().private_key != NodeKey.generate().private_key


def test_node_key_repr_hides_the_private_key() -> None:
    assert ANVIL_KEY.hex() not in repr(NodeKey(ANVIL_KEY))


def test_enode_is_public_key_at_host_and_p2p_port() -> None:
    key = NodeKey(ANVIL_KEY)

    match = ENODE.fullmatch(_node(key, host="10.0.0.7", port=30311).enode)

    assert match is not None
    assert match["id"] == key.public_key
    assert (match["host"], match["port"]) == ("10.0.0.7", "30311")
    assert _node(key).validator == ANVIL_ADDRESS  # the key's address, from its public key


def test_key_file_is_owner_only_hex_without_prefix_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE

    NodeKey(ANVIL_KEY).write(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == ANVIL_KEY.hex() + "\n"
    assert NodeKey.read(path) == NodeKey(ANVIL_KEY)


def test_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    NodeKey(ANVIL_KEY).write(path)

    with pytest.raises(FileExistsError):
        NodeKey.generate().write(path)

    assert NodeKey.read(path) == NodeKey(ANVIL_KEY)


def test_key_file_read_accepts_a_0x_prefix_as_besu_writes_it(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    path.write_text("0x" + ANVIL_KEY.hex())

    assert NodeKey.read(path).address == ANVIL_ADDRESS


@pytest.mark.parametrize("content", ["not hex", "00" * 32, "ff" * 32, "ab" * 31])
def test_key_file_read_rejects_non_keys_without_quoting_them(tmp_path: Path, content: str) -> None:
    path = tmp_path / KEY_FILE
    path.write_text(content)

    with pytest.raises(ConfigError, match="cannot read the node key") as caught:
        NodeKey.read(path)

    assert content not in caught.value.message


def test_writing_key_files_keeps_a_key_the_folder_holds(tmp_path: Path) -> None:
    folder = tmp_path / "node"
    kept = NodeKey.generate()

    write_key_files(folder, kept)
    write_key_files(folder, NodeKey.generate())

    assert NodeKey.read(folder / KEY_FILE) == kept
    assert (folder / PUBLIC_KEY_FILE).read_text() == kept.public_key + "\n"


def test_a_members_node_has_its_validator_address_enode_and_ports() -> None:
    key = NodeKey(ANVIL_KEY)
    member = make_member("RU", 2, key=key, host="ru-node.example")

    node = Node.of(member)

    assert (node.code, node.validator, node.enode) == ("RU", ANVIL_ADDRESS, member.enode)
    assert (node.p2p_port, node.rpc_port, node.admin_port) == (30305, 8547, 8647)
    assert node.admin_url == "ws://127.0.0.1:8647"


def test_besu_config_parses_as_toml_with_zero_gas_permissions_and_local_rpc() -> None:
    config = _parsed_config(_node(NodeKey(ANVIL_KEY)))

    assert config["min-gas-price"] == 0
    assert config["rpc-http-enabled"] is True
    assert config["rpc-http-host"] == "127.0.0.1"
    assert config["rpc-http-port"] == 8545
    assert config["host-allowlist"] == ["127.0.0.1", "localhost"]
    assert config["rpc-gas-cap"] == GAS_CAP
    assert config["p2p-host"] == "127.0.0.1"
    assert config["p2p-port"] == 30303
    assert config["node-private-key-file"] == KEY_FILE
    assert config["genesis-file"] == "genesis.json"
    assert config["static-nodes-file"] == "static-nodes.json"
    assert config["permissions-accounts-config-file-enabled"] is True
    assert config["permissions-nodes-config-file-enabled"] is True
    assert config["permissions-accounts-config-file"] == "permissions_config.toml"
    assert config["permissions-nodes-config-file"] == "permissions_config.toml"
    assert "bootnodes" not in config  # the first node is the others' bootnode
    assert config["Xdns-enabled"] is True  # enode URLs may name hosts


def test_besu_config_names_bootnodes_and_allows_the_rpc_host() -> None:
    bootnode = _node(NodeKey.generate()).enode
    node = _node(NodeKey(ANVIL_KEY), port=30304)

    config = besu_config(node, rpc_host="10.1.2.3", rpc_gas_cap=GAS_CAP, bootnodes=[bootnode])

    assert config["bootnodes"] == [bootnode]
    assert "10.1.2.3" in config["host-allowlist"]


def test_besu_config_serves_only_the_services_apis_over_http() -> None:
    config = _parsed_config(_node(NodeKey(ANVIL_KEY)), rpc_host="0.0.0.0")

    # kpchain calls eth_*, net_version and web3_clientVersion, and no txpool_* method.
    assert config["rpc-http-api"] == ["ETH", "NET", "WEB3"]


@pytest.mark.parametrize("rpc_host", ["127.0.0.1", "0.0.0.0", "10.1.2.3"])
def test_besu_config_serves_the_admin_apis_on_a_loopback_websocket_listener(
    rpc_host: str,
) -> None:
    node = _node(NodeKey(ANVIL_KEY))

    config = _parsed_config(node, rpc_host=rpc_host)

    assert config["rpc-ws-enabled"] is True
    assert config["rpc-ws-host"] == "127.0.0.1"
    assert config["rpc-ws-port"] == 8645 != config["rpc-http-port"]
    assert config["rpc-ws-api"] == list(ADMIN_APIS)
    assert set(config["rpc-ws-api"]) >= ADMINISTERING_APIS
    assert node.admin_url == "ws://127.0.0.1:8645"
