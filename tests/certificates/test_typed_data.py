"""kpchain's own EIP-712 document hash against eth-account's general encoder (what signers sign).

tests/contracts/test_eip712.py holds the same hash equal to what CertificateRegistry computes.
"""

from __future__ import annotations

from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from kpchain.certificates.typed_data import (
    HS_CODES,
    ZERO32,
    Certificate,
    Line,
    document_hash,
    typed_data,
)
from kpchain.contracts.encoding import cert_number

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _eth_account_hash(cert: Certificate, chain_id: int, verifying_contract: str) -> bytes:
    signable = encode_typed_data(
        full_message=typed_data(cert, chain_id=chain_id, verifying_contract=verifying_contract)
    )
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def test_document_hash_equals_eth_account_hash_when_certificate_has_two_lines() -> None:
    cert = Certificate(
        certNo=cert_number("BW-2026-000123"),
        exportingParticipant=b"BW",
        importingParticipant=b"AE",
        origin=b"BW",
        provenance=b"\x00\x00",
        originZone=ZERO32,
        exporterHash=bytes(range(32)),
        importerHash=bytes(range(32, 64)),
        lines=(Line(710231, 123456, 45678900, 3), Line(710210, 1, 0, 1)),
        issuedAt=1_795_737_600,
        expiresAt=1_800_921_600,
        issuingAuthority="Government Diamond Office",
    )

    assert document_hash(cert, chain_id=2021, verifying_contract=REGISTRY) == (
        _eth_account_hash(cert, 2021, REGISTRY)
    )


bytes2 = st.binary(min_size=2, max_size=2)
bytes32 = st.binary(min_size=32, max_size=32)
uint40 = st.integers(min_value=0, max_value=2**40 - 1)
lines = st.builds(
    Line,
    hsCode=st.sampled_from(sorted(HS_CODES.values())),
    carats=st.integers(min_value=0, max_value=2**64 - 1),
    valueUsdCents=st.integers(min_value=0, max_value=2**64 - 1),
    parcels=st.integers(min_value=0, max_value=2**32 - 1),
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
    lines=st.lists(lines, max_size=5).map(tuple),
    issuedAt=uint40,
    expiresAt=uint40,
    issuingAuthority=st.text(max_size=64),
    replaces=bytes32,
)


@given(
    cert=certificates,
    chain_id=st.integers(min_value=1, max_value=2**64),
    verifying_contract=st.binary(min_size=20, max_size=20),
)
def test_document_hash_equals_eth_account_hash_for_any_certificate_and_domain(
    cert: Certificate, chain_id: int, verifying_contract: bytes
) -> None:
    contract = "0x" + verifying_contract.hex()

    assert document_hash(cert, chain_id=chain_id, verifying_contract=contract) == (
        _eth_account_hash(cert, chain_id, contract)
    )
