"""The one deploy function, through its three doors: `deploy()`, `kpchain deploy` and
`ape run deploy`, each against a real anvil with a zero gas price: the registry, its governance,
the founding members, and the hand-over after which no account holds a role.

Confirmations on a chain that reorgs: anvil seals a block per transaction, `evm_mine` seals the
blocks a deploy waits for, and `anvil_reorg` replaces the newest blocks while it waits (a deploy
runs in a thread of its own for that; see `_Deploying`). Each step of a deploy waits for its
confirmations before the next; the registry's comes first, and is the one these tests reorg.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import TxReceipt

from helpers.polling import wait_until
from kpchain.artifacts import load_artifact
from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.cli import main
from kpchain.contracts.enums import ParticipantStatus
from kpchain.contracts.founding import Founder, GovernanceSettings
from kpchain.deploy import GOVERNANCE_CONTRACTS, Deployment, deploy
from kpchain.devnet.anvil import AnvilNode, find_anvil
from kpchain.errors import ChainIdMismatchError, ConfigError, ContractRevertError, DeploymentError
from kpchain.signing import LocalSigner, create_keystore

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[1]
GOVERNOR_ROLE = keccak(text="GOVERNOR_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32
PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")
ROLE_NAMES = {
    DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN_ROLE",
    GOVERNOR_ROLE: "GOVERNOR_ROLE",
    PROPOSER_ROLE: "PROPOSER_ROLE",
    CANCELLER_ROLE: "CANCELLER_ROLE",
    EXECUTOR_ROLE: "EXECUTOR_ROLE",
}
CONTRACT_NAMES = ("ParticipantRegistry", "CertificateRegistry", *GOVERNANCE_CONTRACTS)
FOUNDERS = (Founder("BW", Account.create().address), Founder("AE", Account.create().address))
FIELDS = {
    "network", "chain_id", "contracts", "block", "block_hash", "tx_hash", "deployer", "governor",
    "code_hashes", "compiler", "deployed_at",
}  # fmt: skip
TEST_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # ape's and anvil's first account


def _deployer(w3: Web3, chain_id: int = 2021) -> TransactionSender:
    """A fresh key with no ether: enough on a zero-gas-price chain."""
    return TransactionSender(w3, LocalSigner(Account.create()), chain_id=chain_id)


def _contract(w3: Web3, data: dict[str, Any], name: str) -> Any:
    address = Web3.to_checksum_address(data["contracts"][name])
    return w3.eth.contract(address=address, abi=load_artifact(name).abi)


def _role_holders(contract: Any) -> dict[str, set[str]]:
    """Who holds each role of an AccessControl contract now, by role name: every RoleGranted
    and RoleRevoked it ever emitted, replayed in order."""
    events = [
        *contract.events.RoleGranted().get_logs(from_block=0),
        *contract.events.RoleRevoked().get_logs(from_block=0),
    ]
    holders: dict[str, set[str]] = {}
    for log in sorted(events, key=lambda log: (log["blockNumber"], log["logIndex"])):
        members = holders.setdefault(ROLE_NAMES[log["args"]["role"]], set())
        if log["event"] == "RoleGranted":
            members.add(log["args"]["account"])
        else:
            members.discard(log["args"]["account"])
    return {role: members for role, members in holders.items() if members}


def _founders_file(tmp_path: Path) -> Path:
    path = tmp_path / "founders.yaml"
    path.write_text("".join(f'{f.code}: {{admin: "{f.admin}"}}\n' for f in FOUNDERS))
    return path


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


def _raw_transaction(w3: Web3, tx_hash: str) -> str:
    return str(_rpc(w3, "eth_getRawTransactionByHash", tx_hash))


def _threaded_sender(rpc_url: str, account: LocalAccount | None = None) -> TransactionSender:
    """A deployer (a fresh key by default: no ether, gas price 0) on a connection of its own,
    for a deploy in a thread of its own."""
    w3 = connect(rpc_url, expected_chain_id=2021)
    return TransactionSender(w3, LocalSigner(account or Account.create()), chain_id=2021)


def _wait_until_deploy_waits(caplog: pytest.LogCaptureFixture, confirmations: int) -> None:
    """Waits until the deploy has the receipt of its transaction and waits for `confirmations`
    blocks (it says so in its log): the test changes the chain only then, so the deploy holds a
    block it must let go."""
    said = f"waiting for {confirmations} confirmations"
    wait_until(
        lambda: any(said in message for message in caplog.messages),
        timeout=60,
        what=f"the deploy to say it is {said}",
    )


def _deploy_receipt(w3: Web3) -> TxReceipt:
    """The receipt of block 1's transaction: the deploy's, on a fresh anvil."""
    (tx_hash,) = w3.eth.get_block(1)["transactions"]
    return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]


class _Deploying:
    """`deploy()` with `confirmations`, in a thread of its own, so that the test can mine and
    reorg the chain while the deploy waits."""

    def __init__(self, sender: TransactionSender, *, confirmations: int) -> None:
        self._outcome: Deployment | Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(sender, confirmations), daemon=True)
        self._thread.start()

    def _run(self, sender: TransactionSender, confirmations: int) -> None:
        try:
            self._outcome = deploy(
                sender,
                founders=FOUNDERS,
                network="kp-test",
                expected_chain_id=2021,
                confirmations=confirmations,
            )
        except Exception as exc:  # handed to the test by `outcome`
            self._outcome = exc

    def outcome(self, w3: Web3) -> Deployment | Exception:
        """What `deploy()` returned or raised, mining the blocks it waits for meanwhile."""
        _mine_until_done(w3, self._thread)
        assert self._outcome is not None
        return self._outcome

    def result(self, w3: Web3) -> Deployment:
        outcome = self.outcome(w3)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def _mine_until_done(w3: Web3, thread: threading.Thread) -> None:
    """Mines a block at a time, as long as `thread` (a deploy waiting for blocks) runs."""
    for _ in range(500):
        thread.join(timeout=0.05)
        if not thread.is_alive():
            return
        _rpc(w3, "evm_mine")
    raise AssertionError("the deploy still waits after 500 more blocks")


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
    assert w3.eth.gas_price == 0
    assert w3.eth.get_balance(Web3.to_checksum_address(sender.signer.address)) == 0

    deployment = deploy(sender, founders=FOUNDERS, network="kp-test", expected_chain_id=2021)
    path = deployment.write(tmp_path / "deployments")

    assert path == tmp_path / "deployments" / "kp-test.json"
    data = json.loads(path.read_text())
    assert set(data) == FIELDS
    address = data["contracts"]["CertificateRegistry"]
    assert set(data["contracts"]) == set(CONTRACT_NAMES)
    assert data["contracts"]["ParticipantRegistry"] == address
    assert data["network"] == "kp-test"
    assert data["chain_id"] == 2021
    tx = w3.eth.get_transaction(data["tx_hash"])
    assert tx["blockNumber"] == data["block"] == 1  # the registry, first
    assert tx["to"] is None
    assert w3.eth.get_transaction_receipt(tx["hash"])["contractAddress"] == address
    assert w3.eth.get_block(data["block"])["hash"].to_0x_hex() == data["block_hash"]
    assert set(data["code_hashes"]) == set(CONTRACT_NAMES)
    for name, contract in data["contracts"].items():
        code = bytes(w3.eth.get_code(contract))
        assert len(code) > 0
        assert data["code_hashes"][name] == "0x" + keccak(code).hex()
    assert data["compiler"] == load_artifact("CertificateRegistry").compiler
    assert data["compiler"]["version"].startswith("0.8.28+commit.")
    assert data["compiler"]["settings"]["viaIR"] is True
    assert data["deployer"] == sender.signer.address == tx["from"]
    assert data["governor"] == data["contracts"]["KPGovernor"]
    assert datetime.fromisoformat(data["deployed_at"]).tzinfo is not None
    assert Deployment.read(path) == deployment


def test_deploy_leaves_no_account_with_a_role_only_the_governance_contracts_as_designed(
    w3: Web3, tmp_path: Path
) -> None:
    sender = _deployer(w3)

    data = json.loads(
        deploy(sender, founders=FOUNDERS, network="kp-test", expected_chain_id=2021)
        .write(tmp_path)
        .read_text()
    )

    contracts = data["contracts"]
    registry_roles = _role_holders(_contract(w3, data, "CertificateRegistry"))
    timelock_roles = _role_holders(_contract(w3, data, "KPTimelock"))
    assert registry_roles == {
        "GOVERNOR_ROLE": {contracts["KPSeats"]},
        "DEFAULT_ADMIN_ROLE": {contracts["KPTimelock"]},
    }
    assert timelock_roles == {
        "DEFAULT_ADMIN_ROLE": {contracts["KPTimelock"]},  # it administers itself
        "PROPOSER_ROLE": {contracts["KPGovernor"]},
        "CANCELLER_ROLE": {contracts["KPGovernor"]},
        "EXECUTOR_ROLE": {contracts["KPGovernor"]},
    }
    holders = set().union(*registry_roles.values(), *timelock_roles.values())
    # Contracts, not accounts: no key can act as any of them.
    assert all(w3.eth.get_code(Web3.to_checksum_address(holder)) for holder in holders)
    for name in ("KPSeats", "ValidatorSet"):
        assert _contract(w3, data, name).functions.owner().call() == contracts["KPTimelock"]
    assert _contract(w3, data, "KPSeats").functions.governor().call() == contracts["KPGovernor"]
    governor = _contract(w3, data, "KPGovernor").functions
    assert governor.timelock().call() == contracts["KPTimelock"]
    assert governor.seats().call() == contracts["KPSeats"]
    assert governor.validatorSet().call() == contracts["ValidatorSet"]


def test_deploy_admits_the_founders_with_their_founding_state_and_seats(w3: Web3) -> None:
    cf_admin = Account.create().address
    founders = [
        *FOUNDERS,
        Founder("CF", cf_admin, zones=("CF:Berberati", "CF:Carnot")),
        Founder("VE", Account.create().address, status=ParticipantStatus.SUSPENDED),
    ]
    settings = GovernanceSettings(voting_delay=0, voting_period=60, timelock_delay=10)

    deployment = deploy(
        _deployer(w3),
        founders=founders,
        governance=settings,
        validators=[Account.create().address],
        network="kp-test",
        expected_chain_id=2021,
    )

    registry = _contract(w3, _addresses(deployment), "CertificateRegistry").functions
    assert [code.decode() for code in registry.participantCodes().call()] == [
        "BW",
        "AE",
        "CF",
        "VE",
    ]
    assert tuple(registry.participant(b"CF").call())[:3] == (
        ParticipantStatus.ACTIVE,
        True,
        cf_admin,
    )
    assert registry.participantStatus(b"VE").call() == ParticipantStatus.SUSPENDED
    seats = _contract(w3, _addresses(deployment), "KPSeats").functions
    now = w3.eth.get_block("latest")["timestamp"]
    assert seats.seatCount(now).call() == 3  # VE, suspended, has none
    assert seats.seatOf(cf_admin, now).call() == b"CF"
    governor = _contract(w3, _addresses(deployment), "KPGovernor").functions
    assert governor.consensusSettings().call() == [0, 60, 2, 6666]  # a majority of three
    timelock = _contract(w3, _addresses(deployment), "KPTimelock").functions
    assert timelock.getMinDelay().call() == 10
    validators = _contract(w3, _addresses(deployment), "ValidatorSet").functions
    assert len(validators.validators().call()) == 1


def _addresses(deployment: Deployment) -> dict[str, Any]:
    return {"contracts": deployment.contracts}


@pytest.mark.parametrize(
    ("founders", "settings", "message"),
    [
        (FOUNDERS[:1], GovernanceSettings(), "a quorum of 2 approvals with 1 Active founders"),
        (FOUNDERS, GovernanceSettings(quorum=3), "a quorum of 3 approvals with 2 Active founders"),
        (
            (FOUNDERS[0], Founder("AE", FOUNDERS[0].admin)),
            GovernanceSettings(),
            "each founder needs its own code and its own admin",
        ),
        (FOUNDERS, GovernanceSettings(emergency_threshold_bps=5000), "emergency threshold"),
    ],
)
def test_deploy_refuses_founders_or_settings_that_cannot_govern_before_sending(
    w3: Web3, founders: tuple[Founder, ...], settings: GovernanceSettings, message: str
) -> None:
    sender = _deployer(w3)

    with pytest.raises(ConfigError, match=message):
        deploy(
            sender,
            founders=founders,
            governance=settings,
            network="kp-test",
            expected_chain_id=2021,
        )

    assert w3.eth.block_number == 0


def test_former_governor_account_can_no_longer_admit_anyone(w3: Web3) -> None:
    sender = _deployer(w3)
    deployment = deploy(sender, founders=FOUNDERS, network="kp-test", expected_chain_id=2021)
    registry = _contract(w3, _addresses(deployment), "CertificateRegistry")

    with pytest.raises(ContractRevertError) as caught:
        sender.transact(registry.functions.admitParticipant(b"ZW", Account.create().address))

    assert caught.value.error_name == "AccessControlUnauthorizedAccount"
    assert caught.value.args_by_name["account"] == sender.address


def test_deploy_raises_chain_id_mismatch_without_sending_when_node_serves_other_chain(
    w3: Web3,
) -> None:
    sender = _deployer(w3, chain_id=7102)

    with pytest.raises(ChainIdMismatchError) as caught:
        deploy(sender, founders=FOUNDERS, network="kp-test", expected_chain_id=7102)

    assert (caught.value.expected, caught.value.actual) == (7102, 2021)
    assert w3.eth.get_transaction_count(Web3.to_checksum_address(sender.signer.address)) == 0
    assert w3.eth.block_number == 0


def test_deploy_records_the_block_a_reorg_moved_the_transaction_to_when_waiting_for_confirmations(
    anvil: AnvilNode, w3: Web3, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kpchain.deploy")
    deploying = _Deploying(_threaded_sender(anvil.rpc_url), confirmations=2)
    _wait_until_deploy_waits(caplog, 2)
    first = _deploy_receipt(w3)
    tx_hash = first["transactionHash"]
    _rpc(w3, "evm_mine")  # block 2: one confirmation of the two

    # Blocks 1 and 2 replaced: the deploy is in the new block 2, and block 1 has nothing.
    _rpc(w3, "anvil_reorg", 2, [[_raw_transaction(w3, tx_hash.to_0x_hex()), 1]])
    deployment = deploying.result(w3)

    assert first["blockNumber"] == 1
    assert w3.eth.get_block(1)["hash"] != first["blockHash"]
    moved = w3.eth.get_transaction_receipt(tx_hash)
    assert moved["blockNumber"] == 2
    assert (deployment.block, deployment.block_hash) == (2, moved["blockHash"].to_0x_hex())
    assert w3.eth.block_number >= deployment.block + 2
    assert deployment.tx_hash == tx_hash.to_0x_hex()
    assert deployment.address == first["contractAddress"]
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.address)))
    assert deployment.code_hashes["CertificateRegistry"] == "0x" + keccak(code).hex()


def test_deploy_sends_its_transaction_again_when_a_reorg_drops_it_and_its_nonce_is_free(
    anvil: AnvilNode, w3: Web3, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kpchain.deploy")
    deploying = _Deploying(_threaded_sender(anvil.rpc_url), confirmations=2)
    _wait_until_deploy_waits(caplog, 2)
    first = _deploy_receipt(w3)
    _rpc(w3, "evm_mine")

    _rpc(w3, "anvil_reorg", 2, [])  # anvil forgets the transactions of the blocks it replaces
    deployment = deploying.result(w3)

    receipt = w3.eth.get_transaction_receipt(first["transactionHash"])
    assert receipt["blockNumber"] > 2
    assert (deployment.block, deployment.block_hash) == (
        receipt["blockNumber"],
        receipt["blockHash"].to_0x_hex(),
    )
    assert deployment.tx_hash == first["transactionHash"].to_0x_hex()
    assert deployment.address == first["contractAddress"]
    assert len(w3.eth.get_code(Web3.to_checksum_address(deployment.address))) > 0


def test_deploy_raises_deployment_error_when_a_reorg_gives_its_nonce_to_another_transaction(
    anvil: AnvilNode, w3: Web3, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kpchain.deploy")
    deployer = Account.create()
    deploying = _Deploying(_threaded_sender(anvil.rpc_url, deployer), confirmations=2)
    _wait_until_deploy_waits(caplog, 2)
    first = _deploy_receipt(w3)
    transfer = {"to": deployer.address, "value": 0, "gas": 21_000, "gasPrice": 0, "chainId": 2021}
    other = deployer.sign_transaction({**transfer, "nonce": 0})

    _rpc(w3, "anvil_reorg", 1, [["0x" + other.raw_transaction.hex(), 0]])
    outcome = deploying.outcome(w3)

    assert isinstance(outcome, DeploymentError)
    assert outcome.message.endswith("took its nonce 0: nothing was deployed; deploy again")
    assert outcome.detail == {"tx_hash": first["transactionHash"].to_0x_hex(), "nonce": 0}
    assert w3.eth.get_code(Web3.to_checksum_address(str(first["contractAddress"]))) == b""


def test_deploy_raises_deployment_error_when_the_head_stands_still_while_it_waits_for_blocks(
    w3: Web3,
) -> None:
    sender = TransactionSender(w3, LocalSigner(Account.create()), chain_id=2021, receipt_timeout=1)

    with pytest.raises(DeploymentError) as caught:  # anvil seals a block only for a transaction
        deploy(
            sender,
            founders=FOUNDERS,
            network="kp-test",
            expected_chain_id=2021,
            confirmations=1,
        )

    assert caught.value.message.startswith("the chain stayed at block 1 for 1s while the deploy")
    assert caught.value.detail == {"head": 1, "awaited": 2}


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
            "--founders", str(_founders_file(tmp_path)),
            "--voting-delay", "0",
            "--voting-period", "30",
            "--timelock-delay", "5",
            "--validator", FOUNDERS[0].admin,
            "--out", str(out),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    data = json.loads((out / "kp-cli.json").read_text())
    assert set(data) == FIELDS
    assert data["deployer"] == address
    assert data["governor"] == data["contracts"]["KPGovernor"]
    assert data["chain_id"] == 2021
    assert data["contracts"]["CertificateRegistry"] in result.output
    assert f"KPGovernor {data['governor']} (2 founders)" in result.output
    assert f"block {data['block']}" in result.output
    assert str(out / "kp-cli.json") in result.output
    registry = _contract(w3, data, "CertificateRegistry").functions
    assert not registry.hasRole(GOVERNOR_ROLE, address).call()
    assert registry.hasRole(GOVERNOR_ROLE, data["contracts"]["KPSeats"]).call()
    governor = _contract(w3, data, "KPGovernor").functions
    assert governor.consensusSettings().call() == [0, 30, 2, 6666]
    assert _contract(w3, data, "KPTimelock").functions.getMinDelay().call() == 5
    validators = _contract(w3, data, "ValidatorSet").functions.validators().call()
    assert validators == [FOUNDERS[0].admin]


@pytest.mark.usefixtures("clean_settings")
def test_deploy_command_takes_defaults_from_environment_when_options_omitted(
    anvil: AnvilNode, w3: Web3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore, _, address = _keystore(tmp_path, passphrase="from the environment")
    monkeypatch.setenv("KPCHAIN_RPC_URL", anvil.rpc_url)
    monkeypatch.setenv("KPCHAIN_NETWORK", "kp-env")
    monkeypatch.setenv("KPCHAIN_KEYSTORE", str(keystore))
    monkeypatch.setenv("KPCHAIN_KEYSTORE_PASSPHRASE", "from the environment")
    monkeypatch.setenv("KPCHAIN_DEPLOYMENTS_DIR", str(tmp_path / "env-deployments"))

    result = CliRunner().invoke(main, ["deploy", "--founders", str(_founders_file(tmp_path))])

    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "env-deployments" / "kp-env.json").read_text())
    assert (data["deployer"], data["chain_id"]) == (address, 2021)
    governor = _contract(w3, data, "KPGovernor").functions
    assert governor.consensusSettings().call() == [3600, 7 * 86_400, 2, 6666]  # the defaults
    assert _contract(w3, data, "KPTimelock").functions.getMinDelay().call() == 2 * 86_400


@pytest.mark.usefixtures("clean_settings")
def test_deploy_command_waits_for_kpchain_confirmations_and_writes_the_block_canonical_then(
    anvil: AnvilNode,
    w3: Web3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kpchain.deploy")
    keystore, passphrase_file, _ = _keystore(tmp_path)
    monkeypatch.setenv("KPCHAIN_CONFIRMATIONS", "2")
    out = tmp_path / "deployments"
    options = {"--rpc-url": anvil.rpc_url, "--chain-id": "2021", "--network": "kp-cli"}
    options |= {"--keystore": str(keystore), "--passphrase-file": str(passphrase_file)}
    options |= {"--founders": str(_founders_file(tmp_path))}
    arguments = ["deploy", "--out", str(out), *(x for pair in options.items() for x in pair)]
    results: list[Result] = []
    command = threading.Thread(
        target=lambda: results.append(CliRunner().invoke(main, arguments)), daemon=True
    )
    command.start()
    _wait_until_deploy_waits(caplog, 2)
    first = w3.eth.get_block(1)
    tx_hash = Web3.to_hex(first["transactions"][0])  # type: ignore[arg-type]
    _rpc(w3, "evm_mine")

    _rpc(w3, "anvil_reorg", 2, [[_raw_transaction(w3, tx_hash), 1]])
    _mine_until_done(w3, command)

    assert results[0].exit_code == 0, results[0].output
    data = json.loads((out / "kp-cli.json").read_text())
    assert (data["block"], data["tx_hash"]) == (2, tx_hash)
    assert data["block_hash"] == w3.eth.get_block(2)["hash"].to_0x_hex()
    assert data["block_hash"] != first["hash"].to_0x_hex()


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
            "--founders", str(_founders_file(tmp_path)),
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
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KPCHAIN_")},
        "PATH": f"{find_anvil().parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "APE_FOUNDRY_HOST": "auto",
    }
    ape = Path(sys.executable).parent / "ape"
    command = [str(ape), "run", "deploy", "--network", "ethereum:local:foundry"]

    result = subprocess.run(
        [*command, "--founders", str(_founders_file(tmp_path)), "--out", str(tmp_path)],
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
    assert (data["deployer"], data["governor"]) == (TEST_ACCOUNT_0, data["contracts"]["KPGovernor"])
    assert data["block"] >= 1
    assert data["code_hashes"]["CertificateRegistry"].startswith("0x")
    assert len(data["code_hashes"]["CertificateRegistry"]) == 66
    assert data["contracts"]["CertificateRegistry"] in result.stdout
