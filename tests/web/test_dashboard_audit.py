"""The dashboard's form posts are in the audit trail as the API's requests are, each with the key
of its session: the log-in (refused ones too, with the key they named), a confirmation of
receipt, a forged form, the log-out; the drafts' form and approval, the certificate's page, the
participant admin's page and the governance pages, their refusals included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from action_pages import submit
from eth_account import Account
from fastapi.testclient import TestClient
from web_checks import hidden, log_in, officer_form

from support_api import Service

pytestmark = pytest.mark.anvil

TODAY = datetime.now(UTC).date()


def _trail(web: Service, code: str) -> list[dict[str, Any]]:
    response = web.client.get("/v1/audit", headers=web.headers(code, "auditor"))
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(response.json()["items"])


def _key_id(token: str) -> str:
    return token.split("_")[1]


def _visitor(web: Service, code: str, role: str) -> TestClient:
    visitor = TestClient(web.client.app, raise_server_exceptions=False, follow_redirects=False)
    assert log_in(visitor, web.keys[code][role]).status_code == 303
    return visitor


def test_form_posts_are_recorded_with_the_key_of_their_session(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-AUDIT"
    officer_token = web.keys["AE"]["officer"]
    stranger = TestClient(web.client.app, raise_server_exceptions=False, follow_redirects=False)
    assert log_in(stranger, f"kp_{_key_id(officer_token)}_not-the-secret").status_code == 401
    form = officer_form(web, visitor, cert_no, "receive")  # logs in as AE's officer
    confirmed = visitor.post(
        f"/dashboard/certificates/{cert_no}/receive",
        data={"parcels": "3", "carats": "1234.56", "received_at": TODAY.isoformat(), **form},
    )
    assert confirmed.status_code == 303
    forged = visitor.post(
        f"/dashboard/certificates/{cert_no}/reject", data={"reason": "1", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert visitor.post("/dashboard/logout", data=form).status_code == 303
    bad_login = log_in(visitor, "kp_000000000000_" + "x" * 43)
    assert bad_login.status_code == 401

    records = _trail(web, "AE")
    assert [(r["path"], r["status"], r["error_code"]) for r in records] == [
        ("/dashboard/login", 401, "api_key_invalid"),  # the key it named, its secret wrong
        ("/dashboard/login", 303, None),
        (f"/dashboard/certificates/{cert_no}/receive", 303, None),
        (f"/dashboard/certificates/{cert_no}/reject", 403, "csrf_invalid"),
        ("/dashboard/logout", 303, None),
    ]  # the last log-in named no known key: in nobody's trail
    assert {(r["key_id"], r["role"], r["participant"]) for r in records} == {
        (_key_id(officer_token), "officer", "AE")
    }
    assert [r["subject"] for r in records[2:4]] == [cert_no, cert_no]


def _new_certificate(cert_no: str, **changes: str) -> dict[str, str]:
    """ZA's "New certificate" form, filled in as a clerk does."""
    return {
        "cert_no": cert_no,
        "importing_participant": "US",
        "origin": "ZA",
        "provenance": "",
        "origin_zone": "",
        "exporter.name": "Kimberley Mines",
        "exporter.address": "Kimberley",
        "exporter.licence": "EX-3",
        "importer.name": "New York Rough",
        "importer.address": "New York",
        "importer.licence": "NY-9",
        "lines.0.hs_code": "7102.31",
        "lines.0.carats": "120.50",
        "lines.0.value_usd": "98000.00",
        "lines.0.parcels": "2",
        "issued_at": TODAY.isoformat(),
        "expires_at": (TODAY + timedelta(days=30)).isoformat(),
        "issuing_authority": "South African Diamond and Precious Metals Regulator",
        "replaces": "",
        "form_action": "save",
        **changes,
    }


def test_drafts_certificate_admin_and_governance_pages_are_recorded(web: Service) -> None:
    cert_no = "ZA-2026-WEB-AUDIT"
    clerk, officer, admin = (_visitor(web, "ZA", role) for role in ("clerk", "officer", "admin"))

    invalid = submit(
        clerk,
        "/dashboard/drafts/new",
        "/dashboard/drafts/new",
        **_new_certificate(cert_no, **{"lines.0.carats": "many"}),
    )
    assert invalid.status_code == 422, invalid.text
    saved = submit(
        clerk, "/dashboard/drafts/new", "/dashboard/drafts/new", **_new_certificate(cert_no)
    )
    assert saved.status_code == 303, saved.text
    draft_page = saved.headers["location"].split("?")[0]
    draft_id = draft_page.rsplit("/", 1)[1]
    page = officer.get(draft_page)
    approved = officer.post(
        f"{draft_page}/approve",
        data={
            name: hidden(page.text, name) for name in ("csrf_token", "idempotency_key", "version")
        },
    )
    assert approved.status_code == 303, approved.text
    certificate = f"/dashboard/certificates/{cert_no}"
    too_long = submit(officer, certificate, f"{certificate}/ship", seal_ref="S" * 1000)
    assert too_long.status_code == 422, too_long.text
    shipped = submit(officer, certificate, f"{certificate}/ship", seal_ref="ZA-SEAL-1")
    assert shipped.status_code == 303, shipped.text
    participant = "/dashboard/participants/ZA"
    added = submit(
        admin, participant, f"{participant}/authorities", account=Account.create().address
    )
    assert added.status_code == 303, added.text
    proposed = submit(
        admin,
        "/dashboard/governance",
        "/dashboard/governance/proposals",
        action="suspend",
        participant="CA",
        description="Suspend CA (the audit trail's test)",
    )
    assert proposed.status_code == 303, proposed.text

    records = [r for r in _trail(web, "ZA") if r["path"] != "/dashboard/login"]
    assert [(r["path"], r["status"], r["error_code"], r["role"]) for r in records] == [
        ("/dashboard/drafts/new", 422, "invalid_document", "clerk"),
        ("/dashboard/drafts/new", 303, None, "clerk"),
        (f"{draft_page}/approve", 303, None, "officer"),
        (f"{certificate}/ship", 422, "invalid_request", "officer"),
        (f"{certificate}/ship", 303, None, "officer"),
        (f"{participant}/authorities", 303, None, "admin"),
        ("/dashboard/governance/proposals", 303, None, "admin"),
    ]
    keys = [web.keys["ZA"][role] for role in ("clerk", "clerk", "officer", "officer", "officer")]
    keys += [web.keys["ZA"]["admin"]] * 2
    assert [r["key_id"] for r in records] == [_key_id(key) for key in keys]
    assert [r["subject"] for r in records[1:5]] == [
        f"{cert_no},draft {draft_id}",
        f"{draft_id} ({cert_no})",
        cert_no,
        cert_no,
    ]
    assert records[5]["subject"] == "ZA"
