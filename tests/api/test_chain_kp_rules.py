"""The KP rules the registry enforces (issue 15), over HTTP against anvil and a real database:
a certificate with lines of several origins (its views, its document and the statistics by
origin), the replacement of a rejected certificate linked both ways, and a late confirmation of
receipt within the grace period after expiry."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from api_checks import assert_error, caught_up, chain_status, todays_receipt

from helpers.documents import document
from kpchain.contracts.enums import CertificateStatus
from support_api import Service
from support_pdf import flat, pages_text

DAY = 86_400


def _get(service: Service, path: str, code: str = "BW", **params: Any) -> Any:
    response = service.client.get(path, params=params, headers=service.headers(code))
    assert response.status_code == 200, response.text
    return response.json() if not path.endswith(".csv") else response.text


def _ship(service: Service, cert_no: str) -> None:
    response = service.post(f"/v1/certificates/{cert_no}/ship", "BW", {"seal_ref": "SEAL-9"})
    assert response.status_code == 200, response.text


# --- lines of several origins ----------------------------------------------------------------


def test_certificate_with_lines_of_several_origins_shows_each_and_counts_by_origin(
    service: Service,
) -> None:
    cert_no = "BW-2026-000901"
    body = document(cert_no)
    line = body["lines"][0]
    body["lines"] = [
        line,  # of the certificate's origin, BW
        {**line, "hs_code": "7102.10", "carats": "10.00", "origin": "MIXED", "provenance": "ZA"},
        {**line, "hs_code": "7102.21", "carats": "5.00", "origin": "CF",
         "origin_zone": "CF:Berberati"},
    ]  # fmt: skip

    response = service.post("/v1/certificates", "BW", body)

    assert response.status_code == 201, response.text
    issued = response.json()
    plain = {key: line[key] for key in ("hs_code", "carats", "value_usd", "parcels")}
    assert issued["origin"] == "BW"
    assert issued["lines"] == [
        plain,
        {**plain, "hs_code": "7102.10", "carats": "10.00", "origin": "MIXED", "provenance": "ZA"},
        {**plain, "hs_code": "7102.21", "carats": "5.00", "origin": "CF",
         "origin_zone": "CF:Berberati"},
    ]  # fmt: skip
    # The importer (hosted by this service too) sees the same lines.
    assert _get(service, f"/v1/certificates/{cert_no}", "AE")["lines"] == issued["lines"]
    signed = _get(service, f"/v1/certificates/{cert_no}/document")
    assert signed["document"]["lines"] == body["lines"]

    _ship(service, cert_no)  # an export counts once shipped
    year = date.fromisoformat(body["issued_at"]).year
    report = _get(service, "/v1/statistics", year=year, participant="BW", by="origin")
    by_origin = report["participants"][0]["exports"]["by_origin"]
    value = line["value_usd"]
    assert by_origin == {
        "BW": {"carats": line["carats"], "value_usd": value, "certificates": 1},
        "CF": {"carats": "5.00", "value_usd": value, "certificates": 1},
        "MIXED": {"carats": "10.00", "value_usd": value, "certificates": 1},
    }
    assert "by_origin" not in _get(service, "/v1/statistics", year=year)["totals"]["exports"]
    rows = list(csv.DictReader(io.StringIO(_get(service, "/v1/statistics.csv", year=year,
                                                participant="BW", by="origin"))))  # fmt: skip
    exports = {row["origin"]: row for row in rows if row["flow"] == "exports"}
    assert list(exports) == ["all", "BW", "CF", "MIXED"]
    assert (exports["CF"]["carats"], exports["CF"]["certificates"]) == ("5.00", "1")


def test_issue_is_refused_when_a_lines_restricted_origin_names_no_allowed_zone(
    service: Service,
) -> None:
    body = document("BW-2026-000902")
    body["lines"] = [*body["lines"], {**body["lines"][0], "origin": "CF", "origin_zone": "CF:X"}]

    response = service.post("/v1/certificates", "BW", body)

    error = assert_error(response, 422, "line_origin_zone_not_allowed")
    assert error["detail"]["error"] == "LineOriginZoneNotAllowed"
    assert (error["detail"]["index"], error["detail"]["origin"]) == (1, "0x4346")
    assert chain_status(service, "BW-2026-000902") == CertificateStatus.NONE


def test_issue_is_refused_with_each_lines_problem_when_a_line_states_origin_inconsistently(
    service: Service,
) -> None:
    body = document("BW-2026-000903")
    body["lines"] = [
        {**body["lines"][0], "origin": "MIXED"},
        {**body["lines"][0], "provenance": "ZA"},
    ]

    response = service.post("/v1/certificates", "BW", body)

    assert response.status_code == 422, response.text
    problems = {
        item["field"]: item["type"] for item in response.json()["error"]["detail"]["errors"]
    }
    assert problems == {
        "lines.0.provenance": "provenance_missing",
        "lines.1.provenance": "line_origin_missing",
    }


# --- replacement of a rejected certificate -----------------------------------------------------


def test_rejected_certificate_is_replaced_and_linked_both_ways(service: Service) -> None:
    old, new = "BW-2026-000911", "BW-2026-000912"
    service.issue(old)
    _ship(service, old)
    rejected = service.post(f"/v1/certificates/{old}/reject", "AE", {"reason": "discrepancy"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["replaced_by"] is None

    replacement = service.issue(new, replaces=old)

    assert (replacement["replaces"], replacement["replaced_by"]) == (old, None)
    caught_up(service)
    for code in ("BW", "AE"):
        view = _get(service, f"/v1/certificates/{old}", code)
        assert (view["status"], view["replaces"], view["replaced_by"]) == ("rejected", None, new)
    page = _get(service, "/v1/certificates", direction="outbound")
    links = {item["cert_no"]: (item["replaces"], item["replaced_by"]) for item in page["items"]}
    assert links == {old: (None, new), new: (old, None)}


def test_verification_and_pdf_name_the_replacement_of_a_rejected_certificate_both_ways(
    service: Service,
) -> None:
    old, new = "BW-2026-000913", "BW-2026-000914"
    service.issue(old)
    _ship(service, old)
    rejected = service.post(f"/v1/certificates/{old}/reject", "AE", {"reason": "seal_broken"})
    assert rejected.status_code == 200, rejected.text
    service.issue(new, replaces=old)
    caught_up(service)

    report = service.client.get(f"/v1/verify/{old}").json()  # anyone, no key
    successor = service.client.get(f"/v1/verify/{new}").json()

    assert (report["status"], report["replaced_by"], report["replaces"]) == ("rejected", new, None)
    assert report["problem"] == (
        f"The certificate was rejected by the importing authority (seal broken), and replaced "
        f"by {new}."
    )
    assert new in report["advice"]
    assert (successor["genuine"], successor["replaces"], successor["replaced_by"]) == (
        True,
        old,
        None,
    )
    for code in ("BW", "AE"):
        printed = service.client.get(f"/v1/certificates/{old}/pdf", headers=service.headers(code))
        assert printed.status_code == 200, printed.text
        assert f"Replaced by certificate No. {new}." in flat(" ".join(pages_text(printed.content)))
    printed = service.client.get(f"/v1/certificates/{new}/pdf", headers=service.headers("BW"))
    assert f"REPLACES CERTIFICATE NO. {old}" in flat(" ".join(pages_text(printed.content)))


def test_replacement_is_refused_when_replaced_certificate_was_received(service: Service) -> None:
    old = "BW-2026-000921"
    service.issue(old)
    _ship(service, old)
    received = service.post(f"/v1/certificates/{old}/receive", "AE", todays_receipt())
    assert received.status_code == 200, received.text

    response = service.post("/v1/certificates", "BW", document("BW-2026-000922", replaces=old))

    error = assert_error(response, 409, "replacement_invalid")
    assert error["detail"]["error"] == "ReplacementInvalid"
    assert chain_status(service, "BW-2026-000922") == CertificateStatus.NONE


# --- the receipt grace period ------------------------------------------------------------------


def test_late_receipt_dated_by_expiry_is_accepted_within_grace_and_one_dated_after_refused(
    service: Service,
) -> None:
    cert_no = "BW-2026-000931"
    issued = service.issue(cert_no, days=1)
    expires_on = date.fromisoformat(issued["expires_at"])
    _ship(service, cert_no)
    # Three days on: expired (end of expires_on, UTC), within the 30 days' grace.
    service.chain.rpc("evm_increaseTime", 3 * DAY)
    service.chain.rpc("evm_mine")
    caught_up(service)
    assert datetime.fromtimestamp(service.chain.now(), UTC).date() > expires_on
    path = f"/v1/certificates/{cert_no}/receive"
    # Still reads as expired: its validity is over, only its receipt may come late.
    assert _get(service, f"/v1/certificates/{cert_no}", "AE")["status"] == "expired"
    assert chain_status(service, cert_no) == CertificateStatus.EXPIRED

    after = service.post(
        path, "AE", todays_receipt(received_at=(expires_on + timedelta(days=1)).isoformat())
    )
    in_time = service.post(path, "AE", todays_receipt(received_at=expires_on.isoformat()))

    error = assert_error(after, 409, "certificate_expired")
    assert error["detail"]["error"] == "CertificateExpired"
    assert in_time.status_code == 200, in_time.text
    view = in_time.json()
    assert (view["status"], view["confirmation"]["received_at"]) == (
        "received",
        expires_on.isoformat(),
    )
    assert chain_status(service, cert_no) == CertificateStatus.RECEIVED
