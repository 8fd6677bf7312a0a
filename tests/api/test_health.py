"""Liveness, readiness, metrics and the API's own documentation."""

from __future__ import annotations

from typing import Any

from helpers.polling import wait_until
from support_api import METRICS_HEADERS, Service


def _ready(service: Service) -> dict[str, Any] | None:
    response = service.client.get("/readyz")
    body: dict[str, Any] = response.json()
    return body if response.status_code == 200 else None


def test_health_endpoints_answer_when_service_runs(service: Service) -> None:
    health = service.client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}

    ready = wait_until(lambda: _ready(service), timeout=20, what="the service to be ready")
    assert ready["status"] == "ready"
    checks = ready["checks"]
    assert checks["chain_id"] == 2021
    assert checks["chain"]["ok"] is True
    assert checks["chain"]["block"] == service.chain.head
    assert checks["index"]["ok"] is True
    assert isinstance(checks["index"]["block"], int)
    assert 0 <= checks["index"]["lag"] <= 5

    # Metrics count requests by route template, never by raw path.
    service.issue("BW-2026-000001")
    for number in ("BW-2026-000001", "BW-2026-404"):
        service.client.get(f"/v1/certificates/{number}", headers=service.headers("BW"))
    service.client.get("/no/such/route")
    metrics = service.client.get("/metrics", headers=METRICS_HEADERS)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    series = 'kpchain_http_requests_total{method="%s",route="%s",status="%s"}'
    assert series % ("GET", "/v1/certificates/{cert_no}", "200") + " 1.0" in text
    assert series % ("GET", "/v1/certificates/{cert_no}", "404") + " 1.0" in text
    assert series % ("POST", "/v1/certificates", "201") + " 1.0" in text
    assert series % ("GET", "/readyz", "200") in text
    assert 'route="unmatched"' in text
    assert "BW-2026-000001" not in text
    assert "BW-2026-404" not in text
    assert "kpchain_http_request_seconds_bucket" in text
    assert "kpchain_index_block " in text
    assert "kpchain_chain_block " in text


def test_api_documentation_is_served_when_requested(service: Service) -> None:
    docs = service.client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "swagger" in docs.text.lower()

    schema = service.client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path, method in (
        ("/v1/certificates", "post"),
        ("/v1/certificates", "get"),
        ("/v1/certificates/batch", "post"),
        ("/v1/certificates/{cert_no}", "get"),
        ("/v1/certificates/{cert_no}/document", "get"),
        ("/v1/certificates/{cert_no}/ship", "post"),
        ("/v1/certificates/{cert_no}/receive", "post"),
        ("/v1/certificates/{cert_no}/reject", "post"),
        ("/v1/certificates/{cert_no}/cancel", "post"),
        ("/v1/participants", "get"),
        ("/v1/participants/{code}", "get"),
        ("/v1/governance/proposals", "post"),
        ("/v1/governance/proposals", "get"),
        ("/v1/governance/proposals/{proposal_id}", "get"),
        ("/v1/governance/proposals/{proposal_id}/votes", "post"),
        ("/v1/governance/proposals/{proposal_id}/execute", "post"),
        ("/v1/events", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ):
        assert method in paths.get(path, {}), (method, path)
