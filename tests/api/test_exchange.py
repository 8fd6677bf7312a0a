"""The exchange's routes on one service hosting every demo participant (the devnet's hosted
platform): registering an endpoint and key through a participant's admin key, reading them,
delivery states of importers hosted here too, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from kpchain.service.keys import create_key
from kpchain.store import create_engine, session_factory
from support_api import Service

pytestmark = pytest.mark.anvil

URL = "https://kp.bw.example"


def _admin_key(service: Service, code: str) -> str:
    engine = create_engine(service.settings.database_url)
    try:
        with session_factory(engine)() as session:
            token = create_key(session, participant=code, role="admin").token
            session.commit()
    finally:
        engine.dispose()
    return token


def _put(service: Service, token: str, code: str, body: Any, **headers: str) -> Any:
    return service.client.put(
        f"/v1/participants/{code}/endpoint",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def test_admin_registers_endpoint_and_rotates_key_keeping_history(service: Service) -> None:
    admin = _admin_key(service, "BW")

    first = _put(service, admin, "BW", {"url": URL})
    again = _put(service, admin, "BW", {"url": URL + "/"})
    rotated = _put(service, admin, "BW", {"url": URL, "rotate_key": True})

    assert first.status_code == 200, first.text
    registered = first.json()
    assert (registered["code"], registered["url"]) == ("BW", URL)
    assert len(registered["history"]) == 1
    assert again.status_code == 200, again.text
    assert again.json() == registered  # nothing changed: nothing sent
    assert rotated.status_code == 200, rotated.text
    keys = [entry["encryption_key"] for entry in rotated.json()["history"]]
    assert keys[0] == registered["encryption_key"]
    assert keys[1] == rotated.json()["encryption_key"] != keys[0]
    read = service.client.get("/v1/participants/BW/endpoint", headers=service.headers("AE"))
    assert read.status_code == 200, read.text
    assert read.json() == rotated.json()
    on_chain = service.chain.contract.functions.serviceEndpoint(b"BW").call()
    assert (on_chain[0], "0x" + on_chain[1].hex()) == (URL, keys[1])


def test_register_endpoint_makes_one_key_when_retried_with_same_idempotency_key(
    service: Service,
) -> None:
    admin = _admin_key(service, "AE")
    body = {"url": "https://kp.ae.example", "rotate_key": True}

    first = _put(service, admin, "AE", body, **{"Idempotency-Key": "ae-endpoint-1"})
    retry = _put(service, admin, "AE", body, **{"Idempotency-Key": "ae-endpoint-1"})

    assert first.status_code == 200, first.text
    assert retry.json() == first.json()
    assert len(first.json()["history"]) == 1


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://kp.bw.example", "https"),
        ("ftp://kp.bw.example", "https"),
        ("https://user:secret@kp.bw.example", "credentials"),
        ("https://kp.bw.example/?q=1", "query"),
        ("https://" + "a" * 250 + ".example", "256"),
    ],
)
def test_register_endpoint_refuses_url_before_any_transaction(
    service: Service, url: str, problem: str
) -> None:
    admin = _admin_key(service, "BW")

    response = _put(service, admin, "BW", {"url": url})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] in ("endpoint_url_invalid", "invalid_request")
    assert problem in error["message"]
    read = service.client.get("/v1/participants/BW/endpoint", headers=service.headers("BW"))
    assert read.json()["history"] == []


def test_register_endpoint_refused_for_other_roles_and_participants(service: Service) -> None:
    officer = _put(service, service.keys["BW"]["officer"], "BW", {"url": URL})
    other = _put(service, _admin_key(service, "AE"), "BW", {"url": URL})
    governor = _put(service, service.governor_key, "BW", {"url": URL})

    assert officer.status_code == 403
    assert officer.json()["error"]["code"] == "role_insufficient"
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "participant_mismatch"
    assert governor.status_code == 403


def test_endpoint_of_unknown_participant_is_not_found(service: Service) -> None:
    response = service.client.get("/v1/participants/ZZ/endpoint", headers=service.headers("BW"))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "participant_not_found"


def test_delivery_reads_delivered_locally_when_importer_hosted_by_same_service(
    service: Service,
) -> None:
    service.issue("BW-2026-L00001", "BW", "AE")

    exporter = service.client.get(
        "/v1/certificates/BW-2026-L00001/delivery", headers=service.headers("BW")
    )
    importer = service.client.get(
        "/v1/certificates/BW-2026-L00001/delivery", headers=service.headers("AE", "clerk")
    )
    stranger = service.client.get(
        "/v1/certificates/BW-2026-L00001/delivery", headers=service.headers("EU")
    )
    resent = service.post("/v1/certificates/BW-2026-L00001/delivery/resend", "BW")
    refused = service.post("/v1/certificates/BW-2026-L00001/delivery/resend", "AE")

    assert exporter.status_code == 200, exporter.text
    assert (exporter.json()["state"], exporter.json()["local"]) == ("delivered", True)
    assert importer.json()["state"] == "delivered"
    assert stranger.status_code == 403
    assert resent.status_code == 202, resent.text
    assert resent.json()["state"] == "delivered"
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "participant_mismatch"


def test_envelope_for_participant_without_key_here_is_refused(service: Service) -> None:
    envelope = {
        "version": 1,
        "cert_no": "BW-2026-000001",
        "sender": "BW",
        "recipient": "AE",
        "doc_hash": "0x" + "11" * 32,
        "recipient_key": "0x" + "22" * 32,
        "enc": "0x" + "33" * 32,
        "ciphertext": "AAAA",
        "sent_at": 1,
        "signer": "0x" + "44" * 20,
        "signature": "0x" + "55" * 65,
    }

    response = service.client.post("/v1/exchange/envelopes", json=envelope)
    malformed = service.client.post("/v1/exchange/envelopes", json={**envelope, "version": 2})

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "recipient_not_hosted"
    assert malformed.status_code == 422
