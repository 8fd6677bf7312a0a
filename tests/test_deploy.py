"""The one deploy function, through its three doors: `deploy()`, `kpchain deploy` and
`ape run deploy`, each against a real anvil with a zero gas price."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from kpchain.artifacts import load_artifact
from kpchain.chain.transactions import TransactionSender
from kpchain.cli import main
from kpchain.deploy import Deployment, deploy
from kpchain.devnet.anvil import AnvilNode, find_anvil
from kpchain.errors import ChainIdMismatchError
from kpchain.signing import LocalSigner, create_keystore

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[1]
GOVERNOR_ROLE = keccak(text="GOVERNOR_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32
FIELDS = {
    "network", "chain_id", "contracts", "block", "block_hash", "tx_hash", "deployer", "governor",
    "code_hashes", "compiler", "deployed_at",
}  # fmt: skip
TEST_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # ape's and anvil's first account


def _deployer(w3: Web3, chain_id: int = 2021) -> TransactionSender:
    """A fresh key with no ether: enough on a zero-gas-price chain."""
    return TransactionSender(w3, LocalSigner(Account.create()), chain_id=chain_id)


def _has_role(w3: Web3, address: str, role: bytes, account: str) -> bool:
    abi = load_artifact("CertificateRegistry").abi
    registry = w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
    return bool(registry.functions.hasRole(role, Web3.to_checksum_address(account)).call())


def _keystore(tmp_path: Path, passphrase: str = "correct horse battery") -> tuple[Path, Path, str]:
    """A keystore with a fresh key, its passphrase file, and its address."""
    keystore = tmp_path / "deployer.json"
    address = create_keystore(keystore, passphrase=passphrase, iterations=2**10)
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(passphrase + "\n")
    return keystore, passphrase_file, address


def test_deploy_writes_deployments_file_with_every_field_when_gas_price_zero(
    w3: Web3, tmp_path: Path
) -> None:
    sender = _deployer(w3)
    governor = Account.create().address
    assert w3.eth.gas_price == 0
    assert w3.eth.get_balance(Web3.to_checksum_address(sender.signer.address)) == 0

    deployment = deploy(sender, governor=governor, network="kp-test", expected_chain_id=2021)
    path = deployment.write(tmp_path / "deployments")

    assert path == tmp_path / "deployments" / "kp-test.json"
    data = json.loads(path.read_text())
    assert set(data) == FIELDS
    address = data["contracts"]["CertificateRegistry"]
    assert data["contracts"] == {"ParticipantRegistry": address, "CertificateRegistry": address}
    assert data["network"] == "kp-test"
    assert data["chain_id"] == 2021
    tx = w3.eth.get_transaction(data["tx_hash"])
    assert tx["blockNumber"] == data["block"]
    assert w3.eth.get_block(data["block"])["hash"].to_0x_hex() == data["block_hash"]
    code_hash = "0x" + keccak(bytes(w3.eth.get_code(address))).hex()
    assert data["code_hashes"] == {
        "ParticipantRegistry": code_hash,
        "CertificateRegistry": code_hash,
    }
    assert len(w3.eth.get_code(address)) > 0
    assert data["compiler"] == load_artifact("CertificateRegistry").compiler
    assert data["compiler"]["version"].startswith("0.8.28+commit.")
    assert data["compiler"]["settings"]["viaIR"] is True
    assert data["deployer"] == sender.signer.address == tx["from"]
    assert data["governor"] == governor
    assert datetime.fromisoformat(data["deployed_at"]).tzinfo is not None
    assert Deployment.read(path) == deployment


def test_deploy_grants_governance_roles_to_governor_and_not_deployer(w3: Web3) -> None:
    sender = _deployer(w3)
    governor = Account.create().address

    deployment = deploy(sender, governor=governor, network="kp-test", expected_chain_id=2021)

    for role in (GOVERNOR_ROLE, DEFAULT_ADMIN_ROLE):
        assert _has_role(w3, deployment.address, role, governor)
        assert not _has_role(w3, deployment.address, role, sender.signer.address)


def test_deploy_raises_chain_id_mismatch_without_sending_when_node_serves_other_chain(
    w3: Web3,
) -> None:
    sender = _deployer(w3, chain_id=7102)

    with pytest.raises(ChainIdMismatchError) as caught:
        deploy(sender, governor=sender.signer.address, network="kp-test", expected_chain_id=7102)

    assert (caught.value.expected, caught.value.actual) == (7102, 2021)
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(sender.signer.address)) == 0
    assert w3.eth.block_number == 0


@pytest.mark.usefixtures("clean_settings")
def test_deploy_command_deploys_and_writes_file_when_given_keystore(
    anvil: AnvilNode, w3: Web3, tmp_path: Path
) -> None:
    keystore, passphrase_file, address = _keystore(tmp_path)
    out = tmp_path / "deployments"

    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "--rpc-url", anvil.rpc_url,
            "--chain-id", "2021",
            "--network", "kp-cli",
            "--keystore", str(keystore),
            "--passphrase-file", str(passphrase_file),
            "--out", str(out),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    data = json.loads((out / "kp-cli.json").read_text())
    assert set(data) == FIELDS
    assert data["deployer"] == data["governor"] == address
    assert data["chain_id"] == 2021
    assert data["contracts"]["CertificateRegistry"] in result.output
    assert f"block {data['block']}" in result.output
    assert str(out / "kp-cli.json") in result.output
    assert _has_role(w3, data["contracts"]["CertificateRegistry"], GOVERNOR_ROLE, address)


@pytest.mark.usefixtures("clean_settings")
def test_deploy_command_takes_defaults_from_environment_when_options_omitted(
    anvil: AnvilNode, w3: Web3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore, _, address = _keystore(tmp_path, passphrase="from the environment")
    governor = Account.create().address
    monkeypatch.setenv("KPCHAIN_RPC_URL", anvil.rpc_url)
    monkeypatch.setenv("KPCHAIN_NETWORK", "kp-env")
    monkeypatch.setenv("KPCHAIN_KEYSTORE", str(keystore))
    monkeypatch.setenv("KPCHAIN_KEYSTORE_PASSPHRASE", "from the environment")
    monkeypatch.setenv("KPCHAIN_DEPLOYMENTS_DIR", str(tmp_path / "env-deployments"))

    result = CliRunner().invoke(main, ["deploy", "--governor", governor])

    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "env-deployments" / "kp-env.json").read_text())
    assert (data["deployer"], data["governor"], data["chain_id"]) == (address, governor, 2021)
    assert _has_role(w3, data["contracts"]["CertificateRegistry"], GOVERNOR_ROLE, governor)


@pytest.mark.usefixtures("clean_settings")
def test_deploy_command_exits_with_one_line_when_chain_id_differs(
    anvil: AnvilNode, w3: Web3, tmp_path: Path
) -> None:
    keystore, passphrase_file, address = _keystore(tmp_path)

    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "--rpc-url", anvil.rpc_url,
            "--chain-id", "7102",
            "--keystore", str(keystore),
            "--passphrase-file", str(passphrase_file),
            "--out", str(tmp_path / "deployments"),
        ],
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.output.startswith("Error: chain_id_mismatch: ")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "deployments").exists()
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(address)) == 0


def test_ape_run_deploy_writes_deployments_file_on_foundry_network(tmp_path: Path) -> None:
    """`ape run deploy` in a subprocess; ape starts its own anvil on a random port."""
    governor = Account.create().address
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KPCHAIN_")},
        "PATH": f"{find_anvil().parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "APE_FOUNDRY_HOST": "auto",
    }
    ape = Path(sys.executable).parent / "ape"
    command = [str(ape), "run", "deploy", "--network", "ethereum:local:foundry"]

    result = subprocess.run(
        [*command, "--governor", governor, "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "local.json").read_text())
    assert set(data) == FIELDS
    assert (data["network"], data["chain_id"]) == ("local", 31337)
    assert (data["deployer"], data["governor"]) == (TEST_ACCOUNT_0, governor)
    assert data["block"] >= 1
    assert data["code_hashes"]["CertificateRegistry"].startswith("0x")
    assert len(data["code_hashes"]["CertificateRegistry"]) == 66
    assert data["contracts"]["CertificateRegistry"] in result.stdout
