"""The dashboard's maker-checker pages through FastAPI's TestClient on a running service: the
"New certificate" form saves a draft (or shows each field's problem), lines are added and
removed without script, another officer approves or returns a draft, the four-eyes rule, the
replacement of a cancelled certificate, roles and anti-forgery tokens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_checks import (
    hidden,
    logged_in,
    new_certificate_form,
    post_form,
    save_draft,
)

from kpchain.service.keys import create_key
from kpchain.store import create_engine, session_factory
from support_api import Service
from support_service import issued_events

pytestmark = pytest.mark.anvil


def _draft(web: Service, draft_id: int) -> dict[str, Any]:
    response = web.client.get(f"/v1/drafts/{draft_id}", headers=web.headers("BW", "auditor"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_clerk_saves_the_form_as_a_draft_and_another_officer_issues_it(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk")
    officer = logged_in(web, "BW", "officer")

    draft_id = save_draft(clerk, new_certificate_form("BW-2026-WEB-001"))

    saved = clerk.get(f"/dashboard/drafts/{draft_id}?saved=1")
    assert saved.status_code == 200
    assert "The draft is saved and awaits an officer's approval." in saved.text
    assert "Approve and issue" not in saved.text  # a clerk reviews nothing
    stored = _draft(web, draft_id)
    assert stored["status"] == "awaiting_approval"
    assert stored["document"]["exporter"]["name"] == "Okavango Diamond Company"
    assert stored["document"]["lines"][0]["parcels"] == 3
    listed = officer.get("/dashboard/drafts")
    assert f'data-draft-id="{draft_id}"' in listed.text
    page = officer.get(f"/dashboard/drafts/{draft_id}")
    assert "Approve and issue" in page.text

    response = officer.post(
        f"/dashboard/drafts/{draft_id}/approve",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "idempotency_key": hidden(page.text, "idempotency_key"),
            "version": hidden(page.text, "version"),
        },
    )

    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/dashboard/drafts/{draft_id}"
    issued = officer.get(response.headers["location"])
    assert "Issued as certificate BW-2026-WEB-001, now issued." in issued.text
    assert _draft(web, draft_id)["status"] == "issued"
    assert issued_events(web.chain, "BW-2026-WEB-001") == 1


def test_form_is_shown_again_with_each_fields_problem_when_invalid(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk")
    values = new_certificate_form(
        "AE-WRONG",
        **{"lines.0.carats": "12.345", "lines.0.parcels": "three", "importer.name": ""},
    )

    response = post_form(clerk, "/dashboard/drafts/new", values)

    assert response.status_code == 422
    html = response.text
    for field in ("lines-0-carats", "lines-0-parcels", "importer-name"):
        assert f'id="{field}-error"' in html, field
        assert re.search(f'id="{field}"[^>]*aria-invalid="true"', html), field
    assert 'value="12.345"' in html  # what was typed stays
    assert 'value="three"' in html
    assert 'value="AE-WRONG"' in html
    assert 'href="#lines-0-carats"' in html  # the summary links to the field
    listed = web.client.get("/v1/drafts", headers=web.headers("BW", "auditor")).json()
    assert all(item["cert_no"] != "AE-WRONG" for item in listed["items"])
    # The rules across fields, once each field is valid.
    across = post_form(
        clerk, "/dashboard/drafts/new", new_certificate_form("AE-WRONG", origin="MIXED")
    )
    assert across.status_code == 422
    assert 'id="cert_no-error"' in across.text
    assert 'id="provenance-error"' in across.text


def test_add_and_remove_line_show_the_form_again_without_saving(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk")
    values = new_certificate_form("BW-2026-WEB-002", form_action="add_line")

    added = post_form(clerk, "/dashboard/drafts/new", values)

    assert added.status_code == 200
    assert 'name="lines.1.carats"' in added.text
    assert 'value="1234.56"' in added.text
    two = {**values, "lines.1.hs_code": "7102.21", "lines.1.carats": "5.00"}
    two.update({"lines.1.value_usd": "50.00", "lines.1.parcels": "1"})
    removed = post_form(clerk, "/dashboard/drafts/new", {**two, "form_action": "remove_line:0"})
    assert removed.status_code == 200
    assert 'name="lines.1.carats"' not in removed.text
    assert 'value="5.00"' in removed.text
    draft_id = save_draft(clerk, {**two, "form_action": "save"})
    lines = _draft(web, draft_id)["document"]["lines"]
    assert [line["hs_code"] for line in lines] == ["7102.31", "7102.21"]


def test_officer_who_drafted_cannot_approve_and_another_returns_it_for_correction(
    web: Service,
) -> None:
    author = logged_in(web, "ZA", "officer")
    checker = logged_in(web, "ZA", "clerk")  # a clerk cannot review either
    values = new_certificate_form(
        "ZA-2026-WEB-003",
        **{"exporter.name": "Kimberley Mines", "origin": "ZA", "importing_participant": "US"},
    )
    draft_id = save_draft(author, values)

    page = author.get(f"/dashboard/drafts/{draft_id}")
    assert "another officer must approve it" in page.text
    assert "Approve and issue" not in page.text
    refused = author.post(
        f"/dashboard/drafts/{draft_id}/approve",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "idempotency_key": "web-self-approval",
            "version": "1",
        },
    )
    assert refused.status_code == 403
    assert "another officer" in refused.text
    assert "Return with comment" not in checker.get(f"/dashboard/drafts/{draft_id}").text

    # ZA's other officer returns it; its author corrects it and it awaits approval again.
    second = web.client.post(
        f"/v1/drafts/{draft_id}/return",
        json={"comment": "The importer's licence is wrong."},
        headers={"Authorization": f"Bearer {_new_key(web, 'ZA', 'officer')}"},
    )
    assert second.status_code == 200, second.text
    returned = author.get(f"/dashboard/drafts/{draft_id}")
    assert "The importer&#39;s licence is wrong." in returned.text
    edited = post_form(
        author,
        f"/dashboard/drafts/{draft_id}/edit",
        {**values, "importer.licence": "DMCC-43"},
    )
    assert edited.status_code == 303, edited.text
    stored = _draft_of(web, "ZA", draft_id)
    assert (stored["status"], stored["version"]) == ("awaiting_approval", 2)
    assert stored["document"]["importer"]["licence"] == "DMCC-43"


def _new_key(web: Service, code: str, role: str) -> str:
    engine = create_engine(web.settings.database_url)
    try:
        with session_factory(engine)() as session:
            token = create_key(session, participant=code, role=role, label="Second").token
            session.commit()
    finally:
        engine.dispose()
    return token


def _draft_of(web: Service, code: str, draft_id: int) -> dict[str, Any]:
    response = web.client.get(f"/v1/drafts/{draft_id}", headers=web.headers(code, "auditor"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_officer_returns_a_draft_with_a_comment_on_its_page(web: Service) -> None:
    clerk = logged_in(web, "BW", "clerk")
    officer = logged_in(web, "BW", "officer")
    draft_id = save_draft(clerk, new_certificate_form("BW-2026-WEB-004"))
    page = officer.get(f"/dashboard/drafts/{draft_id}")

    response = officer.post(
        f"/dashboard/drafts/{draft_id}/return",
        data={"csrf_token": hidden(page.text, "csrf_token"), "comment": "Check the value."},
    )

    assert response.status_code == 303, response.text
    assert _draft(web, draft_id)["return_comment"] == "Check the value."
    listed = clerk.get("/dashboard/drafts").text
    returned = listed.split('id="returned"')[1].split("</section>")[0]
    assert f'data-draft-id="{draft_id}"' in returned
    assert "Check the value." in returned


def test_replace_fills_the_form_in_from_a_cancelled_certificate(web: Service) -> None:
    web.issue("BW-2026-WEB-OLD")
    cancelled = web.post("/v1/certificates/BW-2026-WEB-OLD/cancel", "BW", {"reason": "typo"})
    assert cancelled.status_code == 200, cancelled.text
    web.issue("BW-2026-WEB-LIVE")
    clerk = logged_in(web, "BW", "clerk")

    form = clerk.get("/dashboard/drafts/new", params={"replaces": "BW-2026-WEB-OLD"})
    live = clerk.get("/dashboard/drafts/new", params={"replaces": "BW-2026-WEB-LIVE"})

    assert form.status_code == 200, form.text
    assert hidden(form.text, "replaces") == "BW-2026-WEB-OLD"
    assert "This certificate replaces BW-2026-WEB-OLD." in form.text
    assert 'value="BW Diamond Trading Company"' in form.text  # the old document's exporter
    assert re.search(r'id="cert_no" name="cert_no" type="text" value=""', form.text)
    assert live.status_code == 409
    values = new_certificate_form("BW-2026-WEB-NEW", replaces="BW-2026-WEB-OLD")
    draft_id = save_draft(clerk, values)
    assert _draft(web, draft_id)["document"]["replaces"] == "BW-2026-WEB-OLD"


def test_pages_refuse_an_auditor_and_a_form_without_its_token(web: Service) -> None:
    auditor = logged_in(web, "BW", "auditor")
    clerk = logged_in(web, "BW", "clerk")

    assert auditor.get("/dashboard/drafts/new").status_code == 403
    assert auditor.get("/dashboard/drafts").status_code == 200
    forged = clerk.post("/dashboard/drafts/new", data=new_certificate_form("BW-2026-WEB-005"))
    assert forged.status_code == 403
    assert "did not come from your dashboard page" in forged.text
    assert clerk.get("/dashboard/drafts/987654").status_code == 404
