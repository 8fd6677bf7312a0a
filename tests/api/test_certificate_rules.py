"""Certificates over HTTP where a party's standing or a date decides: shipping to an importer
suspended since the issue, closing a shipment in transit (rejected by a suspended importer,
withdrawn by the exporter), the maximum validity (the registry's and the service's stricter
KPCHAIN_MAX_VALIDITY_DAYS) and the dates a receipt may carry, against anvil and a real
database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_checks import (
    assert_error,
    assert_step,
    authority,
    caught_up,
    chain_status,
    error_fields,
    events,
    nonce,
    todays_receipt,
)
from fastapi.testclient import TestClient

from helpers.documents import document
from kpchain.app import create_app
from kpchain.contracts.enums import CertificateStatus, ParticipantStatus, WithdrawalReason
from support_api import Service, create_keys, service_settings
from support_chain import Devnet

DAY = 86_400


@pytest.fixture
def strict_service(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Service]:
    """The service with KPCHAIN_MAX_VALIDITY_DAYS=30, stricter than the registry's 180 days."""
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url, max_validity_days=30)
    governor, keys = create_keys(sqlite_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)


def _set_status(service: Service, code: str, status: str) -> None:
    """Changes `code`'s status by a governance decision, and waits until the service sees it."""
    service.chain.set_status(code, ParticipantStatus[status.upper()])
    caught_up(service)


def _ship(service: Service, cert_no: str) -> dict[str, Any]:
    response = service.post(f"/v1/certificates/{cert_no}/ship", "BW", {"seal_ref": "SEAL-7"})
    assert response.status_code == 200, response.text
    shipped: dict[str, Any] = response.json()
    return shipped


def _view(service: Service, cert_no: str, code: str = "BW") -> dict[str, Any]:
    response = service.client.get(f"/v1/certificates/{cert_no}", headers=service.headers(code))
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def _day_of(step: dict[str, Any]) -> date:
    return datetime.fromisoformat(step["at"].replace("Z", "+00:00")).date()


# --- shipping to an importer suspended since the issue ----------------------------------------


def test_ship_conflicts_when_importer_suspended_after_issue(service: Service) -> None:
    service.issue("BW-2026-000701")
    _set_status(service, "AE", "suspended")
    before = nonce(service, "BW")

    refused = service.post("/v1/certificates/BW-2026-000701/ship", "BW", {"seal_ref": "S"})

    error = assert_error(refused, 409, "participant_not_active")
    assert error["detail"]["error"] == "ParticipantNotActive"
    assert nonce(service, "BW") == before  # refused by the gas estimate: nothing was sent
    assert chain_status(service, "BW-2026-000701") == CertificateStatus.ISSUED
    assert _view(service, "BW-2026-000701")["status"] == "issued"


# --- closing a shipment in transit -------------------------------------------------------------


def test_shipment_is_rejected_when_importer_suspended_in_transit(service: Service) -> None:
    service.issue("BW-2026-000711")
    _ship(service, "BW-2026-000711")
    _set_status(service, "AE", "suspended")

    refused = service.post("/v1/certificates/BW-2026-000711/receive", "AE", todays_receipt())
    response = service.post(
        "/v1/certificates/BW-2026-000711/reject", "AE", {"reason": "other", "note": "suspended"}
    )

    assert_error(refused, 409, "participant_not_active")
    assert response.status_code == 200, response.text
    rejected = response.json()
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "other")
    assert rejected["withdrawal_reason"] is None
    assert_step(service, rejected["steps"]["rejected"], sender=authority("AE"))
    assert chain_status(service, "BW-2026-000711") == CertificateStatus.REJECTED


def test_shipment_is_withdrawn_when_importer_suspended_in_transit(service: Service) -> None:
    cert_no = "BW-2026-000721"
    path = f"/v1/certificates/{cert_no}/withdraw"
    service.issue(cert_no)
    shipped = _ship(service, cert_no)
    body = {"reason": "returned", "note": "back at the Gaborone vault"}
    before = nonce(service, "BW")

    # While AE is Active it receives or rejects the shipment itself.
    active = service.post(path, "BW", body)
    error = assert_error(active, 409, "importer_still_active")
    assert error["detail"]["error"] == "ImporterStillActive"
    assert nonce(service, "BW") == before
    # Only the exporter's officer withdraws.
    assert_error(service.post(path, "AE", body), 403, "participant_mismatch")
    assert_error(service.post(path, "BW", body, role="clerk"), 403, "role_insufficient")
    # A reason the registry does not know.
    unknown = assert_error(service.post(path, "BW", {"reason": "stolen"}), 422, "invalid_document")
    assert "reason" in error_fields(unknown)

    _set_status(service, "AE", "suspended")
    response = service.post(path, "BW", body)

    assert response.status_code == 200, response.text
    withdrawn = response.json()
    assert withdrawn["status"] == "cancelled"
    assert withdrawn["withdrawal_reason"] == "returned"
    assert withdrawn["rejection_reason"] is None
    assert set(withdrawn["steps"]) == {"issued", "shipped", "cancelled"}
    assert withdrawn["steps"]["shipped"] == shipped["steps"]["shipped"]
    assert_step(service, withdrawn["steps"]["cancelled"], sender=authority("BW"))
    assert chain_status(service, cert_no) == CertificateStatus.CANCELLED
    assert _view(service, cert_no, "AE") == withdrawn
    # The importer hears of it on its event feed.
    feed = events(
        service.client.get(
            "/v1/events", params={"follow": "false"}, headers=service.headers("AE", "clerk")
        )
    )
    assert [event["event"] for event in feed] == [
        "certificate.issued",
        "certificate.shipped",
        "certificate.withdrawn",
    ]
    data = feed[-1]["data"]
    assert (data["event"], data["cert_no"]) == ("ShipmentWithdrawn", cert_no)
    assert data["tx_hash"] == withdrawn["steps"]["cancelled"]["tx_hash"]
    assert data["args"]["reason"] == int(WithdrawalReason.RETURNED)
    assert data["args"]["authority"] == authority("BW")
    # Closed once: withdrawing again conflicts; once AE is reinstated, a replacement is issued.
    assert_error(service.post(path, "BW", body), 409, "certificate_status_invalid")
    _set_status(service, "AE", "active")
    replacement = service.issue("BW-2026-000722", replaces=cert_no)
    assert (replacement["replaces"], replacement["status"]) == (cert_no, "issued")


# --- the maximum validity --------------------------------------------------------------------


def test_issue_is_refused_when_validity_exceeds_registry_maximum(service: Service) -> None:
    # demo documents expire `days` after the issue: valid on days + 1 calendar days.
    before = nonce(service, "BW")

    too_long = service.post("/v1/certificates", "BW", document("BW-2026-000731", days=180))

    error = assert_error(too_long, 422, "certificate_validity_too_long")
    assert error["detail"]["error"] == "CertificateValidityTooLong"
    assert nonce(service, "BW") == before
    assert chain_status(service, "BW-2026-000731") == CertificateStatus.NONE
    longest = service.issue("BW-2026-000732", days=179)  # 180 calendar days: the maximum
    assert longest["status"] == "issued"


def test_issue_is_refused_before_any_transaction_when_validity_exceeds_setting(
    strict_service: Service,
) -> None:
    service = strict_service
    before = nonce(service, "BW")
    body = document("BW-2026-000741", days=30)

    single = service.post("/v1/certificates", "BW", body)
    batch = service.post(
        "/v1/certificates/batch", "BW", [document("BW-2026-000742", days=29), body]
    )

    for response in (single, batch):
        error = assert_error(response, 422, "certificate_validity_too_long")
        assert error["detail"] == {
            "cert_no": "BW-2026-000741",
            "issued_at": body["issued_at"],
            "expires_at": body["expires_at"],
            "validity_days": 31,
            "max_validity_days": 30,
        }
    assert nonce(service, "BW") == before
    for number in ("BW-2026-000741", "BW-2026-000742"):
        assert chain_status(service, number) == CertificateStatus.NONE
    assert service.issue("BW-2026-000743", days=29)["status"] == "issued"  # 30 calendar days


# --- the dates of a receipt ------------------------------------------------------------------


def test_receipt_is_refused_when_dated_before_shipping_or_after_today(service: Service) -> None:
    cert_no = "BW-2026-000751"
    path = f"/v1/certificates/{cert_no}/receive"
    service.issue(cert_no)
    shipped_on = _day_of(_ship(service, cert_no)["steps"]["shipped"])
    before = nonce(service, "AE")

    early = service.post(
        path, "AE", todays_receipt(received_at=(shipped_on - timedelta(days=1)).isoformat())
    )
    # Two days on: after today even should midnight (UTC) pass while the test runs.
    late = service.post(
        path, "AE", todays_receipt(received_at=(shipped_on + timedelta(days=2)).isoformat())
    )

    error = assert_error(early, 422, "receipt_date_before_shipping")
    assert error["detail"] == {
        "cert_no": cert_no,
        "received_at": (shipped_on - timedelta(days=1)).isoformat(),
        "shipped_at": shipped_on.isoformat(),
    }
    error = assert_error(late, 422, "receipt_date_in_future")
    assert error["detail"]["received_at"] == (shipped_on + timedelta(days=2)).isoformat()
    assert nonce(service, "AE") == before
    assert chain_status(service, cert_no) == CertificateStatus.SHIPPED
    received = service.post(path, "AE", todays_receipt(received_at=shipped_on.isoformat()))
    assert received.status_code == 200, received.text
    assert received.json()["confirmation"]["received_at"] == shipped_on.isoformat()


def test_receipt_may_be_dated_on_the_chains_day_when_its_clock_is_ahead(service: Service) -> None:
    cert_no = "BW-2026-000761"
    service.issue(cert_no)
    shipped_on = _day_of(_ship(service, cert_no)["steps"]["shipped"])
    service.chain.rpc("evm_increaseTime", 3 * DAY)
    service.chain.rpc("evm_mine")
    caught_up(service)
    chain_day = datetime.fromtimestamp(service.chain.now(), UTC).date()
    ahead = shipped_on + timedelta(days=2)  # after the host's day, not after the chain's
    assert ahead <= chain_day

    response = service.post(
        f"/v1/certificates/{cert_no}/receive", "AE", todays_receipt(received_at=ahead.isoformat())
    )

    assert response.status_code == 200, response.text
    assert response.json()["confirmation"]["received_at"] == ahead.isoformat()
    assert chain_status(service, cert_no) == CertificateStatus.RECEIVED
