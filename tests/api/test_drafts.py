"""Maker-checker drafts over HTTP: a clerk saves a draft, another officer approves it (and it is
issued) or returns it with a comment; the four-eyes rule, validation per field, the roles and
participants that may see and act, and approvals that happen once. Against anvil, a real SQLite
store and the app's own threads."""

from __future__ import annotations

from typing import Any

from api_checks import assert_error, error_fields
from sqlalchemy import update

from helpers.documents import document
from kpchain.service.keys import create_key
from kpchain.service.tables import Draft
from kpchain.store import create_engine, session_factory
from support_api import Service
from support_service import issued_events


def _key(service: Service, code: str, role: str, label: str) -> tuple[str, str]:
    """A new API key of `code` with `role` and `label`: its token and id."""
    engine = create_engine(service.settings.database_url)
    try:
        with session_factory(engine)() as session:
            issued = create_key(session, participant=code, role=role, label=label)
            session.commit()
    finally:
        engine.dispose()
    return issued.token, issued.principal.key_id


def _auth(token: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _draft(service: Service, token: str, cert_no: str, **fields: Any) -> dict[str, Any]:
    response = service.client.post(
        "/v1/drafts", json=document(cert_no, **fields), headers=_auth(token)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _approve(
    service: Service, token: str, draft_id: int, idempotency_key: str | None = None, **body: Any
) -> Any:
    return service.client.post(
        f"/v1/drafts/{draft_id}/approve",
        json=body or None,
        headers=_auth(token, idempotency_key),
    )


def test_draft_is_issued_when_another_officer_approves_it(service: Service) -> None:
    clerk, clerk_id = _key(service, "BW", "clerk", "Neo Clerk")
    officer, officer_id = _key(service, "BW", "officer", "Mpho Officer")

    created = _draft(service, clerk, "BW-2026-DRAFT-001")
    assert created["status"] == "awaiting_approval"
    assert created["version"] == 1
    assert created["cert_no"] == "BW-2026-DRAFT-001"
    assert created["document"]["cert_no"] == "BW-2026-DRAFT-001"
    assert (created["created"]["key_id"], created["created"]["label"]) == (clerk_id, "Neo Clerk")
    assert (created["created"]["role"], created["created"]["action"]) == ("clerk", "created")
    assert created["approved"] is None
    assert (
        service.client.get("/v1/certificates/BW-2026-DRAFT-001", headers=_auth(officer)).status_code
        == 404
    )

    response = _approve(service, officer, created["id"])

    assert response.status_code == 201, response.text
    view = response.json()
    assert (view["cert_no"], view["status"]) == ("BW-2026-DRAFT-001", "issued")
    assert view["importing_participant"] == "AE"
    read = service.client.get(f"/v1/drafts/{created['id']}", headers=_auth(clerk)).json()
    assert read["status"] == "issued"
    assert (read["approved"]["key_id"], read["approved"]["label"]) == (officer_id, "Mpho Officer")
    assert [step["action"] for step in read["history"]] == ["created", "approved"]
    assert issued_events(service.chain, "BW-2026-DRAFT-001") == 1
    signed = service.client.get(
        "/v1/certificates/BW-2026-DRAFT-001/document", headers=_auth(officer)
    ).json()
    assert signed["document"] == created["document"]


def test_approval_is_refused_when_the_key_created_the_draft(service: Service) -> None:
    officer, officer_id = _key(service, "BW", "officer", "Self Approver")
    created = _draft(service, officer, "BW-2026-DRAFT-002")

    response = _approve(service, officer, created["id"])

    error = assert_error(response, 403, "four_eyes_required")
    assert error["detail"] == {"draft_id": created["id"], "key_id": officer_id}
    assert issued_events(service.chain, "BW-2026-DRAFT-002") == 0
    read = service.client.get(f"/v1/drafts/{created['id']}", headers=_auth(officer)).json()
    assert read["status"] == "awaiting_approval"


def test_approval_is_refused_when_the_key_edited_the_draft(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    editor, editor_id = _key(service, "BW", "officer", "Editing Officer")
    created = _draft(service, clerk, "BW-2026-DRAFT-003")
    patched = service.client.patch(
        f"/v1/drafts/{created['id']}",
        json={"issuing_authority": "Diamond Hub"},
        headers=_auth(editor),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["last_edited"]["key_id"] == editor_id

    response = _approve(service, editor, created["id"])

    assert_error(response, 403, "four_eyes_required")
    # The clerk cannot approve at all; another officer can.
    assert_error(_approve(service, clerk, created["id"]), 403, "role_insufficient")
    assert _approve(service, service.keys["BW"]["officer"], created["id"]).status_code == 201


def test_draft_is_refused_with_each_fields_problem_when_invalid(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    fields = document(
        "BW-2026-DRAFT-BAD",
        lines=[{"hs_code": "7102.99", "carats": "1.234", "value_usd": "-1", "parcels": 0}],
        exporter={"name": "", "address": "Gaborone", "licence": "L"},
    )
    # Each field valid on its own, the rules across fields broken.
    across = document(
        "AE-2026-1", importing="BW", origin="MIXED"
    )  # another's prefix, to itself, no provenance

    refused = [
        service.client.post("/v1/drafts", json=body, headers=_auth(clerk))
        for body in (fields, across)
    ]

    first = assert_error(refused[0], 422, "invalid_document")
    assert error_fields(first) == {
        "lines.0.hs_code",
        "lines.0.carats",
        "lines.0.value_usd",
        "lines.0.parcels",
        "exporter.name",
    }
    second = assert_error(refused[1], 422, "invalid_document")
    assert error_fields(second) == {"cert_no", "importing_participant", "provenance"}
    for error in (first, second):
        assert all(item["message"] and item["type"] for item in error["detail"]["errors"])
    listed = service.client.get("/v1/drafts", headers=_auth(clerk)).json()
    assert listed["items"] == []


def test_patch_is_refused_with_each_fields_problem_when_it_makes_the_draft_invalid(
    service: Service,
) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    created = _draft(service, clerk, "BW-2026-DRAFT-004")

    response = service.client.patch(
        f"/v1/drafts/{created['id']}",
        json={"lines": [{"hs_code": "7102.31", "carats": "x", "parcels": 1}], "expires_at": None},
        headers=_auth(clerk),
    )

    error = assert_error(response, 422, "invalid_document")
    assert error_fields(error) == {"lines.0.carats", "lines.0.value_usd", "expires_at"}
    assert error["detail"]["draft_id"] == created["id"]
    read = service.client.get(f"/v1/drafts/{created['id']}", headers=_auth(clerk)).json()
    assert read["version"] == 1
    assert read["document"] == created["document"]


def test_returned_draft_awaits_approval_again_once_its_author_corrects_it(
    service: Service,
) -> None:
    clerk, clerk_id = _key(service, "BW", "clerk", "Maker")
    officer, officer_id = _key(service, "BW", "officer", "Checker")
    created = _draft(service, clerk, "BW-2026-DRAFT-005")

    returned = service.client.post(
        f"/v1/drafts/{created['id']}/return",
        json={"comment": "The value of line 1 is too low."},
        headers=_auth(officer),
    )

    assert returned.status_code == 200, returned.text
    view = returned.json()
    assert view["status"] == "returned"
    assert view["return_comment"] == "The value of line 1 is too low."
    assert (view["returned"]["key_id"], view["returned"]["label"]) == (officer_id, "Checker")
    assert view["returned"]["comment"] == "The value of line 1 is too low."
    assert_error(_approve(service, officer, created["id"]), 409, "draft_status_invalid")
    listed = service.client.get(
        "/v1/drafts", params={"status": "returned"}, headers=_auth(clerk)
    ).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]

    line = {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "956789.00", "parcels": 3}
    patched = service.client.patch(
        f"/v1/drafts/{created['id']}", json={"lines": [line]}, headers=_auth(clerk)
    )

    assert patched.status_code == 200, patched.text
    again = patched.json()
    assert (again["status"], again["version"], again["return_comment"]) == (
        "awaiting_approval",
        2,
        None,
    )
    assert again["document"]["lines"] == [line]
    assert again["last_edited"]["key_id"] == clerk_id
    assert [step["action"] for step in again["history"]] == ["created", "returned", "edited"]
    # An approval of the version the officer reviewed before the edit is refused.
    stale = _approve(service, officer, created["id"], version=1)
    assert_error(stale, 409, "draft_version_mismatch")
    issued = _approve(service, officer, created["id"], version=2)
    assert issued.status_code == 201, issued.text
    assert issued.json()["value_usd"] == "956789.00"


def test_return_needs_an_officer_and_a_comment(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    created = _draft(service, clerk, "BW-2026-DRAFT-006")
    path = f"/v1/drafts/{created['id']}/return"
    officer = service.keys["BW"]["officer"]

    assert_error(
        service.client.post(path, json={"comment": "no"}, headers=_auth(clerk)),
        403,
        "role_insufficient",
    )
    error = assert_error(
        service.client.post(path, json={}, headers=_auth(officer)), 422, "invalid_request"
    )
    assert error_fields(error) == {"comment"}


def test_approval_with_the_same_idempotency_key_answers_as_the_first_and_issues_once(
    service: Service,
) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    officer = service.keys["BW"]["officer"]
    created = _draft(service, clerk, "BW-2026-DRAFT-007")

    first = _approve(service, officer, created["id"], "approve-007")
    retry = _approve(service, officer, created["id"], "approve-007")
    second = _approve(service, officer, created["id"])
    other_officer, _ = _key(service, "BW", "officer", "Second Checker")
    third = _approve(service, other_officer, created["id"], "approve-007-again")

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    error = assert_error(second, 409, "draft_status_invalid")
    assert (error["detail"]["status"], error["detail"]["cert_no"]) == (
        "issued",
        "BW-2026-DRAFT-007",
    )
    assert_error(third, 409, "draft_status_invalid")
    assert issued_events(service.chain, "BW-2026-DRAFT-007") == 1
    # The key is the approval's: reused to approve another draft, it is refused.
    other = _draft(service, clerk, "BW-2026-DRAFT-008")
    reused = _approve(service, officer, other["id"], "approve-007")
    assert_error(reused, 409, "idempotency_key_reused")
    assert issued_events(service.chain, "BW-2026-DRAFT-008") == 0


def test_draft_is_editable_only_until_it_is_approved(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    created = _draft(service, clerk, "BW-2026-DRAFT-009")
    assert _approve(service, service.keys["BW"]["officer"], created["id"]).status_code == 201

    patched = service.client.patch(
        f"/v1/drafts/{created['id']}", json={"issuing_authority": "Late"}, headers=_auth(clerk)
    )

    assert_error(patched, 409, "draft_status_invalid")


def test_approval_fails_with_each_fields_problem_when_the_stored_document_is_no_longer_valid(
    service: Service,
) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    created = _draft(service, clerk, "BW-2026-DRAFT-010")
    # As if the document's rules changed between saving and approving (a newer version).
    stale = {**created["document"], "lines": [{**created["document"]["lines"][0], "parcels": 0}]}
    engine = create_engine(service.settings.database_url)
    try:
        with session_factory(engine)() as session:
            session.execute(update(Draft).where(Draft.id == created["id"]).values(document=stale))
            session.commit()
    finally:
        engine.dispose()

    response = _approve(service, service.keys["BW"]["officer"], created["id"])

    error = assert_error(response, 422, "invalid_document")
    assert error_fields(error) == {"lines.0.parcels"}
    assert issued_events(service.chain, "BW-2026-DRAFT-010") == 0


def test_approval_leaves_the_draft_awaiting_approval_with_the_error_when_the_chain_refuses(
    service: Service,
) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    created = _draft(service, clerk, "BW-2026-DRAFT-011", importing="VE")  # VE is suspended

    response = _approve(service, service.keys["BW"]["officer"], created["id"])

    assert_error(response, 409, "participant_not_active")
    read = service.client.get(f"/v1/drafts/{created['id']}", headers=_auth(clerk)).json()
    assert read["status"] == "awaiting_approval"
    assert read["approved"] is None
    assert read["approval_error"]["code"] == "participant_not_active"
    assert [step["action"] for step in read["history"]] == [
        "created",
        "approved",
        "approval_failed",
    ]
    # Corrected, it is approved and issued.
    fixed = service.client.patch(
        f"/v1/drafts/{created['id']}",
        json={"importing_participant": "AE"},
        headers=_auth(clerk),
    )
    assert fixed.status_code == 200, fixed.text
    assert _approve(service, service.keys["BW"]["officer"], created["id"]).status_code == 201


def test_draft_number_is_refused_when_issued_or_held_by_another_open_draft(
    service: Service,
) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    service.issue("BW-2026-DRAFT-012")
    first = _draft(service, clerk, "BW-2026-DRAFT-013")

    issued = service.client.post(
        "/v1/drafts", json=document("BW-2026-DRAFT-012"), headers=_auth(clerk)
    )
    twice = service.client.post(
        "/v1/drafts", json=document("BW-2026-DRAFT-013"), headers=_auth(clerk)
    )

    assert_error(issued, 409, "certificate_already_exists")
    error = assert_error(twice, 409, "draft_already_exists")
    assert error["detail"]["draft_id"] == first["id"]


def test_draft_of_a_restricted_origin_needs_one_of_its_zones(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")

    missing = service.client.post(
        "/v1/drafts", json=document("BW-2026-DRAFT-014", origin="CF"), headers=_auth(clerk)
    )
    wrong = service.client.post(
        "/v1/drafts",
        json=document("BW-2026-DRAFT-014", origin="CF", origin_zone="CF:Bangui"),
        headers=_auth(clerk),
    )
    right = service.client.post(
        "/v1/drafts",
        json=document("BW-2026-DRAFT-014", origin="CF", origin_zone="CF:Carnot"),
        headers=_auth(clerk),
    )

    for refused in (missing, wrong):
        assert error_fields(assert_error(refused, 422, "invalid_document")) == {"origin_zone"}
    assert right.status_code == 201, right.text


def test_drafts_are_seen_and_changed_only_by_their_participants_keys(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    created = _draft(service, clerk, "BW-2026-DRAFT-015")
    path = f"/v1/drafts/{created['id']}"

    for role in ("officer", "clerk", "auditor", "admin"):
        other = service.headers("AE", role)
        assert_error(service.client.get(path, headers=other), 404, "draft_not_found")
        assert service.client.get("/v1/drafts", headers=other).json()["items"] == []
    assert_error(
        service.client.patch(path, json={}, headers=service.headers("AE", "clerk")),
        404,
        "draft_not_found",
    )
    assert_error(
        service.client.post(f"{path}/approve", headers=service.headers("AE")),
        404,
        "draft_not_found",
    )
    assert_error(
        service.client.get(path, headers=service.headers("BW", "governor")),
        403,
        "participant_key_required",
    )
    auditor = service.headers("BW", "auditor")
    assert service.client.get(path, headers=auditor).json()["id"] == created["id"]
    for refused in (
        service.client.post("/v1/drafts", json=document("BW-2026-DRAFT-016"), headers=auditor),
        service.client.patch(path, json={}, headers=service.headers("BW", "admin")),
        service.client.post(f"{path}/approve", headers=auditor),
    ):
        assert_error(refused, 403, "role_insufficient")
    # A draft is the exporting participant's: another's certificate cannot be drafted here.
    foreign = service.client.post(
        "/v1/drafts", json=document("AE-2026-DRAFT-1", "AE", "BW"), headers=_auth(clerk)
    )
    assert_error(foreign, 403, "participant_mismatch")
    assert_error(service.client.get("/v1/drafts/999999", headers=auditor), 404, "draft_not_found")


def test_drafts_list_newest_first_by_status_and_page(service: Service) -> None:
    clerk, _ = _key(service, "BW", "clerk", "Maker")
    ids = [_draft(service, clerk, f"BW-2026-LIST-{n}")["id"] for n in range(3)]
    service.client.post(
        f"/v1/drafts/{ids[1]}/return", json={"comment": "Fix it"}, headers=service.headers("BW")
    )
    assert _approve(service, service.keys["BW"]["officer"], ids[2]).status_code == 201

    def listed(**params: Any) -> dict[str, Any]:
        response = service.client.get("/v1/drafts", params=params, headers=_auth(clerk))
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert [item["id"] for item in listed()["items"]] == ids[::-1]
    assert [item["id"] for item in listed(status="awaiting_approval")["items"]] == [ids[0]]
    assert [item["id"] for item in listed(status="returned")["items"]] == [ids[1]]
    assert [item["id"] for item in listed(status="issued")["items"]] == [ids[2]]
    first = listed(limit=2)
    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    rest = listed(limit=2, cursor=first["next_cursor"])
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == ([ids[0]], None)
    assert_error(
        service.client.get("/v1/drafts", params={"status": "lost"}, headers=_auth(clerk)),
        422,
        "invalid_request",
    )
    assert_error(
        service.client.get("/v1/drafts", params={"cursor": "x"}, headers=_auth(clerk)),
        422,
        "cursor_invalid",
    )
