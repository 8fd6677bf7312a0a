"""How the contracts encode the identifiers they take: participant codes as bytes2, certificate
numbers as bytes32, zone ids as keccak256 of their names; and back to text, each decoding beside
its encoding.

The bindings (`kpchain.contracts.registry`, `kpchain.contracts.governance`) encode their
arguments with these, and the domain builds the registry's `Certificate` struct with them
(`kpchain.certificates.typed_data`).
"""

from __future__ import annotations

from eth_utils.crypto import keccak

from kpchain.errors import DocumentInvalidError


def participant_code(code: str) -> bytes:
    """A participant's ISO code as the contract's bytes2 ("BW" -> b"BW")."""
    raw = code.encode("ascii")
    if len(raw) != 2:
        raise ValueError(f"participant code must be two letters, got {code!r}")
    return raw


def code_text(raw: bytes) -> str:
    """A bytes2 participant code as text (b"BW" -> "BW"); 0x-hex when it is not two ASCII
    letters (the contract checks participant codes, but not a certificate's origin)."""
    if len(raw) == 2 and raw.isascii() and raw.isalpha():
        return raw.decode("ascii")
    return "0x" + raw.hex()


def cert_number(cert_no: str) -> bytes:
    """A certificate number as left-aligned ASCII bytes32."""
    raw = cert_no.encode("ascii")
    if not 0 < len(raw) <= 32:
        raise ValueError(f"certificate number must be 1 to 32 ASCII characters, got {cert_no!r}")
    return raw.ljust(32, b"\x00")


def cert_no_text(raw: bytes) -> str:
    """A certificate number from the contract's bytes32 (left-aligned ASCII, zero-padded).

    Raises:
        DocumentInvalidError: `raw` is not ASCII padded with zero bytes.
    """
    text = raw.rstrip(b"\x00")
    if len(raw) != 32 or b"\x00" in text or not text.isascii():
        raise DocumentInvalidError(
            f"0x{raw.hex()} is not a left-aligned ASCII certificate number",
            detail={"cert_no": "0x" + raw.hex()},
        )
    return text.decode("ascii")


def zone_id(name: str) -> bytes:
    """A zone id: keccak256 of its name (e.g. "CF:Berberati")."""
    return bytes(keccak(text=name))
