"""`kpchain consortium join`, `init`, `add-member`, `permissions` and `call` through the
`kpchain` command: keys made and kept without a secret shown, a network from the members' public
parts, the registry on a real anvil, and pushes, votes and calls to the admin listener of a
`FakeBesu` node (Besu itself cannot run here; see tests/consortium/fake_besu.py)."""

from __future__ import annotations

import json
import shlex
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rlp
from click.testing import CliRunner, Result
from eth_account import Account
from eth_utils.address import to_checksum_address
from fake_besu import FakeBesu
from support_consortium import free_port, make_member, write_deployments_file

from kpchain.cli import main
from kpchain.consortium.encryption import EncryptionKey
from kpchain.consortium.members import Member
from kpchain.consortium.nodes import NodeKey
from kpchain.devnet.anvil import AnvilNode
from kpchain.devnet.seed import governor_account, participant_account
from kpchain.errors import ConfigError
from kpchain.signing.keystore import KeystoreSigner
from support_chain import Devnet

DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


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
def node() -> Iterator[FakeBesu]:
    """A node whose allowlist holds the deployer and one account the registry does not know."""
    stranger = Account.create().address
    with FakeBesu(allowlist=[DEPLOYER, stranger]).running() as fake:
        yield fake


# --- init ------------------------------------------------------------------------------------


def _members_folder(directory: Path, *codes: str, **changes: Any) -> tuple[Path, list[Member]]:
    """A folder of the members' public.json files, as the founding members sent them."""
    directory.mkdir(parents=True, exist_ok=True)
    members = [make_member(code, index, **changes) for index, code in enumerate(codes)]
    for member in members:
        member.write(directory / f"public-{member.code}.json")
    return directory, members


@pytest.mark.usefixtures("settings_in")
def test_init_from_the_members_public_parts_writes_a_network_besu_can_read(
    tmp_path: Path,
) -> None:
    folder, members = _members_folder(tmp_path / "members", "BW", "RU", "EU", "AE", "IN")
    out = tmp_path / "net"

    result = _invoke(
        "consortium", "init", "--members", folder, "--deployer", DEPLOYER.lower(), "--fund",
        "--out", out,
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "network.json").read_text())
    genesis = json.loads((out / "genesis.json").read_text())
    _vanity, validators, _vote, _round, _seals = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    assert sorted(to_checksum_address(v) for v in validators) == sorted(
        member.validator for member in members
    )
    assert genesis["config"]["chainId"] == 7102
    assert DEPLOYER in genesis["alloc"]
    permissions = _toml(out / "nodes" / "IN" / "permissions_config.toml")
    assert permissions["accounts-allowlist"] == sorted(
        [DEPLOYER, *(m.admin for m in members), *(m.authority for m in members)], key=str.lower
    )
    assert permissions["nodes-allowlist"] == [node["enode"] for node in summary["nodes"].values()]
    assert [path.name for path in out.rglob("key")] == []
    assert list(summary["nodes"]) == ["AE", "BW", "EU", "IN", "RU"]  # the folder, by file name
    for member in members:
        assert member.validator in result.stdout
    assert "holds no secret" in result.stdout
    assert "README.md" in result.stdout


@pytest.mark.usefixtures("settings_in")
def test_init_takes_member_files_in_the_order_given(tmp_path: Path) -> None:
    folder, members = _members_folder(tmp_path / "members", "RU", "BW")

    result = _invoke(
        "consortium", "init", "--members", folder / "public-RU.json",
        "--members", folder / "public-BW.json", "--deployer", DEPLOYER, "--out", "net",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    ru = _toml(tmp_path / "net" / "nodes" / "RU" / "config.toml")
    bw = _toml(tmp_path / "net" / "nodes" / "BW" / "config.toml")
    assert "bootnodes" not in ru
    assert bw["bootnodes"] == [members[0].enode]


@pytest.mark.usefixtures("settings_in")
def test_init_refuses_members_that_share_a_node_and_writes_nothing(tmp_path: Path) -> None:
    folder, _ = _members_folder(tmp_path / "members", "BW")
    copy = json.loads((folder / "public-BW.json").read_text()) | {"code": "RU"}
    (folder / "public-RU.json").write_text(json.dumps(copy))  # BW's file sent on as RU's

    result = _invoke(
        "consortium", "init", "--members", folder, "--deployer", DEPLOYER, "--out", "net"
    )

    assert result.exit_code == 1
    assert f"{ConfigError.code}: two members share a node" in result.stderr
    assert not (tmp_path / "net").exists()


@pytest.mark.usefixtures("settings_in")
def test_init_refuses_a_malformed_member_file_naming_it(tmp_path: Path) -> None:
    folder, (bw,) = _members_folder(tmp_path / "members", "BW")
    path = folder / "public-BW.json"
    path.write_text(json.dumps(bw.model_dump() | {"validator": Account.create().address}))

    result = _invoke(
        "consortium", "init", "--members", path, "--deployer", DEPLOYER, "--out", "net"
    )

    assert result.exit_code == 1
    assert f"member file {path} is not a member's public parts" in result.stderr
    assert "the enode's public key has address" in result.stderr
    assert not (tmp_path / "net").exists()


@pytest.mark.usefixtures("settings_in")
def test_init_needs_the_members(tmp_path: Path) -> None:
    result = _invoke("consortium", "init", "--deployer", DEPLOYER, "--out", "net")

    assert result.exit_code == 2
    assert "Missing option '--members'" in result.stderr


@pytest.mark.usefixtures("settings_in")
def test_init_keeps_admin_apis_off_a_public_rpc_host_and_caps_gas(tmp_path: Path) -> None:
    folder, _ = _members_folder(tmp_path / "members", "BW", "RU")
    out = tmp_path / "net"

    result = _invoke(
        "consortium", "init", "--members", folder, "--deployer", DEPLOYER, "--out", out,
        "--rpc-host", "0.0.0.0", "--gas-limit", "40000000", "--rpc-gas-cap", "20000000",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    config = _toml(out / "nodes" / "RU" / "config.toml")
    assert config["rpc-http-host"] == "0.0.0.0"
    assert not {"ADMIN", "QBFT", "PERM", "TXPOOL"} & set(config["rpc-http-api"])
    assert (config["rpc-ws-host"], config["rpc-ws-port"]) == ("127.0.0.1", 8646)
    assert {"ADMIN", "QBFT", "PERM"} <= set(config["rpc-ws-api"])
    assert config["rpc-gas-cap"] == 20_000_000
    assert json.loads((out / "genesis.json").read_text())["gasLimit"] == hex(40_000_000)
    assert "admin ws://127.0.0.1:8646" in result.stdout
    assert "RPC gas cap 20,000,000" in result.stdout


@pytest.mark.usefixtures("settings_in")
def test_init_refuses_a_gas_cap_above_the_block_gas_limit(tmp_path: Path) -> None:
    folder, _ = _members_folder(tmp_path / "members", "BW")

    result = _invoke(
        "consortium", "init", "--members", folder, "--deployer", DEPLOYER, "--out", "net",
        "--rpc-gas-cap", "50000001",
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
    assert governor in written["accounts-allowlist"]  # the deployer, from deployments
    assert f"{governor}  deployer" in result.stdout
    assert participant_account("BW", "authority").address in written["accounts-allowlist"]
    assert f"registry {seeded.address}" in result.stdout


def test_permissions_push_follows_the_registry_after_a_revocation(
    settings_in: Path, seeded: Devnet, anvil: AnvilNode, node: FakeBesu
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

    with FakeBesu(enabled=False).running() as fake:
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
    folder, _ = _members_folder(settings_in / "members", "BW", admin_port=free_port())
    out = settings_in / "net"
    init = _invoke(
        "consortium", "init", "--members", folder, "--deployer", DEPLOYER, "--out", out,
        "--rpc-host", "0.0.0.0",
    )  # fmt: skip
    assert init.exit_code == 0, init.stderr
    bw = json.loads((out / "network.json").read_text())["nodes"]["BW"]

    with FakeBesu.for_node(out / "nodes" / "BW").running() as fake:
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
    settings_in: Path, seeded: Devnet, anvil: AnvilNode, node: FakeBesu
) -> None:
    write_deployments_file(settings_in, seeded.address)
    http_url = node.url.replace("ws://", "http://")

    result = _invoke("consortium", "permissions", "--rpc-url", anvil.rpc_url, "--push", http_url)

    assert result.exit_code == 1
    assert f"config_error: {http_url} is not a node's admin listener" in result.stderr
    assert "network.json's admin_url" in result.stderr
    assert node.requests == []


@pytest.mark.usefixtures("settings_in")
def test_call_reads_params_as_json_or_else_as_strings(node: FakeBesu) -> None:
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


# --- join --------------------------------------------------------------------------------------

PASSPHRASES = {
    "KPCHAIN_BW_PASSPHRASE": "BW authority: a long passphrase",
    "KPCHAIN_BW_ADMIN_PASSPHRASE": "BW admin: another long passphrase",
    "KPCHAIN_BW_ENCRYPTION_PASSPHRASE": "BW encryption: a third passphrase",
}


@pytest.fixture
def passphrases(settings_in: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for variable, value in PASSPHRASES.items():
        monkeypatch.setenv(variable, value)
    return PASSPHRASES


def test_join_prints_only_the_public_parts_of_keys_that_open(
    settings_in: Path, passphrases: dict[str, str]
) -> None:
    result = _invoke(
        "consortium", "join", "BW", "--out", "bw", "--host", "bw-node.example",
        "--p2p-port", "30400", "--rpc-port", "8600", "--admin-port", "8700",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    folder = settings_in / "bw"
    printed = json.loads(result.stdout)
    assert printed == json.loads((folder / "public.json").read_text())
    node_key = NodeKey.read(folder / "node" / "key")
    assert stat.S_IMODE((folder / "node" / "key").stat().st_mode) == 0o600
    authority = KeystoreSigner.open(
        folder / "keys" / "authority.json", passphrase=passphrases["KPCHAIN_BW_PASSPHRASE"]
    )
    admin = KeystoreSigner.open(
        folder / "keys" / "admin.json", passphrase=passphrases["KPCHAIN_BW_ADMIN_PASSPHRASE"]
    )
    encryption = EncryptionKey.read(
        folder / "keys" / "encryption-key.pem",
        passphrase=passphrases["KPCHAIN_BW_ENCRYPTION_PASSPHRASE"],
    )
    assert printed == {
        "format": "kpchain-member/1",
        "code": "BW",
        "enode": f"enode://{node_key.public_key}@bw-node.example:30400",
        "validator": node_key.address,
        "authority": authority.address,
        "admin": admin.address,
        "encryption_public_key": encryption.public_key_hex,
        "host": "bw-node.example",
        "p2p_port": 30400,
        "rpc_port": 8600,
        "admin_port": 8700,
    }
    shown = result.stdout + result.stderr + (folder / "public.json").read_text()
    secrets = [node_key.private_key.hex(), encryption.private_bytes().hex(), *passphrases.values()]
    for keystore in ("authority.json", "admin.json", "encryption-key.pem"):
        secrets += _secret_lines(folder / "keys" / keystore)
    for secret in secrets:
        assert secret.lower() not in shown.lower()
    assert "keys made now: node, authority, admin, encryption" in result.stderr
    assert "note: only nodes on this machine" not in result.stderr


def _secret_lines(path: Path) -> list[str]:
    """The parts of a key file that are its secret: a keystore's encrypted key, MAC, salt and IV;
    a PEM's base64 lines."""
    if path.suffix == ".pem":
        return [line for line in path.read_text().splitlines() if not line.startswith("-----")]
    crypto = json.loads(path.read_text())["crypto"]
    return [
        crypto["ciphertext"],
        crypto["mac"],
        crypto["kdfparams"]["salt"],
        crypto["cipherparams"]["iv"],
    ]


def test_join_again_keeps_every_key(settings_in: Path, passphrases: dict[str, str]) -> None:
    first = _invoke("consortium", "join", "BW", "--out", "bw")
    key = (settings_in / "bw" / "node" / "key").read_bytes()

    again = _invoke("consortium", "join", "BW", "--out", "bw")

    assert first.exit_code == again.exit_code == 0, first.stderr + again.stderr
    assert again.stdout == first.stdout
    assert "keys made now: none: every key was kept" in again.stderr
    assert "note: only nodes on this machine reach 127.0.0.1; give --host" in first.stderr
    assert (settings_in / "bw" / "node" / "key").read_bytes() == key


def test_join_reads_passphrases_from_files(
    settings_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = []
    for name in ("authority", "admin", "encryption"):
        files += [f"--{name}-passphrase-file", settings_in / name]
        (settings_in / name).write_text(f"the {name} passphrase from a file\n")

    result = _invoke("consortium", "join", "BW", "--out", "bw", *files)

    assert result.exit_code == 0, result.stderr
    signers = (settings_in / "bw" / "signers.yaml").read_text()
    assert f"passphrase_file: {settings_in / 'authority'}" in signers
    KeystoreSigner.open(
        settings_in / "bw" / "keys" / "admin.json", passphrase="the admin passphrase from a file"
    )


@pytest.mark.usefixtures("settings_in")
def test_join_without_a_passphrase_names_its_variable_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPCHAIN_BW_PASSPHRASE", PASSPHRASES["KPCHAIN_BW_PASSPHRASE"])

    result = _invoke("consortium", "join", "BW", "--out", "bw")

    assert result.exit_code == 1
    assert "no keystore passphrase: set KPCHAIN_BW_ADMIN_PASSPHRASE" in result.stderr
    assert not (tmp_path / "bw").exists()


def test_join_refuses_a_short_passphrase_and_writes_nothing(
    settings_in: Path, passphrases: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPCHAIN_BW_ENCRYPTION_PASSPHRASE", "short")

    result = _invoke("consortium", "join", "BW", "--out", "bw")

    assert result.exit_code == 1
    assert "signing_error: the encryption key's passphrase (KPCHAIN_BW_ENCRYPTION_PASSPHRASE)" in (
        result.stderr
    )
    assert "short" not in result.stderr.replace("shorter", "")
    assert not (settings_in / "bw").exists()


def test_join_takes_no_passphrase_on_the_command_line(settings_in: Path) -> None:
    result = _invoke("consortium", "join", "BW", "--out", "bw", "--passphrase", "x" * 20)

    assert result.exit_code == 2
    assert "No such option: --passphrase" in result.stderr


# --- add-member --------------------------------------------------------------------------------


@pytest.fixture
def later(settings_in: Path) -> tuple[Path, Member]:
    """ZA's public parts, as ZA sent them."""
    member = make_member("ZA", 7, host="za-node.example")
    path = settings_in / "public-ZA.json"
    member.write(path)
    return path, member


def test_add_member_prints_the_proposal_and_calls_that_work_by_hand(
    later: tuple[Path, Member],
) -> None:
    path, za = later

    result = _invoke("consortium", "add-member", path)

    assert result.exit_code == 0, result.stderr
    assert f"admit          participant ZA, admin {za.admin}" in result.stdout
    assert f"add_validator  participant ZA, validator {za.validator}" in result.stdout
    assert f"kpchain consortium add-member {path} --push ws://127.0.0.1:<admin port>" in (
        result.stdout
    )
    by_hand = [
        line.strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith("kpchain consortium call ws://127.0.0.1:<admin port> ")
    ]
    assert [line.split()[5] for line in by_hand] == [
        "perm_addNodesToAllowlist",
        "admin_addPeer",
        "qbft_proposeValidatorVote",
    ]
    with FakeBesu().running() as fake:
        for line in by_hand:  # pasted into a shell, with this node's admin listener
            words = shlex.split(line.replace("ws://127.0.0.1:<admin port>", fake.url))
            sent = _invoke(*words[1:])
            assert sent.exit_code == 0, sent.stderr
    assert fake.nodes_allowlist == [za.enode]
    assert fake.added_peers == [za.enode]
    assert fake.pending_votes == {za.validator.lower(): True}


def test_add_member_with_the_network_writes_its_node_folder(
    settings_in: Path, later: tuple[Path, Member]
) -> None:
    path, za = later
    folder, _ = _members_folder(settings_in / "members", "BW", "RU", "EU", "AE")
    init = _invoke(
        "consortium", "init", "--members", folder, "--deployer", DEPLOYER, "--out", "net"
    )
    assert init.exit_code == 0, init.stderr

    first = _invoke("consortium", "add-member", path, "--network", "net")
    again = _invoke("consortium", "add-member", path, "--network", "net")

    assert first.exit_code == again.exit_code == 0, first.stderr + again.stderr
    assert "ZA added to net: send net/nodes/ZA to ZA" in first.stdout
    assert "ZA already in net" in again.stdout
    config = _toml(settings_in / "net" / "nodes" / "ZA" / "config.toml")
    assert (config["p2p-port"], config["rpc-ws-port"]) == (za.p2p_port, za.admin_port)
    assert not (settings_in / "net" / "nodes" / "ZA" / "key").exists()


def test_add_member_push_allowlists_connects_and_votes_once_the_node_is_a_peer(
    later: tuple[Path, Member],
) -> None:
    path, za = later
    with FakeBesu(validators=[Account.create().address]).running() as fake:
        dry = _invoke("consortium", "add-member", path, "--push", fake.url, "--dry-run")
        dry_state = (list(fake.nodes_allowlist), list(fake.added_peers), dict(fake.pending_votes))
        first = _invoke("consortium", "add-member", path, "--push", fake.url)
        first_votes = dict(fake.pending_votes)
        fake.connect(za.enode)
        second = _invoke("consortium", "add-member", path, "--push", fake.url)
        fake.validators.append(za.validator.lower())  # the vote went through
        third = _invoke("consortium", "add-member", path, "--push", fake.url)
        fourth = _invoke("consortium", "add-member", path, "--push", fake.url)

    for result in (dry, first, second, third, fourth):
        assert result.exit_code == 0, result.stderr
    assert dry_state == ([], [], {})
    assert f"{fake.url}: perm_addNodesToAllowlist: would send: added to the allowlist" in dry.stdout
    assert f"{fake.url}: perm_addNodesToAllowlist: sent: added to the allowlist" in first.stdout
    assert f"{fake.url}: admin_addPeer: sent: asked to connect" in first.stdout
    assert "qbft_proposeValidatorVote: not yet: ZA's node is not a peer yet" in first.stdout
    assert "run this again once ZA's node is a peer" in first.stderr
    assert first_votes == {}  # no vote for a validator that cannot seal yet
    assert f"{fake.url}: qbft_proposeValidatorVote: sent: voted in" in second.stdout
    assert "admin_addPeer: nothing to send: a peer" in second.stdout
    assert f"{fake.url}: qbft_discardValidatorVote: sent: this node's vote withdrawn" in (
        third.stdout
    )
    assert fake.pending_votes == {}
    assert "discard" not in fourth.stdout
    assert "qbft_proposeValidatorVote: nothing to send: a validator" in fourth.stdout
    assert fake.nodes_allowlist == [za.enode]  # added once: Besu refuses an entry twice


def test_add_member_push_to_the_http_listener_sends_nothing(
    later: tuple[Path, Member], node: FakeBesu
) -> None:
    path, _ = later
    http_url = node.url.replace("ws://", "http://")

    result = _invoke("consortium", "add-member", path, "--push", http_url)

    assert result.exit_code == 1
    assert f"config_error: {http_url} is not a node's admin listener" in result.stderr
    assert node.requests == []
