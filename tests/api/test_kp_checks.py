"""The KP rules the service checks (issue 15), over HTTP against anvil and a real database: the
discrepancy on receipt (both parties, monitoring, an index rebuild), the mirror report, the
dates of issue and the exporter's time zone at expiry."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_checks import assert_error, caught_up, error_fields, nonce, todays_receipt
from fastapi.testclient import TestClient

from helpers.documents import document
from kpchain.app import create_app
from kpchain.certificates.conversions import expiry_seconds, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.typed_data import document_hash
from kpchain.contracts.encoding import cert_number
from support_api import Service, create_keys, service_settings
from support_chain import Devnet


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _get(
    service: Service, path: str, code: str = "BW", role: str = "officer", **params: Any
) -> Any:
    response = service.client.get(path, params=params, headers=service.headers(code, role))
    assert response.status_code == 200, response.text
    return response.json()


def _step(service: Service, cert_no: str, step: str, code: str, body: Any = None) -> Any:
    response = service.post(f"/v1/certificates/{cert_no}/{step}", code, body)
    assert response.status_code == 200, response.text
    return response.json()


def _received(
    service: Service, cert_no: str, exporting: str, importing: str, **receipt: Any
) -> Any:
    service.issue(cert_no, exporting, importing)
    _step(service, cert_no, "ship", exporting)
    return _step(service, cert_no, "receive", importing, todays_receipt(**receipt))


# --- discrepancy on receipt --------------------------------------------------------------------


def test_receipt_differing_from_the_certificate_is_a_discrepancy_for_both_parties_and_monitoring(
    service: Service,
) -> None:
    # The certificate: 3 parcels, 1234.56 carats (helpers.documents).
    short = _received(service, "BW-2026-K00001", "BW", "AE", parcels=2, carats="1200.00")
    exact = _received(service, "BW-2026-K00002", "BW", "AE")
    heavier = _received(service, "RU-2026-K00001", "RU", "IN", carats="1234.57")

    expected = {
        "certified": {"parcels": 3, "carats": "1234.56"},
        "confirmed": {"parcels": 2, "carats": "1200.00"},
        "parcels_difference": -1,
        "carats_difference": "-34.56",
    }
    assert short["discrepancy"] == expected
    assert exact["discrepancy"] is None
    assert heavier["discrepancy"]["carats_difference"] == "0.01"
    assert heavier["discrepancy"]["parcels_difference"] == 0
    for code in ("BW", "AE"):  # both parties see it
        assert _get(service, "/v1/certificates/BW-2026-K00001", code)["discrepancy"] == expected
        assert _get(service, "/v1/certificates/BW-2026-K00002", code)["discrepancy"] is None
    report = _get(service, "/v1/monitoring", "EU", "auditor")["discrepancies"]
    assert report["count"] == 2
    first = next(item for item in report["items"] if item["cert_no"] == "BW-2026-K00001")
    assert first == {
        "cert_no": "BW-2026-K00001",
        "exporting_participant": "BW",
        "importing_participant": "AE",
        "received_at": _today(),
        **expected,
    }
    for_ae = _get(service, "/v1/monitoring", "EU", "auditor", participant="AE")
    assert [item["cert_no"] for item in for_ae["discrepancies"]["items"]] == ["BW-2026-K00001"]

    # The flag is derived from the events: a rebuilt index has it again.
    service.client.app.state.runtime.indexer.rebuild()  # type: ignore[attr-defined]

    assert _get(service, "/v1/certificates/BW-2026-K00001", "AE")["discrepancy"] == expected
    assert _get(service, "/v1/monitoring", "EU", "auditor")["discrepancies"] == report


# --- the mirror report -------------------------------------------------------------------------


def test_mirror_report_sets_each_exporters_exports_beside_its_importers_imports(
    service: Service,
) -> None:
    _received(service, "BW-2026-K00011", "BW", "AE", carats="1200.00")
    service.issue("BW-2026-K00012")  # shipped, in transit: exported, not yet imported
    _step(service, "BW-2026-K00012", "ship", "BW")
    service.issue("BW-2026-K00013")  # only issued: no export yet
    service.issue("BW-2026-K00014")  # cancelled
    _step(service, "BW-2026-K00014", "cancel", "BW", {"reason": "mistake"})
    service.issue("BW-2026-K00015")  # rejected at the border
    _step(service, "BW-2026-K00015", "ship", "BW")
    _step(service, "BW-2026-K00015", "reject", "AE", {"reason": "seal_broken"})
    _received(service, "RU-2026-K00011", "RU", "IN")
    year = datetime.now(UTC).year

    report = _get(service, "/v1/statistics/mirror", "EU", "auditor", year=year)

    assert (report["year"], report["period"]) == (year, None)
    assert (report["from"], report["to"]) == (f"{year}-01-01", f"{year}-12-31")
    one = {"carats": "1234.56", "value_usd": "456789.00", "certificates": 1}
    two = {"carats": "2469.12", "value_usd": "913578.00", "certificates": 2}
    assert report["pairs"] == [
        {
            "exporting": "BW",
            "importing": "AE",
            "exports": two,
            "imports": {**one, "confirmed_carats": "1200.00"},
            "difference": one,
        },
        {
            "exporting": "RU",
            "importing": "IN",
            "exports": one,
            "imports": {**one, "confirmed_carats": "1234.56"},
            "difference": {"carats": "0.00", "value_usd": "0.00", "certificates": 0},
        },
    ]
    # The pairs add up to the statistics' rows.
    statistics = _get(service, "/v1/statistics", "EU", "auditor", year=year)
    rows = {row["code"]: row for row in statistics["participants"]}
    for code in ("BW", "RU", "AE", "IN"):
        exported = [p["exports"] for p in report["pairs"] if p["exporting"] == code]
        imported = [p["imports"] for p in report["pairs"] if p["importing"] == code]
        for flow, sums in (("exports", exported), ("imports", imported)):
            carats = sum((Decimal(s["carats"]) for s in sums), Decimal("0.00"))
            assert Decimal(rows[code][flow]["carats"]) == carats, (code, flow)
            assert rows[code][flow]["certificates"] == sum(s["certificates"] for s in sums)

    response = service.client.get(
        "/v1/statistics/mirror.csv",
        params={"year": year, "period": "Q4"},
        headers=service.headers("EU", "auditor"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    lines = list(csv.DictReader(io.StringIO(response.text)))
    if datetime.now(UTC).month >= 10:  # this quarter holds today's certificates
        assert [(r["exporting"], r["importing"]) for r in lines] == [("BW", "AE"), ("RU", "IN")]
        assert lines[0]["export_certificates"] == "2"
        assert lines[0]["import_confirmed_carats"] == "1200.00"
        assert lines[0]["difference_carats"] == "1234.56"


def test_mirror_report_refuses_a_bad_year_and_a_missing_key(service: Service) -> None:
    for params in (
        {},
        {"year": "last"},
        {"year": 1969},
        {"year": 10000},
        {"year": 2026, "period": "Q5"},
    ):
        for path in ("/v1/statistics/mirror", "/v1/statistics/mirror.csv"):
            response = service.client.get(
                path, params=params, headers=service.headers("EU", "auditor")
            )
            assert_error(response, 422, "invalid_request")
    anonymous = service.client.get("/v1/statistics/mirror", params={"year": 2026})
    assert_error(anonymous, 401, "api_key_missing")


# --- dates of issue ----------------------------------------------------------------------------


def test_issue_is_refused_when_dated_after_today_or_too_long_ago(service: Service) -> None:
    today = datetime.now(UTC).date()
    before = nonce(service, "BW")
    tomorrow = (today + timedelta(days=2)).isoformat()  # two: still ahead should midnight pass
    old = (today - timedelta(days=32)).isoformat()  # KPCHAIN_MAX_ISSUE_AGE_DAYS: 30

    future = service.post("/v1/certificates", "BW", document("BW-2026-K00021", issued_at=tomorrow))
    stale = service.post("/v1/certificates", "BW", document("BW-2026-K00022", issued_at=old))
    batch = service.post(
        "/v1/certificates/batch",
        "BW",
        [document("BW-2026-K00023"), document("BW-2026-K00024", issued_at=old)],
    )

    error = assert_error(future, 422, "invalid_document")
    assert error["detail"]["errors"][0]["type"] == "issue_date_in_future"
    assert error_fields(error) == {"issued_at"}
    error = assert_error(stale, 422, "invalid_document")
    assert error["detail"]["errors"][0]["type"] == "issue_date_too_old"
    assert error_fields(error) == {"issued_at"}
    assert error_fields(assert_error(batch, 422, "invalid_document")) == {"1.issued_at"}
    assert nonce(service, "BW") == before  # refused before any transaction
    recent = (today - timedelta(days=28)).isoformat()
    assert service.issue("BW-2026-K00025", issued_at=recent)["issued_at"] == recent


# --- the exporter's time zone at expiry --------------------------------------------------------


@pytest.fixture
def zoned_service(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Service]:
    """The service with BW's expiries at the end of the day in New York (west of UTC, so the
    instant is in the next UTC day) and AE's in Dubai."""
    zones = {"BW": "America/New_York", "AE": "Asia/Dubai"}
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url, time_zones=zones)
    governor, keys = create_keys(sqlite_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)


def test_expiry_is_the_end_of_the_day_in_the_exporters_time_zone(zoned_service: Service) -> None:
    service = zoned_service
    issued = service.issue("BW-2026-K00031")
    utc = service.issue("RU-2026-K00031", "RU", "IN")

    held = _get(service, "/v1/certificates/BW-2026-K00031/document")
    day = datetime.fromisoformat(issued["expires_at"]).date()
    offset = held["document"]["expiry_utc_offset"]
    assert offset in ("-05:00", "-04:00")  # New York's, standard or summer time
    record = service.chain.contract.functions.certificate(cert_number("BW-2026-K00031")).call()
    expires = record[4]  # CertificateRecord.expiresAt
    assert expires == expiry_seconds(day, offset)
    assert datetime.fromtimestamp(expires, UTC).date() == day + timedelta(days=1)  # next UTC day
    # Every party recomputes the signed hash from the document alone.
    recomputed = document_hash(
        to_contract(
            CertificateDocument.model_validate(held["document"]),
            exporter_salt=bytes.fromhex(held["exporter_salt"][2:]),
            importer_salt=bytes.fromhex(held["importer_salt"][2:]),
        ),
        chain_id=2021,
        verifying_contract=service.chain.address,
    )
    assert "0x" + recomputed.hex() == held["doc_hash"] == issued["doc_hash"]
    # A certificate of a participant in UTC carries no offset: its JSON is as before.
    assert (
        "expiry_utc_offset"
        not in _get(service, "/v1/certificates/RU-2026-K00031/document", "RU")["document"]
    )
    assert utc["expires_at"] == document("x", "RU", "IN")["expires_at"]
    caught_up(service)


def test_issue_is_refused_when_the_document_names_another_expiry_offset(
    zoned_service: Service,
) -> None:
    service = zoned_service
    body = document("AE-2026-K00041", "AE", "BW", expiry_utc_offset="+02:00")

    refused = service.post("/v1/certificates", "AE", body)
    accepted = service.post(
        "/v1/certificates", "AE", document("AE-2026-K00042", "AE", "BW", expiry_utc_offset="+04:00")
    )

    error = assert_error(refused, 422, "invalid_document")
    assert error_fields(error) == {"expiry_utc_offset"}
    assert "+04:00" in error["detail"]["errors"][0]["message"]
    assert accepted.status_code == 201, accepted.text


# --- a late receipt: within the grace period, dated by the expiry ------------------------------


def test_late_receipt_is_refused_by_the_service_before_any_transaction_as_the_registry_would(
    service: Service,
) -> None:
    cert_no = "BW-2026-K00051"
    issued = service.issue(cert_no, days=1)
    expires_on = datetime.fromisoformat(issued["expires_at"]).date()
    _step(service, cert_no, "ship", "BW")
    service.chain.rpc("evm_increaseTime", 3 * 86_400)  # expired, within the 30 days' grace
    service.chain.rpc("evm_mine")
    caught_up(service)
    path = f"/v1/certificates/{cert_no}/receive"
    before = nonce(service, "AE")

    after_expiry = service.post(
        path, "AE", todays_receipt(received_at=(expires_on + timedelta(days=1)).isoformat())
    )

    error = assert_error(after_expiry, 409, "certificate_expired")
    assert error["detail"] == {
        "error": "CertificateExpired",
        "cert_no": cert_no,
        "expires_at": expires_on.isoformat(),
        "received_at": (expires_on + timedelta(days=1)).isoformat(),
        "grace_period_days": 30,
    }
    assert "arrived by the expiry date" in error["message"]
    assert nonce(service, "AE") == before  # the service's check, not a reverted transaction

    # Past the grace period even a shipment received by the expiry date is refused.
    service.chain.rpc("evm_increaseTime", 30 * 86_400)
    service.chain.rpc("evm_mine")
    caught_up(service)
    too_late = service.post(path, "AE", todays_receipt(received_at=expires_on.isoformat()))

    error = assert_error(too_late, 409, "certificate_expired")
    assert "grace period of 30 days" in error["message"]
    assert nonce(service, "AE") == before
    assert _get(service, f"/v1/certificates/{cert_no}", "AE")["status"] == "expired"


# --- drafts are checked against the dates as an issue is ---------------------------------------


def test_draft_dated_after_today_or_with_another_expiry_offset_is_refused_at_its_field(
    service: Service,
) -> None:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()

    future = service.post("/v1/drafts", "BW", document("BW-2026-K00061", issued_at=tomorrow))
    zoned = service.post("/v1/drafts", "BW", document("BW-2026-K00062", expiry_utc_offset="+02:00"))

    error = assert_error(future, 422, "invalid_document")
    assert error_fields(error) == {"issued_at"}
    assert error["detail"]["errors"][0]["type"] == "issue_date_in_future"
    error = assert_error(zoned, 422, "invalid_document")  # BW's expiries are UTC's here
    assert error_fields(error) == {"expiry_utc_offset"}


def test_mirror_report_is_in_the_openapi_with_its_errors(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()

    for path in ("/v1/statistics/mirror", "/v1/statistics/mirror.csv"):
        operation = spec["paths"][path]["get"]
        assert {"200", "401", "403", "422"} <= set(operation["responses"]), path
        assert {p["name"] for p in operation["parameters"]} >= {"year", "period"}
    json_answer = spec["paths"]["/v1/statistics/mirror"]["get"]["responses"]["200"]
    schema = json_answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/MirrorReport"}
    assert (
        "text/csv"
        in spec["paths"]["/v1/statistics/mirror.csv"]["get"]["responses"]["200"]["content"]
    )
