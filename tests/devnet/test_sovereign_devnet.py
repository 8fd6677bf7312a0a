"""`kpchain devnet up --sovereign` against real anvil and service processes, in a temporary
project on free ports: BW, AE, IN, EU, RU and ZA each run a service of their own (own database,
keys and port), one more hosts the other demo participants, the exporters' services deliver
each demo certificate's signed document to the importer's, and governance runs end to end
across the services with the devnet's short periods (real time: votes of 20 s, a timelock of
2 s)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support_devnet import kill_leftover

from helpers.polling import wait_until
from kpchain.chain.connection import connect
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, free_port
from kpchain.devnet.devnet import Devnet, DevnetPaths, up
from kpchain.devnet.seed import DEVNET_GOVERNANCE
from kpchain.devnet.service import HOSTED, SOVEREIGN_PARTICIPANTS
from support_pdf import flat, pages_text

pytestmark = pytest.mark.anvil

SERVICES = len(SOVEREIGN_PARTICIPANTS) + 1  # and the one that hosts the rest
WAIT = 90.0  # seconds: seven services and anvil on two cores


@pytest.fixture(scope="module")
def sovereign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Devnet]]:
    project = tmp_path_factory.mktemp("sovereign")
    try:
        yield (
            project,
            up(project, port=free_port(), api_port=free_port(count=SERVICES), sovereign=True),
        )
    finally:
        kill_leftover(project)


def _devnet_json(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DevnetPaths.of(project).config_file.read_text())
    return data


class Participant:
    """A demo participant at its own service, as devnet.json describes it."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.url: str = entry["api_url"]
        self.keys: dict[str, str] = entry["api_keys"]

    def get(self, path: str, role: str = "officer") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=30)

    def post(self, path: str, body: Any = None, role: str = "admin") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.post(f"{self.url}{path}", json=body, headers=headers, timeout=60)


def _participants(project: Path) -> dict[str, Participant]:
    return {code: Participant(e) for code, e in _devnet_json(project)["participants"].items()}


def _demo_cert_no(party: Participant, exporting: str, direction: str = "outbound") -> str:
    """The number of `exporting`'s first demo certificate, as `party`'s service lists it: the
    devnet numbers them by the year it seeded them in, which need not be the year this module
    was imported in (a run that crosses New Year)."""
    listed = party.get(f"/v1/certificates?direction={direction}&limit=100")
    assert listed.status_code == 200, listed.text
    numbers = [
        item["cert_no"]
        for item in listed.json()["items"]
        if item["cert_no"].startswith(f"{exporting}-") and item["cert_no"].endswith("-000001")
    ]
    assert len(numbers) == 1, numbers
    return str(numbers[0])


def test_sovereign_up_gives_each_of_six_participants_a_service_of_its_own_in_devnet_json(
    sovereign: tuple[Path, Devnet],
) -> None:
    project, devnet = sovereign
    data = _devnet_json(project)
    urls = {code: entry["api_url"] for code, entry in data["participants"].items()}
    own = {urls[code] for code in SOVEREIGN_PARTICIPANTS}
    shared = {url for code, url in urls.items() if code not in SOVEREIGN_PARTICIPANTS}
    parties = _participants(project)

    assert data["api_url"] == urls["BW"] == devnet.api_url
    assert len(own) == len(SOVEREIGN_PARTICIPANTS)
    assert len(shared) == 1
    assert not own & shared
    assert [s.name for s in devnet.services] == [*SOVEREIGN_PARTICIPANTS, HOSTED]
    for running in devnet.services:
        signers = yaml.safe_load((running.log_file.parent / "signers.yaml").read_text())
        assert list(signers["participants"]) == list(running.codes)
        assert list(signers["admins"]) == list(running.codes)
    for entry in data["participants"].values():
        assert list(entry["api_keys"]) == ["officer", "clerk", "auditor", "admin"]
    # Each service has its own database: a key works at its participant's service only.
    assert parties["AE"].get("/v1/certificates").status_code == 200
    stray = httpx.get(
        f"{urls['BW']}/v1/certificates",
        headers={"Authorization": f"Bearer {parties['AE'].keys['officer']}"},
        timeout=30,
    )
    assert stray.status_code == 401, stray.text
    assert parties["AE"].get("/v1/participants/AE/endpoint").json()["url"] == urls["AE"]
    assert parties["BW"].get("/v1/participants/US/endpoint").json()["url"] == urls["US"]


@pytest.mark.parametrize(
    ("exporting", "importing"),
    [
        ("BW", "AE"),  # sovereign to sovereign
        ("RU", "IN"),
        ("CF", "AE"),  # hosted to sovereign
        ("ZA", "US"),  # sovereign to hosted
    ],
)
def test_sovereign_importer_service_holds_the_demo_document_its_exporter_delivered(
    sovereign: tuple[Path, Devnet], exporting: str, importing: str
) -> None:
    project, _devnet = sovereign
    parties = _participants(project)
    exporter, importer = parties[exporting], parties[importing]
    cert_no = _demo_cert_no(exporter, exporting)

    def delivered() -> dict[str, Any] | None:
        view: dict[str, Any] = exporter.get(f"/v1/certificates/{cert_no}/delivery").json()
        return view if view["state"] == "delivered" else None

    sent = wait_until(delivered, timeout=WAIT, what=f"{cert_no} delivered to {importing}")
    held = importer.get(f"/v1/certificates/{cert_no}/document")
    pdf = importer.get(f"/v1/certificates/{cert_no}/pdf")

    assert (sent["recipient"], sent["endpoint"]) == (importing, importer.url)
    assert held.status_code == 200, held.text
    assert held.json() == exporter.get(f"/v1/certificates/{cert_no}/document").json()
    assert pdf.status_code == 200, pdf.text
    text = flat(" ".join(pages_text(pdf.content)))
    assert f"{exporting} Diamond Trading Company" in text
    assert f"{importing} Rough Imports Ltd" in text


def test_sovereign_services_report_the_same_statistics_once_their_indexes_agree(
    sovereign: tuple[Path, Devnet],
) -> None:
    project, _devnet = sovereign
    parties = _participants(project)
    year = _demo_cert_no(parties["BW"], "BW").split("-")[1]
    path = f"/v1/statistics?year={year}"

    def agreed() -> dict[str, Any] | None:
        answers = [parties[code].get(path, "auditor").json() for code in ("BW", "AE", "EU")]
        return answers[0] if answers[0] == answers[1] == answers[2] else None

    statistics = wait_until(agreed, timeout=WAIT, what="three services' statistics to agree")

    assert statistics == parties["US"].get(path, "auditor").json()
    assert json.dumps(statistics).count('"BW"') >= 1


def test_sovereign_devnet_decision_proposed_at_bw_voted_at_ae_and_in_takes_effect_everywhere(
    sovereign: tuple[Path, Devnet],
) -> None:
    """Governance end to end on the devnet, in real time: BW's admin proposes at BW's service,
    AE's and IN's admins approve at theirs, EU's queues it at EU's service once the vote is
    over and RU's executes it at RU's once the timelock has passed."""
    project, _devnet = sovereign
    parties = _participants(project)
    body = {"action": "restrict_origin", "participant": "AO", "description": "Restrict AO"}
    proposed = parties["BW"].post("/v1/governance/proposals", body)
    assert proposed.status_code == 201, proposed.text
    path = f"/v1/governance/proposals/{proposed.json()['id']}"

    def act(code: str, action: str, payload: Any = None) -> dict[str, Any] | None:
        response = parties[code].post(f"{path}/{action}", payload)
        waiting = {"proposal_not_found", "proposal_not_active", "proposal_not_ready"}
        if response.status_code in (404, 409) and response.json()["error"]["code"] in waiting:
            return None  # not in that service's index yet, or its time has not come
        assert response.status_code in (200, 201), response.text
        view: dict[str, Any] = response.json()
        return view

    approve = {"support": "approve"}
    wait_until(lambda: act("AE", "votes", approve), timeout=WAIT, what="AE's vote")
    wait_until(lambda: act("IN", "votes", approve), timeout=WAIT, what="IN's vote")
    period = DEVNET_GOVERNANCE.voting_period + WAIT
    queued = wait_until(lambda: act("EU", "execute"), timeout=period, what="the end of the vote")
    executed = wait_until(lambda: act("RU", "execute"), timeout=WAIT, what="the timelock")

    assert queued["state"] == "queued"
    assert executed["state"] == "executed"
    assert [vote["participant"] for vote in executed["votes"]["by"]] == ["AE", "IN"]

    def restricted(code: str) -> bool:
        party = parties[code]
        view = party.get("/v1/participants/AO", "clerk").json()
        return bool(view["origin_restricted"]) and party.get(path, "clerk").json() == executed

    for code in (*SOVEREIGN_PARTICIPANTS, "AO"):
        wait_until(
            lambda code=code: restricted(code),  # type: ignore[misc]
            timeout=WAIT,
            what=f"{code}'s service: executed",
        )


def test_up_switches_between_layouts_without_redoing_the_demo_or_leaving_services_behind(
    tmp_path: Path,
) -> None:
    port, api_port = free_port(), free_port(count=SERVICES)
    try:
        hosted = up(tmp_path, port=port, api_port=api_port)
        sovereign = up(tmp_path, port=port, api_port=api_port, sovereign=True)
        w3 = connect(sovereign.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
        block = w3.eth.block_number
        again = up(tmp_path, port=port, api_port=api_port)
        latest = w3.eth.block_number
        sent = sum(len(w3.eth.get_block(n)["transactions"]) for n in range(block + 1, latest + 1))
        officer = _participants(tmp_path)["AE"]

        assert [s.name for s in hosted.services] == [HOSTED]
        assert [s.name for s in sovereign.services] == [*SOVEREIGN_PARTICIPANTS, HOSTED]
        assert sovereign.demo_certificates == again.demo_certificates == 8
        assert set(again.api_urls.values()) == {again.api_url}
        assert sent == 0  # the demo was done already: nothing sent again
        cf_demo = _demo_cert_no(officer, "CF", direction="inbound")
        assert officer.get(f"/v1/certificates/{cf_demo}").json()["status"] == "shipped"
        for running in sovereign.services:
            assert running.pid not in {s.pid for s in again.services}
            assert not Path(f"/proc/{running.pid}").exists() or _zombie(running.pid)
    finally:
        kill_leftover(tmp_path)


def _zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
