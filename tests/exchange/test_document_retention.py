"""The importer keeps what it received: a document delivered to AE's own service stays readable
there (the signed document, its PDF with both parties' identities) after AE rotated its
encryption key, after AE's index was dropped and rebuilt from the chain, and five years and a
day later on the chain's clock, when the certificate has long expired. Re-exports rely on it:
the importer must show where its goods came from (KPCS Section III keeps records at least
three years; kpchain never deletes a received document)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from support_exchange import start_party

from kpchain.devnet.anvil import AnvilNode
from support_api import Party
from support_chain import Devnet
from support_pdf import flat, pages_text
from support_service import environment

pytestmark = pytest.mark.anvil

FIVE_YEARS_AND_A_DAY = (5 * 366 + 1) * 24 * 3600


@pytest.fixture(scope="module")
def parties(
    tmp_path_factory: pytest.TempPathFactory, node: AnvilNode, devnet: Devnet
) -> Iterator[dict[str, Party]]:
    root = tmp_path_factory.mktemp("retention")
    started: dict[str, Party] = {}
    try:
        for code in ("BW", "AE"):
            started[code] = start_party(root / code, node.rpc_url, devnet, code)
        key = started["AE"].register_endpoint()["encryption_key"]
        started["BW"].wait_endpoint("AE", key)
        yield started
    finally:
        for party in started.values():
            party.service.stop()


def test_importer_reads_a_delivered_document_after_key_rotation_index_rebuild_and_five_years(
    parties: dict[str, Party], devnet: Devnet
) -> None:
    bw, ae = parties["BW"], parties["AE"]
    cert_no = "BW-2026-R00001"
    bw.issue(cert_no, "AE")
    bw.wait_delivery(cert_no, "delivered")
    original = bw.get(f"/v1/certificates/{cert_no}/document").json()

    ae.register_endpoint(rotate_key=True)
    ae.service.stop()
    rebuilt = subprocess.run(
        [sys.executable, "-m", "kpchain", "index", "rebuild"],
        env=environment(ae.service.settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    devnet.later(FIVE_YEARS_AND_A_DAY)
    ae.service.start(timeout=90)
    held = ae.get(f"/v1/certificates/{cert_no}/document")
    view = ae.get(f"/v1/certificates/{cert_no}")
    pdf = ae.get(f"/v1/certificates/{cert_no}/pdf")

    assert rebuilt.returncode == 0, rebuilt.stderr
    assert held.status_code == 200, held.text
    assert held.json() == original
    assert view.json()["status"] == "expired"
    assert pdf.status_code == 200, pdf.text
    text = flat(" ".join(pages_text(pdf.content)))
    assert "BW Diamond Trading Company" in text
    assert "AE Rough Imports Ltd" in text
