"""`kpchain consortium init`, `permissions` and `call` through the `kpchain` command:
participants from a file and from the seeded registry on a real anvil, and pushes and calls to
the admin listener of a `FakeBesuPermissions` node (Besu itself cannot run here; see
tests/consortium/fake_besu.py)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rlp
from click.testing import CliRunner, Result
from eth_account import Account
from eth_utils.address import to_checksum_address
from fake_besu import FakeBesuPermissions
from support_consortium import free_port, write_deployments_file

from kpchain.cli import main
from kpchain.devnet.anvil import AnvilNode
from kpchain.devnet.seed import governor_account, participant_account
from kpchain.errors import ConfigError
from support_chain import Devnet

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
PARTICIPANTS_YAML = """\
BW:
  admin: "0x00000000000000000000000000000000000000b1"
  authorities: ["0x00000000000000000000000000000000000000b2"]
RU: {authorities: ["0x00000000000000000000000000000000000000c2"]}
EU: {authorities: ["0x00000000000000000000000000000000000000d2"]}
AE: {authorities: ["0x00000000000000000000000000000000000000e2"]}
IN: {authorities: []}
"""


def _invoke(*args: str | Path) -> Result:
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


@pytest.fixture
def settings_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_settings: None) -> Path:
    """A working directory without a deployments file, and no KPCHAIN_* from the shell."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def node() -> Iterator[FakeBesuPermissions]:
    """A node whose allowlist holds the deployer and one account the registry does not know."""
    stranger = Account.create().address
    with FakeBesuPermissions(allowlist=[DEPLOYER, stranger]).running() as fake:
        yield fake


# --- init ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("settings_in")
def test_init_from_a_participants_file_writes_a_network_besu_can_read(tmp_path: Path) -> None:
    participants = tmp_path / "participants.yaml"
    participants.write_text(PARTICIPANTS_YAML)
    out = tmp_path / "net"

    result = _invoke(
        "consortium", "init", "--validators", "BW,RU,EU,AE,IN", "--participants", participants,
        "--deployer", DEPLOYER.lower(), "--fund", "--out", out,
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "network.json").read_text())
    genesis = json.loads((out / "genesis.json").read_text())
    _vanity, validators, _vote, _round, _seals = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    assert sorted(to_checksum_address(v) for v in validators) == sorted(
        node["validator"] for node in summary["nodes"].values()
    )
    assert genesis["config"]["chainId"] == 7102
    assert DEPLOYER in genesis["alloc"]
    permissions = _toml(out / "nodes" / "IN" / "permissions_config.toml")
    assert permissions["accounts-allowlist"] == sorted(
        [
            DEPLOYER,
            *(
                to_checksum_address(f"0x{'0' * 38}{suffix}")
                for suffix in ("b1", "b2", "c2", "d2", "e2")
            ),
        ],
        key=str.lower,
    )
    assert permissions["nodes-allowlist"] == [node["enode"] for node in summary["nodes"].values()]
    for code, node in summary["nodes"].items():
        assert node["validator"] in result.stdout
        private_key = (out / "nodes" / code / "key").read_text().strip()
        assert private_key not in result.stdout + result.stderr
    assert "README.md" in result.stdout


@pytest.mark.usefixtures("settings_in")
def test_init_from_the_registry_allowlists_its_current_authorities(
    seeded: Devnet, anvil: AnvilNode, tmp_path: Path
) -> None:
    revoked = participant_account("EU", "authority").address
    seeded.revoke_authority("EU", revoked)
    out = tmp_path / "net"

    result = _invoke(
        "consortium", "init", "--validators", "BW, RU, EU, AE, IN", "--rpc-url", anvil.rpc_url,
        "--registry", seeded.address, "--deployer", DEPLOYER, "--out", out,
        "--host", "10.0.0.1", "--host", "EU=eu.example", "--chain-id", "7777",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    allowlist = _toml(out / "nodes" / "BW" / "permissions_config.toml")["accounts-allowlist"]
    assert participant_account("BW", "authority").address in allowlist
    assert participant_account("VE", "admin").address in allowlist
    assert participant_account("VE", "authority").address not in allowlist  # suspended
    assert revoked not in allowlist
    nodes = json.loads((out / "network.json").read_text())["nodes"]
    assert nodes["BW"]["enode"].endswith("@10.0.0.1:30303")
    assert nodes["EU"]["enode"].endswith("@eu.example:30305")
    assert json.loads((out / "genesis.json").read_text())["config"]["chainId"] == 7777


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ((), "--participants FILE, or --rpc-url URL"),
        (("--participants", "participants.yaml", "--rpc-url", "http://x"), "one of them"),
        (("--participants", "participants.yaml", "--host", "a", "--host", "b"), "give one"),
    ],
    ids=["no-source", "two-sources", "two-shared-hosts"],
)
@pytest.mark.usefixtures("settings_in")
def test_init_refuses_unclear_options(
    tmp_path: Path, source: tuple[str, ...], problem: str
) -> None:
    (tmp_path / "participants.yaml").write_text(PARTICIPANTS_YAML)

    result = _invoke(
        "consortium", "init", "--validators", "BW", "--deployer", DEPLOYER, "--out", "net", *source
    )

    assert result.exit_code == 1
    assert f"{ConfigError.code}: " in result.stderr
    assert problem in result.stderr
    assert not (tmp_path / "net").exists()


@pytest.mark.usefixtures("settings_in")
def test_init_with_an_unknown_validator_says_which_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "participants.yaml").write_text(PARTICIPANTS_YAML)

    result = _invoke(
        "consortium", "init", "--validators", "BW,ZZ", "--participants", "participants.yaml",
        "--deployer", DEPLOYER, "--out", "net",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "validator ZZ is not a participant (known: AE, BW, EU, IN, RU)" in result.stderr
    assert not (tmp_path / "net").exists()


@pytest.mark.usefixtures("settings_in")
def test_init_keeps_admin_apis_off_a_public_rpc_host_and_caps_gas(tmp_path: Path) -> None:
    (tmp_path / "participants.yaml").write_text(PARTICIPANTS_YAML)
    out = tmp_path / "net"

    result = _invoke(
        "consortium", "init", "--validators", "BW,RU", "--participants", "participants.yaml",
        "--deployer", DEPLOYER, "--out", out, "--rpc-host", "0.0.0.0",
        "--admin-port-base", "9100", "--gas-limit", "40000000", "--rpc-gas-cap", "20000000",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    config = _toml(out / "nodes" / "RU" / "config.toml")
    assert config["rpc-http-host"] == "0.0.0.0"
    assert not {"ADMIN", "QBFT", "PERM", "TXPOOL"} & set(config["rpc-http-api"])
    assert (config["rpc-ws-host"], config["rpc-ws-port"]) == ("127.0.0.1", 9101)
    assert {"ADMIN", "QBFT", "PERM"} <= set(config["rpc-ws-api"])
    assert config["rpc-gas-cap"] == 20_000_000
    assert json.loads((out / "genesis.json").read_text())["gasLimit"] == hex(40_000_000)
    assert "admin ws://127.0.0.1:9101" in result.stdout
    assert "RPC gas cap 20,000,000" in result.stdout


@pytest.mark.usefixtures("settings_in")
def test_init_refuses_a_gas_cap_above_the_block_gas_limit(tmp_path: Path) -> None:
    (tmp_path / "participants.yaml").write_text(PARTICIPANTS_YAML)

    result = _invoke(
        "consortium", "init", "--validators", "BW", "--participants", "participants.yaml",
        "--deployer", DEPLOYER, "--out", "net", "--rpc-gas-cap", "50000001",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "--rpc-gas-cap 50000001 must be from 21,000 to the block gas limit" in result.stderr
    assert not (tmp_path / "net").exists()


# --- permissions -----------------------------------------------------------------------------


def test_permissions_writes_the_registrys_allowlist_keeping_the_nodes_allowlist(
    settings_in: Path, seeded: Devnet, anvil: AnvilNode
) -> None:
    write_deployments_file(settings_in, seeded.address)
    enode = "enode://" + "ab" * 64 + "@127.0.0.1:30303"
    out = settings_in / "permissions_config.toml"
    out.write_text(f'accounts-allowlist = ["{DEPLOYER}"]\nnodes-allowlist = ["{enode}"]\n')

    result = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url, "--out", out)

    assert result.exit_code == 0, result.stderr
    written = _toml(out)
    assert written["nodes-allowlist"] == [enode]
    governor = governor_account().address
    assert governor in written["accounts-allowlist"]  # deployer and governor, from deployments
    assert f"{governor}  deployer, governor" in result.stdout
    assert participant_account("BW", "authority").address in written["accounts-allowlist"]
    assert f"registry {seeded.address}" in result.stdout


def test_permissions_push_follows_the_registry_after_a_revocation(
    settings_in: Path, seeded: Devnet, anvil: AnvilNode, node: FakeBesuPermissions
) -> None:
    write_deployments_file(settings_in, seeded.address)
    stranger = node.allowlist[1]
    first = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", node.url)
    revoked = participant_account("BW", "authority").address
    seeded.revoke_authority("BW", revoked)

    dry = _invoke(
        "consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", node.url, "--dry-run"
    )
    dry_allowlist = list(node.allowlist)
    second = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", node.url)
    third = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", node.url)

    assert first.exit_code == second.exit_code == third.exit_code == 0, first.stderr
    assert f"{node.url}: removed {stranger}" in first.stdout
    assert f"{node.url}: would remove {revoked.lower()}" in dry.stdout
    assert revoked.lower() in dry_allowlist
    assert f"{node.url}: removed {revoked.lower()}" in second.stdout
    assert revoked.lower() not in node.allowlist
    assert governor_account().address.lower() in node.allowlist
    assert f"{node.url}: up to date" in third.stdout


def test_permissions_push_to_a_node_without_the_perm_api_fails_clearly(
    settings_in: Path, seeded: Devnet, anvil: AnvilNode
) -> None:
    write_deployments_file(settings_in, seeded.address)

    with FakeBesuPermissions(enabled=False).running() as fake:
        result = _invoke(
            "consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", fake.url
        )

    assert result.exit_code == 1
    assert "chain_error: " in result.stderr
    assert "Account allowlist has not been enabled" in result.stderr


def test_permissions_push_goes_to_the_admin_listener_init_wrote(
    settings_in: Path, seeded: Devnet, anvil: AnvilNode
) -> None:
    write_deployments_file(settings_in, seeded.address)
    participants = settings_in / "participants.yaml"
    participants.write_text(PARTICIPANTS_YAML)
    out = settings_in / "net"
    init = _invoke(
        "consortium", "init", "--validators", "BW", "--participants", participants,
        "--deployer", DEPLOYER, "--out", out, "--rpc-host", "0.0.0.0",
        "--admin-port-base", str(free_port()),
    )  # fmt: skip
    assert init.exit_code == 0, init.stderr
    bw = json.loads((out / "network.json").read_text())["nodes"]["BW"]

    with FakeBesuPermissions.for_node(out / "nodes" / "BW").running() as fake:
        push = _invoke(
            "consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", bw["admin_url"]
        )
        listed = _invoke("consortium", "call", bw["admin_url"], "perm_getAccountsAllowlist")

    assert push.exit_code == listed.exit_code == 0, push.stderr + listed.stderr
    assert bw["admin_url"].startswith("ws://127.0.0.1:")
    assert fake.url == bw["admin_url"]
    assert f"{bw['admin_url']}: removed " in push.stdout  # the file's accounts, not the registry's
    assert participant_account("BW", "authority").address.lower() in fake.allowlist
    assert json.loads(listed.stdout) == fake.allowlist
    assert fake.methods()[-1] == "perm_getAccountsAllowlist"


def test_permissions_push_to_the_http_listener_says_to_use_the_admin_listener(
    settings_in: Path, seeded: Devnet, anvil: AnvilNode, node: FakeBesuPermissions
) -> None:
    write_deployments_file(settings_in, seeded.address)
    http_url = node.url.replace("ws://", "http://")

    result = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", http_url)

    assert result.exit_code == 1
    assert f"config_error: {http_url} is not a node's admin listener" in result.stderr
    assert "network.json's admin_url" in result.stderr
    assert node.requests == []


@pytest.mark.usefixtures("settings_in")
def test_call_reads_params_as_json_or_else_as_strings(node: FakeBesuPermissions) -> None:
    added = Account.create().address

    result = _invoke(
        "consortium", "call", node.url, "perm_addAccountsToAllowlist", json.dumps([added])
    )
    refused = _invoke("consortium", "call", node.url, "perm_removeAccountsFromAllowlist", "0x12")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == "Success"
    assert added.lower() in node.allowlist
    assert node.requests[-1] == ("perm_removeAccountsFromAllowlist", ["0x12"])
    assert refused.exit_code == 1
    assert "refused perm_removeAccountsFromAllowlist" in refused.stderr


@pytest.mark.usefixtures("settings_in", "anvil")
def test_permissions_without_a_registry_says_how_to_name_one(anvil: AnvilNode) -> None:
    result = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url)

    assert result.exit_code == 1
    assert "no registry address: give --registry" in result.stderr
