"""The dashboard's routes through FastAPI's TestClient on a running service: log-in and its
refusals, the anti-forgery tokens, roles, writes and their errors as pages, log-out."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from web_checks import card, hidden, log_in, officer_form, shipped

from kpchain.app import create_app
from kpchain.contracts.encoding import cert_number
from kpchain.devnet.anvil import AnvilNode
from kpchain.service.keys import revoke_key
from kpchain.service.tables import DashboardSession
from kpchain.store import WRITE, create_engine, session_factory
from kpchain.web.session import LOGIN_COOKIE, SESSION_COOKIE
from support_api import Service, create_keys, service_settings
from support_chain import Devnet

pytestmark = pytest.mark.anvil


def _confirm(visitor: TestClient, cert_no: str, fields: dict[str, str], **values: str) -> Response:
    # Dated when it is sent, not when the module was imported: a run that crosses midnight
    # would otherwise date the receipt the day before the shipment.
    today = datetime.now(UTC).date().isoformat()
    body = {"parcels": "3", "carats": "1234.56", "received_at": today, **fields, **values}
    return visitor.post(f"/dashboard/certificates/{cert_no}/receive", data=body)


def _status(web: Service, cert_no: str) -> str:
    response = web.client.get(f"/v1/certificates/{cert_no}", headers=web.headers("AE"))
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def test_dashboard_redirects_to_login_when_not_logged_in(visitor: TestClient) -> None:
    response = visitor.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"


def test_login_sets_strict_httponly_session_cookie(web: Service, visitor: TestClient) -> None:
    response = log_in(visitor, web.keys["AE"]["officer"])
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= attributes
    assert "secure" not in attributes  # plain http here; https requests get Secure
    page = visitor.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Authority dashboard: United Arab Emirates (AE)" in page.text


def test_login_over_https_marks_the_cookies_secure(web: Service) -> None:
    visitor = TestClient(web.client.app, base_url="https://testserver", follow_redirects=False)
    response = log_in(visitor, web.keys["AE"]["officer"])
    assert response.status_code == 303
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_login_refuses_unknown_key_on_the_form_with_401(web: Service, visitor: TestClient) -> None:
    response = log_in(visitor, "kp_000000000000_not-a-real-secret")
    assert response.status_code == 401
    assert "That API key is not valid" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert 'name="api_key"' in response.text  # the form again, to retry
    assert visitor.get("/dashboard").status_code == 303


def test_login_refuses_governor_key_with_403(web: Service, visitor: TestClient) -> None:
    response = log_in(visitor, web.governor_key)
    assert response.status_code == 403
    assert "governor key" in response.text


def test_login_refuses_form_posted_without_the_login_pages_token(
    web: Service, visitor: TestClient
) -> None:
    # A cross-site page can post the form but neither read nor send the SameSite=Strict cookie.
    response = visitor.post(
        "/dashboard/login",
        data={"api_key": web.keys["AE"]["officer"], "login_token": "guessed"},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "did not come from the log-in page" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    visitor.cookies.set(LOGIN_COOKIE, "one", path="/dashboard")
    mismatched = visitor.post(
        "/dashboard/login", data={"api_key": web.keys["AE"]["officer"], "login_token": "two"}
    )
    assert mismatched.status_code == 403


def test_confirm_refused_without_the_sessions_form_token(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-WEB-CSRF"
    form = officer_form(web, visitor, cert_no, "receive")
    forged = {**form, "csrf_token": "0" * 64}
    missing = {key: value for key, value in form.items() if key != "csrf_token"}
    for fields in (forged, missing):
        response = _confirm(visitor, cert_no, fields)
        assert response.status_code == 403, response.text
        assert "did not come from your dashboard" in response.text
    assert _status(web, cert_no) == "shipped"


def test_form_token_of_one_key_is_refused_for_another(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-WEB-OTHERKEY"
    form = officer_form(web, visitor, cert_no, "receive")
    other = TestClient(web.client.app, follow_redirects=False)
    log_in(other, web.keys["AE"]["clerk"])
    other_token = hidden(other.get("/dashboard").text, "csrf_token")
    assert other_token != form["csrf_token"]
    response = _confirm(visitor, cert_no, {**form, "csrf_token": other_token})
    assert response.status_code == 403
    assert _status(web, cert_no) == "shipped"


def test_clerk_sees_inbound_read_only_and_cannot_confirm(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-WEB-CLERK"
    shipped(web, cert_no)
    log_in(visitor, web.keys["AE"]["clerk"])
    page = visitor.get("/dashboard").text
    assert "read only" in page
    assert "/receive" not in card(page, cert_no)
    form = {
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": "web-clerk-attempt-1",
    }
    response = _confirm(visitor, cert_no, form)
    assert response.status_code == 403
    assert "needs an officer key" in response.text
    assert _status(web, cert_no) == "shipped"


def test_officer_confirms_inbound_shipment_and_a_double_submit_acts_once(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-CONFIRM"
    form = officer_form(web, visitor, cert_no, "receive")
    first = _confirm(visitor, cert_no, form, parcels="3", carats="1234.56")
    assert first.status_code == 303
    location = first.headers["location"]
    assert location == f"/dashboard?updated={cert_no}#updated"
    again = _confirm(visitor, cert_no, form, parcels="3", carats="1234.56")
    assert again.status_code == 303
    receipts = web.chain.contract.events.CertificateReceived().get_logs(from_block=0)
    assert [log["args"]["certNo"] for log in receipts].count(cert_number(cert_no)) == 1
    page = visitor.get(location).text
    assert f"Certificate <strong>{cert_no}</strong> is now" in page
    assert 'data-status="received"' in page
    assert f'data-cert-no="{cert_no}"' not in page  # no longer awaiting confirmation
    assert _status(web, cert_no) == "received"


def test_receipt_differing_from_the_certificate_shows_as_a_discrepancy_to_both_parties(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-SHORT"
    form = officer_form(web, visitor, cert_no, "receive")

    confirmed = _confirm(visitor, cert_no, form, parcels="2", carats="1200.00")

    assert confirmed.status_code == 303
    notice = visitor.get(confirmed.headers["location"]).text
    assert "Recorded as a discrepancy: the certificate states 3 parcels, 1234.56 carats." in notice
    exporter = TestClient(web.client.app, follow_redirects=False)
    log_in(exporter, web.keys["BW"]["officer"])
    for client in (visitor, exporter):  # the importer, then the exporter
        page = client.get("/dashboard").text
        section = page[page.index('id="discrepancies"') : page.index('id="statistics"')]
        assert f">{cert_no}</a>" in section
        assert "-34.56" in section
        certificate = client.get(f"/dashboard/certificates/{cert_no}").text
        assert "Discrepancy on receipt" in certificate
        assert "confirmed 2 parcels, 1200.00 carats" in certificate


def test_confirm_of_a_received_certificate_answers_409_page(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-TWICE"
    form = officer_form(web, visitor, cert_no, "receive")
    assert _confirm(visitor, cert_no, form).status_code == 303
    # Another form (a stale tab): a new Idempotency-Key, so a new request, which the state refuses.
    response = _confirm(visitor, cert_no, {**form, "idempotency_key": "web-stale-tab-0001"})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Not possible in the certificate&#39;s current state" in response.text
    assert "The certificate is received, and this needs it shipped" in response.text
    assert 'href="/dashboard"' in response.text


def test_confirm_with_invalid_figures_answers_422_page_naming_the_fields(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-INVALID"
    form = officer_form(web, visitor, cert_no, "receive")
    response = _confirm(visitor, cert_no, form, parcels="0", carats="12.345", received_at="soon")
    assert response.status_code == 422
    text = response.text
    for field in ("parcels", "carats", "received at"):
        assert f"<strong>{field}</strong>" in text
    assert _status(web, cert_no) == "shipped"


def test_officer_rejects_inbound_shipment_with_a_reason(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-WEB-REJECT"
    form = officer_form(web, visitor, cert_no, "reject")
    response = visitor.post(
        f"/dashboard/certificates/{cert_no}/reject",
        data={**form, "reason": "seal_broken", "note": ""},
    )
    assert response.status_code == 303, response.text
    page = visitor.get(response.headers["location"]).text
    assert 'data-status="rejected"' in page
    assert "Rejected: seal broken." in page
    assert _status(web, cert_no) == "rejected"


def test_exporter_sees_outbound_in_transit_and_the_years_exports(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-OUTBOUND"
    shipped(web, cert_no, "BW", "IN")
    log_in(visitor, web.keys["BW"]["auditor"])
    page = visitor.get("/dashboard").text
    outbound = page[page.index('id="outbound"') : page.index('id="overdue"')]
    assert f'<th scope="row">{cert_no}</th>' in outbound
    assert f"/dashboard/certificates/{cert_no}.pdf" in outbound
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in page
    assert f"Carats exported and imported by BW per quarter, {datetime.now(UTC).year}" in page


def test_dashboard_serves_the_pdf_of_a_certificate_with_the_session_key(
    web: Service, visitor: TestClient
) -> None:
    cert_no = "BW-2026-WEB-PDF"
    shipped(web, cert_no)
    log_in(visitor, web.keys["BW"]["clerk"])
    response = visitor.get(f"/dashboard/certificates/{cert_no}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert visitor.get("/dashboard/certificates/BW-2026-NO-SUCH.pdf").status_code == 404


def test_certificate_of_other_participants_is_403_page(web: Service, visitor: TestClient) -> None:
    cert_no = "BW-2026-WEB-NOTYOURS"
    shipped(web, cert_no, "BW", "IN")
    log_in(visitor, web.keys["AE"]["officer"])
    response = visitor.get(f"/dashboard?updated={cert_no}")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")


def test_logout_ends_the_session(web: Service, visitor: TestClient) -> None:
    log_in(visitor, web.keys["AE"]["auditor"])
    page = visitor.get("/dashboard")
    assert page.status_code == 200
    refused = visitor.post("/dashboard/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    response = visitor.post(
        "/dashboard/logout", data={"csrf_token": hidden(page.text, "csrf_token")}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?logged_out=1"
    assert "You are logged out" in visitor.get(response.headers["location"]).text
    assert visitor.get("/dashboard").status_code == 303


def test_revoking_the_key_ends_its_session_at_once(web: Service, visitor: TestClient) -> None:
    token = web.keys["ZA"]["auditor"]
    log_in(visitor, token)
    assert visitor.get("/dashboard").status_code == 200
    engine = create_engine(web.settings.database_url)
    with session_factory(engine)() as session:
        assert revoke_key(session, token.split("_")[1])
        session.commit()
    engine.dispose()
    response = visitor.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"


def test_bad_query_and_unknown_pages_answer_4xx_pages(web: Service, visitor: TestClient) -> None:
    log_in(visitor, web.keys["AE"]["auditor"])
    for path, status in (
        ("/dashboard?year=12", 422),
        ("/dashboard?year=abc", 422),
        ("/dashboard?updated=has%20space", 422),
        ("/dashboard/nowhere", 404),
    ):
        response = visitor.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("text/html"), path
        assert '<main id="main"' in response.text


def test_api_errors_keep_their_json_shape(web: Service, visitor: TestClient) -> None:
    response = visitor.get("/v1/certificates/BW-2026-000001")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_missing"
    assert response.headers["www-authenticate"] == "Bearer"


# --- server-side sessions ------------------------------------------------------------------------


def _session_cookie(response: Response) -> str:
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    return cookie.split(";")[0].split("=", 1)[1].strip('"')


def _age_sessions(web: Service, **seconds: int) -> None:
    """Moves every stored session's times back by `seconds` (created_at, last_seen_at)."""
    engine = create_engine(web.settings.database_url)
    with session_factory(engine)() as session:
        # A write transaction from the start (BEGIN IMMEDIATE): one that reads first fails at
        # once with "database is locked" when the service's audit thread writes in between.
        session.connection(execution_options=WRITE)
        for row in session.scalars(select(DashboardSession)):
            row.created_at -= seconds.get("created_at", 0)
            row.last_seen_at -= seconds.get("last_seen_at", 0)
        session.commit()
    engine.dispose()


def test_session_cookie_is_a_random_token_whose_hash_alone_is_stored(
    web: Service, visitor: TestClient
) -> None:
    api_key = web.keys["AE"]["auditor"]
    first = _session_cookie(log_in(visitor, api_key))
    second = _session_cookie(log_in(TestClient(web.client.app, follow_redirects=False), api_key))

    assert first != second
    assert api_key not in (first, second)
    assert api_key.split("_")[2] not in first
    assert len(first) >= 43  # 256 bits, base64
    engine = create_engine(web.settings.database_url)
    with session_factory(engine)() as session:
        stored = {row.token_hash for row in session.scalars(select(DashboardSession))}
    engine.dispose()
    assert hashlib.sha256(first.encode()).hexdigest() in stored
    assert first not in stored


def test_logout_ends_the_session_on_the_server_so_the_old_cookie_no_longer_works(
    web: Service, visitor: TestClient
) -> None:
    login = log_in(visitor, web.keys["AE"]["auditor"])
    cookie = _session_cookie(login)
    page = visitor.get("/dashboard")
    visitor.post("/dashboard/logout", data={"csrf_token": hidden(page.text, "csrf_token")})
    replay = TestClient(web.client.app, follow_redirects=False)
    replay.cookies.set(SESSION_COOKIE, cookie, path="/dashboard")

    response = replay.get("/dashboard")

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login"


@pytest.mark.parametrize(
    ("aged", "still_open"),
    [
        ({"last_seen_at": 29 * 60}, True),
        ({"last_seen_at": 31 * 60}, False),  # idle longer than KPCHAIN_DASHBOARD_IDLE_MINUTES
        ({"created_at": 13 * 3600}, False),  # older than KPCHAIN_DASHBOARD_SESSION_HOURS
    ],
    ids=["idle-29-min", "idle-31-min", "13-hours-old"],
)
def test_session_ends_when_idle_or_old_too_long(
    web: Service, aged: dict[str, int], still_open: bool
) -> None:
    visitor = TestClient(web.client.app, follow_redirects=False)
    log_in(visitor, web.keys["ZA"]["clerk"])
    assert visitor.get("/dashboard").status_code == 200
    _age_sessions(web, **aged)

    response = visitor.get("/dashboard")

    assert response.status_code == (200 if still_open else 303)
    if not still_open:
        assert response.headers["location"] == "/dashboard/login"


def test_cookies_are_secure_outside_development_even_over_http(
    tmp_path: Path, node: AnvilNode, devnet: Devnet
) -> None:
    database_url = f"sqlite:///{tmp_path / 'kpchain.db'}"
    settings = service_settings(
        tmp_path, node.rpc_url, devnet, database_url, development=False, signers_file=None
    )
    _, keys = create_keys(database_url)
    with TestClient(create_app(settings), follow_redirects=False) as visitor:
        page = visitor.get("/dashboard/login")
        token = hidden(page.text, "login_token")
        # A client keeps a Secure cookie for https only: send the log-in cookie back by hand.
        visitor.cookies.set(LOGIN_COOKIE, token, path="/dashboard")
        response = visitor.post(
            "/dashboard/login", data={"api_key": keys["AE"]["auditor"], "login_token": token}
        )

    assert response.status_code == 303, response.text
    set_cookies = [*page.headers.get_list("set-cookie"), *response.headers.get_list("set-cookie")]
    assert any(cookie.startswith(SESSION_COOKIE + "=") for cookie in set_cookies)
    for cookie in set_cookies:
        if "max-age=0" in cookie.lower():
            continue  # a deletion
        assert "secure" in {part.strip().lower() for part in cookie.split(";")}, cookie


def test_https_answers_carry_hsts_and_plain_http_answers_do_not(web: Service) -> None:
    secure = TestClient(web.client.app, base_url="https://testserver", follow_redirects=False)
    plain = TestClient(web.client.app, follow_redirects=False)

    for path in ("/dashboard/login", "/healthz", "/v1/certificates"):
        assert secure.get(path).headers["strict-transport-security"].startswith("max-age=")
        assert "strict-transport-security" not in plain.get(path).headers
