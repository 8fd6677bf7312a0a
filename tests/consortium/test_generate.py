"""`create_network` from the members' public parts alone: the files of a QBFT network checked
against each other and against Besu's formats (JSON, TOML, RLP extraData, enode URLs), no
private key anywhere in them, the operator README, and a member added later (`add_member`)."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_utils.address import to_checksum_address
from support_consortium import make_member

from kpchain.chain.transactions import GAS_HEADROOM, GAS_MARGIN, TX_GAS_CAP
from kpchain.consortium.generate import (
    FUNDED_BALANCE_WEI,
    NetworkOptions,
    add_member,
    create_network,
    load_network,
)
from kpchain.consortium.genesis import QbftParameters
from kpchain.consortium.join import JoinOptions, JoinPassphrases, Passphrase, join
from kpchain.consortium.members import Member
from kpchain.consortium.network import ConsortiumNetwork
from kpchain.consortium.nodes import NodeKey
from kpchain.contracts.enums import ParticipantStatus
from kpchain.contracts.founding import Founder
from kpchain.deploy import read_founders, read_validators
from kpchain.errors import ConfigError

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
CODES = ("BW", "RU", "EU", "AE", "IN")
GAS_BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "gas.json"
CODE_BLOCK = re.compile(r"^ *```sh\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
KEYS = {code: NodeKey.generate() for code in (*CODES, "ZA")}  # held by "the governments"
MEMBERS = [make_member(code, index, key=KEYS[code]) for index, code in enumerate(CODES)]
LATER = make_member("ZA", len(CODES), key=KEYS["ZA"], host="za-node.example")


def _options(**changes: Any) -> NetworkOptions:
    options: dict[str, Any] = {
        "parameters": QbftParameters(),
        "deployer": DEPLOYER,
        "genesis_time": 1_790_000_000,
    }
    return NetworkOptions(**(options | changes))


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def _extra_data_validators(genesis: dict[str, Any]) -> list[str]:
    _vanity, validators, _vote, _round, _seals = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    return [to_checksum_address(validator) for validator in validators]


def _files(directory: Path) -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture
def network(tmp_path: Path) -> ConsortiumNetwork:
    return create_network(tmp_path / "net", MEMBERS, _options())


def test_genesis_validators_are_the_members_node_addresses(network: ConsortiumNetwork) -> None:
    genesis = json.loads((network.directory / "genesis.json").read_text())

    validators = _extra_data_validators(genesis)

    assert sorted(validators, key=str.lower) == validators
    assert set(validators) == {member.validator for member in MEMBERS}
    assert set(validators) == {KEYS[code].address for code in CODES}
    assert [node.code for node in network.nodes] == list(CODES)


def test_no_private_key_is_written(network: ConsortiumNetwork) -> None:
    files = _files(network.directory)

    assert not [path for path in files if path.name == "key"]
    for key in KEYS.values():
        assert not [path for path, text in files.items() if key.private_key.hex() in text]


def test_each_node_folder_holds_all_but_the_key(network: ConsortiumNetwork) -> None:
    genesis = (network.directory / "genesis.json").read_bytes()
    for node, member in zip(network.nodes, MEMBERS, strict=True):
        folder = network.node_folder(node)
        assert (folder / "key.pub").read_text().strip() == member.node_public_key
        assert (folder / "genesis.json").read_bytes() == genesis
        config = _toml(folder / "config.toml")
        for name in ("genesis-file", "static-nodes-file", "permissions-accounts-config-file"):
            assert (folder / config[name]).is_file()
        assert config["node-private-key-file"] == "key"  # the operator's own, copied in
        assert not (folder / "key").exists()


def test_an_operators_folder_with_its_join_key_is_a_validator_of_the_genesis(
    tmp_path: Path,
) -> None:
    passphrases = JoinPassphrases(
        *(Passphrase(f"{name} passphrase for the test", variable="V") for name in "abc")
    )
    joined = [
        join(
            tmp_path / code.lower(),
            JoinOptions(code=code, p2p_port=30303 + i, rpc_port=8545 + i, admin_port=8645 + i),
            passphrases,
            work_factor=2**10,
        )
        for i, code in enumerate(("BW", "RU", "EU", "AE"))
    ]

    network = create_network(tmp_path / "net", [r.member for r in joined], _options())
    for result in joined:  # what each operator does at home
        shutil.copytree(network.directory / "nodes" / result.member.code, result.node_folder,
                        dirs_exist_ok=True)  # fmt: skip

    genesis = json.loads((tmp_path / "net" / "genesis.json").read_text())
    for result in joined:
        folder = result.node_folder
        config = _toml(folder / "config.toml")
        key = NodeKey.read(folder / config["node-private-key-file"])
        assert key.address in _extra_data_validators(genesis)
        assert key.public_key == (folder / "key.pub").read_text().strip()
        enode = f"enode://{key.public_key}@127.0.0.1:{config['p2p-port']}"
        assert enode in _toml(folder / "permissions_config.toml")["nodes-allowlist"]


def test_nodes_listen_on_their_members_ports_and_the_first_is_the_bootnode(
    network: ConsortiumNetwork,
) -> None:
    first = network.nodes[0]
    for index, node in enumerate(network.nodes):
        config = _toml(network.node_folder(node) / "config.toml")
        ports = (config["p2p-port"], config["rpc-http-port"], config["rpc-ws-port"])
        assert ports == (30303 + index, 8545 + index, 8645 + index) == MEMBERS[index].ports()
        assert config["p2p-host"] == MEMBERS[index].host
        assert config.get("bootnodes", []) == ([] if node == first else [first.enode])


def test_static_nodes_name_every_other_validator(network: ConsortiumNetwork) -> None:
    for node in network.nodes:
        static = json.loads((network.node_folder(node) / "static-nodes.json").read_text())
        assert static == [other.enode for other in network.nodes if other != node]
    assert [node.enode for node in network.nodes] == [member.enode for member in MEMBERS]


def test_permissions_allow_the_members_accounts_the_deployer_and_every_node(
    network: ConsortiumNetwork,
) -> None:
    expected_accounts = sorted(
        [DEPLOYER, *(m.admin for m in MEMBERS), *(m.authority for m in MEMBERS)], key=str.lower
    )
    for node in network.nodes:
        permissions = _toml(network.node_folder(node) / "permissions_config.toml")
        assert permissions == {
            "accounts-allowlist": expected_accounts,
            "nodes-allowlist": [member.enode for member in MEMBERS],
        }
    reasons = {account.address: account.reasons for account in network.allowlist}
    assert reasons[MEMBERS[0].admin] == ("BW admin",)
    assert reasons[MEMBERS[0].authority] == ("BW authority",)
    assert MEMBERS[0].validator not in reasons  # a node key sends no transaction


def test_network_file_summarises_the_nodes_and_members(network: ConsortiumNetwork) -> None:
    summary = json.loads((network.directory / "network.json").read_text())

    assert summary["chain_id"] == 7102
    assert summary["nodes"]["BW"] == {
        "validator": MEMBERS[0].validator,
        "enode": MEMBERS[0].enode,
        "rpc_url": "http://127.0.0.1:8545",
        "admin_url": "ws://127.0.0.1:8645",
        "folder": "nodes/BW",
    }
    assert summary["members"]["RU"] == MEMBERS[1].model_dump()
    assert summary["rpc_apis"] == ["ETH", "NET", "WEB3"]
    assert summary["admin_apis"] == ["ADMIN", "QBFT", "PERM", "TXPOOL"]
    assert (summary["gas_limit"], summary["rpc_gas_cap"]) == (50_000_000, 50_000_000)
    assert load_network(network.directory) == network


def test_readme_tells_operators_how_to_place_start_check_deploy_and_admit(
    network: ConsortiumNetwork,
) -> None:
    readme = (network.directory / "README.md").read_text()

    assert "cp -r nodes/BW/. <BW's join folder>/node/" in readme
    assert "cd node && besu --config-file=config.toml" in readme
    assert "qbft_getValidatorsByBlockNumber" in readme
    assert "kpchain consortium join XX --out xx/" in readme
    assert "kpchain consortium add-member public-XX.json --network ." in readme
    assert "POST /v1/governance/proposals" in readme
    assert "qbft_proposeValidatorVote" in readme
    assert "perm_addNodesToAllowlist" in readme
    assert "kpchain deploy --rpc-url http://127.0.0.1:8545 --chain-id 7102" in readme
    assert "ape run deploy --network ethereum:kp-consortium:node" in readme
    assert "kpchain consortium permissions" in readme
    assert "KPCHAIN_CONFIRMATIONS=0" in readme
    assert "QBFT needs 4 of these 5 validators" in readme
    assert "--push ws://127.0.0.1:8645" in readme
    for node, member in zip(network.nodes, MEMBERS, strict=True):
        assert node.validator in readme
        assert f"{network.rpc_url(node)} | {node.admin_url} |" in readme
        assert (
            f"`{member.admin}` | `{member.authority}` | `{member.encryption_public_key}`" in readme
        )


def test_readme_sends_votes_and_allowlist_changes_to_the_admin_listener_only(
    network: ConsortiumNetwork,
) -> None:
    readme = (network.directory / "README.md").read_text()
    commands = [line for block in CODE_BLOCK.findall(readme) for line in block.splitlines()]

    administering = [line for line in commands if re.search(r"\b(qbft|perm|admin)_", line)]

    assert len(administering) >= 5  # the validators check, a node admitted, peer, vote, discard
    for line in administering:
        assert "kpchain consortium call ws://127.0.0.1:" in line, line
        assert "http" not in line, line
    pushes = [line for line in commands if "--push" in line]
    assert len(pushes) >= 4  # permissions and add-member, each with a dry run first
    assert all("--push ws://127.0.0.1:" in line for line in pushes)


# --- gas ---------------------------------------------------------------------------------------


def test_default_gas_limit_and_rpc_gas_cap_reach_genesis_and_every_node(
    network: ConsortiumNetwork,
) -> None:
    genesis = json.loads((network.directory / "genesis.json").read_text())

    assert int(genesis["gasLimit"], 16) == 50_000_000
    for node in network.nodes:
        assert _toml(network.node_folder(node) / "config.toml")["rpc-gas-cap"] == 50_000_000


def test_default_gas_limit_holds_a_batch_of_100_issues_as_the_service_sends_it() -> None:
    batch = json.loads(GAS_BENCHMARK.read_text())["issue_batch_100"]["gas"]

    sent = min(int(batch * GAS_MARGIN) + GAS_HEADROOM, TX_GAS_CAP)  # the service's gas limit

    assert batch <= sent <= QbftParameters().gas_limit


def test_gas_limit_and_rpc_gas_cap_are_configurable_and_the_cap_follows_the_limit(
    tmp_path: Path,
) -> None:
    capped = create_network(
        tmp_path / "capped",
        MEMBERS,
        _options(parameters=QbftParameters(gas_limit=30_000_000), rpc_gas_cap=10_000_000),
    )
    following = create_network(
        tmp_path / "following", MEMBERS, _options(parameters=QbftParameters(gas_limit=8_000_000))
    )

    assert capped.genesis["gasLimit"] == hex(30_000_000)
    assert _toml(capped.node_folder(capped.nodes[0]) / "config.toml")["rpc-gas-cap"] == 10_000_000
    assert following.genesis["gasLimit"] == hex(8_000_000)
    config = _toml(following.node_folder(following.nodes[0]) / "config.toml")
    assert config["rpc-gas-cap"] == 8_000_000


def test_fund_and_rpc_host_reach_the_files(tmp_path: Path) -> None:
    members = [
        make_member("BW", 0, host="10.0.0.1"),
        make_member("EU", 1, host="eu-node.example", p2p_port=40000, admin_port=9000),
    ]

    network = create_network(tmp_path, members, _options(fund=True, rpc_host="0.0.0.0"))

    assert network.nodes[1].enode.endswith("@eu-node.example:40000")
    assert network.genesis["alloc"] == {DEPLOYER: {"balance": hex(FUNDED_BALANCE_WEI)}}
    config = _toml(tmp_path / "nodes" / "EU" / "config.toml")
    assert config["rpc-http-host"] == "0.0.0.0"
    assert (config["rpc-ws-host"], config["rpc-ws-port"]) == ("127.0.0.1", 9000)
    assert network.rpc_url(network.nodes[0]) == "http://127.0.0.1:8545"
    summary = json.loads((tmp_path / "network.json").read_text())
    assert summary["nodes"]["EU"]["admin_url"] == "ws://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("members", "changes", "problem"),
    [
        ([], {}, "name the founding members"),
        ([MEMBERS[0], MEMBERS[0]], {}, "two members share a participant code: BW"),
        (MEMBERS, {"rpc_gas_cap": 50_000_001}, "--rpc-gas-cap 50000001 must be from 21,000"),
        (MEMBERS, {"rpc_gas_cap": 0}, "Besu reads 0 as no cap"),
        (MEMBERS, {"deployer": "0x1234"}, "--deployer"),
    ],
    ids=["none", "repeated", "cap-above-limit", "no-cap", "deployer"],
)
def test_bad_input_raises_config_error_and_writes_nothing(
    tmp_path: Path, members: list[Member], changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        create_network(tmp_path / "net", members, _options(**changes))

    assert not (tmp_path / "net").exists()


def test_a_node_folder_holding_another_key_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "net" / "nodes" / "RU"
    folder.mkdir(parents=True)
    NodeKey.generate().write(folder / "key")  # left by an older init that made every key

    with pytest.raises(ConfigError, match="nodes/RU/key is not RU's node key"):
        create_network(tmp_path / "net", MEMBERS, _options())

    assert not (tmp_path / "net" / "genesis.json").exists()


def test_a_node_folder_holding_its_members_own_key_keeps_it(tmp_path: Path) -> None:
    folder = tmp_path / "net" / "nodes" / "BW"
    folder.mkdir(parents=True)
    KEYS["BW"].write(folder / "key")

    create_network(tmp_path / "net", MEMBERS, _options())

    assert NodeKey.read(folder / "key") == KEYS["BW"]


# --- a member added later ----------------------------------------------------------------------


def test_a_later_member_gets_a_node_folder_and_the_genesis_stays(
    network: ConsortiumNetwork,
) -> None:
    genesis = (network.directory / "genesis.json").read_bytes()

    updated, added = add_member(load_network(network.directory), LATER)

    assert added
    assert (network.directory / "genesis.json").read_bytes() == genesis
    folder = network.directory / "nodes" / "ZA"
    assert (folder / "genesis.json").read_bytes() == genesis
    assert (folder / "key.pub").read_text().strip() == LATER.node_public_key
    assert not (folder / "key").exists()
    config = _toml(folder / "config.toml")
    assert (config["p2p-host"], config["p2p-port"]) == ("za-node.example", LATER.p2p_port)
    assert config["bootnodes"] == [MEMBERS[0].enode]
    static = json.loads((folder / "static-nodes.json").read_text())
    assert static == [member.enode for member in MEMBERS]
    summary = json.loads((network.directory / "network.json").read_text())
    assert summary["members"]["ZA"] == LATER.model_dump()
    assert load_network(network.directory) == updated


def test_a_later_member_reaches_every_nodes_allowlists(network: ConsortiumNetwork) -> None:
    add_member(network, LATER)

    for code in (*CODES, "ZA"):
        folder = network.directory / "nodes" / code
        permissions = _toml(folder / "permissions_config.toml")
        assert LATER.enode in permissions["nodes-allowlist"]
        assert {LATER.admin, LATER.authority} <= set(permissions["accounts-allowlist"])
        assert DEPLOYER in permissions["accounts-allowlist"]
        if code != "ZA":
            static = json.loads((folder / "static-nodes.json").read_text())
            assert LATER.enode in static


def test_adding_the_same_member_again_changes_nothing(network: ConsortiumNetwork) -> None:
    once, _ = add_member(network, LATER)
    files = _files(network.directory)

    twice, added = add_member(load_network(network.directory), LATER)

    assert not added
    assert twice == once
    assert _files(network.directory) == files


def test_another_member_under_a_known_code_is_refused(network: ConsortiumNetwork) -> None:
    impostor = make_member("RU", 9, host="10.6.6.6")
    files = _files(network.directory)

    with pytest.raises(ConfigError, match="the network's RU has other public parts"):
        add_member(network, impostor)

    assert _files(network.directory) == files


def test_a_later_member_reusing_a_node_is_refused(network: ConsortiumNetwork) -> None:
    reused = make_member("ZA", 9, key=KEYS["BW"], host="10.0.0.9")

    with pytest.raises(ConfigError, match="share a node"):
        add_member(network, reused)


def test_a_folder_init_did_not_write_is_refused(tmp_path: Path) -> None:
    (tmp_path / "network.json").write_text('{"chain_id": 7102, "nodes": {}}')

    with pytest.raises(ConfigError, match="is not a network folder"):
        load_network(tmp_path)


def test_network_json_serves_kpchain_deploy_as_founders_and_validators_file(
    tmp_path: Path,
) -> None:
    create_network(tmp_path / "net", MEMBERS, _options())
    network_file = tmp_path / "net" / "network.json"

    founders = read_founders(network_file)
    validators = read_validators(network_file)

    assert founders == [
        Founder(code=member.code, admin=member.admin, status=ParticipantStatus.ACTIVE)
        for member in MEMBERS
    ]
    assert validators == tuple(member.validator for member in MEMBERS)
