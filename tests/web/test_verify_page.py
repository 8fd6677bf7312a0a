"""The public verify page through FastAPI's TestClient on a running service: the three verdicts,
the statuses they come with, and friendly 4xx pages for malformed input (never a 500)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_checks import shipped

from support_api import Service

pytestmark = pytest.mark.anvil

WRONG_HASH = "0x" + "ab" * 32


def _verdict(html: str) -> str:
    start = html.index('<h2 id="verdict">')
    return html[start : html.index("</h2>", start)].rpartition(">")[2]


def test_genuine_certificate_with_its_document_hash(web: Service, visitor: TestClient) -> None:
    view = shipped(web, "BW-2026-VFY-GENUINE")
    response = visitor.get(f"/verify/BW-2026-VFY-GENUINE?doc_hash={view['doc_hash']}")
    assert response.status_code == 200
    assert _verdict(response.text) == "GENUINE"
    assert "the document presented is the one it issued" in response.text
    assert 'Status: <strong class="status">shipped</strong>' in response.text
    assert "Botswana (BW)" in response.text
    assert "United Arab Emirates (AE)" in response.text
    assert "What to do" not in response.text
    assert "Diamond Trading Company" not in response.text  # commercial identities never shown


def test_genuine_certificate_without_hash_says_the_document_was_not_compared(
    web: Service, visitor: TestClient
) -> None:
    shipped(web, "BW-2026-VFY-NOHASH")
    response = visitor.get("/verify/BW-2026-VFY-NOHASH")
    assert response.status_code == 200
    assert _verdict(response.text) == "GENUINE"
    assert "The document itself was not compared" in response.text


def test_wrong_document_hash_is_not_genuine_with_what_to_do(
    web: Service, visitor: TestClient
) -> None:
    shipped(web, "BW-2026-VFY-FORGED")
    response = visitor.get(f"/verify/BW-2026-VFY-FORGED?doc_hash={WRONG_HASH}")
    assert response.status_code == 200
    assert _verdict(response.text) == "NOT GENUINE"
    assert "differs from the one recorded on the chain" in response.text
    assert "What to do" in response.text
    assert "Working Group on Monitoring" in response.text
    assert "✘ Failed" in response.text


def test_cancelled_certificate_is_not_genuine_without_the_forgery_steps(
    web: Service, visitor: TestClient
) -> None:
    web.issue("BW-2026-VFY-CANCEL")
    assert web.post("/v1/certificates/BW-2026-VFY-CANCEL/cancel", "BW").status_code == 200
    response = visitor.get("/verify/BW-2026-VFY-CANCEL")
    assert _verdict(response.text) == "NOT GENUINE"
    assert "cancelled" in response.text
    assert "What to do" in response.text
    assert "Working Group on Monitoring" not in response.text


def test_unknown_number_is_not_found_with_404(visitor: TestClient) -> None:
    response = visitor.get("/verify/BW-2026-NO-SUCH")
    assert response.status_code == 404
    assert _verdict(response.text) == "NOT FOUND"
    assert "Check that the number was read correctly" in response.text
    assert "Working Group on Monitoring" in response.text


def test_form_opens_the_certificates_own_page(visitor: TestClient) -> None:
    response = visitor.get("/verify", params={"cert_no": " BW-2026-X/1 ", "doc_hash": WRONG_HASH})
    assert response.status_code == 303
    assert response.headers["location"] == f"/verify/BW-2026-X%2F1?doc_hash={WRONG_HASH}"
    assert visitor.get(response.headers["location"]).status_code == 404  # a slash is allowed
    blank = visitor.get("/verify")
    assert blank.status_code == 200
    assert '<label for="cert_no">' in blank.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/verify?cert_no=", "Enter a certificate number"),
        ("/verify/bw%20lower case", "a certificate number is"),
        ("/verify/" + "BW" * 40, "a certificate number is"),
        ("/verify/BW-2026-1?doc_hash=0x1234", "doc_hash must be 0x and 64 hexadecimal digits"),
        ("/verify/%C3%A9t%C3%A9", "a certificate number is"),
    ],
)
def test_malformed_input_answers_422_with_the_form(
    visitor: TestClient, path: str, message: str
) -> None:
    response = visitor.get(path)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert '<form class="verify-form"' in response.text


def test_overlong_query_answers_422_page_not_json(visitor: TestClient) -> None:
    response = visitor.get("/verify/BW-2026-1", params={"doc_hash": "0x" + "a" * 300})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Please check what you entered" in response.text


def test_pages_carry_security_headers_and_the_stylesheet_is_served(visitor: TestClient) -> None:
    page = visitor.get("/verify")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # no script at all
    css = visitor.get(page.text.split('rel="stylesheet" href="')[1].split('"')[0])
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text
