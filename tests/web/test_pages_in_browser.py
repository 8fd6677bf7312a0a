"""The pages in a real headless Chromium (Debian's, driven by Playwright) against a real
``python -m kpchain serve`` on a seeded anvil: a person verifies a genuine, a forged and an
unknown certificate, and an importing authority's officer logs in to the dashboard and confirms
an inbound shipment. Each page is also checked for accessibility basics at a phone's width."""

from __future__ import annotations

from typing import Any

import pytest
from browsing import Live, assert_accessible_basics
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.anvil]


def test_verify_page_tells_genuine_forged_and_unknown_apart(page: Page, live: Live) -> None:
    cert_no = "BW-2026-BROWSER-VFY"
    view = live.shipped(cert_no)

    response = page.goto(f"{live.service.url}/verify/{cert_no}?doc_hash={view['doc_hash']}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", name="GENUINE", exact=True)).to_be_visible()
    expect(page.locator(".verdict")).to_contain_text("Status: shipped")
    expect(page.get_by_role("heading", name="What to do")).to_have_count(0)
    assert_accessible_basics(page)

    # Keyboard users see where they are: the first Tab lands on the skip link, outlined.
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "(() => { const e = document.activeElement;"
        " return [e.className, getComputedStyle(e).outlineStyle]; })()"
    )
    assert focused == ["skip", "solid"]

    wrong = "0x" + "ab" * 32
    response = page.goto(f"{live.service.url}/verify/{cert_no}?doc_hash={wrong}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", name="NOT GENUINE", exact=True)).to_be_visible()
    advice = page.locator("section.advice")
    expect(advice.get_by_role("heading", name="What to do")).to_be_visible()
    expect(advice).to_contain_text(["contact", "the", "exporting", "authority"][0].capitalize())
    expect(advice).to_contain_text("Working Group on Monitoring")
    assert_accessible_basics(page)

    # The form on the page opens another certificate's page.
    page.get_by_label("Certificate number").fill("BW-2026-BROWSER-NONE")
    page.get_by_label("Document hash (optional)").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Verify").click()
    assert page.url == f"{live.service.url}/verify/BW-2026-BROWSER-NONE"
    expect(page.get_by_role("heading", name="NOT FOUND", exact=True)).to_be_visible()
    assert_accessible_basics(page)


def test_officer_confirms_an_inbound_shipment_on_the_dashboard(page: Page, live: Live) -> None:
    cert_no = "BW-2026-BROWSER-IN"
    live.shipped(cert_no)

    page.goto(f"{live.service.url}/dashboard")
    assert page.url == f"{live.service.url}/dashboard/login"  # not logged in: sent to log in
    assert_accessible_basics(page)
    page.get_by_label("API key").fill(live.keys["AE"]["officer"])
    page.get_by_role("button", name="Log in").click()
    expect(
        page.get_by_role("heading", name="Authority dashboard: United Arab Emirates (AE)")
    ).to_be_visible()
    assert_accessible_basics(page)

    shipment = page.locator(f'[data-cert-no="{cert_no}"]')
    expect(shipment).to_be_visible()
    expect(shipment.get_by_role("heading", level=3)).to_have_text(f"{cert_no} shipped")
    shipment.get_by_label("Parcels received").fill("3")
    shipment.get_by_label("Carats received").fill("1234.56")
    expect(shipment.get_by_label("Date of receipt")).not_to_have_value("")
    shipment.get_by_role("button", name="Confirm receipt").click()

    notice = page.locator("#updated")
    expect(notice).to_contain_text(f"Certificate {cert_no} is now received")
    expect(page.locator(f'[data-cert-no="{cert_no}"]')).to_have_count(0)
    assert live.status(cert_no) == "received"

    # The year's statistics now count the import, drawn as an SVG chart with a text alternative.
    chart = page.locator("figure.chart svg[role=img]")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_contain_text("Carats exported and imported by AE")
    expect(page.locator("#stats-caption")).to_be_visible()
    assert_accessible_basics(page)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto(f"{live.service.url}/dashboard")
    assert page.url == f"{live.service.url}/dashboard/login"


def test_api_docs_list_the_operations_when_nothing_but_the_service_can_be_reached(
    browser: Browser, live: Live
) -> None:
    context = browser.new_context()
    elsewhere: list[str] = []

    def only_the_service(route: Any) -> None:
        url = route.request.url
        if url.startswith(live.service.url):
            route.continue_()
        else:  # a CDN, a font host: as offline as an authority's closed network
            elsewhere.append(url)
            route.abort()

    context.route("**/*", only_the_service)
    try:
        page = context.new_page()
        page.goto(f"{live.service.url}/docs")
        operations = page.locator(".opblock")
        expect(operations.first).to_be_visible()
        ship = page.locator(".opblock-summary-path", has_text="/v1/certificates/{cert_no}/ship")
        expect(ship).to_have_count(1)
        swagger_count = operations.count()
        page.goto(f"{live.service.url}/redoc")
        expect(page.get_by_text("Record the sealed dispatch").first).to_be_visible()
    finally:
        context.close()

    assert swagger_count >= 20
    assert elsewhere == []
