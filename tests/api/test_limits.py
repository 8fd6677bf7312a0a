"""Bodies are capped before they are parsed (413), and the metrics' labels and access are
bounded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_checks import assert_error
from fastapi.testclient import TestClient

from helpers.documents import document
from kpchain.app import create_app
from support_api import METRICS_HEADERS, Service, create_keys, service_settings
from support_chain import Devnet
from support_service import ServiceProcess

MIB = 2**20


def _largest_document(cert_no: str) -> dict[str, Any]:
    """A document at every field's maximum: 100 lines, names and addresses at their longest in
    a script JSON escapes to six bytes a character."""
    party = {"name": "\u0634" * 200, "address": "\u0634" * 500, "licence": "\u0634" * 100}
    line = {
        "hs_code": "7102.31",
        "carats": "184467440737095516.15",
        "value_usd": "184467440737095516.15",
        "parcels": 4294967295,
    }
    return document(
        cert_no,
        exporter=party,
        importer=party,
        issuing_authority="\u0634" * 200,
        lines=[line] * 100,
    )


def test_anonymous_body_over_the_limit_is_refused_with_413_before_authentication(
    service: Service,
) -> None:
    body = b'{"cert_no": "' + b"x" * (2 * MIB) + b'"}'

    response = service.client.post(
        "/v1/certificates", content=body, headers={"Content-Type": "application/json"}
    )

    error = assert_error(response, 413, "payload_too_large")
    assert error["detail"] == {"limit_bytes": MIB}
    assert response.headers["connection"] == "close"


def test_body_at_the_limit_is_read_and_judged_on_its_content(service: Service) -> None:
    body = json.dumps({"pad": "x" * (MIB - 100)}).encode()
    assert len(body) <= MIB

    response = service.client.post(
        "/v1/certificates", content=body, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 401, "api_key_missing")


def test_batch_of_100_largest_certificates_fits_the_batch_limit_and_no_other_path(
    service: Service,
) -> None:
    batch = [_largest_document(f"BW-2026-{i:06d}") for i in range(100)]
    for item in batch:  # invalid, so that nothing is issued: only the size is at stake here
        item["expires_at"] = "2000-01-01"
    body = json.dumps(batch, indent=2).encode()
    assert MIB < len(body) <= 4 * MIB

    batched = service.client.post(
        "/v1/certificates/batch",
        content=body,
        headers={**service.headers("BW"), "Content-Type": "application/json"},
    )
    single = service.client.post(
        "/v1/certificates",
        content=body,
        headers={**service.headers("BW"), "Content-Type": "application/json"},
    )

    assert_error(batched, 422, "invalid_document")
    assert_error(single, 413, "payload_too_large")


def test_dashboard_form_over_the_limit_is_refused_with_an_error_page(service: Service) -> None:
    response = service.client.post(
        "/dashboard/login",
        content=b"api_key=" + b"k" * (2 * MIB),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


@pytest.fixture
def served(tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str) -> Iterator[str]:
    """A real uvicorn process (chunked uploads need a real HTTP server); its URL."""
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, sqlite_url)
    create_keys(sqlite_url)
    service = ServiceProcess(settings, tmp_path).start()
    try:
        yield service.url
    finally:
        service.stop()


@pytest.mark.anvil
def test_chunked_body_without_length_is_refused_once_it_passes_the_limit(served: str) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(21):  # 21 MiB, if the service read it all
            sent += MIB
            yield b"x" * MIB

    with httpx.Client(base_url=served, timeout=30) as client:
        try:
            response = client.post(
                "/v1/certificates",
                content=chunks(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.WriteError:
            pytest.fail(f"the service closed the connection without answering, after {sent}")

    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_label_an_invented_method_as_other(service: Service) -> None:
    for method in ("BREW", "PROPFIND-X"):
        service.client.request(method, "/v1/certificates")

    text = service.client.get("/metrics", headers=METRICS_HEADERS).text

    assert 'method="other"' in text
    assert "BREW" not in text
    assert "PROPFIND" not in text


def test_metrics_need_the_metrics_key(service: Service) -> None:
    anonymous = service.client.get("/metrics")
    wrong = service.client.get("/metrics", headers={"Authorization": "Bearer guess"})
    api_key = service.client.get("/metrics", headers=service.headers("BW"))

    assert_error(anonymous, 401, "api_key_invalid")
    assert_error(wrong, 401, "api_key_invalid")
    assert_error(api_key, 401, "api_key_invalid")


@pytest.fixture
def without_metrics_key(
    tmp_path: Path, anvil: Any, seeded: Devnet, sqlite_url: str
) -> Iterator[TestClient]:
    settings = service_settings(tmp_path, anvil.rpc_url, seeded, sqlite_url, metrics_key=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_metrics_are_not_served_without_a_metrics_key(without_metrics_key: TestClient) -> None:
    response = without_metrics_key.get("/metrics", headers=METRICS_HEADERS)

    assert_error(response, 404, "not_found")
