"""kpchain on a real multi-node proof-of-authority network: three Clique signers (ethereumjs, see
support_network), one per authority, started once for the module.

The registry is deployed and seeded through node 1. The services are sovereign: the exporting
authority's (BW) talks to node 1 and hosts only BW, the importing authority's (AE) talks to
node 2 and hosts only AE, each with a database and keys of its own and with the indexer two
blocks behind the head (Clique can reorg; QBFT, with instant finality, runs with 0); every
deploy here waits for the same two confirmations before it records its block. AE's admin
registers AE's endpoint on chain, and the signed document travels from BW's service to AE's
through the private document exchange. Then: a certificate issued and shipped at BW reaches
AE's service with its document, which AE shows and prints with the identities, and confirms;
both services read it alike and their statistics agree; a document sent while AE's service is
down reaches it when it comes back; a decision proposed at BW and voted at AE takes effect in
both; node 3 stops, blocks and certificates keep coming, node 3 comes back and an index built
from it equals the services'; node 3 seals a branch of its own while cut off, and an indexer
following it repairs the reorg when node 3 rejoins; and the two deploy commands work against
the network.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_account import Account
from eth_utils.crypto import keccak
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from support_network import CHAIN_ID, CliqueNetwork, block_signer
from web3 import Web3

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.certificates.conversions import new_salt, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.typed_data import typed_data
from kpchain.chain.connection import connect
from kpchain.chain.transactions import SignedTransaction, TransactionSender
from kpchain.cli import main
from kpchain.contracts.registry import Registry
from kpchain.deploy import (
    GOVERNOR_CONTRACT,
    SEATS_CONTRACT,
    VALIDATOR_SET_CONTRACT,
    Deployment,
    deploy,
)
from kpchain.devnet.seed import (
    DEMO_PARTICIPANTS,
    DEVNET_GOVERNANCE,
    founders,
    governor_account,
    participant_account,
    seed,
)
from kpchain.indexer import Indexer
from kpchain.signing import LocalSigner, create_keystore
from kpchain.store import create_engine, migrate, session_factory
from support_api import WAIT, Party, service_settings, start_sovereign_service
from support_db import Dump, dump_index
from support_pdf import flat, pages_text

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
NETWORK = "kp-consortium"  # ape-config.yaml's name for the consortium network
CONFIRMATIONS = 2  # the services' indexer depth on this Clique network
PARTICIPANTS = ("BW", "AE", "ZA", "US")  # admitted by the seeding: the demo dozen takes 28 blocks
TEST_ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # ape's TEST::0
# The day this module's certificates are issued on, fixed once: a run that crosses midnight (or
# New Year) still issues, numbers and counts them in one day and one year.
TODAY = datetime.now(UTC).date()
YEAR = TODAY.year
DEPLOYER_PASSPHRASE = "consortium deployer"
INDEXED_GOVERNANCE = (GOVERNOR_CONTRACT, SEATS_CONTRACT, VALIDATOR_SET_CONTRACT)


@dataclass
class Consortium:
    """The running network, the registry deployed and seeded on it, and a directory for files."""

    network: CliqueNetwork
    deployment: Deployment
    deployment_file: Path
    directory: Path

    def w3(self, node: int) -> Web3:
        return connect(self.network.rpc_url(node), expected_chain_id=CHAIN_ID)

    def store(self, name: str) -> sessionmaker[Session]:
        """A fresh, migrated SQLite store of the test's own."""
        engine = create_engine(f"sqlite:///{self.directory / 'stores' / name}.db")
        migrate(engine)
        return session_factory(engine)

    def indexer(self, node: int, store: sessionmaker[Session], **options: Any) -> Indexer:
        """An indexer of the registry and its governance following node `node` into `store`,
        as the services' indexers do."""
        contracts = {self.deployment.contracts[name]: name for name in INDEXED_GOVERNANCE}
        return Indexer(
            self.w3(node),
            store,
            registry=self.deployment.address,
            start_block=self.deployment.block,
            contracts=contracts,
            **options,
        )


@dataclass
class Authority(Party):
    """A participant's own service process (hosting only that participant), its API keys by
    role, and its database."""

    engine: Engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    def view(self, cert_no: str) -> dict[str, Any]:
        with self.client() as client:
            response = client.get(f"/v1/certificates/{cert_no}")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def status(self, cert_no: str) -> str | None:
        with self.client() as client:
            response = client.get(f"/v1/certificates/{cert_no}")
        return str(response.json()["status"]) if response.status_code == 200 else None

    def wait_status(self, cert_no: str, status: str) -> None:
        """Waits until this service's index has `cert_no` in `status` (it trails the head)."""
        wait_until(
            lambda: self.status(cert_no) == status,
            timeout=60,
            what=f"{self.code}'s index: {cert_no} {status}",
        )


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    """The network, with the registry deployed and BW, AE, ZA and US admitted through node 1."""
    directory = tmp_path_factory.mktemp("consortium")
    with CliqueNetwork(directory / "network") as network:
        w3 = connect(network.rpc_url(1), expected_chain_id=CHAIN_ID)
        deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=CHAIN_ID)
        admitted = [p for p in DEMO_PARTICIPANTS if p.code in PARTICIPANTS]
        deployment = deploy(
            deployer,
            founders=founders(admitted),
            governance=DEVNET_GOVERNANCE,
            network=NETWORK,
            expected_chain_id=CHAIN_ID,
            confirmations=CONFIRMATIONS,
        )
        seed(w3, deployment.address, chain_id=CHAIN_ID, participants=admitted)
        path = deployment.write(directory / "deployments")
        yield Consortium(network, deployment, path, directory)


@pytest.fixture(scope="module")
def authorities(consortium: Consortium) -> Iterator[dict[str, Authority]]:
    """BW's service on node 1 and AE's on node 2, each hosting only its own participant, with its
    own SQLite database and the document exchange on; AE's endpoint and key registered on chain
    by AE's admin, and seen by BW's service."""
    started: dict[str, Authority] = {}
    try:
        for code, node in (("BW", 1), ("AE", 2)):
            directory = consortium.directory / f"service-{code}"
            directory.mkdir()
            database_url = f"sqlite:///{directory / 'kpchain.db'}"
            settings = service_settings(
                directory,
                consortium.network.rpc_url(node),
                consortium.deployment,  # service_settings reads the registry's `address`
                database_url,
                hosted=[code],
                chain_id=CHAIN_ID,
                network=NETWORK,
                deployment_file=consortium.deployment_file,
                confirmations=CONFIRMATIONS,
                receipt_timeout=60,
                exchange_allow_http=True,  # development mode: the tests' services speak http
                exchange_max_backoff=2,
            )
            party = start_sovereign_service(directory, settings, code)
            engine = create_engine(database_url)
            started[code] = Authority(party.code, party.service, party.keys, engine)
        registered = started["AE"].register_endpoint()
        started["BW"].wait_endpoint("AE", registered["encryption_key"])
        yield started
    finally:
        for authority in started.values():
            authority.service.stop()
            authority.engine.dispose()


@pytest.fixture(autouse=True)
def every_node_running(consortium: Consortium) -> None:
    """Each test starts with the three nodes running and agreeing, whatever the one before did."""
    network = consortium.network
    for node in network.nodes:
        if not node.running:
            network.start_node(node.index)
    network.wait_for_blocks(1, nodes=[1, 2, 3])


def index_rows(sessions: sessionmaker[Session]) -> Dump:
    """Everything an index says, but how far it has got (its checkpoint)."""
    return {table: rows for table, rows in dump_index(sessions).items() if table != "checkpoint"}


def _wait_for_index(authority: Authority, expected: Dump) -> None:
    """Waits until `authority`'s index says exactly `expected` (its indexer trails the head)."""
    wait_until(
        lambda: index_rows(authority.sessions) == expected,
        timeout=60,
        what=f"{authority.code}'s index to equal the expected one",
    )


def send_certificate(bw: Authority, ae: Authority, cert_no: str) -> None:
    """Issues and ships `cert_no` at BW's service, then `receive_certificate`."""
    issue_and_ship(bw, cert_no)
    receive_certificate(bw, ae, cert_no)


def issue_and_ship(bw: Authority, cert_no: str) -> None:
    """Issues `cert_no` (from BW to AE) and ships it at BW's service."""
    with bw.client() as client:
        issued = client.post(
            "/v1/certificates",
            json=document(cert_no, issued_at=TODAY.isoformat()),
            headers={"Idempotency-Key": cert_no},
        )
        assert issued.status_code == 201, issued.text
        shipped = client.post(
            f"/v1/certificates/{cert_no}/ship",
            json={"seal_ref": f"SEAL-{cert_no}"},
            headers={"Idempotency-Key": f"{cert_no}:ship"},
        )
        assert shipped.status_code == 200, shipped.text


def receive_certificate(bw: Authority, ae: Authority, cert_no: str) -> None:
    """Receives `cert_no` at AE's service once AE's index has it shipped, and waits until both
    indexes have it received."""
    ae.wait_status(cert_no, "shipped")
    with ae.client() as client:
        received = client.post(
            f"/v1/certificates/{cert_no}/receive",
            json={
                "parcels": 3,
                "carats": "1234.56",
                "received_at": datetime.now(UTC).date().isoformat(),
            },
            headers={"Idempotency-Key": f"{cert_no}:receive"},
        )
        assert received.status_code == 200, received.text
    for authority in (bw, ae):
        authority.wait_status(cert_no, "received")


def statistics(authority: Authority) -> dict[str, Any]:
    """`authority`'s statistics of this year, as its index has them."""
    response = authority.get(f"/v1/statistics?year={YEAR}")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def flows(report: dict[str, Any], code: str) -> dict[str, Any]:
    """`code`'s row (its exports and imports) in a statistics report."""
    row: dict[str, Any] = next(row for row in report["participants"] if row["code"] == code)
    return row


# --- part 2: certificates across nodes -----------------------------------------------------------


def test_certificate_shipped_through_node1_and_received_through_node2_reads_alike_in_both_services(
    authorities: dict[str, Authority],
) -> None:
    """BW's service (node 1) issues and ships; its outbox delivers the signed document to AE's
    service (node 2), which shows it, prints it with the identities and confirms receipt."""
    bw, ae = authorities["BW"], authorities["AE"]
    cert_no = f"BW-{YEAR}-000101"
    before = statistics(bw)

    issue_and_ship(bw, cert_no)

    sent = bw.wait_delivery(cert_no, "delivered")
    assert (sent["direction"], sent["sender"], sent["recipient"]) == ("outbound", "BW", "AE")
    assert sent["endpoint"] == ae.url
    issued = bw.get(f"/v1/certificates/{cert_no}/document")
    assert issued.status_code == 200, issued.text
    held = ae.get(f"/v1/certificates/{cert_no}/document")
    assert held.status_code == 200, held.text
    assert held.json() == issued.json()
    pdf = ae.get(f"/v1/certificates/{cert_no}/pdf")
    assert pdf.status_code == 200, pdf.text
    text = flat(" ".join(pages_text(pdf.content)))
    assert "BW Diamond Trading Company" in text
    assert "AE Rough Imports Ltd" in text

    receive_certificate(bw, ae, cert_no)

    exporter_view, importer_view = bw.view(cert_no), ae.view(cert_no)
    assert exporter_view == importer_view
    assert exporter_view["status"] == "received"
    assert (exporter_view["exporting_participant"], exporter_view["importing_participant"]) == (
        "BW",
        "AE",
    )
    after = statistics(bw)
    assert statistics(ae) == after
    exports, imports = flows(after, "BW")["exports"], flows(after, "AE")["imports"]
    assert exports["certificates"] == flows(before, "BW")["exports"]["certificates"] + 1
    assert imports["certificates"] == flows(before, "AE")["imports"]["certificates"] + 1


def test_document_reaches_node2s_service_when_it_comes_back_after_a_stop_during_delivery(
    authorities: dict[str, Authority],
) -> None:
    """AE's service is down when BW's delivers: the delivery fails, is tried again, and reaches
    AE's service once it is back on its registered address; AE holds the one document."""
    bw, ae = authorities["BW"], authorities["AE"]
    cert_no = f"BW-{YEAR}-000102"
    ae.service.stop()
    try:
        issue_and_ship(bw, cert_no)

        failed = bw.wait_delivery(cert_no, "failed", "endpoint_unreachable")

        assert failed["attempts"] >= 1
        assert failed["endpoint"] == ae.url
    finally:
        ae.service.start(timeout=WAIT)  # on the same port: the endpoint registered on chain

    delivered = bw.wait_delivery(cert_no, "delivered")

    assert delivered["error"] is None
    assert delivered["attempts"] > failed["attempts"]  # the same delivery, tried again
    held = ae.get(f"/v1/certificates/{cert_no}/document")
    assert held.status_code == 200, held.text
    assert held.json() == bw.get(f"/v1/certificates/{cert_no}/document").json()
    received = ae.delivery(cert_no)
    assert (received["direction"], received["state"]) == ("inbound", "delivered")
    assert received["doc_hash"] == delivered["doc_hash"]
    receive_certificate(bw, ae, cert_no)
    assert bw.view(cert_no) == ae.view(cert_no)


def test_decision_proposed_at_bw_and_voted_at_ae_takes_effect_in_both_services(
    authorities: dict[str, Authority],
) -> None:
    """Governance end to end across nodes: BW's service (node 1) proposes with BW's admin key,
    AE's (node 2) votes with AE's, and executes once the vote and the timelock are over."""
    bw, ae = authorities["BW"], authorities["AE"]
    # US: only ever an importer in these tests, so restricting its origin changes nothing else.
    body = {"action": "restrict_origin", "participant": "US", "description": "Restrict US"}
    with bw.client("admin") as client:
        proposed = client.post("/v1/governance/proposals", json=body)
    assert proposed.status_code == 201, proposed.text
    path = f"/v1/governance/proposals/{proposed.json()['id']}"

    def post(authority: Authority, action: str, body: Any = None) -> Any:
        with authority.client("admin") as client:
            response = client.post(f"{path}/{action}", json=body)
        waiting = {"proposal_not_found", "proposal_not_active", "proposal_not_ready"}
        if response.status_code in (404, 409) and response.json()["error"]["code"] in waiting:
            return None  # not indexed there yet, or its time has not come: ask again
        assert response.status_code in (200, 201), response.text
        return response.json()

    approve = {"support": "approve"}
    wait_until(lambda: post(ae, "votes", approve), timeout=60, what="AE's vote")
    wait_until(lambda: post(bw, "votes", approve), timeout=60, what="BW's vote")
    queued = wait_until(lambda: post(ae, "execute"), timeout=90, what="the end of the vote")
    executed = wait_until(lambda: post(ae, "execute"), timeout=60, what="the timelock")

    assert queued["state"] == "queued"
    assert executed["state"] == "executed"

    def restricted(authority: Authority) -> bool:
        with authority.client("clerk") as client:  # its own participant's key: it hosts no other
            view = client.get("/v1/participants/US").json()
            state = client.get(path).json()["state"]
        return bool(view["origin_restricted"]) and state == "executed"

    wait_until(lambda: restricted(bw), timeout=60, what="BW's service: executed")
    wait_until(lambda: restricted(ae), timeout=60, what="AE's service: executed")


def test_indexer_stays_its_confirmations_behind_the_head_of_the_clique_chain(
    consortium: Consortium,
) -> None:
    indexer = consortium.indexer(1, consortium.store("confirmations"), confirmations=CONFIRMATIONS)

    indexed = indexer.sync()

    assert indexed is not None
    assert indexed <= consortium.network.node(1).head - CONFIRMATIONS


def test_blocks_and_certificates_keep_coming_while_node3_is_down_and_node3_catches_up_after(
    consortium: Consortium, authorities: dict[str, Authority]
) -> None:
    network = consortium.network
    node1, node2 = network.node(1), network.node(2)
    bw, ae = authorities["BW"], authorities["AE"]

    network.stop_node(3)  # SIGINT; see CliqueNetwork.stop_node for why not SIGKILL
    # From the next block both nodes left have: what node 3 sealed last may still arrive.
    down_from = network.wait_for_blocks(1, nodes=[1, 2])
    send_certificate(bw, ae, f"BW-{YEAR}-000201")
    send_certificate(bw, ae, f"BW-{YEAR}-000202")
    down_to = network.wait_for_blocks(2, nodes=[1, 2])
    sealers = {block_signer(node1.block(n)) for n in range(down_from + 1, down_to + 1)}

    network.start_node(3)
    # Caught up: the three agree on a block sealed after node 3 is back.
    network.wait_for_blocks(1, nodes=[1, 2, 3])
    from_node3 = consortium.store("node3-after-restart")
    consortium.indexer(3, from_node3).sync()

    assert sealers == {node1.signer.address, node2.signer.address}  # nodes 1 and 2 took turns
    node3 = network.node(3)
    for number in (down_from, down_to):  # node 3 has the blocks sealed while it was down
        assert node3.block(number)["hash"] == node1.block(number)["hash"]
    expected = index_rows(from_node3)
    assert {row[0] for row in expected["certificates"]} >= {
        f"BW-{YEAR}-000201",
        f"BW-{YEAR}-000202",
    }
    for authority in (bw, ae):
        _wait_for_index(authority, expected)


def test_indexer_following_node3_repairs_the_reorg_when_node3_rejoins_from_its_own_branch(
    consortium: Consortium, caplog: pytest.LogCaptureFixture
) -> None:
    network = consortium.network
    cert_no = f"ZA-{YEAR}-000301"
    fork_tx = _signed_issue(consortium, cert_no)  # ZA's authority, signed for node 3 only
    follower_store = consortium.store("follows-node3")
    follower = consortium.indexer(3, follower_store, confirmations=0)

    fork_block = _seal_alone_on_node3(network, fork_tx)
    follower.sync()
    indexed_on_branch = {row[0] for row in index_rows(follower_store)["certificates"]}
    # Three blocks of the others above the branch point outweigh node 3's one (a Clique block
    # weighs 2 sealed in turn, 1 out of turn): node 3 must switch when it rejoins.
    network.wait_for_height(fork_block + 2, nodes=[1, 2])
    network.stop_node(3)
    network.start_node(3)
    network.wait_for_height(network.node(1).head, nodes=[1, 2, 3])
    with caplog.at_level(logging.WARNING, logger="kpchain.indexer.indexer"):
        follower.sync()
    from_node1 = consortium.store("node1-after-reorg")
    consortium.indexer(1, from_node1).sync()

    assert cert_no in indexed_on_branch
    assert network.node(1).rpc("eth_getTransactionReceipt", fork_tx.tx_hash) is None
    assert any(f"reorg: block {fork_block}" in message for message in caplog.messages)
    assert index_rows(follower_store) == index_rows(from_node1)
    assert cert_no not in {row[0] for row in index_rows(follower_store)["certificates"]}


def _signed_issue(consortium: Consortium, cert_no: str) -> SignedTransaction:
    """ZA's authority issuing `cert_no` (to US), signed with ZA's next nonce and not sent."""
    w3 = consortium.w3(3)
    authority = participant_account("ZA", "authority")
    certificate = to_contract(
        CertificateDocument.model_validate(document(cert_no, "ZA", "US")),
        exporter_salt=new_salt(),
        importer_salt=new_salt(),
    )
    data = typed_data(
        certificate, chain_id=CHAIN_ID, verifying_contract=consortium.deployment.address
    )
    signature = LocalSigner(authority).sign_typed_data(data)
    call = Registry(w3, consortium.deployment.address).issue(
        certificate, authority.address, signature
    )
    sender = TransactionSender(w3, LocalSigner(authority), chain_id=CHAIN_ID)
    return sender.sign(sender.prepare(call))


def _seal_alone_on_node3(network: CliqueNetwork, fork_tx: SignedTransaction) -> int:
    """Cuts node 3 off and has it seal `fork_tx` into a block of its own branch; returns that
    block's number.

    A signer alone seals one block, and only on a block it did not seal itself: so node 3 first
    follows the others without sealing, until its head is a block of theirs, and is cut off
    then. Cut off, it seals only once its pool has the transaction (see `start_alone`).
    """
    node3 = network.node(3)
    network.stop_node(3)
    network.start_node(3, mine=False)
    network.wait_for_blocks(1, nodes=[1, 2, 3])  # sealed since node 3 stopped sealing
    network.stop_node(3)
    network.start_alone(3)
    branch_point = node3.head
    assert block_signer(node3.block(branch_point)) != node3.signer.address

    node3.rpc("eth_sendRawTransaction", "0x" + fork_tx.raw.hex())
    receipt = wait_until(
        lambda: node3.try_rpc("eth_getTransactionReceipt", fork_tx.tx_hash),
        timeout=60,
        what="node 3 to seal the transaction alone",
        log=node3.log_tail,
    )
    assert int(receipt["status"], 16) == 1, receipt
    assert int(receipt["blockNumber"], 16) == branch_point + 1, receipt
    return branch_point + 1


# --- part 3: deploying to the consortium ---------------------------------------------------------


def test_zero_gas_price_transactions_are_mined_legacy_and_eip1559_from_an_account_without_ether(
    consortium: Consortium,
) -> None:
    w3 = consortium.w3(1)
    account = Account.create()
    base = {"to": account.address, "value": 0, "gas": 21_000, "chainId": CHAIN_ID}
    legacy = account.sign_transaction({**base, "nonce": 0, "gasPrice": 0})
    dynamic = account.sign_transaction(
        {**base, "nonce": 1, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    )

    hashes = [w3.eth.send_raw_transaction(tx.raw_transaction) for tx in (legacy, dynamic)]
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=60) for h in hashes]

    assert w3.eth.gas_price == 0  # what kpchain's sender pays: the node's price
    assert w3.eth.get_balance(account.address) == 0
    assert [r["status"] for r in receipts] == [1, 1]
    assert [r["type"] for r in receipts] == [0, 2]
    assert [r["effectiveGasPrice"] for r in receipts] == [0, 0]


@dataclass(frozen=True)
class Deployer:
    """A keystore the deploy command opens, and its account."""

    keystore: Path
    address: str
    founders: Path  # two founding members (the governance needs a quorum of two)

    def deploy(self, rpc_url: str, chain_id: int, out: Path) -> Result:
        """`kpchain deploy` in this process, against `rpc_url`, for the consortium network,
        waiting for the services' confirmations."""
        options = {"--rpc-url": rpc_url, "--chain-id": str(chain_id), "--network": NETWORK}
        options |= {"--keystore": str(self.keystore), "--out": str(out)}
        options |= {"--confirmations": str(CONFIRMATIONS), "--founders": str(self.founders)}
        return CliRunner().invoke(main, ["deploy", *(x for pair in options.items() for x in pair)])


@pytest.fixture
def deployer(clean_settings: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployer:
    """A keystore with a fresh key (no ether at all), opened by KPCHAIN_KEYSTORE_PASSPHRASE."""
    monkeypatch.setenv("KPCHAIN_KEYSTORE_PASSPHRASE", DEPLOYER_PASSPHRASE)
    keystore = tmp_path / "deployer.json"
    address = create_keystore(keystore, passphrase=DEPLOYER_PASSPHRASE, iterations=2**10)
    return Deployer(keystore, address, _founders_file(tmp_path))


def _founders_file(directory: Path) -> Path:
    path = directory / "founders.yaml"
    admins = {code: participant_account(code, "admin").address for code in ("BW", "AE")}
    path.write_text("".join(f'{code}: {{admin: "{admin}"}}\n' for code, admin in admins.items()))
    return path


def test_deploy_command_deploys_through_node1_and_writes_deployments_file(
    consortium: Consortium, deployer: Deployer, tmp_path: Path
) -> None:
    out = tmp_path / "deployments"

    result = deployer.deploy(consortium.network.rpc_url(1), CHAIN_ID, out)

    assert result.exit_code == 0, result.output
    data = json.loads((out / f"{NETWORK}.json").read_text())
    assert (data["network"], data["chain_id"]) == (NETWORK, CHAIN_ID)
    assert data["deployer"] == deployer.address
    assert data["governor"] == data["contracts"]["KPGovernor"]
    assert consortium.network.node(1).head >= data["block"] + CONFIRMATIONS
    # Another node has the same block (a POA block: extraData over 32 bytes) and the same code.
    consortium.network.wait_for_height(data["block"], nodes=[1, 2, 3])
    node2 = consortium.w3(2)
    assert node2.eth.get_block(data["block"])["hash"].to_0x_hex() == data["block_hash"]
    code = bytes(node2.eth.get_code(data["contracts"]["CertificateRegistry"]))
    assert "0x" + keccak(code).hex() == data["code_hashes"]["CertificateRegistry"]


def test_deploy_command_refuses_another_chain_id_before_sending_anything(
    consortium: Consortium, deployer: Deployer, tmp_path: Path
) -> None:
    result = deployer.deploy(consortium.network.rpc_url(1), 2021, tmp_path / "deployments")

    assert result.exit_code == 1
    assert result.output.startswith("Error: chain_id_mismatch: ")
    assert not (tmp_path / "deployments").exists()
    sent = consortium.w3(1).eth.get_transaction_count(Web3.to_checksum_address(deployer.address))
    assert sent == 0


def test_ape_run_deploy_on_the_consortium_network_writes_deployments_file(
    consortium: Consortium, tmp_path: Path
) -> None:
    """`ape run deploy --network ethereum:kp-consortium:node` in a subprocess, with the node's URL
    in KPCHAIN_RPC_URL as ape-config.yaml reads it, and the services' confirmations in
    KPCHAIN_CONFIRMATIONS; TEST::0 is a development key, which the script takes on a network
    that is not local only with KPCHAIN_DEVELOPMENT=true."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KPCHAIN_")}
    env |= {"KPCHAIN_RPC_URL": consortium.network.rpc_url(1), "KPCHAIN_DEVELOPMENT": "true"}
    env |= {"KPCHAIN_CONFIRMATIONS": str(CONFIRMATIONS)}
    ape = str(Path(sys.executable).parent / "ape")
    founders = _founders_file(tmp_path)
    options = ["--account", "TEST::0", "--founders", str(founders), "--out", str(tmp_path)]

    result = subprocess.run(
        [ape, "run", "deploy", "--network", f"ethereum:{NETWORK}:node", *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / f"{NETWORK}.json").read_text())
    assert (data["network"], data["chain_id"]) == (NETWORK, CHAIN_ID)
    assert (data["deployer"], data["governor"]) == (TEST_ACCOUNT_0, data["contracts"]["KPGovernor"])
    address = data["contracts"]["CertificateRegistry"]
    assert address in result.stdout
    consortium.network.wait_for_height(data["block"], nodes=[1, 2, 3])
    assert consortium.network.node(2).block(data["block"])["hash"] == data["block_hash"]
    code = bytes(consortium.w3(1).eth.get_code(address))
    assert "0x" + keccak(code).hex() == data["code_hashes"]["CertificateRegistry"]
