"""The certificate pages over HTTP on a running service: the list, a certificate's page with the
actions the key may take, Ship with a seal reference and Cancel with its confirmation step, each
refusal (role, participant, input, state, a stale form token) on the page at the API's status."""

from __future__ import annotations

import pytest
from action_pages import form, has_form, refused_text, submit
from fastapi.testclient import TestClient
from web_checks import card, hidden, log_in, shipped

from kpchain.certificates.conversions import seal_ref_hash
from kpchain.certificates.fields import SEAL_REF_MAX_LENGTH
from support_api import Service

pytestmark = pytest.mark.anvil


def _page(cert_no: str) -> str:
    return f"/dashboard/certificates/{cert_no}"


def _view(web: Service, cert_no: str) -> dict[str, object]:
    response = web.client.get(f"/v1/certificates/{cert_no}", headers=web.headers("BW"))
    assert response.status_code == 200, response.text
    view: dict[str, object] = response.json()
    return view


def test_officer_ships_an_issued_certificate_with_its_seal_reference(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-PG-SHIP"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])

    listed = visitor.get("/dashboard/certificates")
    page = visitor.get(_page(cert_no))
    shipping = visitor.post(
        f"{_page(cert_no)}/ship",
        data={**form(page.text, f"{_page(cert_no)}/ship"), "seal_ref": "MSCU 1234567 / 88"},
    )
    after = visitor.get(shipping.headers["location"])

    assert listed.status_code == 200
    assert f'data-cert-no="{cert_no}"' in listed.text  # issued, awaiting shipment
    assert page.status_code == 200
    assert has_form(page.text, f"{_page(cert_no)}/ship")
    assert has_form(page.text, f"{_page(cert_no)}/cancel")
    assert shipping.status_code == 303, shipping.text
    assert shipping.headers["location"] == f"{_page(cert_no)}?done=shipped#done"
    assert f"Certificate {cert_no} is now shipped" in after.text
    view = _view(web, cert_no)
    assert view["status"] == "shipped"
    assert view["seal_ref_hash"] == "0x" + seal_ref_hash("MSCU 1234567 / 88").hex()
    assert str(view["seal_ref_hash"]) in after.text
    assert not has_form(after.text, f"{_page(cert_no)}/ship")  # shipped: nothing more to do

    importer = TestClient(web.client.app, follow_redirects=False)
    log_in(importer, web.keys["AE"]["officer"])
    assert "shipped" in card(importer.get("/dashboard").text, cert_no)


def test_posting_the_ship_form_twice_ships_once(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-PG-TWICE"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])
    fields = form(visitor.get(_page(cert_no)).text, f"{_page(cert_no)}/ship")

    first = visitor.post(f"{_page(cert_no)}/ship", data=fields)
    again = visitor.post(f"{_page(cert_no)}/ship", data=fields)  # a reload of the answer

    assert (first.status_code, again.status_code) == (303, 303)
    assert _view(web, cert_no)["status"] == "shipped"


def test_shipping_a_shipped_certificate_is_refused_on_the_page_with_409(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-PG-AGAIN"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])
    fields = form(visitor.get(_page(cert_no)).text, f"{_page(cert_no)}/ship")
    assert visitor.post(f"{_page(cert_no)}/ship", data=fields).status_code == 303

    stale = visitor.post(f"{_page(cert_no)}/ship", data={**fields, "idempotency_key": "web-x1y2z3"})

    assert stale.status_code == 409, stale.text
    assert stale.headers["content-type"].startswith("text/html")
    assert "Refused (error 409)" in refused_text(stale.text)


def test_clerk_sees_no_action_and_is_refused_as_by_the_api(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-PG-CLERK"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["clerk"])
    page = visitor.get(_page(cert_no))
    officer = TestClient(web.client.app, follow_redirects=False)
    log_in(officer, web.keys["BW"]["officer"])
    fields = form(officer.get(_page(cert_no)).text, f"{_page(cert_no)}/ship")
    clerk_token = hidden(visitor.get("/dashboard").text, "csrf_token")

    shipping = visitor.post(
        f"{_page(cert_no)}/ship", data={**fields, "csrf_token": clerk_token, "seal_ref": "S-1"}
    )
    api = web.post(f"/v1/certificates/{cert_no}/ship", "BW", {}, role="clerk")

    assert page.status_code == 200
    assert not has_form(page.text, f"{_page(cert_no)}/ship")
    assert 'id="no-actions"' in page.text
    assert shipping.status_code == api.status_code == 403
    assert api.json()["error"]["message"].lower() in refused_text(shipping.text).lower()
    assert _view(web, cert_no)["status"] == "issued"


def test_another_participants_officer_is_refused(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-PG-OTHER"
    web.issue(cert_no)
    log_in(visitor, web.keys["AE"]["officer"])  # the importer's: it reads, but does not ship
    page = visitor.get(_page(cert_no))
    outsider = TestClient(web.client.app, follow_redirects=False)
    log_in(outsider, web.keys["ZA"]["officer"])

    token = hidden(visitor.get("/dashboard").text, "csrf_token")
    refused = visitor.post(
        f"{_page(cert_no)}/ship", data={"csrf_token": token, "idempotency_key": "web-ae-ship-1"}
    )

    assert page.status_code == 200
    assert not has_form(page.text, f"{_page(cert_no)}/ship")
    assert refused.status_code == 403
    assert "only the exporting participant (bw)" in refused_text(refused.text).lower()
    assert outsider.get(_page(cert_no)).status_code == 403  # not a party: not even to read
    assert _view(web, cert_no)["status"] == "issued"


def test_a_seal_reference_too_long_is_shown_at_its_field_with_422(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-PG-LONG"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])

    response = submit(
        visitor,
        _page(cert_no),
        f"{_page(cert_no)}/ship",
        seal_ref="S" * (SEAL_REF_MAX_LENGTH + 1),
    )

    assert response.status_code == 422
    assert "seal ref" in refused_text(response.text)
    assert has_form(response.text, f"{_page(cert_no)}/ship")  # the form again, to correct
    assert _view(web, cert_no)["status"] == "issued"


def test_a_stale_form_token_is_refused(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-PG-STALE"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])
    fields = form(visitor.get(_page(cert_no)).text, f"{_page(cert_no)}/ship")
    visitor.post("/dashboard/logout", data={"csrf_token": fields["csrf_token"]})
    log_in(visitor, web.keys["BW"]["officer"])  # a new session: the old page's token is stale

    response = visitor.post(f"{_page(cert_no)}/ship", data=fields)

    assert response.status_code == 403
    assert "did not come from your dashboard" in response.text
    assert _view(web, cert_no)["status"] == "issued"


def test_officer_cancels_after_confirming(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-PG-CANCEL"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])
    action = f"{_page(cert_no)}/cancel"

    asked = submit(visitor, _page(cert_no), action, reason="Buyer withdrew")
    status_while_asked = _view(web, cert_no)["status"]
    confirmed = visitor.post(action, data={**form(asked.text, action)})
    after = visitor.get(confirmed.headers["location"])

    assert asked.status_code == 200
    assert f"Yes, cancel {cert_no}" in asked.text
    assert form(asked.text, action)["confirmed"] == "yes"
    assert status_while_asked == "issued"
    assert confirmed.status_code == 303, confirmed.text
    assert _view(web, cert_no)["status"] == "cancelled"
    assert f"Certificate {cert_no} is now cancelled" in after.text
    assert "/dashboard/drafts/new?replaces=" in after.text  # a cancelled one is replaced


def test_cancel_needs_a_reason_and_an_issued_certificate(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-PG-NOCANCEL"
    web.issue(cert_no)
    log_in(visitor, web.keys["BW"]["officer"])
    action = f"{_page(cert_no)}/cancel"
    fields = form(visitor.get(_page(cert_no)).text, action)

    without = visitor.post(action, data={**fields, "reason": "  ", "confirmed": "yes"})
    shipped(web, "BW-2026-PG-SHIPPED")
    shipped_fields = {**fields, "idempotency_key": "web-cancel-shipped"}
    late = visitor.post(
        "/dashboard/certificates/BW-2026-PG-SHIPPED/cancel",
        data={**shipped_fields, "reason": "Too late", "confirmed": "yes"},
    )

    assert without.status_code == 422
    assert "reason" in refused_text(without.text)
    assert _view(web, cert_no)["status"] == "issued"
    assert late.status_code == 409, late.text
    assert _view(web, "BW-2026-PG-SHIPPED")["status"] == "shipped"


def test_navigation_shows_the_admin_pages_to_admins_only(web: Service) -> None:
    pages = {}
    for role in ("officer", "clerk", "admin"):
        visitor = TestClient(web.client.app, follow_redirects=False)
        log_in(visitor, web.keys["BW"][role])
        pages[role] = visitor.get("/dashboard").text

    for role, html in pages.items():
        assert 'href="/dashboard/certificates"' in html
        admin_links = ('href="/dashboard/participants/BW"', 'href="/dashboard/governance"')
        assert all((link in html) == (role == "admin") for link in admin_links), role
