"""The OpenAPI document tells the truth: Schemathesis generates requests from `/openapi.json`
(valid and invalid ones) and sends them to a real ``python -m kpchain serve`` on a seeded anvil,
checking every answer against the document: no server error, only documented statuses, content
types, headers and bodies, and invalid requests refused.

The run is bounded and seeded (the same cases every time): once with an exporting officer's key
over every operation, once with a (read-only) governor's key over the participant registry's,
and once with a participant admin's key over the governance's (proposals, votes, executions).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.documents import document
from kpchain.chain.connection import connect
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from support_api import create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess

pytestmark = pytest.mark.anvil

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "response_headers_conformance",
)
SEED = 20261202
MAX_EXAMPLES = 30
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")


@dataclass
class Served:
    service: ServiceProcess
    keys: dict[str, dict[str, str]]
    governor: str
    directory: Path

    def schemathesis(self, token: str, *options: str) -> subprocess.CompletedProcess[str]:
        """One seeded Schemathesis run against the service's own OpenAPI document."""
        report = self.directory / "schemathesis"
        return subprocess.run(
            [
                str(SCHEMATHESIS),
                "--no-color",
                "--config-file",
                str(CONFIG),
                "run",
                f"{self.service.url}/openapi.json",
                "--checks",
                ",".join(CHECKS),
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--no-shrink",
                "--request-timeout",
                "60",
                "--report-dir",
                str(report),
                *options,
            ],
            capture_output=True,
            text=True,
            cwd=self.directory,  # Schemathesis keeps a folder of its own where it runs
            timeout=1200,
            check=False,
        )


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilNode]:
    """An anvil of the module's own: both runs share the service and its chain."""
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as anvil:
        yield anvil


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, node: AnvilNode) -> Iterator[Served]:
    devnet = Devnet.deploy_and_seed(connect(node.rpc_url, expected_chain_id=node.chain_id))
    directory = tmp_path_factory.mktemp("openapi")
    database_url = f"sqlite:///{directory / 'kpchain.db'}"
    settings = service_settings(directory, node.rpc_url, devnet, database_url)
    governor, keys = create_keys(database_url)
    service = ServiceProcess(settings, directory).start(timeout=60)
    try:
        # Something to find: an issued and a shipped certificate of BW's, one of AE's to BW.
        with service.client(keys["BW"]["officer"]) as client:
            for cert_no in ("BW-2026-000001", "BW-2026-000002"):
                issued = client.post("/v1/certificates", json=document(cert_no))
                assert issued.status_code == 201, issued.text
            assert client.post("/v1/certificates/BW-2026-000002/ship").status_code == 200
        with service.client(keys["AE"]["officer"]) as client:
            issued = client.post("/v1/certificates", json=document("AE-2026-000001", "AE", "BW"))
            assert issued.status_code == 201, issued.text
        # And a proposal, open for votes.
        with service.client(keys["BW"]["admin"]) as client:
            body = {"action": "suspend", "participant": "AO", "description": "Suspend AO"}
            proposed = client.post("/v1/governance/proposals", json=body)
            assert proposed.status_code == 201, proposed.text
        devnet.later(1)
        yield Served(service, keys, governor, directory)
    finally:
        service.stop()


def _failures(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"


def _cases(result: subprocess.CompletedProcess[str]) -> int:
    """How many cases the run generated, each of which passed every check."""
    found = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert found is not None, _failures(result)
    assert found.group(1) == found.group(2), _failures(result)
    return int(found.group(1))


def test_every_operation_answers_as_its_openapi_document_says(served: Served) -> None:
    result = served.schemathesis(served.keys["BW"]["officer"])

    assert result.returncode == 0, _failures(result)
    assert _cases(result) > 1000


def test_participant_registry_answers_a_governor_as_its_openapi_document_says(
    served: Served,
) -> None:
    result = served.schemathesis(served.governor, "--include-path-regex", "^/v1/participants")

    assert result.returncode == 0, _failures(result)
    assert _cases(result) > 100


def test_governance_answers_a_participant_admin_as_its_openapi_document_says(
    served: Served,
) -> None:
    result = served.schemathesis(
        served.keys["BW"]["admin"], "--include-path-regex", "^/v1/governance"
    )

    assert result.returncode == 0, _failures(result)
    assert _cases(result) > 100
