"""How the contracts encode the identifiers they take: participant codes as bytes2, certificate
numbers as bytes32, zone ids as keccak256 of their names.

The bindings (`kpchain.contracts.registry`, `kpchain.contracts.governance`) encode their
arguments with these, and the domain builds the registry's `Certificate` struct with them
(`kpchain.certificates.typed_data`).
"""

from __future__ import annotations

from eth_utils.crypto import keccak


def participant_code(code: str) -> bytes:
    """A participant's ISO code as the contract's bytes2 ("BW" -> b"BW")."""
    raw = code.encode("ascii")
    if len(raw) != 2:
        raise ValueError(f"participant code must be two letters, got {code!r}")
    return raw


def cert_number(cert_no: str) -> bytes:
    """A certificate number as left-aligned ASCII bytes32."""
    raw = cert_no.encode("ascii")
    if not 0 < len(raw) <= 32:
        raise ValueError(f"certificate number must be 1 to 32 ASCII characters, got {cert_no!r}")
    return raw.ljust(32, b"\x00")


def zone_id(name: str) -> bytes:
    """A zone id: keccak256 of its name (e.g. "CF:Berberati")."""
    return bytes(keccak(text=name))
