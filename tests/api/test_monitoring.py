"""Monitoring over HTTP (GET /v1/monitoring): shipments overdue for confirmation, certificates
expired in transit, rejections by reason and value-per-carat outliers, with anvil's clock moved
forward as time would."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from api_checks import assert_error, caught_up, todays_receipt

from support_api import Service

DAY = 86_400
LINE = {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3}


def _lines(carats: str, value_usd: str) -> list[dict[str, Any]]:
    return [{"hs_code": "7102.31", "carats": carats, "value_usd": value_usd, "parcels": 1}]


def _monitoring(service: Service, **params: Any) -> dict[str, Any]:
    response = service.client.get(
        "/v1/monitoring", params=params, headers=service.headers("BW", "auditor")
    )
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def _numbers(items: list[dict[str, Any]]) -> list[str]:
    return [item["cert_no"] for item in items]


def _ship(service: Service, cert_no: str, exporting: str = "BW") -> None:
    response = service.post(f"/v1/certificates/{cert_no}/ship", exporting)
    assert response.status_code == 200, response.text


def _reject(service: Service, cert_no: str, reason: str) -> None:
    _ship(service, cert_no)
    response = service.post(f"/v1/certificates/{cert_no}/reject", "AE", {"reason": reason})
    assert response.status_code == 200, response.text


def test_monitoring_reports_overdue_and_expired_shipments_once_time_has_passed(
    service: Service,
) -> None:
    service.issue("BW-2026-000501")  # valid 60 days: overdue, not expired
    _ship(service, "BW-2026-000501")
    service.issue("BW-2026-000502", days=1)  # valid through tomorrow: overdue and expired
    _ship(service, "BW-2026-000502")
    service.issue("BW-2026-000503")  # received: closed
    _ship(service, "BW-2026-000503")
    receipt = todays_receipt()
    assert service.post("/v1/certificates/BW-2026-000503/receive", "AE", receipt).status_code == 200
    service.issue("BW-2026-000504", days=1)  # never shipped: expired, but not in transit
    service.issue("RU-2026-000501", "RU", "IN")  # another participant's shipment
    _ship(service, "RU-2026-000501", "RU")

    fresh = _monitoring(service, overdue_days=1)
    service.chain.rpc("evm_increaseTime", 3 * DAY)
    service.chain.rpc("evm_mine")
    caught_up(service)
    later = _monitoring(service, overdue_days=1)
    not_yet = _monitoring(service, overdue_days=4)
    by_default = _monitoring(service)  # KPCHAIN_OVERDUE_DAYS: 30
    for_bw = _monitoring(service, overdue_days=1, participant="BW")

    assert fresh["overdue"] == []
    assert fresh["expired_in_transit"] == []
    assert _numbers(later["overdue"]) == ["BW-2026-000501", "BW-2026-000502", "RU-2026-000501"]
    first = later["overdue"][0]
    assert first["exporting_participant"] == "BW"
    assert first["importing_participant"] == "AE"
    assert first["status"] == "shipped"
    assert first["days_in_transit"] == 3
    assert later["overdue"][1]["status"] == "expired"
    assert _numbers(later["expired_in_transit"]) == ["BW-2026-000502"]
    assert later["expired_in_transit"][0]["days_since_expiry"] in (1, 2)  # by time of day
    assert later["overdue_days"] == 1
    assert not_yet["overdue"] == []
    assert by_default["overdue"] == []
    assert by_default["overdue_days"] == 30
    assert _numbers(for_bw["overdue"]) == ["BW-2026-000501", "BW-2026-000502"]


def test_monitoring_counts_rejections_by_reason(service: Service) -> None:
    for cert_no, reason in (
        ("BW-2026-000511", "seal_broken"),
        ("BW-2026-000512", "discrepancy"),
        ("BW-2026-000513", "seal_broken"),
    ):
        service.issue(cert_no)
        _reject(service, cert_no, reason)

    report = _monitoring(service)

    assert report["rejections"]["by_reason"] == {"discrepancy": 1, "seal_broken": 2}
    items = report["rejections"]["items"]
    assert _numbers(items) == ["BW-2026-000513", "BW-2026-000512", "BW-2026-000511"]  # newest
    assert [item["reason"] for item in items] == ["seal_broken", "discrepancy", "seal_broken"]
    assert all(item["rejected_at"].endswith("Z") for item in items)
    assert _monitoring(service, participant="RU")["rejections"] == {"by_reason": {}, "items": []}


def test_monitoring_flags_value_per_carat_outliers_against_the_origins_median(
    service: Service,
) -> None:
    for number in range(521, 525):  # four at the usual US$ 370.00 per carat
        service.issue(f"BW-2026-000{number}")
    service.issue("BW-2026-000525", lines=_lines("100.00", "370001.00"))  # x10: above
    service.issue("BW-2026-000526", lines=_lines("100.00", "1000.00"))  # /37: below
    three_times = [{**LINE, "value_usd": "1370367.00"}]  # 3 x 456789.00: on the line, not over
    service.issue("BW-2026-000527", lines=three_times)
    service.issue("BW-2026-000528", lines=_lines("100.00", "9999999.00"))
    assert service.post("/v1/certificates/BW-2026-000528/cancel", "BW").status_code == 200
    # Two certificates of RU origin are too few to judge, however far apart.
    service.issue("RU-2026-000521", "RU", "IN", lines=_lines("10.00", "10.00"))
    service.issue("RU-2026-000522", "RU", "IN", lines=_lines("10.00", "99999.00"))

    report = _monitoring(service)
    wider = _monitoring(service, outlier_factor=20)
    for_ru = _monitoring(service, participant="RU")

    usual = Fraction(45678900, 123456)  # cents per hundredth: US$ per carat
    values = [usual] * 4 + [Fraction(370001, 100), Fraction(10), 3 * usual]
    assert sorted(values)[3] == usual  # the median of BW's seven certificates
    assert report["outliers"] == [
        {
            "cert_no": "BW-2026-000525",
            "exporting_participant": "BW",
            "importing_participant": "AE",
            "origin": "BW",
            "value_per_carat": "3700.01",
            "median": "370.00",
            "factor": round(float(Fraction(370001, 100) / usual), 2),
            "direction": "above",
        },
        {
            "cert_no": "BW-2026-000526",
            "exporting_participant": "BW",
            "importing_participant": "AE",
            "origin": "BW",
            "value_per_carat": "10.00",
            "median": "370.00",
            "factor": round(float(10 / usual), 2),
            "direction": "below",
        },
    ]
    assert report["outlier_factor"] == 3.0
    assert _numbers(wider["outliers"]) == ["BW-2026-000526"]
    assert for_ru["outliers"] == []


def test_monitoring_refuses_bad_parameters(service: Service) -> None:
    headers = service.headers("BW", "clerk")
    for params in (
        {"overdue_days": 0},
        {"overdue_days": "soon"},
        {"outlier_factor": 1},
        {"outlier_factor": "nan"},
        {"participant": "bw"},
    ):
        response = service.client.get("/v1/monitoring", params=params, headers=headers)
        assert_error(response, 422, "invalid_request")
    unknown = service.client.get("/v1/monitoring", params={"participant": "ZZ"}, headers=headers)
    assert_error(unknown, 404, "participant_not_found")
    assert_error(service.client.get("/v1/monitoring"), 401, "api_key_missing")
