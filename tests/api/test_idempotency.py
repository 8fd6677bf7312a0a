"""Retries with an Idempotency-Key return the first result, and concurrent writes of one signer
get distinct, consecutive nonces."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api_checks import assert_error, assert_step, authority, caught_up, chain_status, nonce

from helpers.documents import document
from kpchain.contracts.enums import CertificateStatus, ParticipantStatus
from support_api import Service


def _issue(service: Service, body: dict[str, Any], key: str, code: str = "BW") -> Any:
    return service.client.post(
        "/v1/certificates", json=body, headers=service.headers(code, idempotency_key=key)
    )


def test_retry_returns_first_response_when_key_and_body_are_the_same(service: Service) -> None:
    body = document("BW-2026-000001")
    before = nonce(service, "BW")
    first = _issue(service, body, "issue-1")
    assert first.status_code == 201, first.text
    assert nonce(service, "BW") == before + 1
    for _ in range(2):
        again = _issue(service, body, "issue-1")
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
    assert nonce(service, "BW") == before + 1

    # Lifecycle operations too: a retried ship answers with the first result, not a conflict.
    path = "/v1/certificates/BW-2026-000001/ship"
    shipped = service.post(path, "BW", {"seal_ref": "S-1"}, idempotency_key="ship-1")
    assert shipped.status_code == 200, shipped.text
    again = service.post(path, "BW", {"seal_ref": "S-1"}, idempotency_key="ship-1")
    assert again.status_code == 200, again.text
    assert again.json() == shipped.json()
    assert nonce(service, "BW") == before + 2
    # Without the key, the second ship is a second request, which the registry refuses.
    assert_error(service.post(path, "BW", {"seal_ref": "S-1"}), 409, "certificate_status_invalid")

    # A batch as well.
    batch = [document("BW-2026-000002"), document("BW-2026-000003")]
    headers = service.headers("BW", idempotency_key="batch-1")
    first = service.client.post("/v1/certificates/batch", json=batch, headers=headers)
    assert first.status_code == 201, first.text
    again = service.client.post("/v1/certificates/batch", json=batch, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert nonce(service, "BW") == before + 3


def test_retry_conflicts_when_key_is_reused_for_another_request(service: Service) -> None:
    assert _issue(service, document("BW-2026-000010"), "key-1").status_code == 201
    before = nonce(service, "BW")

    other = _issue(service, document("BW-2026-000011"), "key-1")
    error = assert_error(other, 409, "idempotency_key_reused")
    assert error["detail"] == {"idempotency_key": "key-1"}
    changed = _issue(service, document("BW-2026-000010", "BW", "IN"), "key-1")
    assert_error(changed, 409, "idempotency_key_reused")
    ship = service.post(
        "/v1/certificates/BW-2026-000010/ship", "BW", {"seal_ref": "S"}, idempotency_key="key-1"
    )
    assert_error(ship, 409, "idempotency_key_reused")
    assert nonce(service, "BW") == before
    assert chain_status(service, "BW-2026-000011") == CertificateStatus.NONE
    assert chain_status(service, "BW-2026-000010") == CertificateStatus.ISSUED

    # Keys belong to a participant: AE's "key-1" is AE's own.
    assert _issue(service, document("AE-2026-000010", "AE", "BW"), "key-1", "AE").status_code == 201


def test_retry_conflicts_when_key_is_reused_to_ship_another_certificate_with_the_same_body(
    service: Service,
) -> None:
    for number in ("BW-2026-000040", "BW-2026-000041"):
        assert _issue(service, document(number), number).status_code == 201
    first = service.post(
        "/v1/certificates/BW-2026-000040/ship", "BW", {"seal_ref": "S"}, idempotency_key="ship"
    )
    assert first.status_code == 200, first.text
    before = nonce(service, "BW")

    other = service.post(
        "/v1/certificates/BW-2026-000041/ship", "BW", {"seal_ref": "S"}, idempotency_key="ship"
    )

    assert_error(other, 409, "idempotency_key_reused")
    assert nonce(service, "BW") == before
    assert chain_status(service, "BW-2026-000041") == CertificateStatus.ISSUED
    assert chain_status(service, "BW-2026-000040") == CertificateStatus.SHIPPED


def test_retry_conflicts_when_key_is_reused_to_vote_on_another_proposal(
    service: Service,
) -> None:
    admin = service.headers("BW", "admin")
    proposals = []
    for code in ("NA", "AO"):
        body = {"action": "suspend", "participant": code, "description": f"Suspend {code}"}
        made = service.client.post("/v1/governance/proposals", json=body, headers=admin)
        assert made.status_code == 201, made.text
        proposals.append(made.json()["id"])
    service.chain.later(1)  # the votes open
    vote = {"support": "approve"}
    ae = service.headers("AE", "admin", idempotency_key="approve")
    first = service.client.post(
        f"/v1/governance/proposals/{proposals[0]}/votes", json=vote, headers=ae
    )
    assert first.status_code == 201, first.text

    other = service.client.post(
        f"/v1/governance/proposals/{proposals[1]}/votes", json=vote, headers=ae
    )

    assert_error(other, 409, "idempotency_key_reused")
    second = service.client.get(f"/v1/governance/proposals/{proposals[1]}", headers=admin)
    assert second.json()["votes"]["by"] == []


def test_idempotency_key_longer_than_128_characters_is_refused_before_anything_is_recorded(
    service_on: Service,
) -> None:
    service = service_on
    before = nonce(service, "BW")

    response = _issue(service, document("BW-2026-000050"), "k" * 200)
    longest = _issue(service, document("BW-2026-000051"), "k" * 128)

    error = assert_error(response, 422, "invalid_document")
    assert error["detail"]["errors"][0]["field"] == "header.Idempotency-Key"
    assert chain_status(service, "BW-2026-000050") == CertificateStatus.NONE
    assert longest.status_code == 201, longest.text  # fits the column, on PostgreSQL too
    assert nonce(service, "BW") == before + 1


def test_failed_retry_returns_first_error_when_key_is_the_same(service: Service) -> None:
    body = document("BW-2026-000020", "BW", "VE")  # VE is suspended
    before = nonce(service, "BW")
    first = _issue(service, body, "to-ve")
    error = assert_error(first, 409, "participant_not_active")

    # Even once VE is reinstated (so that running it again would succeed), the retry answers
    # with the first error and sends nothing.
    service.chain.set_status("VE", ParticipantStatus.ACTIVE)
    caught_up(service)
    again = _issue(service, body, "to-ve")
    assert assert_error(again, 409, "participant_not_active") == error
    assert nonce(service, "BW") == before
    assert chain_status(service, "BW-2026-000020") == CertificateStatus.NONE
    response = service.client.get("/v1/certificates/BW-2026-000020", headers=service.headers("BW"))
    assert_error(response, 404, "certificate_not_found")

    # A new key is a new request.
    assert _issue(service, body, "to-ve-2").status_code == 201
    assert nonce(service, "BW") == before + 1


def test_concurrent_issues_get_consecutive_nonces_when_one_signer_sends_them(
    service_by_writes: Service,
) -> None:
    service = service_by_writes
    count = 20
    numbers = [f"BW-2026-C{i:03d}" for i in range(count)]
    start = nonce(service, "BW")

    def issue(number: str) -> Any:
        return service.client.post(
            "/v1/certificates", json=document(number), headers=service.headers("BW")
        )

    with ThreadPoolExecutor(max_workers=count) as pool:
        responses = list(pool.map(issue, numbers))

    assert [r.status_code for r in responses] == [201] * count, [r.text for r in responses]
    views = [r.json() for r in responses]
    assert [view["cert_no"] for view in views] == numbers
    transactions = {
        str(tx["hash"].to_0x_hex()): tx
        for tx in (
            assert_step(service, view["steps"]["issued"], sender=authority("BW")) for view in views
        )
    }
    # One transaction per issue, or per batch of issues when coalesced: either way the nonces
    # run on without a gap.
    sent = count if not service.settings.coalesce_writes else len(transactions)
    assert 1 <= sent <= count
    nonces = sorted(int(tx["nonce"]) for tx in transactions.values())
    assert nonces == list(range(start, start + sent))
    assert nonce(service, "BW") == start + sent
    for number in numbers:
        assert chain_status(service, number) == CertificateStatus.ISSUED
    listed = service.client.get(
        "/v1/certificates", params={"limit": 100}, headers=service.headers("BW")
    )
    assert sorted(item["cert_no"] for item in listed.json()["items"]) == numbers


def test_duplicate_issues_keep_the_issued_document_when_sent_at_once(
    service_on: Service,
) -> None:
    service = service_on
    # A double submission without an Idempotency-Key: one issue wins, the others are refused,
    # and the service keeps the document (salts, signature) of the one on chain.
    count = 8
    body = document("BW-2026-000030")

    def issue(_: int) -> Any:
        return service.client.post("/v1/certificates", json=body, headers=service.headers("BW"))

    with ThreadPoolExecutor(max_workers=count) as pool:
        responses = list(pool.map(issue, range(count)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (count - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "certificate_already_exists")
    (view,) = [r.json() for r in responses if r.status_code == 201]
    signed = service.client.get(
        "/v1/certificates/BW-2026-000030/document", headers=service.headers("AE", "clerk")
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["doc_hash"] == view["doc_hash"]
