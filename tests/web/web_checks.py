"""What the page tests share: issuing and shipping through the API, logging in to the dashboard
as a browser does, and reading the pages' forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from support_api import Service

_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def shipped(web: Service, cert_no: str, exporting: str = "BW", importing: str = "AE") -> Any:
    """Issues `cert_no` and ships it through the REST API; returns the shipped view."""
    web.issue(cert_no, exporting, importing)
    response = web.post(f"/v1/certificates/{cert_no}/ship", exporting, {"seal_ref": "SEAL-1"})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["status"] == "shipped"
    return view


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """The hidden fields of the page's forms, in order."""
    return _HIDDEN.findall(html)


def hidden(html: str, name: str) -> str:
    """The first hidden field `name` on the page."""
    for field, value in hidden_fields(html):
        if field == name:
            return value
    raise AssertionError(f"no hidden field {name} on the page")


def log_in(visitor: TestClient, api_key: str) -> Response:
    """Opens the log-in page and submits `api_key` with the page's token, as a browser does."""
    page = visitor.get("/dashboard/login")
    assert page.status_code == 200, page.text
    return visitor.post(
        "/dashboard/login",
        data={"api_key": api_key, "login_token": hidden(page.text, "login_token")},
    )


def card(html: str, cert_no: str) -> str:
    """The dashboard's card of inbound shipment `cert_no` (its HTML)."""
    start = html.find(f'data-cert-no="{cert_no}"')
    assert start >= 0, f"{cert_no} is not among the inbound shipments"
    end = html.find("</li>\n", start)
    return html[start:end]


def action_form(html: str, cert_no: str, action: str) -> dict[str, str]:
    """The hidden fields of the `action` ("receive" or "reject") form of `cert_no`'s card."""
    section = card(html, cert_no)
    start = section.find(f'/{action}"')
    assert start >= 0, f"no {action} form for {cert_no}"
    end = section.find("</form>", start)
    return dict(hidden_fields(section[start:end]))


def officer_form(web: Service, visitor: TestClient, cert_no: str, action: str) -> dict[str, str]:
    """Ships `cert_no` from BW to AE, logs `visitor` in as AE's officer, and returns the hidden
    fields of the shipment's `action` form on the dashboard."""
    shipped(web, cert_no)
    log_in(visitor, web.keys["AE"]["officer"])
    return action_form(visitor.get("/dashboard").text, cert_no, action)


DRAFT_SAVED = re.compile(r"^/dashboard/drafts/(\d+)\?saved=1$")
"""Where the New certificate form sends the browser once it saved a draft."""


def new_certificate_form(
    cert_no: str, lines: list[dict[str, str]] | None = None, **changes: str
) -> dict[str, str]:
    """BW's "New certificate" form filled in as a clerk does: issued today, valid 30 days, to
    AE, of BW origin, with `lines` (each a line's fields by name; default one line of 7102.31)
    and `changes` to any field."""
    today = datetime.now(UTC).date()
    values = {
        "cert_no": cert_no,
        "importing_participant": "AE",
        "origin": "BW",
        "provenance": "",
        "origin_zone": "",
        "exporter.name": "Okavango Diamond Company",
        "exporter.address": "Gaborone",
        "exporter.licence": "EX-17",
        "importer.name": "Dubai Rough DMCC",
        "importer.address": "Dubai",
        "importer.licence": "DMCC-42",
        "issued_at": today.isoformat(),
        "expires_at": (today + timedelta(days=30)).isoformat(),
        "issuing_authority": "Government Diamond Office",
        "replaces": "",
        "form_action": "save",
    }
    default = {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": "3"}
    for index, line in enumerate(lines or [default]):
        values.update({f"lines.{index}.{name}": value for name, value in line.items()})
    values.update(changes)
    return values


def logged_in(web: Service, code: str, role: str, language: str | None = None) -> TestClient:
    """A browser of its own logged in with `code`'s `role` key (having chosen `language` with
    the switch first, when given)."""
    visitor = TestClient(web.client.app, raise_server_exceptions=False, follow_redirects=False)
    if language is not None:
        assert visitor.get(f"/dashboard/login?lang={language}").status_code == 200
    assert log_in(visitor, web.keys[code][role]).status_code == 303
    return visitor


def post_form(visitor: TestClient, path: str, values: dict[str, str]) -> Response:
    """Opens the form page at `path` and posts `values` with its anti-forgery token."""
    page = visitor.get(path)
    assert page.status_code == 200, page.text
    return visitor.post(path, data={**values, "csrf_token": hidden(page.text, "csrf_token")})


def save_draft(visitor: TestClient, values: dict[str, str]) -> int:
    """Saves the New certificate form's `values` as a draft; returns the draft's id."""
    response = post_form(visitor, "/dashboard/drafts/new", values)
    assert response.status_code == 303, response.text
    found = DRAFT_SAVED.match(response.headers["location"])
    assert found is not None, response.headers["location"]
    return int(found.group(1))
