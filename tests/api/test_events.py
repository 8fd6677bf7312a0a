"""`GET /v1/events`: each party hears about its certificates, and resumes where it left off."""

from __future__ import annotations

from typing import Any

from api_checks import assert_error, events, todays_receipt

from support_api import Service


def _feed(service: Service, code: str, *, after: str | None = None, **params: Any) -> Any:
    headers = service.headers(code, "clerk")
    if after is not None:
        headers["Last-Event-ID"] = after
    response = service.client.get(
        "/v1/events", params={"follow": "false", **params}, headers=headers
    )
    return events(response)


def test_events_reach_each_party_when_a_certificate_moves(service: Service) -> None:
    issued = service.issue("BW-2026-000001")
    shipped = service.post("/v1/certificates/BW-2026-000001/ship", "BW", {"seal_ref": "S"})
    assert shipped.status_code == 200, shipped.text
    steps = shipped.json()["steps"]

    inbound = _feed(service, "AE")
    assert [event["event"] for event in inbound] == ["certificate.issued", "certificate.shipped"]
    first, second = inbound
    assert first["id"] < second["id"]
    for event, step, name in (
        (first, steps["issued"], "CertificateIssued"),
        (second, steps["shipped"], "CertificateShipped"),
    ):
        data = event["data"]
        assert data["id"] == event["id"]
        assert data["event"] == name
        assert data["cert_no"] == "BW-2026-000001"
        assert data["exporting_participant"] == "BW"
        assert data["importing_participant"] == "AE"
        assert data["tx_hash"] == step["tx_hash"]
        assert data["block_number"] == step["block_number"]
        assert data["at"] == step["at"]
    assert issued["doc_hash"] in str(first["data"]["args"]).lower()

    # Resuming: Last-Event-ID (what EventSource sends) and ?after= give what came later.
    assert _feed(service, "AE", after=str(first["id"])) == [second]
    assert _feed(service, "AE", after="0") == inbound
    assert events(
        service.client.get(
            "/v1/events",
            params={"follow": "false", "after": first["id"]},
            headers=service.headers("AE", "auditor"),
        )
    ) == [second]
    assert _feed(service, "AE", after=str(second["id"])) == []

    # The exporter hears the confirmation of receipt.
    received = service.post("/v1/certificates/BW-2026-000001/receive", "AE", todays_receipt())
    assert received.status_code == 200, received.text
    outbound = _feed(service, "BW", after=str(second["id"]))
    assert [event["event"] for event in outbound] == ["certificate.received"]
    assert outbound[0]["data"]["tx_hash"] == received.json()["steps"]["received"]["tx_hash"]
    assert [e["event"] for e in _feed(service, "BW")] == [
        "certificate.issued",
        "certificate.shipped",
        "certificate.received",
    ]

    # A third participant hears none of it.
    assert _feed(service, "IN") == []
    assert _feed(service, "IN", after="0") == []

    # Its own certificate's events, and only those, reach it.
    service.issue("BW-2026-000002", "BW", "IN")
    assert [(e["event"], e["data"]["cert_no"]) for e in _feed(service, "IN")] == [
        ("certificate.issued", "BW-2026-000002")
    ]


def test_events_refuse_the_request_when_resume_point_is_not_an_id(service: Service) -> None:
    for value in ("abc", "-1", "1.5", str(2**63), str(10**30)):
        response = service.client.get(
            "/v1/events",
            params={"follow": "false"},
            headers={**service.headers("AE"), "Last-Event-ID": value},
        )
        assert_error(response, 422, "invalid_request")
    for params in ({"after": str(2**63)}, {"after": "-1"}, {"follow": "maybe"}):
        response = service.client.get(
            "/v1/events", params={"follow": "false", **params}, headers=service.headers("AE")
        )
        assert_error(response, 422, "invalid_request")
    # The largest id is a valid (empty) resume point.
    response = service.client.get(
        "/v1/events",
        params={"follow": "false"},
        headers={**service.headers("AE"), "Last-Event-ID": str(2**63 - 1)},
    )
    assert events(response) == []
    response = service.client.get("/v1/events", params={"follow": "false"})
    assert_error(response, 401, "api_key_missing")
