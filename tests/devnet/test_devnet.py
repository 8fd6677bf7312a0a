"""`kpchain devnet up|down|status` against real anvil processes, in temporary project folders
and on free ports, so the repository's .kpchain and port 8545 are never touched."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from support_devnet import kill_leftover
from web3 import Web3

from kpchain.chain.connection import connect
from kpchain.cli import main
from kpchain.contracts.encoding import zone_id
from kpchain.deploy import Deployment
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, free_port
from kpchain.devnet.devnet import Devnet, DevnetPaths, down, status, up
from kpchain.devnet.seed import (
    DEMO_PARTICIPANTS,
    ParticipantStatus,
    governor_account,
    participant_account,
    registry,
)
from kpchain.errors import ConfigError

pytestmark = pytest.mark.anvil

CODES = ["BW", "RU", "ZA", "CA", "AO", "NA", "AE", "IN", "EU", "US", "CF", "VE"]

Start = Callable[[Path], tuple[Devnet, int]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Runs `up` in a project folder on a free port; stops every devnet it started."""
    projects: list[Path] = []

    def run(project: Path) -> tuple[Devnet, int]:
        projects.append(project)
        port = free_port()
        return up(project, port=port, api_port=free_port()), port

    try:
        yield run
    finally:
        for project in projects:
            kill_leftover(project)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Devnet]]:
    """One devnet for the tests that only read it."""
    project = tmp_path_factory.mktemp("project")
    try:
        yield project, up(project, port=free_port(), api_port=free_port())
    finally:
        kill_leftover(project)


def _devnet_json(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DevnetPaths.of(project).config_file.read_text())
    return data


def _transactions_since(w3: Web3, block: int) -> int:
    """How many transactions the blocks after `block` hold (the devnet seals an empty block
    every few seconds, so the block number alone does not say nothing was sent)."""
    latest = w3.eth.block_number
    return sum(
        len(w3.eth.get_block(number)["transactions"]) for number in range(block + 1, latest + 1)
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_up_writes_devnet_json_in_contract_shape_when_started(
    running: tuple[Path, Devnet],
) -> None:
    project, devnet = running
    data = _devnet_json(project)

    assert list(data) == [
        "api_url",
        "rpc_url",
        "chain_id",
        "contracts",
        "governor",
        "participants",
    ]
    assert data["api_url"] == devnet.api_url
    assert data["rpc_url"] == devnet.rpc_url
    assert data["chain_id"] == DEVNET_CHAIN_ID == 2021
    assert data["contracts"] == {
        "ParticipantRegistry": devnet.contract,
        "CertificateRegistry": devnet.contract,
    }
    assert list(data["governor"]) == ["api_key"]
    assert list(data["participants"]) == CODES
    for code, entry in data["participants"].items():
        assert list(entry) == ["status", "authority", "api_url", "api_keys"]
        assert entry["api_url"] == devnet.api_url  # one service hosts everybody
        assert entry["authority"] == participant_account(code, "authority").address
        assert Web3.is_checksum_address(entry["authority"])
        assert list(entry["api_keys"]) == ["officer", "clerk", "auditor", "admin"]
    statuses = {code: entry["status"] for code, entry in data["participants"].items()}
    assert statuses == {**dict.fromkeys(CODES, "active"), "VE": "suspended"}


def test_up_leaves_chain_agreeing_with_devnet_json_when_seeded(
    running: tuple[Path, Devnet],
) -> None:
    project, _ = running
    data = _devnet_json(project)
    w3 = connect(data["rpc_url"], expected_chain_id=data["chain_id"])
    contract = registry(w3, data["contracts"]["CertificateRegistry"]).functions
    expected = {"active": ParticipantStatus.ACTIVE, "suspended": ParticipantStatus.SUSPENDED}

    assert [c.decode() for c in contract.participantCodes().call()] == CODES
    for code, entry in data["participants"].items():
        raw = code.encode()
        status = expected[entry["status"]]
        assert contract.participantStatus(raw).call() == status
        assert contract.authorityStatus(entry["authority"]).call() == [raw, status]
        assert contract.authoritiesOf(raw).call() == [entry["authority"]]
        assert contract.participant(raw).call()[2] == participant_account(code, "admin").address
    # Governance, not the deployer (once the devnet's governor), holds the registry's roles.
    governor_role = contract.GOVERNOR_ROLE().call()
    deployment = Deployment.read(project / ".kpchain" / "deployments" / "kp-devnet.json")
    assert not contract.hasRole(governor_role, governor_account().address).call()
    assert contract.hasRole(governor_role, deployment.contracts["KPSeats"]).call()


def test_up_restricts_cf_origin_to_its_compliant_zones_when_seeded(
    running: tuple[Path, Devnet],
) -> None:
    _, devnet = running
    w3 = connect(devnet.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    contract = registry(w3, devnet.contract).functions

    status, restricted, _admin, _admitted_at = contract.participant(b"CF").call()
    assert (status, restricted) == (ParticipantStatus.ACTIVE, True)
    for zone in ("CF:Berberati", "CF:Carnot"):
        assert contract.isOriginZone(b"CF", zone_id(zone)).call()
        assert contract.isOriginAllowed(b"CF", zone_id(zone)).call()
    assert not contract.isOriginAllowed(b"CF", zone_id("CF:Bangui")).call()
    assert not contract.isOriginAllowed(b"CF", bytes(32)).call()
    unrestricted = [p.code for p in DEMO_PARTICIPANTS if p.code != "CF"]
    for code in unrestricted:
        assert contract.participant(code.encode()).call()[1] is False


def test_status_reports_block_contract_and_participants_when_running(
    running: tuple[Path, Devnet],
) -> None:
    project, devnet = running

    found = status(project)

    assert found.running
    assert found.pid == devnet.pid
    assert found.rpc_url == devnet.rpc_url
    assert found.contract == devnet.contract
    assert found.participant_count == 12
    w3 = connect(devnet.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    assert 0 < found.block_number <= w3.eth.block_number  # a block every BLOCK_PERIOD s


def test_up_reuses_running_devnet_without_transactions_when_already_up(
    running: tuple[Path, Devnet],
) -> None:
    project, devnet = running
    w3 = connect(devnet.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    block = w3.eth.block_number

    again = up(project, port=free_port())  # a running devnet keeps its own port

    assert (again.started, again.deployed) == (False, False)
    assert again.pid == devnet.pid
    assert again.rpc_url == devnet.rpc_url
    assert again.contract == devnet.contract
    assert _transactions_since(w3, block) == 0
    assert _devnet_json(project) == devnet.to_json()


def test_cli_devnet_commands_print_addresses_and_how_to_stop_when_running(
    running: tuple[Path, Devnet],
) -> None:
    project, devnet = running
    runner = CliRunner()

    shown = runner.invoke(main, ["devnet", "up", "--project", str(project)])
    described = runner.invoke(main, ["devnet", "status", "--project", str(project)])

    assert shown.exit_code == 0, shown.output
    assert "already running" in shown.output
    assert devnet.contract in shown.output
    assert f"governance {devnet.governor}" in shown.output
    participant_line = re.compile(r"^  [A-Z]{2}  ")
    lines = {ln.split()[0]: ln for ln in shown.output.splitlines() if participant_line.match(ln)}
    assert list(lines) == CODES
    for participant in devnet.participants:
        assert participant.status.label in lines[participant.code]
        assert participant.authority in lines[participant.code]
    assert f"API docs   {devnet.api_url}/docs" in shown.output
    assert f"Bearer {devnet.api_keys['BW']['officer']}" in shown.output
    assert f"kpchain devnet down --project {project}" in shown.output
    assert described.exit_code == 0, described.output
    assert f"devnet running: {devnet.rpc_url}" in described.output
    assert devnet.contract in described.output
    assert "participants 12" in described.output
    assert f"service    {devnet.api_url}" in described.output


def test_down_then_up_reuses_persisted_state_when_restarted(start: Start, tmp_path: Path) -> None:
    first, port = start(tmp_path)
    paths = DevnetPaths.of(tmp_path)
    deployment = json.loads(paths.deployment_file.read_text())
    block = connect(first.rpc_url).eth.block_number

    assert down(tmp_path) is True
    assert not paths.pid_file.exists()
    assert not _pid_alive(first.pid)
    assert status(tmp_path).running is False
    second = up(tmp_path, port=port, api_port=int(first.api_url.rsplit(":", 1)[1]))

    assert (second.started, second.deployed) == (True, False)
    assert second.pid != first.pid
    assert second.contract == first.contract == deployment["contracts"]["CertificateRegistry"]
    assert json.loads(paths.deployment_file.read_text()) == deployment  # no redeploy
    w3 = connect(second.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    assert _transactions_since(w3, block) == 0  # nothing deployed or seeded again
    deploy_receipt = w3.eth.get_transaction_receipt(deployment["tx_hash"])
    assert deploy_receipt["blockNumber"] == deployment["block"]
    assert _devnet_json(tmp_path) == first.to_json()
    assert status(tmp_path).participant_count == 12
    assert down(tmp_path) is True
    assert down(tmp_path) is False  # idempotent


def test_down_returns_false_when_never_started(tmp_path: Path) -> None:
    assert down(tmp_path) is False
    assert down(tmp_path) is False
    assert status(tmp_path).running is False


def test_down_removes_stale_pid_file_when_process_gone(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    paths = DevnetPaths.of(tmp_path)
    paths.directory.mkdir()
    paths.pid_file.write_text(f"{gone.pid}\n")

    assert down(tmp_path) is False
    assert not paths.pid_file.exists()


def test_up_raises_config_error_when_port_taken(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        with pytest.raises(ConfigError, match=f"port {port}"):
            up(tmp_path, port=port)

    assert not DevnetPaths.of(tmp_path).pid_file.exists()
    assert not DevnetPaths.of(tmp_path).config_file.exists()


def test_up_serves_demo_certificates_to_devnet_json_keys_when_started(
    running: tuple[Path, Devnet],
) -> None:
    project, devnet = running
    data = _devnet_json(project)
    year = datetime.now(UTC).year

    def get(path: str, key: str) -> Any:
        response = httpx.get(
            f"{data['api_url']}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        json_body = response.headers["content-type"].startswith("application/json")
        return response.json() if json_body else response.text

    bw = get("/v1/certificates?direction=outbound", data["participants"]["BW"]["api_keys"]["clerk"])
    ae = get("/v1/events?follow=false", data["participants"]["AE"]["api_keys"]["auditor"])
    registry_view = get("/v1/participants", data["governor"]["api_key"])

    assert {c["cert_no"]: c["status"] for c in bw["items"]} == {
        f"BW-{year}-000001": "shipped",
        f"BW-{year}-000002": "received",
    }
    assert devnet.demo_certificates == 8
    assert 'event: certificate.shipped\ndata: {"id"' in ae
    assert [p["code"] for p in registry_view] == CODES
