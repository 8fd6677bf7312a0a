"""`create_network`: the files of a QBFT network, checked against each other and against Besu's
formats (JSON, TOML, RLP extraData, enode URLs), and the operator README."""

from __future__ import annotations

import json
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_utils.address import to_checksum_address

from kpchain.chain.transactions import GAS_HEADROOM, GAS_MARGIN, TX_GAS_CAP
from kpchain.consortium.generate import (
    FUNDED_BALANCE_WEI,
    ConsortiumNetwork,
    NetworkOptions,
    create_network,
)
from kpchain.consortium.genesis import QbftParameters
from kpchain.consortium.nodes import NodeKey
from kpchain.consortium.participants import Participant
from kpchain.contracts.enums import ParticipantStatus
from kpchain.errors import ConfigError

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
VALIDATORS = ("BW", "RU", "EU", "AE", "IN")
GAS_BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "gas.json"
CODE_BLOCK = re.compile(r"^ *```sh\n(.*?)^ *```", re.MULTILINE | re.DOTALL)


def _account(n: int) -> str:
    return to_checksum_address(f"0x{n:040x}")


PARTICIPANTS = {
    code: Participant(
        code=code,
        status=ParticipantStatus.ACTIVE,
        admin=_account(2 * i + 1),
        authorities=(_account(2 * i + 2),),
    )
    for i, code in enumerate((*VALIDATORS, "ZA"))
}


def _options(**changes: Any) -> NetworkOptions:
    options: dict[str, Any] = {
        "validators": VALIDATORS,
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


@pytest.fixture
def network(tmp_path: Path) -> ConsortiumNetwork:
    return create_network(tmp_path / "net", PARTICIPANTS, _options())


def test_genesis_validators_are_the_node_keys_addresses(network: ConsortiumNetwork) -> None:
    genesis = json.loads((network.directory / "genesis.json").read_text())

    validators = _extra_data_validators(genesis)

    assert sorted(validators, key=str.lower) == validators
    assert set(validators) == {
        NodeKey.read(network.node_folder(node) / "key").address for node in network.nodes
    }
    assert [node.code for node in network.nodes] == list(VALIDATORS)


def test_each_node_folder_is_self_contained_with_an_owner_only_key(
    network: ConsortiumNetwork,
) -> None:
    genesis = (network.directory / "genesis.json").read_bytes()
    for node in network.nodes:
        folder = network.node_folder(node)
        assert stat.S_IMODE((folder / "key").stat().st_mode) == 0o600
        assert (folder / "key.pub").read_text().strip() == node.key.public_key
        assert (folder / "genesis.json").read_bytes() == genesis
        config = _toml(folder / "config.toml")
        for name in ("genesis-file", "node-private-key-file", "static-nodes-file"):
            assert (folder / config[name]).is_file()
        assert (folder / config["permissions-accounts-config-file"]).is_file()


def test_nodes_get_consecutive_ports_and_the_first_node_as_bootnode(
    network: ConsortiumNetwork,
) -> None:
    first = network.nodes[0]
    for index, node in enumerate(network.nodes):
        config = _toml(network.node_folder(node) / "config.toml")
        ports = (config["p2p-port"], config["rpc-http-port"], config["rpc-ws-port"])
        assert ports == (30303 + index, 8545 + index, 8645 + index)
        assert config.get("bootnodes", []) == ([] if node is first else [first.enode])


def test_static_nodes_name_every_other_validator(network: ConsortiumNetwork) -> None:
    for node in network.nodes:
        static = json.loads((network.node_folder(node) / "static-nodes.json").read_text())
        assert static == [other.enode for other in network.nodes if other is not node]


def test_permissions_allow_the_participants_accounts_the_deployer_and_every_node(
    network: ConsortiumNetwork,
) -> None:
    expected_accounts = sorted(
        [DEPLOYER]
        + [p.admin for p in PARTICIPANTS.values() if p.admin]
        + [a for p in PARTICIPANTS.values() for a in p.authorities],
        key=str.lower,
    )
    for node in network.nodes:
        permissions = _toml(network.node_folder(node) / "permissions_config.toml")
        assert permissions == {
            "accounts-allowlist": expected_accounts,
            "nodes-allowlist": [other.enode for other in network.nodes],
        }
    assert all(to_checksum_address(a) == a for a in expected_accounts)


def test_network_file_summarises_without_secrets(network: ConsortiumNetwork) -> None:
    text = (network.directory / "network.json").read_text()
    summary = json.loads(text)

    assert summary["chain_id"] == 7102
    assert summary["nodes"]["BW"] == {
        "validator": network.nodes[0].validator,
        "enode": network.nodes[0].enode,
        "rpc_url": "http://127.0.0.1:8545",
        "admin_url": "ws://127.0.0.1:8645",
        "folder": "nodes/BW",
    }
    assert summary["rpc_apis"] == ["ETH", "NET", "WEB3"]
    assert summary["admin_apis"] == ["ADMIN", "QBFT", "PERM", "TXPOOL"]
    assert (summary["gas_limit"], summary["rpc_gas_cap"]) == (50_000_000, 50_000_000)
    for node in network.nodes:
        assert node.key.private_key.hex() not in text


def test_readme_tells_operators_how_to_start_check_vote_and_deploy(
    network: ConsortiumNetwork,
) -> None:
    readme = (network.directory / "README.md").read_text()

    assert "cd nodes/BW && besu --config-file=config.toml" in readme
    assert "qbft_getValidatorsByBlockNumber" in readme
    assert "qbft_proposeValidatorVote" in readme
    assert "perm_addNodesToAllowlist" in readme
    assert "kpchain deploy --rpc-url http://127.0.0.1:8545 --chain-id 7102" in readme
    assert "ape run deploy --network ethereum:kp-consortium:node" in readme
    assert "kpchain consortium permissions" in readme
    assert "KPCHAIN_CONFIRMATIONS=0" in readme
    assert "QBFT needs 4 of these 5 validators" in readme
    assert "--push ws://127.0.0.1:8645" in readme
    for node in network.nodes:
        assert node.validator in readme
        assert f"{network.rpc_url(node)} | {node.admin_url} |" in readme
        assert node.key.private_key.hex() not in readme


def test_readme_sends_votes_and_allowlist_changes_to_the_admin_listener_only(
    network: ConsortiumNetwork,
) -> None:
    readme = (network.directory / "README.md").read_text()
    commands = [line for block in CODE_BLOCK.findall(readme) for line in block.splitlines()]

    administering = [line for line in commands if re.search(r"\b(qbft|perm|admin)_", line)]

    assert len(administering) >= 4  # the validators check, a node admitted, a vote, its discard
    for line in administering:
        assert "kpchain consortium call ws://127.0.0.1:" in line, line
        assert "http" not in line, line
    pushes = [line for line in commands if "--push" in line]
    assert pushes
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
        PARTICIPANTS,
        _options(parameters=QbftParameters(gas_limit=30_000_000), rpc_gas_cap=10_000_000),
    )
    following = create_network(
        tmp_path / "following",
        PARTICIPANTS,
        _options(parameters=QbftParameters(gas_limit=8_000_000)),
    )

    assert capped.genesis["gasLimit"] == hex(30_000_000)
    assert _toml(capped.node_folder(capped.nodes[0]) / "config.toml")["rpc-gas-cap"] == 10_000_000
    assert following.genesis["gasLimit"] == hex(8_000_000)
    config = _toml(following.node_folder(following.nodes[0]) / "config.toml")
    assert config["rpc-gas-cap"] == 8_000_000


def test_generating_again_keeps_the_node_keys(network: ConsortiumNetwork) -> None:
    again = create_network(
        network.directory, PARTICIPANTS, _options(validators=(*VALIDATORS, "ZA"))
    )

    assert again.created_keys == ("ZA",)
    assert [node.key for node in again.nodes[:5]] == [node.key for node in network.nodes]


def test_hosts_fund_and_rpc_host_reach_the_files(tmp_path: Path) -> None:
    network = create_network(
        tmp_path,
        PARTICIPANTS,
        _options(
            host="10.0.0.1",
            hosts={"EU": "eu-node.example"},
            fund=True,
            rpc_host="0.0.0.0",
            p2p_port_base=40000,
            admin_port_base=9000,
        ),
    )

    assert network.nodes[0].enode.endswith("@10.0.0.1:40000")
    assert network.nodes[2].enode.endswith("@eu-node.example:40002")
    assert network.genesis["alloc"] == {DEPLOYER: {"balance": hex(FUNDED_BALANCE_WEI)}}
    config = _toml(tmp_path / "nodes" / "BW" / "config.toml")
    assert config["rpc-http-host"] == "0.0.0.0"
    assert (config["rpc-ws-host"], config["rpc-ws-port"]) == ("127.0.0.1", 9000)
    assert network.rpc_url(network.nodes[0]) == "http://127.0.0.1:8545"
    summary = json.loads((tmp_path / "network.json").read_text())
    assert summary["nodes"]["RU"]["admin_url"] == "ws://127.0.0.1:9001"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"validators": ("BW", "XX")}, "XX is not a participant"),
        ({"validators": ("BW", "BW")}, "named twice"),
        ({"validators": ("bw",)}, "two upper-case letters"),
        ({"validators": ()}, "at least one validator"),
        ({"hosts": {"ZA": "10.0.0.9"}}, "ZA, which runs no validator node"),
        ({"rpc_port_base": 65_533}, "past 65535"),
        ({"admin_port_base": 65_533}, "past 65535"),
        ({"admin_port_base": 8549}, "--admin-port-base 8549 falls within the 5 ports from --rpc"),
        ({"admin_port_base": 8545}, "--admin-port-base 8545 falls within the 5 ports from --rpc"),
        ({"rpc_port_base": 30300}, "--p2p-port-base 30303 falls within the 5 ports from --rpc"),
        ({"rpc_gas_cap": 50_000_001}, "--rpc-gas-cap 50000001 must be from 21,000 to the block"),
        ({"rpc_gas_cap": 0}, "Besu reads 0 as no cap"),
        ({"deployer": "0x1234"}, "--deployer"),
    ],
    ids=[
        "unknown",
        "repeated",
        "lower-case",
        "none",
        "stray-host",
        "ports",
        "admin-ports",
        "admin-overlaps-rpc",
        "admin-equals-rpc",
        "rpc-overlaps-p2p",
        "cap-above-limit",
        "no-cap",
        "deployer",
    ],
)
def test_bad_options_raise_config_error_and_write_nothing(
    tmp_path: Path, changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        create_network(tmp_path / "net", PARTICIPANTS, _options(**changes))

    assert not (tmp_path / "net").exists()


def test_a_withdrawn_participant_cannot_run_a_validator(tmp_path: Path) -> None:
    withdrawn = PARTICIPANTS | {
        "RU": Participant("RU", ParticipantStatus.WITHDRAWN, None, ()),
    }

    with pytest.raises(ConfigError, match="RU has withdrawn"):
        create_network(tmp_path, withdrawn, _options())
