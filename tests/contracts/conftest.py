"""Fixtures for the contract tests: ape's chain (py-evm, or anvil with --network
ethereum:local:foundry), the deployed registry, three admitted participants, a certificate
factory that signs with eth-account exactly as the service will, and solc's own view of the
sources (ABI, NatSpec, storage layout)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from kpchain.certificates.typed_data import ZERO32, ZERO_CODE, Certificate, Line, document_hash
from kpchain.compile import compile_output
from kpchain.contracts.encoding import cert_number

DAY = 86_400
BW, AE, EU, CF = b"BW", b"AE", b"EU", b"CF"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def solc_output() -> dict[str, Any]:
    """solc's standard-JSON output for contracts/ as they are now, through kpchain's compile
    path: each contract's ABI, NatSpec and storage layout (solc generates no code for these)."""
    return compile_output(ROOT, outputs=("abi", "devdoc", "userdoc", "storageLayout"))


@pytest.fixture(scope="session")
def governor(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def bw_admin(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="session")
def bw_authority(accounts: Any) -> Any:
    """Botswana's authority: the exporting authority in most tests."""
    return accounts[2]


@pytest.fixture(scope="session")
def ae_admin(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="session")
def ae_authority(accounts: Any) -> Any:
    """The UAE's authority: the importing authority in most tests."""
    return accounts[4]


@pytest.fixture(scope="session")
def eu_admin(accounts: Any) -> Any:
    return accounts[5]


@pytest.fixture(scope="session")
def eu_authority(accounts: Any) -> Any:
    """The EU's authority: a third participant, party to nothing by default."""
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts: Any) -> Any:
    return accounts[7]


@pytest.fixture(scope="session")
def registry(project: Any, governor: Any) -> Any:
    """A bare CertificateRegistry (and participant registry) governed by `governor`: no
    participant, no authority. For what needs no participant: views, hashes, governance."""
    return governor.deploy(project.CertificateRegistry, governor)


@pytest.fixture(scope="session")
def admitted(
    project: Any,
    governor: Any,
    bw_admin: Any,
    bw_authority: Any,
    ae_admin: Any,
    ae_authority: Any,
    eu_admin: Any,
    eu_authority: Any,
) -> Any:
    """A registry of its own (not `registry`) with BW, AE and EU admitted, each with one
    authority. Certificates are issued here, so `doc_hash` and `sign` hash for it."""
    contract = governor.deploy(project.CertificateRegistry, governor)
    for code, admin, authority in (
        (BW, bw_admin, bw_authority),
        (AE, ae_admin, ae_authority),
        (EU, eu_admin, eu_authority),
    ):
        contract.admitParticipant(code, admin, sender=governor)
        contract.addAuthority(code, authority, sender=admin)
    return contract


@pytest.fixture
def now(chain: Any) -> int:
    """The timestamp the next block will carry."""
    return int(chain.pending_timestamp)


def private_key(account: Any) -> bytes:
    """An ape test account's key, for signing with eth-account as the service does."""
    return bytes.fromhex(str(account.private_key).removeprefix("0x"))


@pytest.fixture
def make_certificate(now: int) -> Callable[..., Certificate]:
    """Builds a valid BW -> AE certificate; keyword arguments override fields."""

    def build(number: str = "BW-2026-000123", **overrides: Any) -> Certificate:
        cert = Certificate(
            certNo=cert_number(number),
            exportingParticipant=BW,
            importingParticipant=AE,
            origin=BW,
            provenance=ZERO_CODE,
            originZone=ZERO32,
            exporterHash=keccak(text=f"exporter of {number}"),
            importerHash=keccak(text=f"importer of {number}"),
            lines=(Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3),),
            issuedAt=now,
            expiresAt=now + 60 * DAY,
            issuingAuthority="Government Diamond Office",
        )
        return replace(cert, **overrides)

    return build


@pytest.fixture
def doc_hash(admitted: Any, chain: Any) -> Callable[[Certificate], bytes]:
    """A certificate's EIP-712 document hash, as kpchain computes it, for `admitted`."""

    def run(cert: Certificate) -> bytes:
        return document_hash(cert, chain_id=chain.chain_id, verifying_contract=admitted.address)

    return run


@pytest.fixture
def sign(doc_hash: Callable[[Certificate], bytes]) -> Callable[[Certificate, Any], bytes]:
    """Signs a certificate's document hash for `admitted` with an ape test account's key."""

    def signer(cert: Certificate, account: Any) -> bytes:
        key = Account.from_key(private_key(account))
        return bytes(key.unsafe_sign_hash(doc_hash(cert)).signature)

    return signer


@pytest.fixture
def issue(
    admitted: Any, bw_authority: Any, sign: Callable[[Certificate, Any], bytes]
) -> Callable[..., Any]:
    """Issues a certificate as Botswana's authority (signer and sender); returns the receipt."""

    def run(cert: Certificate, *, sender: Any = None, signer: Any = None) -> Any:
        sender = sender or bw_authority
        signer = signer or sender
        return admitted.issue(cert.to_abi(), signer, sign(cert, signer), sender=sender)

    return run


@pytest.fixture
def shipped(
    issue: Callable[..., Any],
    make_certificate: Callable[..., Certificate],
    admitted: Any,
    bw_authority: Any,
) -> Certificate:
    """A certificate issued by BW to AE and shipped."""
    cert = make_certificate()
    issue(cert)
    admitted.ship(cert.certNo, keccak(text="seal BW-0001"), sender=bw_authority)
    return cert
