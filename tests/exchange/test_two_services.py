"""Two sovereign services on one chain: BW's and AE's, each a real ``kpchain serve`` with its own
database, hosting only its own participant. BW issues; its outbox delivers the signed document to
the endpoint AE registered on chain, encrypted to AE's key; AE's service checks it against the
chain, stores it, and then serves the document, the PDF and the dashboard with the identities,
and confirms receipt. Stopping AE loses nothing; bad deliveries are refused and nothing is
stored; a rotated key still reads what was sealed to the old one."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from eth_account import Account
from support_exchange import Direct, start_party

from helpers.polling import wait_until
from kpchain.cli import main
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.exchange.envelope import typed_data
from kpchain.signing import LocalSigner
from support_api import WAIT, Party
from support_chain import Devnet
from support_pdf import flat, pages_text

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def parties(
    tmp_path_factory: pytest.TempPathFactory, node: AnvilNode, devnet: Devnet
) -> Iterator[dict[str, Party]]:
    """BW's and AE's services, AE's endpoint and key registered on chain by AE's admin."""
    root = tmp_path_factory.mktemp("exchange")
    started: dict[str, Party] = {}
    try:
        for code in ("BW", "AE"):
            started[code] = start_party(root / code, node.rpc_url, devnet, code)
        registered = started["AE"].register_endpoint()
        _wait_key(started, registered["encryption_key"])
        yield started
    finally:
        for party in started.values():
            party.service.stop()


@pytest.fixture(scope="module")
def direct(devnet: Devnet) -> Direct:
    return Direct(devnet)


def _ae_key(parties: dict[str, Party]) -> str:
    return str(parties["BW"].endpoint("AE")["encryption_key"])


def _wait_key(parties: dict[str, Party], key: str) -> None:
    """Waits until BW's index has AE's key `key` in force."""
    parties["BW"].wait_endpoint("AE", key)


def _log_in(party: Party) -> httpx.Client:
    """A browser logged in to `party`'s dashboard with its officer key."""
    browser = httpx.Client(base_url=party.url, timeout=60)
    page = browser.get("/dashboard/login")
    token = page.text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
    answer = browser.post(
        "/dashboard/login", data={"api_key": party.keys["officer"], "login_token": token}
    )
    assert answer.status_code == 303, answer.text
    return browser


# --- the document reaches the importer's own service -------------------------------------------


def test_importer_service_shows_document_pdf_and_dashboard_when_exporter_delivered(
    parties: dict[str, Party],
) -> None:
    bw, ae = parties["BW"], parties["AE"]
    cert_no = "BW-2026-X00001"
    bw.issue(cert_no, "AE")

    sent = bw.wait_delivery(cert_no, "delivered")

    assert sent["direction"] == "outbound"
    assert (sent["sender"], sent["recipient"], sent["endpoint"]) == ("BW", "AE", ae.url)
    assert sent["encryption_key"] == _ae_key(parties)
    issued = bw.get(f"/v1/certificates/{cert_no}/document").json()
    held = ae.get(f"/v1/certificates/{cert_no}/document")
    assert held.status_code == 200, held.text
    assert held.json() == issued
    received = ae.delivery(cert_no)
    assert (received["direction"], received["state"]) == ("inbound", "delivered")
    assert received["encryption_key"] == sent["encryption_key"]

    pdf = ae.get(f"/v1/certificates/{cert_no}/pdf")
    assert pdf.status_code == 200, pdf.text
    text = flat(" ".join(pages_text(pdf.content)))
    assert "BW Diamond Trading Company" in text
    assert "AE Rough Imports Ltd" in text

    shipped = bw.post(f"/v1/certificates/{cert_no}/ship", {"seal_ref": "SEAL-X1"})
    assert shipped.status_code == 200, shipped.text
    browser = _log_in(ae)

    def dashboard() -> str | None:
        html = browser.get("/dashboard").text
        return html if f'data-cert-no="{cert_no}"' in html else None

    try:
        page = wait_until(dashboard, timeout=WAIT, what="the shipment on AE's dashboard")
    finally:
        browser.close()
    card = page[page.index(f'data-cert-no="{cert_no}"') :]
    card = card[: card.index("</li>")]
    assert "BW Diamond Trading Company" in card
    assert "AE Rough Imports Ltd" in card
    exporter = _log_in(bw)
    try:
        outbound = exporter.get("/dashboard").text
    finally:
        exporter.close()
    row = outbound[outbound.index(f'<th scope="row">{cert_no}</th>') :]
    row = row[: row.index("</tr>")]
    assert "AE Rough Imports Ltd" in row
    assert 'data-state="delivered"' in row

    confirmed = ae.post(
        f"/v1/certificates/{cert_no}/receive",
        {"parcels": 3, "carats": "1234.56", "received_at": issued["document"]["issued_at"]},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "received"
    assert confirmed.json()["origin_zone"] is None
    wait_until(
        lambda: bw.get(f"/v1/certificates/{cert_no}").json()["status"] == "received",
        timeout=WAIT,
        what="BW's index to see the receipt",
    )


def test_delivery_reaches_importer_when_its_service_comes_back_after_a_stop(
    parties: dict[str, Party],
) -> None:
    bw, ae = parties["BW"], parties["AE"]
    cert_no = "BW-2026-X00002"
    ae.service.kill()
    try:
        bw.issue(cert_no, "AE")

        failed = bw.wait_delivery(cert_no, "failed", "endpoint_unreachable")

        assert failed["attempts"] >= 1
        assert failed["next_attempt_at"] is not None
        assert "did not answer" in failed["error"]["message"]
    finally:
        ae.service.start(timeout=90)

    delivered = bw.wait_delivery(cert_no, "delivered")

    assert delivered["error"] is None
    held = ae.get(f"/v1/certificates/{cert_no}/document")
    assert held.status_code == 200, held.text
    assert held.json() == bw.get(f"/v1/certificates/{cert_no}/document").json()


def test_delivery_waits_for_importer_endpoint_when_importer_registers_late(
    parties: dict[str, Party],
    tmp_path: Path,
    node: AnvilNode,
    devnet: Devnet,
) -> None:
    bw = parties["BW"]
    cert_no = "BW-2026-X00003"
    bw.issue(cert_no, "IN")
    waiting = bw.wait_delivery(cert_no, "pending", "endpoint_missing")
    assert waiting["attempts"] == 0
    india = start_party(tmp_path / "IN", node.rpc_url, devnet, "IN")
    try:
        assert india.get(f"/v1/certificates/{cert_no}/document").status_code == 404

        india.register_endpoint()

        bw.wait_delivery(cert_no, "delivered")
        held = india.get(f"/v1/certificates/{cert_no}/document")
        assert held.status_code == 200, held.text
        assert held.json()["document"]["importer"]["name"] == "IN Rough Imports Ltd"
    finally:
        india.service.stop()


def test_resend_command_delivers_again_and_importer_keeps_one_document(
    parties: dict[str, Party],
) -> None:
    bw, ae = parties["BW"], parties["AE"]
    cert_no = "BW-2026-X00004"
    bw.issue(cert_no, "AE")
    first = bw.wait_delivery(cert_no, "delivered")

    result = CliRunner().invoke(
        main,
        ["exchange", "--api-url", bw.url, "--api-key", bw.keys["officer"], "resend", cert_no],
    )

    assert result.exit_code == 0, result.output
    again = bw.wait_delivery(cert_no, "delivered")
    assert again["delivered_at"] >= first["delivered_at"]
    assert again["attempts"] == 1  # counted afresh from the resend
    assert ae.get(f"/v1/certificates/{cert_no}/document").json() == (
        bw.get(f"/v1/certificates/{cert_no}/document").json()
    )
    assert ae.post(f"/v1/certificates/{cert_no}/delivery/resend").status_code == 403


# --- bad deliveries are refused, and nothing is stored ------------------------------------------


def _refused(ae: Party, envelope: Any, status: int, code: str, cert_no: str) -> dict[str, Any]:
    response = ae.envelope(envelope)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert ae.get(f"/v1/certificates/{cert_no}/document").status_code == 404
    assert ae.delivery(cert_no)["state"] == "pending"
    return dict(error)


def test_envelope_refused_and_nothing_stored_when_document_altered(
    parties: dict[str, Party], direct: Direct
) -> None:
    ae = parties["AE"]
    signed = direct.issue("BW-2026-D00001")
    altered = {
        **signed,
        "document": {
            **signed["document"],
            "importer": {**signed["document"]["importer"], "name": "Someone Else Ltd"},
        },
    }

    error = _refused(
        ae, direct.seal(altered, _ae_key(parties)), 422, "document_hash_mismatch", "BW-2026-D00001"
    )

    assert "differs from the one recorded on the chain" in error["message"]


def test_envelope_refused_and_nothing_stored_when_document_signed_by_wrong_key(
    parties: dict[str, Party], direct: Direct
) -> None:
    ae = parties["AE"]
    signed = direct.issue("BW-2026-D00002")
    forger = Account.create()
    digest = bytes.fromhex(signed["doc_hash"][2:])
    forged = {
        **signed,
        "signature": "0x" + bytes(forger.unsafe_sign_hash(digest).signature).hex(),
    }

    _refused(
        ae, direct.seal(forged, _ae_key(parties)), 422, "document_signer_invalid", "BW-2026-D00002"
    )


def test_envelope_refused_and_nothing_stored_when_sender_unknown(
    parties: dict[str, Party], direct: Direct
) -> None:
    ae = parties["AE"]
    signed = direct.issue("BW-2026-D00003")
    stranger = LocalSigner(Account.create())

    error = _refused(
        ae,
        direct.seal(signed, _ae_key(parties), signer=stranger),
        403,
        "exchange_sender_unknown",
        "BW-2026-D00003",
    )

    assert error["detail"] == {"sender": "BW", "signer": stranger.address}


def test_envelope_accepted_when_signed_by_an_authority_added_after_the_importer_last_polled(
    tmp_path: Path, node: AnvilNode, devnet: Devnet
) -> None:
    # An importer whose index polls once an hour: it learns of the new authority only by
    # catching up when the envelope arrives, as it must (the sender's node may be ahead).
    india = start_party(tmp_path / "IN", node.rpc_url, devnet, "IN", index_poll_interval=3600)
    try:
        key = india.register_endpoint()["encryption_key"]
        late = Direct(devnet)
        signed = late.issue("BW-2026-D00009", "IN")

        response = india.envelope(late.seal(signed, key, recipient="IN"))

        assert response.status_code == 201, response.text
        held = india.get("/v1/certificates/BW-2026-D00009/document")
        assert held.status_code == 200, held.text
        assert held.json()["signer"] == late.authority.address
    finally:
        india.service.stop()


def test_importer_reads_a_certificate_issued_after_its_index_last_polled(
    tmp_path: Path, node: AnvilNode, devnet: Devnet, direct: Direct
) -> None:
    # The read misses in the index, which catches up once: the second look must see what the
    # catch-up wrote (on SQLite a read transaction keeps the snapshot of its first statement).
    india = start_party(tmp_path / "IN", node.rpc_url, devnet, "IN", index_poll_interval=3600)
    try:
        direct.issue("BW-2026-D00010", "IN")

        response = india.get("/v1/certificates/BW-2026-D00010")

        assert response.status_code == 200, response.text
        assert response.json()["status"] == "issued"
    finally:
        india.service.stop()


def test_envelope_refused_when_replayed_for_another_certificate(
    parties: dict[str, Party], direct: Direct
) -> None:
    ae = parties["AE"]
    key = _ae_key(parties)
    first = direct.issue("BW-2026-D00004")
    other = direct.issue("BW-2026-D00005")
    genuine = direct.seal(first, key)
    replayed = {**genuine.model_dump(mode="json"), "cert_no": "BW-2026-D00005"}

    _refused(ae, replayed, 403, "envelope_signature_invalid", "BW-2026-D00005")

    # Even re-signed by a real BW authority for the other number (and its hash), the ciphertext
    # does not open: AES-GCM authenticates the certificate number and hash with it.
    def resigned(envelope: dict[str, Any]) -> dict[str, Any]:
        data = typed_data(envelope, chain_id=DEVNET_CHAIN_ID, registry=direct.chain.address)
        return {**envelope, "signature": "0x" + direct.signer.sign_typed_data(data).hex()}

    _refused(ae, resigned(replayed), 422, "document_hash_mismatch", "BW-2026-D00005")
    rehashed = resigned({**replayed, "doc_hash": other["doc_hash"]})
    _refused(ae, rehashed, 422, "envelope_undecryptable", "BW-2026-D00005")
    accepted = ae.envelope(genuine)
    assert accepted.status_code == 201, accepted.text
    again = ae.envelope(genuine)
    assert again.status_code == 200, again.text
    assert again.json() == {**accepted.json(), "duplicate": True}
    assert ae.get("/v1/certificates/BW-2026-D00004/document").json() == first


def test_envelope_refused_when_body_larger_than_the_route_accepts(
    parties: dict[str, Party], direct: Direct
) -> None:
    ae = parties["AE"]
    signed = direct.issue("BW-2026-D00006")
    envelope = direct.seal(signed, _ae_key(parties)).model_dump(mode="json")
    padded = {**envelope, "ciphertext": base64.b64encode(bytes(300_000)).decode()}

    response = ae.envelope(padded)

    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert ae.get("/v1/certificates/BW-2026-D00006/document").status_code == 404


def test_envelope_refused_when_signed_long_ago(parties: dict[str, Party], direct: Direct) -> None:
    ae = parties["AE"]
    signed = direct.issue("BW-2026-D00007")
    stale = direct.seal(signed, _ae_key(parties), sent_at=int(time.time()) - 2 * 86_400)

    _refused(ae, stale, 422, "envelope_expired", "BW-2026-D00007")


# --- key rotation and re-exports ---------------------------------------------------------------


def test_rotated_key_still_opens_old_envelopes_and_new_deliveries_use_new_key(
    parties: dict[str, Party], direct: Direct
) -> None:
    bw, ae = parties["BW"], parties["AE"]
    old_key = _ae_key(parties)
    bw.issue("BW-2026-R00000", "AE")
    assert bw.wait_delivery("BW-2026-R00000", "delivered")["encryption_key"] == old_key
    in_flight = direct.issue("BW-2026-R00001")
    sealed_to_old = direct.seal(in_flight, old_key)

    rotated = ae.register_endpoint(rotate_key=True)

    new_key = rotated["encryption_key"]
    assert new_key != old_key
    assert [entry["encryption_key"] for entry in rotated["history"]][-2:] == [old_key, new_key]
    accepted = ae.envelope(sealed_to_old)
    assert accepted.status_code == 201, accepted.text
    assert ae.get("/v1/certificates/BW-2026-R00001/document").json() == in_flight
    _wait_key(parties, new_key)
    bw.issue("BW-2026-R00002", "AE")
    delivered = bw.wait_delivery("BW-2026-R00002", "delivered")
    assert delivered["encryption_key"] == new_key
    assert ae.get("/v1/certificates/BW-2026-R00002/document").status_code == 200
    before = ae.get("/v1/certificates/BW-2026-R00000/document")
    assert before.status_code == 200, before.text
    assert before.json() == bw.get("/v1/certificates/BW-2026-R00000/document").json()


def test_importer_keeps_earlier_document_when_it_re_exports_the_goods(
    parties: dict[str, Party],
) -> None:
    bw, ae = parties["BW"], parties["AE"]
    bw.issue("BW-2026-M00001", "AE")
    bw.wait_delivery("BW-2026-M00001", "delivered")
    earlier = ae.get("/v1/certificates/BW-2026-M00001/document").json()

    re_export = ae.issue("AE-2026-M00001", "IN", origin="MIXED", provenance="BW")

    assert (re_export["origin"], re_export["provenance"]) == ("MIXED", "BW")
    assert ae.get("/v1/certificates/BW-2026-M00001/document").json() == earlier
    own = ae.get("/v1/certificates/AE-2026-M00001/document")
    assert own.status_code == 200, own.text
    assert own.json()["document"]["provenance"] == "BW"
    assert ae.delivery("AE-2026-M00001")["direction"] == "outbound"
