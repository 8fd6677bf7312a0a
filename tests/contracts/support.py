"""Assertion helpers for the contract tests: strict reverts and complete event logs.

Imported as `support`: pytest's default (prepend) import mode puts this folder on sys.path for
the test modules in it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ape
from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from kpchain.certificates.typed_data import Certificate


@contextmanager
def reverts(error: Any, **inputs: Any) -> Iterator[None]:
    """`ape.reverts`, made strict: the revert must decode to `error` with exactly `inputs`.

    `ape.reverts(error, **inputs)` alone lets an undecoded revert through and skips any input
    name it does not know, so a misspelt argument would pass unchecked.
    """
    with ape.reverts(error) as info:
        yield
    if not isinstance(info.value, error) and (raw := raw_revert(info.value)) is not None:
        # ape now and then leaves a custom error undecoded on its test chain (its message is then
        # the revert data as a bytes literal; seen once in some thousand runs): decode it here,
        # by the error's ABI, as strictly.
        assert raw[:4] == keccak(text=error.abi.selector)[:4], f"reverted with {raw.hex()}"
        types = [item.canonical_type for item in error.abi.inputs]
        names = [item.name for item in error.abi.inputs]
        values = [
            to_checksum_address(value) if kind == "address" else value
            for kind, value in zip(types, decode(types, raw[4:]), strict=True)
        ]
        assert dict(zip(names, values, strict=True)) == inputs
        return
    assert isinstance(info.value, error), f"reverted with {info.value!r}, not {error.__name__}"
    assert dict(info.value.inputs) == inputs


def raw_revert(value: Any) -> bytes | None:
    """The revert data of a revert ape left undecoded (None when it decoded it)."""
    message = getattr(value, "revert_message", None) or ""
    if message.startswith("0x"):
        # A custom error of another contract than the one called (raised in a call it made, and
        # bubbled up), which ape cannot decode by the called contract's ABI.
        try:
            return bytes.fromhex(message[2:])
        except ValueError:
            return None
    if not message.startswith(("b'", 'b"')):
        return None
    raw = ast.literal_eval(message)
    return raw if isinstance(raw, bytes) else None


def emitted(receipt: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """Every log of `receipt` as (contract address, event name, all its arguments)."""
    return [
        (log.contract_address, log.event_name, dict(log.event_arguments)) for log in receipt.events
    ]


def event(contract_event: Any, **arguments: Any) -> tuple[str, str, dict[str, Any]]:
    """The expected log of `contract_event`, naming every one of its arguments."""
    return (contract_event.contract.address, contract_event.name, arguments)


def issued_event(
    registry: Any, cert: Certificate, doc_hash: bytes, signer: Any
) -> tuple[str, str, dict[str, Any]]:
    """The expected CertificateIssued of `cert`: every document field, flattened."""
    return event(
        registry.CertificateIssued,
        certNo=cert.certNo,
        exportingParticipant=cert.exportingParticipant,
        importingParticipant=cert.importingParticipant,
        docHash=doc_hash,
        signer=signer.address,
        origin=cert.origin,
        provenance=cert.provenance,
        originZone=cert.originZone,
        exporterHash=cert.exporterHash,
        importerHash=cert.importerHash,
        lines=[line.to_abi() for line in cert.lines],
        issuedAt=cert.issuedAt,
        expiresAt=cert.expiresAt,
        issuingAuthority=cert.issuingAuthority,
        replaces=cert.replaces,
    )
