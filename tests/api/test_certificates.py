"""Certificates over HTTP between two authorities of one service: issue, ship, receive, reject,
cancel and replace, batches, listing, and the signed document, against anvil and a real
database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api_checks import (
    assert_error,
    assert_step,
    authority,
    chain_status,
    error_fields,
    nonce,
)
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from helpers.documents import document
from kpchain.certificates.conversions import confirmation_hash, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import ReceiveRequest
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.contracts.encoding import cert_number
from kpchain.contracts.enums import CertificateStatus
from support_api import Service

CHAIN_ID = 2021
TWO_LINES = [
    {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3},
    {"hs_code": "7102.21", "carats": "100.44", "value_usd": "1000.50", "parcels": 2},
]
DOCUMENT_FIELDS = (
    "cert_no",
    "exporting_participant",
    "importing_participant",
    "origin",
    "provenance",
    "origin_zone",
    "lines",
    "issued_at",
    "expires_at",
    "issuing_authority",
)
REASONS = ("discrepancy", "seal_broken", "expired", "suspected_forgery", "other")


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _recompute(service: Service, signed: dict[str, Any]) -> Any:
    """The contract's certificate of a `GET …/document` answer, rebuilt from its document and
    salts."""
    return to_contract(
        CertificateDocument.model_validate(signed["document"]),
        exporter_salt=bytes.fromhex(signed["exporter_salt"][2:]),
        importer_salt=bytes.fromhex(signed["importer_salt"][2:]),
    )


# --- the lifecycle --------------------------------------------------------------------------


def test_certificate_records_every_step_when_bw_ships_and_ae_receives(
    service_on: Service,
) -> None:
    service = service_on
    cert_no = "BW-2026-000123"
    body = document(cert_no, lines=TWO_LINES)
    bw, ae = authority("BW"), authority("AE")

    response = service.client.post("/v1/certificates", json=body, headers=service.headers("BW"))
    assert response.status_code == 201, response.text
    issued = response.json()
    for key in DOCUMENT_FIELDS:
        assert issued[key] == body[key], key
    assert issued["replaces"] is None
    assert issued["status"] == "issued"
    assert (issued["carats"], issued["value_usd"], issued["parcels"]) == ("1335.00", "457789.50", 5)
    assert issued["signer"] == bw
    assert issued["seal_ref_hash"] is None
    assert issued["confirmation"] is None
    assert issued["rejection_reason"] is None
    assert set(issued["steps"]) == {"issued"}
    assert_step(service, issued["steps"]["issued"], sender=bw)
    assert service.chain.contract.functions.matchesDocument(
        cert_number(cert_no), bytes.fromhex(issued["doc_hash"][2:])
    ).call()
    assert chain_status(service, cert_no) == CertificateStatus.ISSUED

    response = service.post(f"/v1/certificates/{cert_no}/ship", "BW", {"seal_ref": "SEAL-42"})
    assert response.status_code == 200, response.text
    shipped = response.json()
    assert shipped["status"] == "shipped"
    assert shipped["seal_ref_hash"] == "0x" + keccak(text="SEAL-42").hex()
    assert set(shipped["steps"]) == {"issued", "shipped"}
    assert shipped["steps"]["issued"] == issued["steps"]["issued"]
    assert_step(service, shipped["steps"]["shipped"], sender=bw)
    assert chain_status(service, cert_no) == CertificateStatus.SHIPPED
    unchanged = {k: v for k, v in issued.items() if k not in ("status", "seal_ref_hash", "steps")}
    assert {k: shipped[k] for k in unchanged} == unchanged

    confirmation = {"parcels": 5, "carats": "1334.90", "received_at": _today()}
    response = service.post(f"/v1/certificates/{cert_no}/receive", "AE", confirmation)
    assert response.status_code == 200, response.text
    received = response.json()
    assert received["status"] == "received"
    expected_hash = confirmation_hash(cert_no, ReceiveRequest.model_validate(confirmation))
    assert received["confirmation"] == {
        **confirmation,
        "confirmation_hash": "0x" + expected_hash.hex(),
    }
    assert set(received["steps"]) == {"issued", "shipped", "received"}
    assert received["steps"]["shipped"] == shipped["steps"]["shipped"]
    assert_step(service, received["steps"]["received"], sender=ae)
    assert received["seal_ref_hash"] == shipped["seal_ref_hash"]
    assert received["rejection_reason"] is None
    assert chain_status(service, cert_no) == CertificateStatus.RECEIVED

    # Both parties, any role, read the same view as the last write answered.
    for code, role in (("BW", "officer"), ("BW", "auditor"), ("AE", "clerk"), ("AE", "officer")):
        response = service.client.get(
            f"/v1/certificates/{cert_no}", headers=service.headers(code, role)
        )
        assert response.status_code == 200, (code, role, response.text)
        assert response.json() == received


def test_document_recomputes_hash_and_signature_when_either_party_fetches_it(
    service: Service,
) -> None:
    cert_no = "BW-2026-000124"
    body = document(cert_no, lines=TWO_LINES)
    view = service.issue(cert_no, lines=TWO_LINES)

    for code in ("BW", "AE"):
        response = service.client.get(
            f"/v1/certificates/{cert_no}/document", headers=service.headers(code, "clerk")
        )
        assert response.status_code == 200, response.text
        signed = response.json()
        assert set(signed) == {
            "document",
            "doc_hash",
            "signature",
            "signer",
            "exporter_salt",
            "importer_salt",
        }
        assert signed["document"] == {**body, "replaces": None}
        cert = _recompute(service, signed)
        digest = document_hash(cert, chain_id=CHAIN_ID, verifying_contract=service.chain.address)
        assert signed["doc_hash"] == "0x" + digest.hex() == view["doc_hash"]
        assert view["exporter_hash"] == "0x" + cert.exporterHash.hex()
        assert view["importer_hash"] == "0x" + cert.importerHash.hex()
        message = encode_typed_data(
            full_message=typed_data(
                cert, chain_id=CHAIN_ID, verifying_contract=service.chain.address
            )
        )
        signature = bytes.fromhex(signed["signature"][2:])
        recovered = Account.recover_message(message, signature=signature)
        assert recovered == signed["signer"] == view["signer"] == authority("BW")
        assert signed["exporter_salt"] != signed["importer_salt"]


def test_certificate_is_rejected_with_each_reason_when_importer_rejects(service: Service) -> None:
    numbers = [f"BW-2026-REJ-{i}" for i in range(len(REASONS))]
    response = service.client.post(
        "/v1/certificates/batch",
        json=[document(n) for n in numbers],
        headers=service.headers("BW"),
    )
    assert response.status_code == 201, response.text
    for cert_no, reason in zip(numbers, REASONS, strict=True):
        shipped = service.post(f"/v1/certificates/{cert_no}/ship", "BW")
        assert shipped.status_code == 200, shipped.text
        assert shipped.json()["seal_ref_hash"] is None

        body = {"reason": reason, "note": f"rejected for {reason}"}
        response = service.post(f"/v1/certificates/{cert_no}/reject", "AE", body)
        assert response.status_code == 200, response.text
        rejected = response.json()
        assert rejected["status"] == "rejected"
        assert rejected["rejection_reason"] == reason
        assert rejected["confirmation"] is None
        assert set(rejected["steps"]) == {"issued", "shipped", "rejected"}
        assert_step(service, rejected["steps"]["rejected"], sender=authority("AE"))
        assert chain_status(service, cert_no) == CertificateStatus.REJECTED
        got = service.client.get(f"/v1/certificates/{cert_no}", headers=service.headers("BW"))
        assert got.json() == rejected

    unknown = service.post(f"/v1/certificates/{numbers[0]}/reject", "AE", {"reason": "lost"})
    error = assert_error(unknown, 422, "invalid_document")
    assert "reason" in error_fields(error)


def test_replacement_is_issued_when_bw_cancels_a_certificate(service: Service) -> None:
    service.issue("BW-2026-000200")
    response = service.post(
        "/v1/certificates/BW-2026-000200/cancel", "BW", {"reason": "carats mistyped"}
    )
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert set(cancelled["steps"]) == {"issued", "cancelled"}
    assert_step(service, cancelled["steps"]["cancelled"], sender=authority("BW"))
    assert chain_status(service, "BW-2026-000200") == CertificateStatus.CANCELLED

    replacement = service.issue("BW-2026-000201", replaces="BW-2026-000200")
    assert replacement["replaces"] == "BW-2026-000200"
    assert replacement["status"] == "issued"

    # A cancelled certificate is replaced once; only a cancelled (or rejected) one can be:
    # registry 1.3.0 refuses both as ReplacementInvalid.
    again = service.post(
        "/v1/certificates", "BW", document("BW-2026-000202", replaces="BW-2026-000200")
    )
    assert_error(again, 409, "replacement_invalid")
    live = service.post(
        "/v1/certificates", "BW", document("BW-2026-000203", replaces="BW-2026-000201")
    )
    assert_error(live, 409, "replacement_invalid")
    for number in ("BW-2026-000202", "BW-2026-000203"):
        got = service.client.get(f"/v1/certificates/{number}", headers=service.headers("BW"))
        assert_error(got, 404, "certificate_not_found")
    # Cancelling twice, and cancelling without a body.
    assert_error(
        service.post("/v1/certificates/BW-2026-000200/cancel", "BW"),
        409,
        "certificate_status_invalid",
    )
    assert service.post("/v1/certificates/BW-2026-000201/cancel", "BW").status_code == 200


# --- batches ---------------------------------------------------------------------------------


def test_batch_issues_all_in_one_transaction_when_every_document_is_valid(
    service: Service,
) -> None:
    numbers = ["BW-2026-B01", "BW-2026-B02", "BW-2026-B03"]
    before = nonce(service, "BW")
    response = service.client.post(
        "/v1/certificates/batch",
        json=[document(numbers[0]), document(numbers[1], "BW", "IN"), document(numbers[2])],
        headers=service.headers("BW"),
    )
    assert response.status_code == 201, response.text
    views = response.json()
    assert [view["cert_no"] for view in views] == numbers
    assert [view["importing_participant"] for view in views] == ["AE", "IN", "AE"]
    assert {view["status"] for view in views} == {"issued"}
    assert len({view["steps"]["issued"]["tx_hash"] for view in views}) == 1
    assert nonce(service, "BW") == before + 1
    assert_step(service, views[0]["steps"]["issued"], sender=authority("BW"))
    for view in views:
        assert chain_status(service, view["cert_no"]) == CertificateStatus.ISSUED


def test_batch_issues_nothing_when_one_document_is_bad(service: Service) -> None:
    service.issue("BW-2026-B00")
    before = nonce(service, "BW")
    good = [document("BW-2026-B11"), document("BW-2026-B13")]

    def batch(bad: dict[str, Any]) -> Any:
        return service.client.post(
            "/v1/certificates/batch", json=[good[0], bad, good[1]], headers=service.headers("BW")
        )

    # Refused by the document rules: the field of the second document is named.
    line = {"hs_code": "7102.31", "carats": "1.234", "value_usd": "1.00", "parcels": 1}
    error = assert_error(batch(document("BW-2026-B12", lines=[line])), 422, "invalid_document")
    assert "1.lines.0.carats" in error_fields(error)
    # Refused by the service: a number already issued.
    error = assert_error(batch(document("BW-2026-B00")), 409, "certificate_already_exists")
    assert error["detail"]["cert_no"] == "BW-2026-B00"
    # Refused by the contract: the origin CF is restricted to zones.
    assert_error(batch(document("BW-2026-B14", origin="CF")), 422, "origin_zone_not_allowed")
    # Refused by the service: the same number twice.
    assert_error(batch(document("BW-2026-B11")), 422, "batch_duplicate")
    # Refused by the service: another exporter's certificate.
    assert_error(batch(document("AE-2026-B15", "AE", "BW")), 403, "participant_mismatch")
    # An empty batch.
    empty = service.client.post("/v1/certificates/batch", json=[], headers=service.headers("BW"))
    assert_error(empty, 422, "invalid_document")

    assert nonce(service, "BW") == before
    for number in ("BW-2026-B11", "BW-2026-B12", "BW-2026-B13", "BW-2026-B14"):
        got = service.client.get(f"/v1/certificates/{number}", headers=service.headers("BW"))
        assert_error(got, 404, "certificate_not_found")
        assert chain_status(service, number) == CertificateStatus.NONE


# --- listing ---------------------------------------------------------------------------------


def _page(service: Service, code: str, **params: Any) -> dict[str, Any]:
    response = service.client.get(
        "/v1/certificates", params=params, headers=service.headers(code, "clerk")
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert set(page) == {"items", "next_cursor"}
    return page


def _numbers(page: dict[str, Any]) -> list[str]:
    return [item["cert_no"] for item in page["items"]]


def test_certificates_list_filters_and_pages_when_participant_reads_them(
    service: Service,
) -> None:
    # Oldest first: A1, A2, A3 to AE, B1 to IN, then C1 from AE to BW.
    for number in ("BW-2026-A1", "BW-2026-A2", "BW-2026-A3"):
        service.issue(number)
    service.issue("BW-2026-B1", "BW", "IN")
    service.issue("AE-2026-C1", "AE", "BW")
    assert service.post("/v1/certificates/BW-2026-A2/ship", "BW").status_code == 200

    everything = _page(service, "BW")
    newest_first = ["AE-2026-C1", "BW-2026-B1", "BW-2026-A3", "BW-2026-A2", "BW-2026-A1"]
    assert _numbers(everything) == newest_first
    assert everything["next_cursor"] is None
    for item in everything["items"]:
        got = service.client.get(
            f"/v1/certificates/{item['cert_no']}", headers=service.headers("BW")
        )
        assert got.json() == item

    assert _numbers(_page(service, "BW", direction="outbound")) == newest_first[1:]
    assert _numbers(_page(service, "BW", direction="inbound")) == ["AE-2026-C1"]
    assert _numbers(_page(service, "BW", status="shipped")) == ["BW-2026-A2"]
    issued = _page(service, "BW", direction="outbound", status="issued")
    assert _numbers(issued) == ["BW-2026-B1", "BW-2026-A3", "BW-2026-A1"]
    assert _numbers(_page(service, "BW", status="received")) == []
    assert _numbers(_page(service, "AE", direction="inbound")) == newest_first[2:]
    assert _numbers(_page(service, "AE", direction="outbound")) == ["AE-2026-C1"]
    assert _numbers(_page(service, "IN")) == ["BW-2026-B1"]
    assert _numbers(_page(service, "US")) == []

    # Pages of two follow each other without gaps or repeats, to the end.
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = _page(service, "BW", **params)
        pages += 1
        assert len(page["items"]) <= 2
        seen += _numbers(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == newest_first
    # Filters and pages together.
    first = _page(service, "BW", direction="outbound", limit=1)
    assert _numbers(first) == ["BW-2026-B1"]
    rest = _page(service, "BW", direction="outbound", limit=10, cursor=first["next_cursor"])
    assert _numbers(rest) == newest_first[2:]
    assert rest["next_cursor"] is None
