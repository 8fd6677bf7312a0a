"""Public verification over HTTP (GET /v1/verify/{cert_no}, no API key): every branch of the
verdict (genuine, unknown, hash mismatch, wrong signer, a key revoked before the issue, expired,
cancelled, rejected) against anvil, the indexer and a real database; and its answers kept at the
index head (ETag, 304, never older than the index)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_checks import assert_error, authority, caught_up, todays_receipt
from eth_account import Account
from fastapi.testclient import TestClient

from kpchain.app import create_app
from kpchain.artifacts import load_artifact
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.devnet.seed import participant_account
from kpchain.signing import LocalSigner
from support_api import METRICS_HEADERS, Service, create_keys, service_settings
from support_chain import Devnet

DAY = 86_400


def _verify(service: Service, cert_no: str, **params: str) -> dict[str, Any]:
    response = service.client.get(f"/v1/verify/{cert_no}", params=params)  # no Authorization
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def _passed(report: dict[str, Any]) -> dict[str, bool]:
    return {check["name"]: check["passed"] for check in report["checks"]}


def _message(report: dict[str, Any], name: str) -> str:
    return str(next(check["message"] for check in report["checks"] if check["name"] == name))


def _signed(service: Service, cert_no: str) -> dict[str, Any]:
    """The certificate's signed document, as its exporting authority's service holds it."""
    response = service.client.get(
        f"/v1/certificates/{cert_no}/document", headers=service.headers("BW", "clerk")
    )
    assert response.status_code == 200, response.text
    signed: dict[str, Any] = response.json()
    return signed


def _sign_hash(account: Any, doc_hash: str) -> str:
    """`doc_hash` signed by `account` as an authority signs a document (the EIP-712 digest)."""
    return "0x" + bytes(account.unsafe_sign_hash(bytes.fromhex(doc_hash[2:])).signature).hex()


def _date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


# --- genuine ---------------------------------------------------------------------------------


def test_verify_reports_genuine_when_hash_and_signature_match_until_received(
    service: Service,
) -> None:
    issued = service.issue("BW-2026-000301")
    signed = _signed(service, "BW-2026-000301")
    presented = {"doc_hash": signed["doc_hash"], "signature": signed["signature"]}

    report = _verify(service, "BW-2026-000301", **presented)

    assert report["genuine"] is True
    assert report["found"] is True
    assert _passed(report) == {
        "exists": True,
        "document_hash": True,
        "signature": True,
        "authority": True,
        "status": True,
    }
    assert report["status"] == "issued"
    assert report["doc_hash_checked"] is True
    assert report["signer"] == authority("BW")
    assert (report["exporting_participant"], report["importing_participant"]) == ("BW", "AE")
    assert report["origin"] == "BW"
    assert report["issued_at"] == issued["issued_at"]
    assert report["expires_at"] == issued["expires_at"]
    assert report["problem"] is None
    assert report["advice"] is None
    assert report["note"] is None
    # Commercial identities never appear: neither the names nor their salted hashes.
    text = str(report)
    for party in (signed["document"]["exporter"], signed["document"]["importer"]):
        assert party["name"] not in text
        assert party["licence"] not in text
    assert issued["exporter_hash"] not in text
    assert issued["importer_hash"] not in text
    assert not {"exporter", "importer", "exporter_hash", "importer_hash"} & set(report)

    assert service.post("/v1/certificates/BW-2026-000301/ship", "BW").status_code == 200
    receipt = todays_receipt()
    received = service.post("/v1/certificates/BW-2026-000301/receive", "AE", receipt)
    assert received.status_code == 200, received.text
    after = _verify(service, "BW-2026-000301", **presented)
    assert after["genuine"] is True
    assert after["status"] == "received"
    assert after["received_at"] == receipt["received_at"]
    assert _message(after, "status") == f"Received by AE on {receipt['received_at']}."


def test_verify_is_genuine_but_says_document_not_compared_when_no_hash_given(
    service: Service,
) -> None:
    service.issue("BW-2026-000302")

    report = _verify(service, "BW-2026-000302")

    assert report["genuine"] is True
    assert report["doc_hash_checked"] is False
    assert list(_passed(report)) == ["exists", "authority", "status"]
    assert "not compared" in report["note"]


# --- not genuine -----------------------------------------------------------------------------


def test_verify_reports_no_such_certificate_when_unknown(service: Service) -> None:
    report = _verify(service, "BW-2026-999999", doc_hash="0x" + "ab" * 32)

    assert report["found"] is False
    assert report["genuine"] is False
    assert report["status"] is None
    assert report["exporting_participant"] is None
    assert report["checks"] == [
        {
            "name": "exists",
            "passed": False,
            "message": "No certificate numbered BW-2026-999999 exists on the chain.",
        }
    ]
    assert report["problem"] == report["checks"][0]["message"]
    assert "suspected forgery" in report["advice"]
    assert "(BW)" in report["advice"]


def test_verify_fails_document_hash_when_presented_hash_differs(service: Service) -> None:
    issued = service.issue("BW-2026-000303")
    other = "0x" + "12" * 32

    report = _verify(service, "BW-2026-000303", doc_hash=other)

    assert report["genuine"] is False
    assert _passed(report) == {
        "exists": True,
        "document_hash": False,
        "authority": True,
        "status": True,
    }
    assert report["problem"] == _message(report, "document_hash")
    assert other in report["problem"]
    assert issued["doc_hash"] in report["problem"]
    assert "not the one that was issued" in report["advice"]


def test_verify_fails_signature_and_authority_when_signed_by_another_key(
    service: Service,
) -> None:
    service.issue("BW-2026-000304")
    doc_hash = _signed(service, "BW-2026-000304")["doc_hash"]
    stranger = Account.create()
    other_authority = participant_account("AE", "authority")

    by_stranger = _verify(
        service, "BW-2026-000304", doc_hash=doc_hash, signature=_sign_hash(stranger, doc_hash)
    )
    by_ae = _verify(
        service,
        "BW-2026-000304",
        doc_hash=doc_hash,
        signature=_sign_hash(other_authority, doc_hash),
    )
    garbled = _verify(service, "BW-2026-000304", signature="0x" + "00" * 65)

    for report in (by_stranger, by_ae):
        assert report["genuine"] is False
        assert _passed(report) == {
            "exists": True,
            "document_hash": True,
            "signature": False,
            "authority": False,
            "status": True,
        }
        assert report["problem"] == _message(report, "signature")
        assert f"not to {authority('BW')}" in report["problem"]
    assert stranger.address in _message(by_stranger, "signature")
    assert "has never been an authority of any participant" in _message(by_stranger, "authority")
    assert "has been an authority of AE, never of BW" in _message(by_ae, "authority")
    assert _passed(garbled)["signature"] is False
    assert "not a valid signature" in _message(garbled, "signature")


def test_verify_fails_authority_when_key_was_revoked_before_the_issue(service: Service) -> None:
    # K was an authority of BW, then revoked; the certificate was issued after that with BW's
    # current key, and is presented re-signed with K.
    revoked_key = Account.create()
    service.chain.add_authority("BW", revoked_key.address)
    revocation = service.chain.revoke_authority("BW", revoked_key.address)
    issued = service.issue("BW-2026-000305")
    doc_hash = _signed(service, "BW-2026-000305")["doc_hash"]

    report = _verify(
        service, "BW-2026-000305", doc_hash=doc_hash, signature=_sign_hash(revoked_key, doc_hash)
    )

    assert report["genuine"] is False
    assert _passed(report)["authority"] is False
    revoked_block = revocation["blockNumber"]
    revoked_on = _date(service.chain.block(revoked_block)["timestamp"])
    issued_block = issued["steps"]["issued"]["block_number"]
    assert _message(report, "authority") == (
        f"The signing key {revoked_key.address} was revoked as an authority of BW at block "
        f"{revoked_block} ({revoked_on}), before the certificate was issued at block "
        f"{issued_block}."
    )
    assert issued_block > revoked_block
    # The key that did validate it passes the same check.
    honest = _verify(service, "BW-2026-000305", doc_hash=doc_hash)
    assert honest["genuine"] is True


def test_verify_fails_status_when_certificate_expired(service: Service) -> None:
    expiry = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    service.issue("BW-2026-000306", days=1)  # valid through tomorrow, 23:59:59 UTC
    assert service.post("/v1/certificates/BW-2026-000306/ship", "BW").status_code == 200
    service.chain.rpc("evm_increaseTime", 3 * DAY)
    service.chain.rpc("evm_mine")
    caught_up(service)

    report = _verify(service, "BW-2026-000306")

    assert report["status"] == "expired"
    assert report["genuine"] is False
    assert _passed(report) == {"exists": True, "authority": True, "status": False}
    assert report["problem"] == f"The certificate expired on {expiry}."
    assert "can no longer be received" in report["advice"]


def test_verify_fails_status_when_cancelled_and_names_the_replacement(service: Service) -> None:
    service.issue("BW-2026-000307")
    cancelled = service.post("/v1/certificates/BW-2026-000307/cancel", "BW")
    assert cancelled.status_code == 200, cancelled.text
    service.issue("BW-2026-000308", replaces="BW-2026-000307")

    report = _verify(service, "BW-2026-000307")

    assert report["status"] == "cancelled"
    assert report["genuine"] is False
    assert report["replaced_by"] == "BW-2026-000308"
    assert report["problem"] == (
        "The certificate was cancelled by its exporting authority, and replaced by BW-2026-000308."
    )
    assert "BW-2026-000308" in report["advice"]


def test_verify_fails_status_when_rejected(service: Service) -> None:
    service.issue("BW-2026-000309")
    assert service.post("/v1/certificates/BW-2026-000309/ship", "BW").status_code == 200
    rejected = service.post(
        "/v1/certificates/BW-2026-000309/reject", "AE", {"reason": "seal_broken"}
    )
    assert rejected.status_code == 200, rejected.text

    report = _verify(service, "BW-2026-000309")

    assert report["status"] == "rejected"
    assert report["genuine"] is False
    assert report["problem"] == (
        "The certificate was rejected by the importing authority (seal broken)."
    )
    assert "(AE)" in report["advice"]


# --- bad input -------------------------------------------------------------------------------


def test_verify_refuses_malformed_input_with_422(service: Service) -> None:
    for path in (
        "/v1/verify/bw-2026-1",  # not a participant code
        "/v1/verify/BW-" + "1" * 30,  # 33 characters
        "/v1/verify/BW-2026-000001?doc_hash=0x1234",
        "/v1/verify/BW-2026-000001?doc_hash=" + "ab" * 32,  # no 0x
        "/v1/verify/BW-2026-000001?signature=0xabc",  # odd length
        "/v1/verify/BW-2026-000001?signature=nothex",
    ):
        assert_error(service.client.get(path), 422, "invalid_request")


# --- contract accounts (ERC-1271) ------------------------------------------------------------


def _wallet_issued(service: Service, cert_no: str, owner: Any) -> tuple[str, str, str]:
    """A certificate validated by an ERC-1271 contract account (a multisig stands in this way)
    that `owner`'s key controls, made an authority of BW and issued by BW's authority key;
    returns the wallet's address, the document hash and the wallet's signature."""
    chain = service.chain
    artifact = load_artifact("ERC1271Wallet")
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    deployed = chain.sender("BW", "admin").transact(factory.constructor(owner.address))
    wallet = str(deployed["contractAddress"])
    chain.add_authority("BW", wallet)
    cert = chain.certificate(cert_no)
    data = typed_data(cert, chain_id=2021, verifying_contract=chain.address)
    signature = LocalSigner(owner).sign_typed_data(data)
    bw = chain.sender("BW")
    bw.transact(chain.contract.functions.issue(cert.to_abi(), wallet, signature))
    caught_up(service)
    doc_hash = "0x" + document_hash(cert, chain_id=2021, verifying_contract=chain.address).hex()
    return wallet, doc_hash, "0x" + bytes(signature).hex()


def test_verify_reports_genuine_when_a_contract_account_validated_the_certificate(
    service: Service,
) -> None:
    owner = Account.create()
    wallet, doc_hash, signature = _wallet_issued(service, "BW-2026-000390", owner)

    report = _verify(service, "BW-2026-000390", doc_hash=doc_hash, signature=signature)
    forged = _verify(
        service,
        "BW-2026-000390",
        doc_hash=doc_hash,
        signature=_sign_hash(Account.create(), doc_hash),
    )

    assert report["genuine"] is True, report
    assert report["signer"] == wallet
    assert _passed(report) == {
        "exists": True,
        "document_hash": True,
        "signature": True,
        "authority": True,
        "status": True,
    }
    assert "contract account" in _message(report, "signature")
    assert "ERC-1271" in _message(report, "signature")
    assert forged["genuine"] is False
    assert _passed(forged)["signature"] is False


# --- answers kept at the index head ----------------------------------------------------------

_STRONG_ETAG = re.compile(r'"[0-9a-f]{32}"')


def test_verify_answers_with_a_strong_etag_and_304_when_if_none_match_names_it(
    service: Service,
) -> None:
    issued = service.issue("BW-2026-000320")
    path = f"/v1/verify/BW-2026-000320?doc_hash={issued['doc_hash']}"

    first = service.client.get(path)
    again = service.client.get(path)
    etag = first.headers["ETag"]
    revalidated = {
        tag: service.client.get(path, headers={"If-None-Match": tag})
        for tag in (etag, f"W/{etag}", f'"{"0" * 32}", {etag}', "*")
    }
    other = service.client.get(path, headers={"If-None-Match": f'"{"0" * 32}"'})

    assert first.status_code == 200
    assert _STRONG_ETAG.fullmatch(etag)
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert first.json()["genuine"] is True
    assert (again.status_code, again.headers["ETag"], again.content) == (200, etag, first.content)
    for tag, response in revalidated.items():
        assert response.status_code == 304, tag
        assert response.content == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "public, no-cache"
    assert (other.status_code, other.headers["ETag"], other.content) == (200, etag, first.content)
    # Another question about the same certificate is another answer, with another tag.
    unpresented = service.client.get("/v1/verify/BW-2026-000320")
    assert unpresented.headers["ETag"] != etag
    assert unpresented.json()["doc_hash_checked"] is False


def test_verify_etag_changes_when_the_index_moves_past_a_change_of_the_certificate(
    service: Service,
) -> None:
    service.issue("BW-2026-000321")
    issued = service.client.get("/v1/verify/BW-2026-000321")

    assert service.post("/v1/certificates/BW-2026-000321/ship", "BW").status_code == 200
    shipped = service.client.get(
        "/v1/verify/BW-2026-000321", headers={"If-None-Match": issued.headers["ETag"]}
    )

    assert issued.json()["status"] == "issued"
    assert shipped.status_code == 200
    assert shipped.json()["status"] == "shipped"
    assert shipped.headers["ETag"] != issued.headers["ETag"]


def test_verify_keeps_its_answer_and_etag_when_the_index_moves_without_events(
    service: Service,
) -> None:
    service.issue("BW-2026-000322")
    before = service.client.get("/v1/verify/BW-2026-000322")
    head = caught_up(service)["checks"]["index"]["block"]

    service.chain.mine(3)  # empty blocks, as QBFT and the devnet seal them
    moved = caught_up(service)["checks"]["index"]["block"]
    after = service.client.get(
        "/v1/verify/BW-2026-000322", headers={"If-None-Match": before.headers["ETag"]}
    )

    assert moved == head + 3
    assert after.status_code == 304
    assert after.headers["ETag"] == before.headers["ETag"]


def test_verify_finds_a_certificate_issued_through_the_service_at_once_after_not_found(
    service: Service,
) -> None:
    path = f"/v1/verify/BW-2026-000323?doc_hash=0x{'ab' * 32}"
    unknown = service.client.get(path)
    assert unknown.json()["found"] is False
    assert service.client.get(path).headers["ETag"] == unknown.headers["ETag"]  # kept

    issued = service.issue("BW-2026-000323")
    path = f"/v1/verify/BW-2026-000323?doc_hash={issued['doc_hash']}"
    at_once = service.client.get(path)
    stale_tag = service.client.get(
        f"/v1/verify/BW-2026-000323?doc_hash=0x{'ab' * 32}",
        headers={"If-None-Match": unknown.headers["ETag"]},
    )
    service.chain.mine()  # the index moves on
    caught_up(service)
    later = service.client.get(path, headers={"If-None-Match": at_once.headers["ETag"]})

    assert at_once.status_code == 200
    assert at_once.json()["found"] is True
    assert at_once.json()["genuine"] is True
    assert stale_tag.status_code == 200
    assert stale_tag.json()["found"] is True  # the wrong hash's answer: found, not genuine
    assert stale_tag.json()["genuine"] is False
    assert later.status_code == 304


@pytest.fixture
def slow_poller(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Service]:
    """A service whose indexer polls the node once an hour: its index moves only when it
    is made to (a write through it, or `Indexer.sync`, what each poll runs)."""
    settings = service_settings(
        tmp_path, anvil.rpc_url, chain, sqlite_url, index_poll_interval=3600
    )
    governor, keys = create_keys(sqlite_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)


def test_verify_reads_a_certificate_issued_elsewhere_as_soon_as_the_index_has_it(
    slow_poller: Service,
) -> None:
    service = slow_poller
    path = "/v1/verify/BW-2026-000324"
    assert service.client.get(path).json()["found"] is False

    # Issued by BW's authority straight on the chain, as another service of the consortium
    # would: this service hears of it at its indexer's next poll, and not before.
    service.chain.issue(service.chain.certificate("BW-2026-000324"))
    before_poll = service.client.get(path)
    service.client.app.state.runtime.indexer.sync()  # the next poll
    after_poll = service.client.get(path, headers={"If-None-Match": before_poll.headers["ETag"]})

    assert before_poll.json()["found"] is False
    assert after_poll.status_code == 200
    assert after_poll.json()["found"] is True
    assert after_poll.json()["status"] == "issued"


def test_verify_answers_from_the_cache_are_counted_and_headed_as_every_answer(
    service: Service,
) -> None:
    service.issue("BW-2026-000325")
    url = "https://testserver/v1/verify/BW-2026-000325"  # HSTS is sent over https only

    first = service.client.get(url)
    kept = service.client.get(url)
    revalidated = service.client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    text = service.client.get("/metrics", headers=METRICS_HEADERS).text

    assert len(service.client.app.state.answers) >= 1
    for response in (first, kept, revalidated):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    route = 'route="/v1/verify/{cert_no}"'
    assert f'kpchain_http_requests_total{{method="GET",{route},status="200"}} 2.0' in text
    assert f'kpchain_http_requests_total{{method="GET",{route},status="304"}} 1.0' in text


def test_verify_reads_a_kept_valid_answer_as_expired_once_the_clock_passes_the_expiry(
    service: Service,
) -> None:
    service.issue("BW-2026-000326", days=1)
    valid = service.client.get("/v1/verify/BW-2026-000326")

    # Only an empty block, three days later: the index's events, and so its version, stay.
    service.chain.rpc("evm_increaseTime", 3 * DAY)
    service.chain.rpc("evm_mine")
    caught_up(service)
    expired = service.client.get(
        "/v1/verify/BW-2026-000326", headers={"If-None-Match": valid.headers["ETag"]}
    )

    assert valid.json()["status"] == "issued"
    assert expired.status_code == 200
    assert expired.json()["status"] == "expired"
    assert expired.json()["genuine"] is False
