"""Who may call what: API keys (401), roles and parties (403)."""

from __future__ import annotations

from typing import Any

from api_checks import assert_error, nonce

from helpers.documents import document
from kpchain.service.keys import revoke_key
from kpchain.store import create_engine, session_factory
from support_api import Service

RECEIPT = {"parcels": 3, "carats": "1234.56", "received_at": "2026-11-27"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_request_is_unauthenticated_when_key_is_missing_malformed_unknown_or_revoked(
    service: Service,
) -> None:
    service.issue("BW-2026-000001")
    path = "/v1/certificates/BW-2026-000001"
    clerk = service.keys["AE"]["clerk"]
    assert service.client.get(path, headers=_bearer(clerk)).status_code == 200
    key_id, secret = clerk.split("_", 2)[1:]

    attempts: list[tuple[dict[str, str], str]] = [
        ({}, "api_key_missing"),
        ({"Authorization": ""}, "api_key_missing"),
        ({"Authorization": f"Basic {clerk}"}, "api_key_missing"),
        ({"Authorization": clerk}, "api_key_missing"),
        (_bearer("garbage"), "api_key_invalid"),
        (_bearer("kp_"), "api_key_invalid"),
        (_bearer(f"kp_{key_id}"), "api_key_invalid"),
        (_bearer(f"xx_{key_id}_{secret}"), "api_key_invalid"),
        (_bearer(f"kp_{key_id}_{secret[:-1]}"), "api_key_invalid"),
        (_bearer(f"kp_000000000000_{secret}"), "api_key_invalid"),
    ]
    for headers, code in attempts:
        for response in (
            service.client.get(path, headers=headers),
            service.client.get("/v1/certificates", headers=headers),
            service.client.post(f"{path}/ship", headers=headers),
            service.client.get("/v1/participants", headers=headers),
            service.client.get("/v1/events", params={"follow": "false"}, headers=headers),
        ):
            assert_error(response, 401, code)
            assert response.headers["WWW-Authenticate"] == "Bearer"

    engine = create_engine(service.settings.database_url)
    try:
        with session_factory(engine)() as session:
            assert revoke_key(session, key_id)
            session.commit()
    finally:
        engine.dispose()
    assert_error(service.client.get(path, headers=_bearer(clerk)), 401, "api_key_invalid")
    # The participant's other keys still work.
    assert service.client.get(path, headers=service.headers("AE", "auditor")).status_code == 200
    assert service.client.get("/v1/certificates/BW-2026-000001").status_code == 401
    assert service.client.get("/healthz").status_code == 200  # public


def test_write_is_forbidden_when_key_is_a_clerk_or_auditor(service: Service) -> None:
    service.issue("BW-2026-000002")
    before = nonce(service, "BW"), nonce(service, "AE")
    cert = "/v1/certificates/BW-2026-000002"
    for role in ("clerk", "auditor"):
        writes: list[tuple[str, str, Any]] = [
            ("/v1/certificates", "BW", document("BW-2026-000003")),
            ("/v1/certificates/batch", "BW", [document("BW-2026-000003")]),
            (f"{cert}/ship", "BW", {"seal_ref": "S-1"}),
            (f"{cert}/cancel", "BW", None),
            (f"{cert}/receive", "AE", RECEIPT),
            (f"{cert}/reject", "AE", {"reason": "other"}),
        ]
        for path, code, body in writes:
            response = service.post(path, code, body, role=role)
            error = assert_error(response, 403, "role_insufficient")
            assert error["detail"] == {"role": role, "required": ["officer"]}
        # Reading is what these roles are for.
        for path in (cert, f"{cert}/document", "/v1/certificates", "/v1/participants"):
            for code in ("BW", "AE"):
                response = service.client.get(path, headers=service.headers(code, role))
                assert response.status_code == 200, (path, code, role, response.text)
    assert (nonce(service, "BW"), nonce(service, "AE")) == before
    view = service.client.get(cert, headers=service.headers("BW")).json()
    assert view["status"] == "issued"


def test_governance_is_forbidden_when_key_is_not_a_participant_admin(service: Service) -> None:
    proposal = {"action": "suspend", "participant": "AE", "description": "Suspend AE"}
    keys = [("BW", role) for role in ("officer", "clerk", "auditor")] + [("", "governor")]
    for code, role in keys:
        response = service.client.post(
            "/v1/governance/proposals", json=proposal, headers=service.headers(code, role)
        )
        error = assert_error(response, 403, "role_insufficient")
        assert error["detail"] == {"role": role, "required": ["admin"]}
        for path in ("/v1/governance/proposals/1/votes", "/v1/governance/proposals/1/execute"):
            response = service.client.post(
                path, json={"support": "approve"}, headers=service.headers(code, role)
            )
            assert_error(response, 403, "role_insufficient")
    listed = service.client.get("/v1/governance/proposals", headers=service.headers("BW", "admin"))
    assert listed.json() == {"items": []}
    ae = service.client.get("/v1/participants/AE", headers=service.headers("BW")).json()
    assert ae["status"] == "active"

    # A governor key (read-only) signs for no participant: no certificate writes, no lists.
    governor = service.headers("", "governor")
    response = service.client.post(
        "/v1/certificates", json=document("BW-2026-000004"), headers=governor
    )
    assert_error(response, 403, "role_insufficient")
    response = service.client.get("/v1/certificates", headers=governor)
    assert_error(response, 403, "participant_key_required")
    # … but it reads any certificate's view, which holds the identities only as salted hashes.
    service.issue("BW-2026-000005")
    response = service.client.get("/v1/certificates/BW-2026-000005", headers=governor)
    assert response.status_code == 200, response.text
    assert "exporter" not in response.json()
    assert "importer" not in response.json()


def test_governor_key_cannot_read_a_document_or_its_pdf_which_name_exporter_and_importer(
    service: Service,
) -> None:
    service.issue("BW-2026-000008")
    governor = service.headers("", "governor")

    document_answer = service.client.get(
        "/v1/certificates/BW-2026-000008/document", headers=governor
    )
    pdf_answer = service.client.get("/v1/certificates/BW-2026-000008/pdf", headers=governor)
    importer = service.client.get(
        "/v1/certificates/BW-2026-000008/document", headers=service.headers("AE", "auditor")
    )

    for refused in (document_answer, pdf_answer):
        error = assert_error(refused, 403, "participant_key_required")
        assert error["detail"] == {"cert_no": "BW-2026-000008"}
        assert "Diamond Trading" not in refused.text
    assert importer.status_code == 200, importer.text  # the parties' keys, any role, still do


def test_operation_is_forbidden_when_key_belongs_to_the_wrong_party(service: Service) -> None:
    service.issue("AE-2026-000001", "AE", "BW")
    service.issue("BW-2026-000006")
    service.issue("BW-2026-000007")
    assert service.post("/v1/certificates/BW-2026-000007/ship", "BW").status_code == 200
    before = {code: nonce(service, code) for code in ("BW", "AE", "IN")}

    attempts: list[tuple[str, str, Any, str]] = [
        # BW imports AE-2026-000001: only AE ships or cancels it.
        ("/v1/certificates/AE-2026-000001/ship", "BW", None, "AE"),
        ("/v1/certificates/AE-2026-000001/cancel", "BW", None, "AE"),
        # BW exports BW-2026-000007: only AE receives or rejects it.
        ("/v1/certificates/BW-2026-000007/receive", "BW", RECEIPT, "AE"),
        ("/v1/certificates/BW-2026-000007/reject", "BW", {"reason": "other"}, "AE"),
        # AE imports BW-2026-000006: it does not ship nor cancel it.
        ("/v1/certificates/BW-2026-000006/ship", "AE", None, "BW"),
        ("/v1/certificates/BW-2026-000006/cancel", "AE", None, "BW"),
        # A third participant does nothing to it.
        ("/v1/certificates/BW-2026-000007/receive", "IN", RECEIPT, "AE"),
        ("/v1/certificates/BW-2026-000006/ship", "IN", None, "BW"),
        # BW issues only its own exports.
        ("/v1/certificates", "BW", document("AE-2026-000002", "AE", "BW"), "AE"),
    ]
    for path, code, body, required in attempts:
        error = assert_error(service.post(path, code, body), 403, "participant_mismatch")
        assert error["detail"]["participant"] == code
        assert error["detail"]["required"] == required

    # A non-party reads neither the view nor the document, whatever its role.
    for role in ("officer", "clerk", "auditor"):
        for path in ("/v1/certificates/BW-2026-000006", "/v1/certificates/BW-2026-000006/document"):
            response = service.client.get(path, headers=service.headers("IN", role))
            error = assert_error(response, 403, "participant_mismatch")
            assert error["detail"] == {"cert_no": "BW-2026-000006", "participant": "IN"}

    assert {code: nonce(service, code) for code in before} == before
    statuses = {
        number: service.client.get(
            f"/v1/certificates/{number}", headers=service.headers("BW")
        ).json()["status"]
        for number in ("AE-2026-000001", "BW-2026-000006", "BW-2026-000007")
    }
    assert statuses == {
        "AE-2026-000001": "issued",
        "BW-2026-000006": "issued",
        "BW-2026-000007": "shipped",
    }
