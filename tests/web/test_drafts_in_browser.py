"""Maker-checker in a real headless Chromium (Debian's, driven by Playwright) against a real
``python -m kpchain serve`` on a seeded anvil: BW's clerk fills in the New certificate form
(two lines) and saves a draft, BW's officer (another key) approves it and it is issued, ships it
on its certificate page, and AE's dashboard shows the shipment on its way in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from browsing import Live
from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.anvil]

CERT_NO = "BW-2026-BROWSER-DRAFT"


def _logged_in(browser: Browser, live: Live, code: str, role: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{live.service.url}/dashboard/login")
    page.get_by_label("API key").fill(live.keys[code][role])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Authority dashboard")
    return page


def test_clerk_drafts_officer_approves_and_the_importer_sees_the_shipment(
    browser: Browser, live: Live
) -> None:
    today = datetime.now(UTC).date()

    # BW's clerk fills in the form, with a second line, and saves a draft.
    clerk = _logged_in(browser, live, "BW", "clerk")
    clerk.get_by_role("link", name="New certificate").first.click()
    expect(clerk.get_by_role("heading", name="New certificate", level=1)).to_be_visible()
    clerk.get_by_label("Certificate number").fill(CERT_NO)
    clerk.get_by_label("Importing participant").select_option("AE")
    for party, name in (("Exporter", "Okavango Diamond Company"), ("Importer", "Dubai Rough")):
        group = clerk.get_by_role("group", name=party)
        group.get_by_label("Name").fill(name)
        group.get_by_label("Address").fill("1 Main Street")
        group.get_by_label("Licence number").fill(f"{party[:3].upper()}-1")
    line = clerk.get_by_role("group", name="Line 1")
    line.get_by_label("HS code").select_option("7102.31")
    line.get_by_label("Carats").fill("1234.56")
    line.get_by_label("Value (US$)").fill("456789.00")
    line.get_by_label("Parcels").fill("3")
    clerk.get_by_role("button", name="Add a line").click()
    second = clerk.get_by_role("group", name="Line 2")
    expect(second).to_be_visible()
    expect(clerk.get_by_role("group", name="Line 1").get_by_label("Carats")).to_have_value(
        "1234.56"
    )
    second.get_by_label("HS code").select_option("7102.21")
    second.get_by_label("Carats").fill("10.00")
    second.get_by_label("Value (US$)").fill("abc")  # a mistake, shown at its field
    second.get_by_label("Parcels").fill("1")
    clerk.get_by_label("Date of expiry").fill((today + timedelta(days=30)).isoformat())
    clerk.get_by_label("Issuing authority").fill("Government Diamond Office")
    clerk.get_by_role("button", name="Save as draft").click()
    expect(clerk.locator("#lines-1-value_usd-error")).to_be_visible()
    expect(clerk.get_by_role("group", name="Line 2").get_by_label("Value (US$)")).to_have_value(
        "abc"
    )
    clerk.get_by_role("group", name="Line 2").get_by_label("Value (US$)").fill("100.00")
    clerk.get_by_role("button", name="Save as draft").click()
    expect(clerk.locator("#saved")).to_contain_text("The draft is saved")
    expect(clerk.get_by_role("button", name="Approve and issue")).to_have_count(0)

    # BW's officer, another key, finds it awaiting approval and approves it.
    officer = _logged_in(browser, live, "BW", "officer")
    officer.goto(f"{live.service.url}/dashboard/drafts")
    awaiting = officer.locator("section", has=officer.locator("#awaiting"))
    awaiting.get_by_role("link", name=CERT_NO).click()
    expect(officer.locator(".facts")).to_contain_text("Okavango Diamond Company")
    officer.get_by_role("button", name="Approve and issue").click()
    expect(officer.locator("#issued")).to_contain_text(f"Issued as certificate {CERT_NO}")

    # The officer opens the issued certificate and ships it with its seal reference.
    officer.get_by_role("link", name="Open the certificate (ship or cancel it)").click()
    officer.get_by_label("Seal or container reference (optional)").fill("SEAL-7")
    officer.get_by_role("button", name="Ship certificate").click()
    expect(officer.get_by_text(f"Certificate {CERT_NO} is now shipped")).to_be_visible()
    with live.service.client(live.keys["AE"]["auditor"]) as client:
        view = client.get(f"/v1/certificates/{CERT_NO}").json()
    assert (view["status"], view["carats"]) == ("shipped", "1244.56")

    # AE's dashboard shows it on its way in.
    importer = _logged_in(browser, live, "AE", "officer")
    shipment = importer.locator(f'[data-cert-no="{CERT_NO}"]')
    expect(shipment).to_be_visible()
    expect(shipment.get_by_role("heading", level=3)).to_have_text(f"{CERT_NO} shipped")
    expect(shipment).to_contain_text("1244.56 carats")
