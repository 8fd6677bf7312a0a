"""The action pages in a real headless Chromium against a real ``python -m kpchain serve`` on a
seeded anvil of the module's own: an exporting officer ships with a seal reference and the
importer's dashboard shows the shipment in transit; an officer cancels (after confirming); an
admin rotates an authority key and registers the exchange endpoint; admins vote on a proposal
until it passes and carry it out (anvil's clock moved past the vote and the timelock)."""

from __future__ import annotations

import pytest
from browsing import PHONE, Live, assert_accessible_basics
from eth_account import Account
from playwright.sync_api import Browser, Page, expect

from helpers.documents import document
from kpchain.contracts.encoding import participant_code
from kpchain.contracts.enums import ParticipantStatus
from kpchain.devnet.seed import DEVNET_GOVERNANCE, participant_account
from support_chain import Devnet

pytestmark = [pytest.mark.browser, pytest.mark.anvil]


def _issued(live: Live, cert_no: str) -> None:
    with live.service.client(live.keys["BW"]["officer"]) as client:
        response = client.post("/v1/certificates", json=document(cert_no, "BW", "AE"))
    assert response.status_code == 201, response.text


def _log_in(page: Page, live: Live, code: str, role: str) -> None:
    page.goto(f"{live.service.url}/dashboard/login")
    page.get_by_label("API key").fill(live.keys[code][role])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Authority dashboard")


def _log_out(page: Page) -> None:
    page.goto(page.url.split("/dashboard")[0] + "/dashboard")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def test_officer_ships_with_a_seal_reference_and_the_importer_sees_it_in_transit(
    page: Page, live: Live
) -> None:
    cert_no = "BW-2026-BROWSER-SHIP"
    _issued(live, cert_no)

    _log_in(page, live, "BW", "officer")
    page.get_by_role("link", name="Certificates", exact=True).click()
    page.get_by_role("link", name=cert_no).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Certificate {cert_no}")
    assert_accessible_basics(page)
    page.get_by_label("Seal or container reference (optional)").fill("MSCU 7654321")
    page.get_by_role("button", name="Ship certificate").click()

    expect(page.locator("#done")).to_contain_text(f"Certificate {cert_no} is now shipped")
    expect(page.locator("h1 .status")).to_have_text("shipped")
    expect(page.get_by_role("button", name="Ship certificate")).to_have_count(0)
    assert_accessible_basics(page)
    assert live.status(cert_no) == "shipped"

    _log_out(page)
    _log_in(page, live, "AE", "officer")
    shipment = page.locator(f'[data-cert-no="{cert_no}"]')
    expect(shipment.get_by_role("heading", level=3)).to_have_text(f"{cert_no} shipped")
    expect(shipment.get_by_role("button", name="Confirm receipt")).to_be_visible()


def test_officer_cancels_a_certificate_after_confirming(page: Page, live: Live) -> None:
    cert_no = "BW-2026-BROWSER-CANCEL"
    _issued(live, cert_no)

    _log_in(page, live, "BW", "officer")
    page.goto(f"{live.service.url}/dashboard/certificates/{cert_no}")
    page.get_by_label("Reason").fill("The buyer withdrew its order")
    page.get_by_role("button", name="Cancel certificate…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Cancel certificate {cert_no}?")
    assert_accessible_basics(page)
    assert live.status(cert_no) == "issued"  # not before it is confirmed
    page.get_by_role("button", name=f"Yes, cancel {cert_no}").click()

    expect(page.locator("#done")).to_contain_text(f"Certificate {cert_no} is now cancelled")
    expect(page.locator("h1 .status")).to_have_text("cancelled")
    assert live.status(cert_no) == "cancelled"


def test_admin_rotates_an_authority_key_and_registers_the_endpoint(
    page: Page, live: Live, devnet: Devnet
) -> None:
    old = participant_account("ZA", "authority").address
    new = Account.create().address

    _log_in(page, live, "ZA", "admin")
    page.get_by_role("link", name="Participant admin").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Participant admin")
    assert_accessible_basics(page)
    page.get_by_label("Account address").fill(new)
    page.get_by_role("button", name="Add authority key").click()
    expect(page.locator("#done")).to_contain_text("The new authority key is registered")
    page.locator(f'tr[data-account="{old}"]').get_by_role("button", name="Revoke").click()
    expect(page.locator("#done")).to_contain_text("The authority key is revoked")
    expect(page.locator(f'tr[data-account="{new}"]')).to_be_visible()
    expect(page.locator(f'li.revoked[data-account="{old}"]')).to_be_visible()

    page.get_by_label("Endpoint URL").fill("https://kp.za.example")
    page.get_by_label("Make a new document encryption key").check()
    page.get_by_role("button", name="Register endpoint").click()
    expect(page.locator("#done")).to_contain_text("The exchange endpoint and encryption key")
    expect(page.locator("#endpoint-url")).to_have_text("https://kp.za.example")
    expect(page.locator("#endpoint-key")).to_contain_text("0x")
    assert_accessible_basics(page)

    registry = devnet.contract.functions
    za = participant_code("ZA")
    assert registry.isAuthority(za, new).call()
    assert not registry.isAuthority(za, old).call()
    assert registry.serviceEndpoint(za).call()[0] == "https://kp.za.example"


def test_admins_vote_on_a_proposal_until_it_passes(
    browser: Browser, live: Live, devnet: Devnet
) -> None:
    seats = {}
    for code in ("BW", "AE", "RU"):
        context = browser.new_context(viewport=PHONE)
        seats[code] = context.new_page()
        _log_in(seats[code], live, code, "admin")
    admin = Account.create().address
    try:
        bw = seats["BW"]
        bw.get_by_role("link", name="Governance").click()
        bw.get_by_label("Action").select_option("admit")
        bw.get_by_label("Participant (code)").fill("ZW")
        bw.get_by_label("Admin account (admit, replace the admin)").fill(admin)
        bw.get_by_label("Description: why (what the seats vote on)").fill(
            "Admit Zimbabwe: its review visit found the KPCS minimum requirements met"
        )
        bw.get_by_role("button", name="Propose").click()
        expect(bw.locator("#done")).to_contain_text("Your proposal is made")
        expect(bw.locator("h1 .status")).to_have_text("pending")
        assert_accessible_basics(bw)
        proposal = bw.url.split("?")[0]
        devnet.later(1)  # the vote opens the second after the snapshot

        for code in ("AE", "RU"):
            seat = seats[code]
            seat.goto(proposal)
            expect(seat.locator("h1 .status")).to_have_text("active")
            seat.get_by_role("button", name="Approve").click()
            expect(seat.locator("#done")).to_contain_text("Your seat's vote is cast")
            expect(seat.get_by_role("button", name="Approve")).to_have_count(0)
        expect(seats["RU"].locator("#count")).to_contain_text("2 approve, 0 object")

        devnet.later(DEVNET_GOVERNANCE.voting_period + 1)
        bw.goto(proposal)
        expect(bw.locator("h1 .status")).to_have_text("succeeded")
        bw.get_by_role("button", name="Execute").click()
        expect(bw.locator("h1 .status")).to_have_text("queued")
        devnet.later(DEVNET_GOVERNANCE.timelock_delay + 1)
        bw.goto(proposal)
        bw.get_by_role("button", name="Execute").click()
        expect(bw.locator("h1 .status")).to_have_text("executed")
        assert_accessible_basics(bw)
    finally:
        for seat in seats.values():
            seat.context.close()

    status = devnet.contract.functions.participantStatus(participant_code("ZW")).call()
    assert status == ParticipantStatus.ACTIVE
