"""A shipment whose certificate expired in transit, on the importer's dashboard: while the
registry's grace period lasts its card offers Confirm (dated by the expiry at the latest) and
Reject; once the period is over, Reject only. The module's own anvil, since its clock is moved
on (the other page tests share theirs)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from web_checks import action_form, card, log_in

from helpers.polling import wait_until
from support_api import Service

DAY = 86_400


def _move_clock(web: Service, days: int) -> None:
    """Moves the chain's clock on by `days` and waits until the index has that block."""
    web.chain.rpc("evm_increaseTime", days * DAY)
    web.chain.rpc("evm_mine")

    def caught_up() -> Any:
        body = web.client.get("/readyz").json()
        return body if body["checks"]["index"]["lag"] == 0 else None

    wait_until(caught_up, timeout=20, what="the index to catch up with the chain")


def _shipped_for_a_day(web: Service, cert_no: str) -> date:
    """Issues `cert_no` (BW to AE) valid for one day and ships it; returns its expiry date."""
    issued = web.issue(cert_no, days=1)
    response = web.post(f"/v1/certificates/{cert_no}/ship", "BW", {"seal_ref": "SEAL-1"})
    assert response.status_code == 200, response.text
    return date.fromisoformat(issued["expires_at"])


def _status(web: Service, cert_no: str) -> str:
    response = web.client.get(f"/v1/certificates/{cert_no}", headers=web.headers("AE"))
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def test_expired_shipment_is_confirmed_late_on_the_dashboard_within_grace_then_only_rejected(
    web: Service, visitor: TestClient
) -> None:
    in_grace, too_late = "BW-2026-WEB-LATE1", "BW-2026-WEB-LATE2"
    expires_on = {cert_no: _shipped_for_a_day(web, cert_no) for cert_no in (in_grace, too_late)}
    _move_clock(web, 3)  # both expired in transit, within the registry's 30 days' grace
    log_in(visitor, web.keys["AE"]["officer"])

    page = visitor.get("/dashboard").text
    late = card(page, in_grace)
    deadline = (expires_on[in_grace] + timedelta(days=30)).isoformat()

    assert _status(web, in_grace) == "expired"
    assert "Expired in transit." in late
    assert f"may still be confirmed until {deadline}" in late
    assert f'max="{expires_on[in_grace].isoformat()}"' in late
    form = action_form(page, in_grace, "receive")
    confirmed = visitor.post(
        f"/dashboard/certificates/{in_grace}/receive",
        data={
            **form,
            "parcels": "3",
            "carats": "1234.56",
            "received_at": expires_on[in_grace].isoformat(),
        },
    )
    assert confirmed.status_code == 303, confirmed.text
    assert _status(web, in_grace) == "received"

    _move_clock(web, 30)  # the other one's grace period is over
    page = visitor.get("/dashboard").text
    closed = card(page, too_late)

    assert "the grace period to confirm it ended on" in closed
    assert f"/{too_late}/receive" not in closed
    assert action_form(page, too_late, "reject")
    assert f'data-cert-no="{in_grace}"' not in page  # received: no longer inbound
    certificate = visitor.get(f"/dashboard/certificates/{too_late}").text
    assert "Confirm receipt or reject it on the dashboard" in certificate
