"""A participant's authority keys over HTTP: its admin's key adds and revokes them on chain
(POST /v1/participants/{code}/authorities, DELETE .../authorities/{account}) through the
participant's admin key the service hosts; a key added so signs certificates the registry accepts,
a revoked one none. The refusals: another participant's or an unhosted admin, an unknown
participant, an account already an authority or not one, a malformed address; and what the chain
alone refuses comes back as its custom error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_checks import assert_error, authority, caught_up, error_fields
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from httpx import Response

from helpers.polling import wait_until
from kpchain.app import create_app
from kpchain.certificates.typed_data import Certificate, typed_data
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.encoding import participant_code
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import participant_account
from kpchain.errors import ContractRevertError
from kpchain.signing import LocalSigner
from support_api import Service, create_keys, service_settings
from support_chain import Devnet

pytestmark = pytest.mark.anvil


def _add(service: Service, code: str, account: str, *, key: str = "BW", **headers: Any) -> Response:
    """POST `account` as an authority of `code`, with `key`'s admin API key."""
    return service.client.post(
        f"/v1/participants/{code}/authorities",
        json={"account": account},
        headers=service.headers(key, "admin", **headers),
    )


def _revoke(
    service: Service, code: str, account: str, *, key: str = "BW", **headers: Any
) -> Response:
    return service.client.delete(
        f"/v1/participants/{code}/authorities/{account}",
        headers=service.headers(key, "admin", **headers),
    )


def _terms(view: dict[str, Any], account: str) -> list[dict[str, Any]]:
    return [term for term in view["authorities"] if term["address"] == account]


def _is_authority(chain: Devnet, code: str, account: str) -> bool:
    return bool(chain.contract.functions.isAuthority(participant_code(code), account).call())


def _admin_nonce(chain: Devnet, code: str) -> int:
    return int(chain.w3.eth.get_transaction_count(participant_account(code, "admin").address))


def _certificate(service: Service, cert_no: str) -> dict[str, Any] | None:
    """The certificate's view, once the service's index has it (None before)."""
    response = service.client.get(f"/v1/certificates/{cert_no}", headers=service.headers("BW"))
    return dict(response.json()) if response.status_code == 200 else None


def _issue_signed_by(chain: Devnet, key: LocalAccount, cert: Certificate) -> None:
    """Issues `cert` on chain, signed and sent by `key` (the registry requires both to be an
    authority of the exporter). anvil's gas price is 0: the fresh account needs no funds."""
    signer = LocalSigner(key)
    data = typed_data(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=chain.address)
    call = chain.contract.functions.issue(cert.to_abi(), key.address, signer.sign_typed_data(data))
    TransactionSender(chain.w3, signer, chain_id=DEVNET_CHAIN_ID).transact(call)


def test_admin_adds_authority_whose_certificates_are_accepted_until_it_is_revoked(
    service: Service,
) -> None:
    fresh: LocalAccount = Account.create()

    added = _add(service, "BW", fresh.address.lower())  # all one case: no checksum claimed

    assert added.status_code == 201, added.text
    view = added.json()
    [term] = _terms(view, fresh.address)  # shown checksummed
    assert term["revoked_block"] is None
    assert [t["address"] for t in view["authorities"]] == [authority("BW"), fresh.address]
    assert _is_authority(service.chain, "BW", fresh.address)
    read = service.client.get("/v1/participants/BW", headers=service.headers("AE", "clerk"))
    assert read.json() == view

    _issue_signed_by(service.chain, fresh, service.chain.certificate("BW-2026-000101"))
    issued = wait_until(
        lambda: _certificate(service, "BW-2026-000101"), timeout=20, what="the index to have it"
    )
    assert issued["signer"] == fresh.address
    assert issued["status"] == "issued"

    revoked = _revoke(service, "BW", fresh.address)

    assert revoked.status_code == 200, revoked.text
    [term] = _terms(revoked.json(), fresh.address)
    assert term["revoked_block"] is not None
    assert term["revoked_block"] > term["added_block"] == view["authorities"][1]["added_block"]
    assert not _is_authority(service.chain, "BW", fresh.address)
    with pytest.raises(ContractRevertError) as refused:
        _issue_signed_by(service.chain, fresh, service.chain.certificate("BW-2026-000102"))
    assert refused.value.error_name == "UnauthorizedAuthority"
    # What it signed while it was an authority stays issued.
    after = _certificate(service, "BW-2026-000101")
    assert after is not None
    assert (after["status"], after["signer"]) == ("issued", fresh.address)


def test_retry_with_same_idempotency_key_adds_and_revokes_once(service: Service) -> None:
    fresh = Account.create().address
    before = _admin_nonce(service.chain, "BW")

    first = _add(service, "BW", fresh, idempotency_key="add-1")
    retry = _add(service, "BW", fresh.lower(), idempotency_key="add-1")  # the same account

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert len(_terms(first.json(), fresh)) == 1
    assert _admin_nonce(service.chain, "BW") == before + 1
    # Without the key it is a second request, which is refused: the account is BW's already.
    assert_error(_add(service, "BW", fresh), 409, "authority_already_registered")

    revoked = _revoke(service, "BW", fresh, idempotency_key="revoke-1")
    again = _revoke(service, "BW", fresh, idempotency_key="revoke-1")

    assert revoked.status_code == 200, revoked.text
    assert again.status_code == 200, again.text
    assert again.json() == revoked.json()
    assert _admin_nonce(service.chain, "BW") == before + 2
    assert_error(_revoke(service, "BW", fresh), 409, "authority_not_registered")
    # The same key for another request (the add's key, to revoke) is refused as reused.
    assert_error(
        _revoke(service, "BW", fresh, idempotency_key="add-1"), 409, "idempotency_key_reused"
    )
    assert _admin_nonce(service.chain, "BW") == before + 2


def test_refusals_come_before_any_transaction(service: Service) -> None:
    caught_up(service)
    fresh = Account.create().address
    before = _admin_nonce(service.chain, "BW"), _admin_nonce(service.chain, "AE")

    officer = service.client.post(
        "/v1/participants/BW/authorities", json={"account": fresh}, headers=service.headers("BW")
    )
    error = assert_error(officer, 403, "role_insufficient")
    assert error["detail"]["required"] == ["admin"]
    governor = service.client.delete(
        f"/v1/participants/BW/authorities/{authority('BW')}",
        headers=service.headers("", "governor"),
    )
    assert_error(governor, 403, "role_insufficient")
    error = assert_error(_add(service, "BW", fresh, key="AE"), 403, "participant_mismatch")
    assert error["detail"] == {"participant": "AE", "required": "BW"}
    assert_error(_revoke(service, "BW", authority("BW"), key="AE"), 403, "participant_mismatch")

    own = assert_error(_add(service, "BW", authority("BW")), 409, "authority_already_registered")
    assert own["detail"] == {"account": authority("BW"), "participant": "BW"}
    other = assert_error(_add(service, "BW", authority("AE")), 409, "authority_already_registered")
    assert other["detail"] == {"account": authority("AE"), "participant": "AE"}
    not_ours = assert_error(
        _revoke(service, "BW", authority("AE")), 409, "authority_not_registered"
    )
    assert not_ours["detail"] == {"account": authority("AE"), "participant": "BW"}
    assert_error(_revoke(service, "BW", fresh), 409, "authority_not_registered")

    for account, problem in [
        ("0x1234", "0x and 40 hexadecimal digits"),
        ("0x" + "g" * 40, "0x and 40 hexadecimal digits"),
        (fresh[2:], "0x and 40 hexadecimal digits"),
        ("0x" + "0" * 40, "zero address"),
        (_bad_checksum(authority("BW")), "checksum"),
    ]:
        error = assert_error(_add(service, "BW", account), 422, "invalid_request")
        assert error_fields(error) == {"account"}, error
        assert problem in error["message"], error
    error = assert_error(_revoke(service, "BW", _bad_checksum(fresh)), 422, "invalid_request")
    assert error_fields(error) == {"path.account"}, error
    assert "checksum" in error["message"], error
    missing = service.client.post(
        "/v1/participants/BW/authorities", json={}, headers=service.headers("BW", "admin")
    )
    assert error_fields(assert_error(missing, 422, "invalid_request")) == {"account"}

    assert (_admin_nonce(service.chain, "BW"), _admin_nonce(service.chain, "AE")) == before
    view = service.client.get("/v1/participants/BW", headers=service.headers("BW")).json()
    assert [term["address"] for term in view["authorities"]] == [authority("BW")]


def _bad_checksum(address: str) -> str:
    """`address` with the case of one letter flipped: mixed case claims an EIP-55 checksum,
    and this one is wrong."""
    index = next(i for i, char in enumerate(address) if i > 1 and char.isalpha())
    return address[:index] + address[index].swapcase() + address[index + 1 :]


def test_chain_refusal_comes_back_as_the_registry_error_when_admin_was_replaced(
    service: Service,
) -> None:
    # Governance gave BW a new admin; this service still hosts the old key, which the index
    # cannot tell is no longer BW's admin: the registry refuses it at the estimate.
    replacement = Account.create().address
    service.chain.set_admin("BW", replacement)
    before = _admin_nonce(service.chain, "BW")

    response = _add(service, "BW", Account.create().address)

    error = assert_error(response, 403, "participant_admin_unauthorized")
    assert error["detail"] == {
        "error": "ParticipantAdminUnauthorized",
        "account": participant_account("BW", "admin").address,
        "participant": "0x" + b"BW".hex(),  # the revert's bytes2, as every revert shows it
    }
    assert _admin_nonce(service.chain, "BW") == before


@pytest.fixture
def partial(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Service]:
    """A service hosting AE and ZW (a government not admitted yet, its keys ready): not BW."""
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url, hosted=["AE", "ZW"])
    governor, keys = create_keys(sqlite_url, ["BW", "AE", "ZW"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Service(client, chain, settings, keys, governor)


def test_unhosted_admin_and_unknown_participant_are_refused(partial: Service) -> None:
    fresh = Account.create().address
    before = _admin_nonce(partial.chain, "BW"), _admin_nonce(partial.chain, "ZW")

    unhosted = assert_error(_add(partial, "BW", fresh), 403, "participant_not_hosted")
    assert unhosted["detail"] == {"actor": "BW/admin"}
    assert_error(_revoke(partial, "BW", authority("BW")), 403, "participant_not_hosted")
    unknown = assert_error(_add(partial, "ZW", fresh, key="ZW"), 404, "participant_not_found")
    assert unknown["detail"] == {"code": "ZW"}
    assert_error(_revoke(partial, "ZW", fresh, key="ZW"), 404, "participant_not_found")
    hosted = _add(partial, "AE", fresh, key="AE")  # what the service hosts, it does
    assert hosted.status_code == 201, hosted.text

    assert (_admin_nonce(partial.chain, "BW"), _admin_nonce(partial.chain, "ZW")) == before
