"""The chain-side KP rules (registry 1.3.0) where they meet the dashboard's pages, through
FastAPI's TestClient on a running service: the "New certificate" form with lines of several
origins (each line's origin, a mixed line's provenance, the zone of a restricted origin), and
the replacement of a rejected certificate, linked both ways on the certificates' pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_checks import (
    hidden,
    logged_in,
    new_certificate_form,
    post_form,
    save_draft,
)

from support_api import Service
from support_service import issued_events

pytestmark = pytest.mark.anvil


def _form(cert_no: str, **changes: str) -> dict[str, str]:
    """BW's "New certificate" form with three lines: one of the certificate's origin (BW), one
    mixed with its provenance, one of a restricted origin (CF) in an allowed zone."""
    lines = [
        ("7102.31", "100.00", "", "", ""),
        ("7102.10", "20.00", "MIXED", "ZA", ""),
        ("7102.21", "5.00", "CF", "", "CF:Berberati"),
    ]
    fields = [
        {
            "hs_code": hs_code,
            "carats": carats,
            "value_usd": "1000.00",
            "parcels": "1",
            "origin": origin,
            "provenance": provenance,
            "origin_zone": zone,
        }
        for hs_code, carats, origin, provenance, zone in lines
    ]
    return new_certificate_form(cert_no, fields, **changes)


def _approve(officer: TestClient, draft_id: int) -> None:
    page = officer.get(f"/dashboard/drafts/{draft_id}")
    assert "Approve and issue" in page.text, page.text
    response = officer.post(
        f"/dashboard/drafts/{draft_id}/approve",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "idempotency_key": hidden(page.text, "idempotency_key"),
            "version": hidden(page.text, "version"),
        },
    )
    assert response.status_code == 303, response.text


def _api(web: Service, path: str, code: str = "BW") -> Any:
    response = web.client.get(path, headers=web.headers(code, "auditor"))
    assert response.status_code == 200, response.text
    return response.json()


def _selected(html: str, select_id: str) -> str | None:
    """The value of the option selected in the <select> `select_id`, None when none is."""
    found = re.search(f'<select id="{select_id}".*?</select>', html, re.DOTALL)
    assert found is not None, select_id
    option = re.search(r'<option value="([^"]*)" selected>', found.group(0))
    return None if option is None else option.group(1)


# --- lines of several origins --------------------------------------------------------------------


def test_form_saves_lines_of_several_origins_and_the_officer_issues_them(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk")
    officer = logged_in(web, "BW", "officer")

    draft_id = save_draft(clerk, _form("BW-2026-ORI-001"))

    lines = _api(web, f"/v1/drafts/{draft_id}")["document"]["lines"]
    assert [
        (line.get("origin"), line.get("provenance"), line.get("origin_zone")) for line in lines
    ] == [(None, None, None), ("MIXED", "ZA", None), ("CF", None, "CF:Berberati")]
    assert "origin" not in lines[0]  # a line of the certificate's origin keeps its shape
    page = clerk.get(f"/dashboard/drafts/{draft_id}").text
    assert "As the certificate" in page
    assert "Mixed (provenance South Africa (ZA))" in page
    assert "Central African Republic (CF), zone CF:Berberati" in page
    edit = clerk.get(f"/dashboard/drafts/{draft_id}/edit").text
    assert _selected(edit, "lines-0-origin") is None
    assert (_selected(edit, "lines-1-origin"), _selected(edit, "lines-1-provenance")) == (
        "MIXED",
        "ZA",
    )
    assert 'name="lines.2.origin_zone" type="text" value="CF:Berberati"' in edit

    _approve(officer, draft_id)

    assert issued_events(web.chain, "BW-2026-ORI-001") == 1
    view = _api(web, "/v1/certificates/BW-2026-ORI-001")
    assert [line.get("origin") for line in view["lines"]] == [None, "MIXED", "CF"]
    certificate = officer.get("/dashboard/certificates/BW-2026-ORI-001").text
    assert "Origin of line 2 (HS 7102.10)" in certificate
    assert "Origin of line 3 (HS 7102.21)" in certificate
    assert "Origin of line 1" not in certificate


def test_form_shows_each_lines_origin_problem_at_the_line(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk")
    values = _form(
        "BW-2026-ORI-002",
        **{"lines.0.provenance": "ZA", "lines.1.provenance": "", "lines.2.origin_zone": ""},
    )

    response = post_form(clerk, "/dashboard/drafts/new", values)

    assert response.status_code == 422, response.text
    html = response.text
    for field in ("lines-0-provenance", "lines-1-provenance"):
        assert f'id="{field}-error"' in html, field
        assert re.search(f'id="{field}"[^>]*aria-invalid="true"', html), field
    assert _selected(html, "lines-0-provenance") == "ZA"  # what was chosen stays
    # The document's rules hold once each line is consistent; then the restricted origin's zone.
    zoneless = post_form(clerk, "/dashboard/drafts/new", _form("BW-2026-ORI-002", **{
        "lines.2.origin_zone": "CF:Nowhere"}))  # fmt: skip
    assert zoneless.status_code == 422, zoneless.text
    assert 'id="lines-2-origin_zone-error"' in zoneless.text
    assert "is not one of the allowed zones of the origin CF" in zoneless.text
    drafts = _api(web, "/v1/drafts")["items"]
    assert all(item["cert_no"] != "BW-2026-ORI-002" for item in drafts)


# --- replacement of a rejected certificate -------------------------------------------------------


def test_rejected_certificate_is_replaced_from_its_page_and_linked_both_ways(
    web: Service,
) -> None:
    old, new = "BW-2026-ORI-OLD", "BW-2026-ORI-NEW"
    web.issue(old)
    assert web.post(f"/v1/certificates/{old}/ship", "BW", {}).status_code == 200
    rejected = web.post(f"/v1/certificates/{old}/reject", "AE", {"reason": "discrepancy"})
    assert rejected.status_code == 200, rejected.text
    clerk = logged_in(web, "BW", "clerk")
    officer = logged_in(web, "BW", "officer")
    before = clerk.get(f"/dashboard/certificates/{old}").text
    assert f"/dashboard/drafts/new?replaces={old}" in before

    form = clerk.get("/dashboard/drafts/new", params={"replaces": old})
    assert form.status_code == 200, form.text
    assert hidden(form.text, "replaces") == old
    values = {
        key: value
        for key, value in _form(new, replaces=old).items()
        if not key.startswith("lines.") or key.startswith("lines.0.")
    }
    draft_id = save_draft(clerk, values)
    _approve(officer, draft_id)

    replacement = officer.get(f"/dashboard/certificates/{new}").text
    assert f'href="/dashboard/certificates/{old}">{old}</a>' in replacement
    after = officer.get(f"/dashboard/certificates/{old}").text
    assert re.search(rf'id="replaced-by"><a href="/dashboard/certificates/{new}">{new}</a>', after)
    assert "/dashboard/drafts/new?replaces=" not in after  # replaced once
    again = clerk.get("/dashboard/drafts/new", params={"replaces": old})
    assert again.status_code == 409
    assert f"replaced already, by {new}" in again.text
    assert _api(web, f"/v1/certificates/{old}", "AE")["replaced_by"] == new
    # The public verify pages link the two as well.
    verify_old = web.client.get(f"/verify/{old}").text
    verify_new = web.client.get(f"/verify/{new}").text
    assert f'<dt>Replaced by</dt><dd><a href="/verify/{new}">{new}</a>' in verify_old
    assert f'<dt>Replaces</dt><dd><a href="/verify/{old}">{old}</a>' in verify_new
