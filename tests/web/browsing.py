"""What the browser tests share: the phone-sized viewport, the live service with its keys, and
the accessibility basics every page is held to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

from helpers.documents import document
from support_service import ServiceProcess

PHONE = {"width": 360, "height": 740}


@dataclass
class Live:
    """The service process and API keys of every demo participant."""

    service: ServiceProcess
    keys: dict[str, dict[str, str]]

    def shipped(self, cert_no: str) -> dict[str, Any]:
        """Issues `cert_no` from BW to AE and ships it, through the REST API."""
        with self.service.client(self.keys["BW"]["officer"]) as client:
            issued = client.post("/v1/certificates", json=document(cert_no, "BW", "AE"))
            assert issued.status_code == 201, issued.text
            response = client.post(f"/v1/certificates/{cert_no}/ship", json={})
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    def status(self, cert_no: str) -> str:
        with self.service.client(self.keys["AE"]["auditor"]) as client:
            response = client.get(f"/v1/certificates/{cert_no}")
        assert response.status_code == 200, response.text
        return str(response.json()["status"])


def assert_accessible_basics(page: Page) -> None:
    """The page declares its language, has one main landmark, labels every field, and fits a
    360 px screen without scrolling sideways."""
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("main").count() == 1
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(field => field.labels.length === 0
                && !field.getAttribute('aria-label') && !field.getAttribute('aria-labelledby'))
            .map(field => field.name || field.id || field.outerHTML)"""
    )
    assert unlabelled == []
    width = page.evaluate("window.innerWidth")
    assert width == PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
