"""The certificate document as the contract sees it, and its EIP-712 typed data.

The types here must stay identical to CertificateRegistry's `_CERTIFICATE_TYPEHASH` and
`_LINE_TYPEHASH`; tests/contracts/test_eip712.py checks the hash and signature made here against
what the contract computes and accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from kpchain.vocabulary import HsCode

DOMAIN_NAME = "KP Certificate Registry"
DOMAIN_VERSION = "1"

HS_CODES: dict[str, int] = {code.value: int(code.replace(".", "")) for code in HsCode}
"""HS codes of rough diamonds under the KPCS, as the contract encodes them: their digits
("7102.31" -> 710231)."""

LINE_FIELDS = [
    {"name": "hsCode", "type": "uint32"},
    {"name": "carats", "type": "uint64"},
    {"name": "valueUsdCents", "type": "uint64"},
    {"name": "parcels", "type": "uint32"},
    {"name": "origin", "type": "bytes2"},
    {"name": "provenance", "type": "bytes2"},
    {"name": "originZone", "type": "bytes32"},
]
CERTIFICATE_FIELDS = [
    {"name": "certNo", "type": "bytes32"},
    {"name": "exportingParticipant", "type": "bytes2"},
    {"name": "importingParticipant", "type": "bytes2"},
    {"name": "origin", "type": "bytes2"},
    {"name": "provenance", "type": "bytes2"},
    {"name": "originZone", "type": "bytes32"},
    {"name": "exporterHash", "type": "bytes32"},
    {"name": "importerHash", "type": "bytes32"},
    {"name": "lines", "type": "Line[]"},
    {"name": "issuedAt", "type": "uint40"},
    {"name": "expiresAt", "type": "uint40"},
    {"name": "issuingAuthority", "type": "string"},
    {"name": "replaces", "type": "bytes32"},
]
EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Certificate": CERTIFICATE_FIELDS,
    "Line": LINE_FIELDS,
}

ZERO_CODE = bytes(2)
"""The zero bytes2 of a certificate's origin and provenance: the origin of a mixed parcel (the
document's "MIXED"), the provenance of a parcel that is not mixed (the document's None)."""
ZERO32 = bytes(32)


@dataclass(frozen=True)
class Line:
    """One HS-code line, in the contract's units, with its own origin when it states one: all
    three origin fields zero (the default) is a line of the certificate's origin."""

    hsCode: int  # 710210, 710221 or 710231
    carats: int  # hundredths of a carat
    valueUsdCents: int  # US cents
    parcels: int
    origin: bytes = field(default=ZERO_CODE)  # ZERO_CODE: mixed, or the certificate's origin
    provenance: bytes = field(default=ZERO_CODE)  # a mixed line's; else ZERO_CODE
    originZone: bytes = field(default=ZERO32)  # ZERO32: none, or the certificate's

    @property
    def states_origin(self) -> bool:
        """Whether the line states an origin of its own (else it is the certificate's)."""
        return (self.origin, self.provenance, self.originZone) != (ZERO_CODE, ZERO_CODE, ZERO32)

    def to_message(self) -> dict[str, Any]:
        return {
            "hsCode": self.hsCode,
            "carats": self.carats,
            "valueUsdCents": self.valueUsdCents,
            "parcels": self.parcels,
            "origin": self.origin,
            "provenance": self.provenance,
            "originZone": self.originZone,
        }

    def to_abi(self) -> tuple[Any, ...]:
        """The line as an ABI tuple, in the Solidity struct's field order."""
        return (
            self.hsCode,
            self.carats,
            self.valueUsdCents,
            self.parcels,
            self.origin,
            self.provenance,
            self.originZone,
        )


@dataclass(frozen=True)
class Certificate:
    """The certificate document as CertificateRegistry takes it (its `Certificate` struct)."""

    certNo: bytes
    exportingParticipant: bytes
    importingParticipant: bytes
    origin: bytes
    provenance: bytes
    originZone: bytes
    exporterHash: bytes
    importerHash: bytes
    lines: tuple[Line, ...]
    issuedAt: int
    expiresAt: int
    issuingAuthority: str
    replaces: bytes = field(default=ZERO32)

    def to_message(self) -> dict[str, Any]:
        """The struct as a mapping: the EIP-712 message and a web3 call argument alike."""
        return {
            "certNo": self.certNo,
            "exportingParticipant": self.exportingParticipant,
            "importingParticipant": self.importingParticipant,
            "origin": self.origin,
            "provenance": self.provenance,
            "originZone": self.originZone,
            "exporterHash": self.exporterHash,
            "importerHash": self.importerHash,
            "lines": [line.to_message() for line in self.lines],
            "issuedAt": self.issuedAt,
            "expiresAt": self.expiresAt,
            "issuingAuthority": self.issuingAuthority,
            "replaces": self.replaces,
        }

    def to_abi(self) -> tuple[Any, ...]:
        """The struct as an ABI tuple, in field order."""
        return (
            self.certNo,
            self.exportingParticipant,
            self.importingParticipant,
            self.origin,
            self.provenance,
            self.originZone,
            self.exporterHash,
            self.importerHash,
            [line.to_abi() for line in self.lines],
            self.issuedAt,
            self.expiresAt,
            self.issuingAuthority,
            self.replaces,
        )


def domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of the CertificateRegistry at `verifying_contract`."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
    }


def typed_data(cert: Certificate, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full EIP-712 typed data (as `eth_signTypedData_v4` takes it) of `cert`."""
    return {
        "types": EIP712_TYPES,
        "primaryType": "Certificate",
        "domain": domain(chain_id, verifying_contract),
        "message": cert.to_message(),
    }


def document_hash(cert: Certificate, *, chain_id: int, verifying_contract: str) -> bytes:
    """The certificate's `docHash`: the EIP-712 digest that the exporting authority signs,
    `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(certificate))`.

    Hashed here with the types' constant hashes and the domain's separator computed once:
    eth-account's general encoder (`encode_typed_data`, which signers use) parses the types
    again for every document, at about five times the CPU. A test holds the two equal.
    """
    separator = _domain_separator(chain_id, verifying_contract)
    return bytes(keccak(b"\x19\x01" + separator + _certificate_struct_hash(cert)))


def _encode_type(name: str) -> str:
    """EIP-712 `encodeType` of `name` (its own fields, then each struct it uses, by name)."""
    fields = EIP712_TYPES[name]

    def own(type_name: str) -> str:
        members = ",".join(f"{f['type']} {f['name']}" for f in EIP712_TYPES[type_name])
        return f"{type_name}({members})"

    used = sorted({f["type"].removesuffix("[]") for f in fields} & set(EIP712_TYPES) - {name})
    return own(name) + "".join(own(type_name) for type_name in used)


_CERTIFICATE_TYPEHASH = bytes(keccak(text=_encode_type("Certificate")))
_LINE_TYPEHASH = bytes(keccak(text=_encode_type("Line")))
_DOMAIN_TYPEHASH = bytes(keccak(text=_encode_type("EIP712Domain")))


@lru_cache(maxsize=16)
def _domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    return bytes(
        keccak(
            abi_encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    _DOMAIN_TYPEHASH,
                    keccak(text=DOMAIN_NAME),
                    keccak(text=DOMAIN_VERSION),
                    chain_id,
                    verifying_contract,
                ],
            )
        )
    )


def _certificate_struct_hash(cert: Certificate) -> bytes:
    lines = b"".join(
        keccak(
            abi_encode(
                ["bytes32", "uint32", "uint64", "uint64", "uint32", "bytes2", "bytes2", "bytes32"],
                [_LINE_TYPEHASH, *line.to_abi()],
            )
        )
        for line in cert.lines
    )
    return bytes(
        keccak(
            abi_encode(
                [
                    "bytes32",
                    "bytes32",
                    "bytes2",
                    "bytes2",
                    "bytes2",
                    "bytes2",
                    "bytes32",
                    "bytes32",
                    "bytes32",
                    "bytes32",
                    "uint40",
                    "uint40",
                    "bytes32",
                    "bytes32",
                ],
                [
                    _CERTIFICATE_TYPEHASH,
                    cert.certNo,
                    cert.exportingParticipant,
                    cert.importingParticipant,
                    cert.origin,
                    cert.provenance,
                    cert.originZone,
                    cert.exporterHash,
                    cert.importerHash,
                    keccak(lines),
                    cert.issuedAt,
                    cert.expiresAt,
                    keccak(text=cert.issuingAuthority),
                    cert.replaces,
                ],
            )
        )
    )
