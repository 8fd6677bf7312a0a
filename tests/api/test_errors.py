"""Every error status of the API in its one shape `{"error": {"code", "message", "detail"}}`:
404, 409, 422, 400 and 503, and no 500 for any bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from api_checks import (
    assert_error,
    assert_error_shape,
    caught_up,
    chain_status,
    error_fields,
    nonce,
    todays_receipt,
)

from helpers.documents import document
from kpchain.api.errors import status_of
from kpchain.chain.errors import REVERTS
from kpchain.contracts.enums import CertificateStatus, ParticipantStatus
from kpchain.devnet.anvil import AnvilNode
from kpchain.errors import ContractRevertError
from support_api import METRICS_HEADERS, Service

DAY = 86_400


def _line(**fields: Any) -> list[dict[str, Any]]:
    line = {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3}
    return [{**line, **fields}]


def _doc(**fields: Any) -> dict[str, Any]:
    return {**document("BW-2026-000051"), **fields}


def _get(service: Service, path: str, code: str = "BW", role: str = "officer") -> Any:
    return service.client.get(path, headers=service.headers(code, role))


# --- 404 -------------------------------------------------------------------------------------


def test_certificate_is_not_found_when_unknown(service: Service) -> None:
    for response in (
        _get(service, "/v1/certificates/BW-2026-404"),
        _get(service, "/v1/certificates/BW-2026-404/document"),
        service.post("/v1/certificates/BW-2026-404/ship", "BW", {"seal_ref": "S"}),
        service.post("/v1/certificates/BW-2026-404/cancel", "BW"),
        service.post("/v1/certificates/BW-2026-404/reject", "AE", {"reason": "other"}),
        service.post(
            "/v1/certificates/BW-2026-404/receive",
            "AE",
            {"parcels": 1, "carats": "1.00", "received_at": "2026-11-27"},
        ),
    ):
        error = assert_error(response, 404, "certificate_not_found")
        assert error["detail"] == {"cert_no": "BW-2026-404"}
    assert_error(_get(service, "/v1/participants/ZZ"), 404, "participant_not_found")
    assert_error(_get(service, "/v1/nothing-here"), 404, "not_found")


# --- 409 -------------------------------------------------------------------------------------


def test_operation_conflicts_when_certificate_state_forbids_it(service: Service) -> None:
    service.issue("BW-2026-000001")
    duplicate = service.post("/v1/certificates", "BW", document("BW-2026-000001", "BW", "IN"))
    error = assert_error(duplicate, 409, "certificate_already_exists")
    assert error["detail"] == {"cert_no": "BW-2026-000001"}

    receipt = {"parcels": 3, "carats": "1234.56", "received_at": "2026-11-27"}
    early = service.post("/v1/certificates/BW-2026-000001/receive", "AE", receipt)
    assert_error(early, 409, "certificate_status_invalid")
    early_reject = service.post("/v1/certificates/BW-2026-000001/reject", "AE", {"reason": "other"})
    assert_error(early_reject, 409, "certificate_status_invalid")

    assert service.post("/v1/certificates/BW-2026-000001/ship", "BW").status_code == 200
    twice = service.post("/v1/certificates/BW-2026-000001/ship", "BW")
    error = assert_error(twice, 409, "certificate_status_invalid")
    assert error["detail"]["error"] == "CertificateStatusInvalid"
    late_cancel = service.post("/v1/certificates/BW-2026-000001/cancel", "BW")
    assert_error(late_cancel, 409, "certificate_status_invalid")

    assert chain_status(service, "BW-2026-000001") == CertificateStatus.SHIPPED
    view = _get(service, "/v1/certificates/BW-2026-000001").json()
    assert view["status"] == "shipped"
    assert set(view["steps"]) == {"issued", "shipped"}


def test_operation_conflicts_when_a_participant_is_not_active(service: Service) -> None:
    # VE is suspended: it cannot be shipped to, nor issue.
    to_ve = service.post("/v1/certificates", "BW", document("BW-2026-000010", "BW", "VE"))
    error = assert_error(to_ve, 409, "participant_not_active")
    assert error["detail"]["error"] == "ParticipantNotActive"
    from_ve = service.post("/v1/certificates", "VE", document("VE-2026-000001", "VE", "BW"))
    assert_error(from_ve, 409, "participant_not_active")

    # Reinstated by a decision, VE is shipped to; suspended again, it can no longer confirm.
    service.chain.set_status("VE", ParticipantStatus.ACTIVE)
    caught_up(service)
    service.issue("BW-2026-000011", "BW", "VE")
    assert service.post("/v1/certificates/BW-2026-000011/ship", "BW").status_code == 200
    service.chain.set_status("VE", ParticipantStatus.SUSPENDED)
    late = service.post("/v1/certificates/BW-2026-000011/receive", "VE", todays_receipt())
    assert_error(late, 409, "participant_not_active")

    # AE suspended by a decision: BW can no longer issue to it.
    service.chain.set_status("AE", ParticipantStatus.SUSPENDED)
    to_ae = service.post("/v1/certificates", "BW", document("BW-2026-000012"))
    assert_error(to_ae, 409, "participant_not_active")
    for number in ("BW-2026-000010", "VE-2026-000001", "BW-2026-000012"):
        assert chain_status(service, number) == CertificateStatus.NONE


def test_receipt_conflicts_when_certificate_has_expired(service: Service) -> None:
    service.issue("BW-2026-000020", days=1)  # valid through tomorrow, 23:59:59 UTC
    assert service.post("/v1/certificates/BW-2026-000020/ship", "BW").status_code == 200
    service.chain.rpc("evm_increaseTime", 3 * DAY)
    service.chain.rpc("evm_mine")
    assert chain_status(service, "BW-2026-000020") == CertificateStatus.EXPIRED
    # The view follows the chain's clock (here ahead of the host's) once the index has the block
    # that moved it; so do the dates a receipt may carry.
    caught_up(service)

    # Received after the expiry date (the chain's today): past the grace period's rule, which
    # lets only a shipment received by its expiry date be confirmed late.
    chains_today = datetime.fromtimestamp(service.chain.now(), UTC).date().isoformat()
    late = service.post(
        "/v1/certificates/BW-2026-000020/receive", "AE", todays_receipt(received_at=chains_today)
    )
    error = assert_error(late, 409, "certificate_expired")
    assert error["detail"]["error"] == "CertificateExpired"
    view = _get(service, "/v1/certificates/BW-2026-000020", "AE").json()
    assert view["status"] == "expired"
    listed = service.client.get(
        "/v1/certificates", params={"status": "expired"}, headers=service.headers("AE")
    )
    assert [item["cert_no"] for item in listed.json()["items"]] == ["BW-2026-000020"]
    shipped = service.client.get(
        "/v1/certificates", params={"status": "shipped"}, headers=service.headers("AE")
    )
    assert shipped.json()["items"] == []
    # An expired shipment can still be rejected: that is how it is closed.
    rejected = service.post("/v1/certificates/BW-2026-000020/reject", "AE", {"reason": "expired"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"


# --- 422 -------------------------------------------------------------------------------------


def test_document_is_invalid_when_a_field_breaks_the_rules(service: Service) -> None:
    today = datetime.now(UTC).date()
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("unknown HS code", {"lines": _line(hs_code="7102.99")}, "lines.0.hs_code"),
        ("carats as a JSON float", {"lines": _line(carats=1234.56)}, "lines.0.carats"),
        ("carats with 3 decimals", {"lines": _line(carats="1234.567")}, "lines.0.carats"),
        ("value with 3 decimals", {"lines": _line(value_usd="1.001")}, "lines.0.value_usd"),
        ("zero carats", {"lines": _line(carats="0")}, "lines.0.carats"),
        ("zero parcels", {"lines": _line(parcels=0)}, "lines.0.parcels"),
        ("no lines", {"lines": []}, "lines"),
        ("wrong cert_no prefix", {"exporting_participant": "AE", "origin": "AE"}, "cert_no"),
        ("mixed without provenance", {"origin": "MIXED"}, "provenance"),
        ("provenance without mixed", {"provenance": "RU"}, "provenance"),
        ("lower-case origin", {"origin": "bw"}, "origin"),
        ("exporting to itself", {"importing_participant": "BW"}, "importing_participant"),
        (
            "expires before issue",
            {"expires_at": (today - timedelta(days=1)).isoformat()},
            "expires_at",
        ),
        ("not an ISO date", {"issued_at": "27/11/2026"}, "issued_at"),
        ("unknown field", {"colour": "D"}, "colour"),
        (
            "unknown party field",
            {"exporter": {"name": "X", "address": "Y", "licence": "Z", "tax": 1}},
            "exporter.tax",
        ),
        ("empty authority", {"issuing_authority": "  "}, "issuing_authority"),
    ]
    before = nonce(service, "BW")
    for label, fields, field in cases:
        response = service.post("/v1/certificates", "BW", document("BW-2026-000030", **fields))
        error = assert_error(response, 422, "invalid_document")
        assert field in error_fields(error), (label, error)
    missing = document("BW-2026-000030")
    del missing["lines"]
    error = assert_error(service.post("/v1/certificates", "BW", missing), 422, "invalid_document")
    assert error_fields(error) == {"lines"}
    assert nonce(service, "BW") == before

    # Rules only the contract knows: CF's origin is restricted to two zones.
    no_zone = service.post("/v1/certificates", "BW", document("BW-2026-000031", origin="CF"))
    error = assert_error(no_zone, 422, "origin_zone_not_allowed")
    assert error["detail"]["error"] == "OriginZoneNotAllowed"
    other_zone = document("BW-2026-000031", origin="CF", origin_zone="CF:Bangui")
    assert_error(service.post("/v1/certificates", "BW", other_zone), 422, "origin_zone_not_allowed")
    assert nonce(service, "BW") == before
    allowed = service.issue("BW-2026-000031", origin="CF", origin_zone="CF:Berberati")
    assert allowed["origin_zone"] == "CF:Berberati"

    # Lifecycle bodies are checked too.
    bad_receipts: list[tuple[dict[str, Any], str]] = [
        ({"parcels": 3, "carats": 1.5, "received_at": "2026-11-27"}, "carats"),
        ({"parcels": 0, "carats": "1.50", "received_at": "2026-11-27"}, "parcels"),
        ({"parcels": 3, "carats": "1.50"}, "received_at"),
        ({"parcels": 3, "carats": "1.50", "received_at": "2026-11-27", "x": 1}, "x"),
    ]
    for body, field in bad_receipts:
        response = service.post("/v1/certificates/BW-2026-000031/receive", "AE", body)
        assert field in error_fields(assert_error(response, 422, "invalid_document")), body
    seal = service.post("/v1/certificates/BW-2026-000031/ship", "BW", {"seal": "S-1"})
    assert "seal" in error_fields(assert_error(seal, 422, "invalid_document"))


# --- 400 -------------------------------------------------------------------------------------


def test_request_is_malformed_when_body_is_not_json(service: Service) -> None:
    for path in ("/v1/certificates", "/v1/certificates/batch", "/v1/certificates/BW-1/ship"):
        response = service.client.post(
            path,
            content=b'{"cert_no": "BW-2026-1",',
            headers={**service.headers("BW"), "Content-Type": "application/json"},
        )
        assert_error(response, 400, "malformed_json")
    admin = {**service.headers("BW", "admin"), "Content-Type": "application/json"}
    response = service.client.post("/v1/governance/proposals", content=b"{action:", headers=admin)
    assert_error(response, 400, "malformed_json")


# --- 503 -------------------------------------------------------------------------------------


def test_writes_are_unavailable_when_chain_is_down_while_reads_are_served(
    service: Service, anvil: AnvilNode
) -> None:
    service.issue("BW-2026-000040")
    view = _get(service, "/v1/certificates/BW-2026-000040").json()
    anvil.stop()

    response = service.post("/v1/certificates", "BW", document("BW-2026-000041"))
    assert_error(response, 503, "chain_unavailable")
    assert response.headers["Retry-After"]
    response = service.post("/v1/certificates/BW-2026-000040/ship", "BW")
    assert_error(response, 503, "chain_unavailable")

    ready = service.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert ready.json()["checks"]["chain"]["ok"] is False
    assert service.client.get("/healthz").status_code == 200

    # Reads come from the index.
    got = _get(service, "/v1/certificates/BW-2026-000040", "AE", "clerk")
    assert got.status_code == 200
    assert got.json() == view
    listed = service.client.get("/v1/certificates", headers=service.headers("BW", "auditor"))
    assert listed.status_code == 200
    assert [item["cert_no"] for item in listed.json()["items"]] == ["BW-2026-000040"]
    assert _get(service, "/v1/certificates/BW-2026-000040/document").status_code == 200
    assert _get(service, "/v1/participants").status_code == 200
    assert service.client.get("/metrics", headers=METRICS_HEADERS).status_code == 200


# --- never a 500 -----------------------------------------------------------------------------


def test_bad_input_never_answers_500_when_anything_is_sent(service_on: Service) -> None:
    service = service_on
    service.issue("BW-2026-000050")
    officer = service.headers("BW")
    odd_numbers = [
        "BW%00X",
        quote("BW-☃"),
        "BW-" + "9" * 40,
        quote("'; DROP TABLE certificates;--", safe=""),
        "%20",
        "BW-2026-000050%0A",
        quote("..%2F..", safe=""),
        "%FF%FE",
        quote("BW-2026-000050\u200b"),
    ]
    responses: list[tuple[str, Any]] = []
    for number in odd_numbers:
        responses += [
            (number, service.client.get(f"/v1/certificates/{number}", headers=officer)),
            (number, service.client.get(f"/v1/certificates/{number}/document", headers=officer)),
            (number, service.client.post(f"/v1/certificates/{number}/ship", headers=officer)),
            (number, service.client.post(f"/v1/certificates/{number}/cancel", headers=officer)),
        ]

    huge = 10**30
    bodies: list[Any] = [
        None,
        [],
        {},
        "text",
        12,
        [[[[[]]]]],
        _doc(lines=_line(parcels=huge)),
        _doc(lines=_line(carats=huge)),
        _doc(lines=_line(carats="1" + "0" * 100)),
        _doc(lines=_line(carats="1e5")),
        _doc(lines=_line(carats="NaN")),
        _doc(lines=_line(carats="-1.00")),
        _doc(lines=_line(value_usd="Infinity")),
        _doc(lines=_line(parcels="3")),
        _doc(lines=_line(parcels=True)),
        _doc(lines=_line() * 101),
        _doc(issued_at="0001-01-01"),
        _doc(issued_at="2026-02-30"),
        _doc(expires_at=huge),
        _doc(expires_at="99999-01-01"),
        _doc(cert_no="BW-" + "x" * 100),
        _doc(cert_no="BW-ü"),
        _doc(cert_no="BW-1\u0000"),
        _doc(exporter={"name": "\u0000", "address": "a", "licence": "l"}),
        _doc(exporter="Okavango"),
        _doc(issuing_authority="x" * 100_000),
        _doc(replaces="BW-2026-000051"),
        _doc(replaces="BW-2026-404"),
        _doc(origin_zone="Z" * 101),
        _doc(exporting_participant="XX", cert_no="XX-1"),
        _doc(importing_participant="XX"),
        _doc(importing_participant=None),
    ]
    for body in bodies:
        responses.append((repr(body)[:80], service.post("/v1/certificates", "BW", body)))
        responses.append((repr(body)[:80], service.post("/v1/certificates/batch", "BW", [body])))
    responses.append(
        ("empty batch of huge", service.post("/v1/certificates/batch", "BW", [{}] * 101))
    )

    raw: list[tuple[bytes, str]] = [
        (b"", "application/json"),
        (json.dumps(document("BW-2026-000052")).encode(), "text/plain"),
        (json.dumps(document("BW-2026-000052")).encode(), "application/x-www-form-urlencoded"),
        (b"cert_no=BW-1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/json"),
        # Deeper than Python's default recursion limit. (Not much deeper: under pytest, py_ecc
        # raises the limit to 100000, and JSON that deep overflows the C stack.)
        (b"[" * 5_000 + b"]" * 5_000, "application/json"),
        (b'{"lines": [{"parcels": 1' + b"0" * 5000 + b"}]}", "application/json"),
        (b"null", "application/json"),
        (b'{"cert_no": "BW-1", "cert_no": "BW-2"}', "application/json"),
    ]
    for content, content_type in raw:
        for path in ("/v1/certificates", "/v1/certificates/BW-2026-000050/receive"):
            headers = {**officer, "Content-Type": content_type}
            response = service.client.post(path, content=content, headers=headers)
            responses.append((f"{path} {content[:30]!r} {content_type}", response))

    queries = [
        {"limit": 0},
        {"limit": -1},
        {"limit": huge},
        {"limit": "ten"},
        {"direction": "sideways"},
        {"status": "lost"},
        {"cursor": "garbage"},
        {"cursor": ""},
        {"cursor": "W10"},  # []
        {"cursor": "WzEsIDJd"},  # [1, 2]
        {"cursor": "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5OTksICJCVy0xIl0"},  # [huge, "BW-1"]
        {"cursor": "WzEsICJcdTAwMDAiXQ"},  # [1, "\u0000"]
        {"cursor": "x" * 201},
    ]
    for params in queries:
        response = service.client.get("/v1/certificates", params=params, headers=officer)
        responses.append((repr(params), response))

    events = [
        {"Last-Event-ID": "abc"},
        {"Last-Event-ID": "-1"},
        {"Last-Event-ID": str(huge)},
    ]
    for extra in events:
        response = service.client.get(
            "/v1/events", params={"follow": "false"}, headers={**officer, **extra}
        )
        responses.append((repr(extra), response))
    for params in ({"after": str(huge)}, {"after": "-5"}, {"follow": "maybe"}):
        response = service.client.get("/v1/events", params=params, headers=officer)
        responses.append((repr(params), response))

    admin = service.headers("BW", "admin")
    proposals: list[Any] = [
        {"action": "admit", "participant": "ZZ", "admin": "0x" + "0" * 40, "description": "x"},
        {"action": "admit", "participant": "ZZZ", "admin": "0x" + "1" * 40, "description": "x"},
        {"action": "admit", "participant": "zz", "admin": "0x" + "1" * 40, "description": "x"},
        {"action": "admit", "participant": "ZZ", "admin": 12, "description": "x"},
        {"action": "suspend", "participant": "AE", "description": ""},
        {"action": "suspend", "participant": "AE", "description": "x" * 2001},
        {"action": "suspend", "participant": "AE", "emergency": 1, "description": "x"},
        {"action": "allow_zone", "participant": "CF", "zone": "", "description": "x"},
        {"action": "retire", "participant": "AE", "description": "x"},
        {"action": "add_validator", "validator": "0x12", "description": "x"},
        {"action": "suspend", "participant": "ZZ", "description": "x"},
        {"action": "reinstate", "participant": "AE", "description": "no change"},
        [],
        None,
    ]
    for body in proposals:
        response = service.client.post("/v1/governance/proposals", json=body, headers=admin)
        responses.append((repr(body), response))
    for proposal, body in (
        ("1", {"support": "approve"}),
        ("x", {"support": "approve"}),
        ("9" * 79, {"support": "approve"}),
        ("1", {"support": "yes"}),
        ("1", None),
    ):
        response = service.client.post(
            f"/v1/governance/proposals/{proposal}/votes", json=body, headers=admin
        )
        responses.append((f"vote {proposal} {body!r}", response))
    for path in ("/v1/governance/proposals/1/execute", "/v1/governance/proposals/-1/execute"):
        responses.append((path, service.client.post(path, headers=admin)))
    for params in ({"state": "over"}, {"limit": "0"}, {"limit": "501"}):
        response = service.client.get("/v1/governance/proposals", params=params, headers=admin)
        responses.append((repr(params), response))

    long_key = {**officer, "Idempotency-Key": "k" * 201}
    responses.append(
        ("long key", service.client.post("/v1/certificates", json={}, headers=long_key))
    )
    responses.append(
        ("delete", service.client.delete("/v1/certificates/BW-2026-000050", headers=officer))
    )
    bearer = {"Authorization": "Bearer kp_" + "a" * 5000 + "_" + "b" * 5000}
    responses.append(("long bearer", service.client.get("/v1/certificates", headers=bearer)))

    server_errors = [
        (label, r.status_code, r.text) for label, r in responses if r.status_code >= 500
    ]
    assert server_errors == [], "\n".join(map(str, server_errors))
    for _, response in responses:
        if response.status_code >= 400:
            assert_error_shape(response)
    # The certificate the inputs were thrown at is untouched, and nothing else was issued.
    view = service.client.get("/v1/certificates", headers=officer).json()
    assert [item["cert_no"] for item in view["items"]] == ["BW-2026-000050"]
    assert view["items"][0]["status"] == "issued"
    listed = service.client.get("/v1/governance/proposals", headers=officer).json()
    assert listed == {"items": []}  # and no proposal was made


# --- a revert's status -----------------------------------------------------------------------

# The status of every custom error that is not a state conflict (409), as the API has answered
# them: the chain layer's classification must keep each.
_NOT_CONFLICTS: dict[str, int] = {
    "CertificateNotFound": 404,
    "ParticipantNotFound": 404,
    "UnauthorizedAuthority": 403,
    "ParticipantAdminUnauthorized": 403,
    "AccessControlUnauthorizedAccount": 403,
    "CertificateNumberInvalid": 422,
    "CertificateDatesInvalid": 422,
    "CertificateValidityTooLong": 422,
    "MaxValidityInvalid": 422,
    "CertificateLinesEmpty": 422,
    "CertificateLineInvalid": 422,
    "CertificateOriginInvalid": 422,
    "OriginZoneNotAllowed": 422,
    "LineOriginInvalid": 422,
    "LineOriginZoneNotAllowed": 422,
    "CertificateIssueDateInFuture": 422,
    "ParticipantsIdentical": 422,
    "DocumentSignatureInvalid": 422,
    "ConfirmationInvalid": 422,
    "ReceiptDateInFuture": 422,
    "BatchInvalid": 422,
    "ParticipantCodeInvalid": 422,
    "AccountZero": 422,
    "OriginZoneZero": 422,
    "ServiceEndpointUrlEmpty": 422,
    "ServiceEndpointUrlTooLong": 422,
    "EncryptionKeyZero": 422,
    "GovernorNonexistentProposal": 404,
    "VoterWithoutSeat": 403,
    "VoterIsSubject": 403,
    "GovernorInsufficientProposerVotes": 403,
    "GovernorRestrictedProposer": 403,
    "GovernorOnlyExecutor": 403,
    "OwnableUnauthorizedAccount": 403,
    "CallerNotGovernor": 403,
    "TimelockUnauthorizedCaller": 403,
    "RelayTargetForbidden": 403,
    "GovernorInvalidVoteType": 422,
    "GovernorInvalidProposalLength": 422,
    "ProposalSubjectsMixed": 422,
    "QuorumTooLow": 422,
    "EmergencyThresholdInvalid": 422,
    "VotingPeriodZero": 422,
    "ValidatorZero": 422,
    "ValidatorNotFound": 404,
}


def test_revert_status_is_the_one_the_api_has_always_answered_for_each_custom_error() -> None:
    statuses = {name: status_of(ContractRevertError(name, {})) for name in REVERTS}

    assert {name: s for name, s in statuses.items() if s != 409} == _NOT_CONFLICTS
    assert status_of(ContractRevertError("ErrorOfAnOlderRelease", {})) == 409
