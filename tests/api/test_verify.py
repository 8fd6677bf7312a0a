"""Public verification over HTTP (GET /v1/verify/{cert_no}, no API key): every branch of the
verdict (genuine, unknown, hash mismatch, wrong signer, a key revoked before the issue, expired,
cancelled, rejected) against anvil, the indexer and a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_checks import assert_error, authority, caught_up, todays_receipt
from eth_account import Account

from kpchain.artifacts import load_artifact
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.devnet.seed import participant_account
from kpchain.signing import LocalSigner
from support_api import Service

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
