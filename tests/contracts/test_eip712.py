"""The EIP-712 document hash and signatures: what kpchain.certificates.typed_data computes and
kpchain.signing signs in Python is what CertificateRegistry hashes and accepts, and any change to
a signed document invalidates its signature (for EOA and ERC-1271 signers alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_account.messages import hash_domain
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpchain.certificates.typed_data import (
    HS_CODES,
    ZERO32,
    ZERO_CODE,
    Certificate,
    Line,
    document_hash,
    domain,
    typed_data,
)
from kpchain.contracts.encoding import cert_number, zone_id
from kpchain.signing import LocalSigner

from support import emitted, issued_event, reverts

DAY = 86_400
BW, AE, EU, BE, IN, ZA = b"BW", b"AE", b"EU", b"BE", b"IN", b"ZA"


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def local_signer(account: Any) -> LocalSigner:
    """kpchain's in-memory signer holding an ape test account's key."""
    return LocalSigner.from_key(bytes.fromhex(str(account.private_key).removeprefix("0x")))


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def sign_typed(admitted: Any, chain: Any) -> Callable[..., bytes]:
    """Signs a certificate as the service does: LocalSigner over the full EIP-712 typed data,
    for `admitted` unless told another chain id or verifying contract."""

    def run(
        cert: Certificate,
        account: Any,
        *,
        chain_id: int | None = None,
        verifying_contract: str | None = None,
    ) -> bytes:
        message = typed_data(
            cert,
            chain_id=chain.chain_id if chain_id is None else chain_id,
            verifying_contract=verifying_contract or admitted.address,
        )
        return local_signer(account).sign_typed_data(message)

    return run


@pytest.fixture
def cancelled(
    admitted: Any, issue: Callable[..., Any], make_certificate: Any, bw_authority: Any
) -> Certificate:
    """A cancelled BW certificate, which a new one may replace."""
    cert = make_certificate("BW-2026-000001")
    issue(cert)
    admitted.cancel(cert.certNo, sender=bw_authority)
    return cert


@pytest.fixture
def wallet_owner(accounts: Any) -> Any:
    """The key behind the ERC-1271 wallet; not itself an authority of anyone."""
    return accounts[9]


@pytest.fixture
def wallet(project: Any, admitted: Any, bw_admin: Any, wallet_owner: Any) -> Any:
    """An ERC-1271 contract account owned by `wallet_owner`, made an authority of BW."""
    contract = bw_admin.deploy(project.ERC1271Wallet, wallet_owner)
    admitted.addAuthority(BW, contract, sender=bw_admin)
    return contract


# ----------------------------------------------------------------------------------------------
# The document hash: Python equals Solidity
# ----------------------------------------------------------------------------------------------

ONE_LINE = Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3)
DOCUMENTS: dict[str, dict[str, Any]] = {
    "one-line": {},
    "many-lines": {
        "lines": (
            Line(hsCode=710210, carats=1, valueUsdCents=0, parcels=1),
            Line(hsCode=710221, carats=2**64 - 1, valueUsdCents=2**64 - 1, parcels=2**32 - 1),
            ONE_LINE,
            ONE_LINE,
        )
    },
    "mixed-origin": {"origin": ZERO_CODE, "provenance": BE},
    "with-zone": {"origin": b"CF", "originZone": zone_id("CF:Berberati")},
    "with-replaces": {"replaces": cert_number("BW-2026-000001")},
    "lines-of-several-origins": {
        "lines": (
            ONE_LINE,
            replace(ONE_LINE, origin=ZA),
            replace(ONE_LINE, provenance=BE),
            replace(ONE_LINE, origin=b"CF", originZone=zone_id("CF:Berberati")),
        )
    },
    "unicode-authority": {"issuingAuthority": "Ministère des Mines — 钻石办公室 💎"},
    "empty-authority": {"issuingAuthority": ""},
    "extreme-dates": {"issuedAt": 0, "expiresAt": 2**40 - 1},
    # hashCertificate only hashes: lines that issue refuses (CertificateLinesEmpty,
    # CertificateLineInvalid) hash like any others.
    "no-lines": {"lines": ()},
    "lines-issue-refuses": {
        "lines": (Line(hsCode=0, carats=0, valueUsdCents=0, parcels=0), ONE_LINE),
    },
}


@pytest.mark.parametrize("overrides", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_document_hash_equals_contract_hash(
    admitted: Any, make_certificate: Any, doc_hash: Any, overrides: dict[str, Any]
) -> None:
    cert = make_certificate(**overrides)

    assert doc_hash(cert) == admitted.hashCertificate(cert.to_abi())


bytes2 = st.binary(min_size=2, max_size=2)
bytes32 = st.binary(min_size=32, max_size=32)
uint40 = st.integers(min_value=0, max_value=2**40 - 1)
uint32 = st.integers(min_value=0, max_value=2**32 - 1)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
lines = st.builds(
    Line,
    hsCode=st.one_of(st.sampled_from(sorted(HS_CODES.values())), uint32),
    carats=uint64,
    valueUsdCents=uint64,
    parcels=uint32,
    origin=bytes2,
    provenance=bytes2,
    originZone=bytes32,
)
certificates = st.builds(
    Certificate,
    certNo=bytes32,
    exportingParticipant=bytes2,
    importingParticipant=bytes2,
    origin=bytes2,
    provenance=bytes2,
    originZone=bytes32,
    exporterHash=bytes32,
    importerHash=bytes32,
    lines=st.lists(lines, max_size=6).map(tuple),
    issuedAt=uint40,
    expiresAt=uint40,
    issuingAuthority=st.text(max_size=64),
    replaces=bytes32,
)


@settings(
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cert=certificates)
def test_document_hash_equals_contract_hash_for_any_document(
    admitted: Any, doc_hash: Any, cert: Certificate
) -> None:
    # hashCertificate checks no field (issue does), so every field takes any value of its type,
    # lines included, and the hash is compared across the whole type range.
    assert doc_hash(cert) == admitted.hashCertificate(cert.to_abi())


def test_document_hash_differs_when_chain_or_contract_differs(
    registry: Any, make_certificate: Any, chain: Any, stranger: Any
) -> None:
    cert = make_certificate()
    ours = document_hash(cert, chain_id=chain.chain_id, verifying_contract=registry.address)

    assert ours == registry.hashCertificate(cert.to_abi())
    assert ours != document_hash(
        cert, chain_id=chain.chain_id + 1, verifying_contract=registry.address
    )
    assert ours != document_hash(cert, chain_id=chain.chain_id, verifying_contract=stranger.address)


def test_domain_separator_equals_python_domain_separator(registry: Any, chain: Any) -> None:
    expected = hash_domain(domain(chain.chain_id, registry.address))

    assert registry.domainSeparator() == expected


def test_eip712_domain_reports_python_domain(registry: Any, chain: Any) -> None:
    python_domain = domain(chain.chain_id, registry.address)

    fields, name, version, chain_id, verifying_contract, salt, extensions = registry.eip712Domain()

    # ERC-5267: 0x0f = name, version, chainId and verifyingContract present; no salt.
    assert fields == b"\x0f"
    assert (name, version, chain_id, verifying_contract) == (
        python_domain["name"],
        python_domain["version"],
        python_domain["chainId"],
        python_domain["verifyingContract"],
    )
    assert (salt, extensions) == (ZERO32, [])


# ----------------------------------------------------------------------------------------------
# Signatures made in Python are accepted
# ----------------------------------------------------------------------------------------------


def test_issue_accepts_signature_made_by_local_signer(
    admitted: Any, make_certificate: Any, sign_typed: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = make_certificate()
    signature = sign_typed(cert, bw_authority)

    receipt = admitted.issue(cert.to_abi(), bw_authority, signature, sender=bw_authority)

    assert receipt.events[0].docHash == doc_hash(cert)
    assert admitted.matchesDocument(cert.certNo, doc_hash(cert))


@pytest.mark.parametrize("wrong", ["chain-id", "verifying-contract"])
def test_issue_reverts_when_signed_for_another_domain(
    admitted: Any,
    make_certificate: Any,
    sign_typed: Any,
    chain: Any,
    bw_authority: Any,
    stranger: Any,
    wrong: str,
) -> None:
    cert = make_certificate()
    if wrong == "chain-id":
        signature = sign_typed(cert, bw_authority, chain_id=chain.chain_id + 1)
    else:
        signature = sign_typed(cert, bw_authority, verifying_contract=stranger.address)

    with reverts(
        admitted.DocumentSignatureInvalid, certNo=cert.certNo, signer=bw_authority.address
    ):
        admitted.issue(cert.to_abi(), bw_authority, signature, sender=bw_authority)


# ----------------------------------------------------------------------------------------------
# Tampering with any field after signing
# ----------------------------------------------------------------------------------------------

TWO_LINES = (
    Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3),
    Line(hsCode=710210, carats=98_765, valueUsdCents=12_345_600, parcels=2),
)


def _with_second_line(cert: Certificate, **changes: Any) -> Certificate:
    return replace(cert, lines=(cert.lines[0], replace(cert.lines[1], **changes)))


# id -> (overrides of the signed document, the tampering applied after signing). Each tampered
# document passes every check issue makes before the signature, so only the signature fails.
TAMPERINGS: dict[str, tuple[dict[str, Any], Callable[[Certificate, Any], Certificate]]] = {
    "certNo": ({}, lambda c, _: replace(c, certNo=cert_number("BW-2026-000999"))),
    "importingParticipant": ({}, lambda c, _: replace(c, importingParticipant=EU)),
    "origin": ({}, lambda c, _: replace(c, origin=ZA)),
    "provenance": (
        {"origin": ZERO_CODE, "provenance": BE},
        lambda c, _: replace(c, provenance=IN),
    ),
    "originZone": ({}, lambda c, _: replace(c, originZone=zone_id("BW:Jwaneng"))),
    "exporterHash": ({}, lambda c, _: replace(c, exporterHash=keccak(text="another exporter"))),
    "importerHash": ({}, lambda c, _: replace(c, importerHash=keccak(text="another importer"))),
    "lines-added": ({}, lambda c, _: replace(c, lines=(*c.lines, c.lines[0]))),
    "lines-dropped": ({}, lambda c, _: replace(c, lines=c.lines[:1])),
    "lines-swapped": ({}, lambda c, _: replace(c, lines=c.lines[::-1])),
    "issuedAt": ({}, lambda c, _: replace(c, issuedAt=c.issuedAt - 1)),
    "expiresAt": ({}, lambda c, _: replace(c, expiresAt=c.expiresAt + 1)),
    "issuingAuthority": ({}, lambda c, _: replace(c, issuingAuthority=c.issuingAuthority + ".")),
    "replaces": (
        {},
        lambda c, request: replace(c, replaces=request.getfixturevalue("cancelled").certNo),
    ),
    "line.hsCode": ({}, lambda c, _: _with_second_line(c, hsCode=710221)),
    "line.carats": ({}, lambda c, _: _with_second_line(c, carats=c.lines[1].carats + 1)),
    "line.valueUsdCents": (
        {},
        lambda c, _: _with_second_line(c, valueUsdCents=c.lines[1].valueUsdCents - 1),
    ),
    "line.parcels": ({}, lambda c, _: _with_second_line(c, parcels=c.lines[1].parcels + 1)),
    "line.origin": ({}, lambda c, _: _with_second_line(c, origin=ZA)),
    "line.provenance": (
        {"lines": (TWO_LINES[0], replace(TWO_LINES[1], provenance=BE))},
        lambda c, _: _with_second_line(c, provenance=IN),
    ),
    "line.originZone": (
        {"lines": (TWO_LINES[0], replace(TWO_LINES[1], origin=ZA))},
        lambda c, _: _with_second_line(c, originZone=zone_id("ZA:Kimberley")),
    ),
}


def test_tamperings_cover_every_document_field() -> None:
    """Guards the table above: a field added to Certificate or Line must get a tampering."""
    certificate_fields = set(Certificate.__dataclass_fields__) - {"exportingParticipant"}
    line_fields = {f"line.{name}" for name in Line.__dataclass_fields__}
    covered = {name.split("-")[0] for name in TAMPERINGS}

    assert covered == certificate_fields | line_fields


@pytest.mark.parametrize("case", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_issue_reverts_when_document_tampered_after_signing(
    admitted: Any,
    make_certificate: Any,
    sign_typed: Any,
    request: pytest.FixtureRequest,
    bw_authority: Any,
    case: tuple[dict[str, Any], Callable[[Certificate, Any], Certificate]],
) -> None:
    overrides, tamper = case
    signed = make_certificate(**{"lines": TWO_LINES, **overrides})
    signature = sign_typed(signed, bw_authority)
    tampered = tamper(signed, request)
    assert tampered != signed

    with reverts(
        admitted.DocumentSignatureInvalid, certNo=tampered.certNo, signer=bw_authority.address
    ):
        admitted.issue(tampered.to_abi(), bw_authority, signature, sender=bw_authority)


def test_issue_reverts_when_exporting_participant_tampered_after_signing(
    admitted: Any,
    make_certificate: Any,
    sign_typed: Any,
    doc_hash: Any,
    bw_authority: Any,
) -> None:
    # The one field that cannot reach the signature check alone: the number must start with
    # the exporter's code and the sender must act for it, so issue stops before the signature.
    # The field is in the signed hash all the same.
    signed = make_certificate()
    signature = sign_typed(signed, bw_authority)
    tampered = replace(signed, exportingParticipant=AE)

    assert admitted.hashCertificate(tampered.to_abi()) != doc_hash(signed)
    with reverts(admitted.UnauthorizedAuthority, account=bw_authority.address, participant=AE):
        admitted.issue(tampered.to_abi(), bw_authority, signature, sender=bw_authority)


# ----------------------------------------------------------------------------------------------
# ERC-1271 contract accounts
# ----------------------------------------------------------------------------------------------


def test_issue_accepts_erc1271_wallet_as_signer_when_owner_signed(
    admitted: Any,
    wallet: Any,
    wallet_owner: Any,
    make_certificate: Any,
    sign_typed: Any,
    doc_hash: Any,
    bw_authority: Any,
) -> None:
    cert = make_certificate()
    signature = sign_typed(cert, wallet_owner)

    receipt = admitted.issue(cert.to_abi(), wallet, signature, sender=bw_authority)

    issued = receipt.events[0]
    assert (issued.signer, issued.docHash) == (wallet.address, doc_hash(cert))
    assert admitted.matchesDocument(cert.certNo, doc_hash(cert))


def test_issue_checks_erc1271_signature_before_marking_replaced_certificate(
    admitted: Any,
    project: Any,
    cancelled: Certificate,
    wallet_owner: Any,
    make_certificate: Any,
    sign_typed: Any,
    doc_hash: Any,
    bw_admin: Any,
    bw_authority: Any,
) -> None:
    # The probe accepts its owner's signatures only while `cancelled` is not marked replaced, so
    # it accepts the replacement only if issue writes nothing before it asks the signer.
    probe = bw_admin.deploy(project.ERC1271StateProbe, wallet_owner, admitted, cancelled.certNo)
    admitted.addAuthority(BW, probe, sender=bw_admin)
    replacement = make_certificate("BW-2026-000002", replaces=cancelled.certNo)

    receipt = admitted.issue(
        replacement.to_abi(), probe, sign_typed(replacement, wallet_owner), sender=bw_authority
    )

    assert emitted(receipt) == [issued_event(admitted, replacement, doc_hash(replacement), probe)]
    assert admitted.certificate(cancelled.certNo).replaced
    # Now that `cancelled` is marked replaced, the probe refuses its owner's signatures.
    later = make_certificate("BW-2026-000003")
    with reverts(admitted.DocumentSignatureInvalid, certNo=later.certNo, signer=probe.address):
        admitted.issue(later.to_abi(), probe, sign_typed(later, wallet_owner), sender=bw_authority)


def test_issue_reverts_when_erc1271_wallet_signature_not_by_owner(
    admitted: Any,
    wallet: Any,
    make_certificate: Any,
    sign_typed: Any,
    bw_authority: Any,
) -> None:
    cert = make_certificate()
    # A BW authority's own valid signature does not speak for the wallet.
    signature = sign_typed(cert, bw_authority)

    with reverts(admitted.DocumentSignatureInvalid, certNo=cert.certNo, signer=wallet.address):
        admitted.issue(cert.to_abi(), wallet, signature, sender=bw_authority)


def test_issue_reverts_when_erc1271_wallet_not_authority_of_exporter(
    admitted: Any,
    project: Any,
    wallet_owner: Any,
    make_certificate: Any,
    sign_typed: Any,
    bw_authority: Any,
    bw_admin: Any,
) -> None:
    outsider = bw_admin.deploy(project.ERC1271Wallet, wallet_owner)
    cert = make_certificate()

    with reverts(admitted.UnauthorizedAuthority, account=outsider.address, participant=BW):
        admitted.issue(cert.to_abi(), outsider, sign_typed(cert, wallet_owner), sender=bw_authority)
