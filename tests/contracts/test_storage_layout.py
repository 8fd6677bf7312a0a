"""CertificateRegistry's storage: the record slot `_storeNewRecord` packs by hand, against the
layout solc gives the CertificateRecord struct. Reordering or resizing a member of the struct
fails the first test; changing the packing in `_storeNewRecord` fails the second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import keccak

from kpchain.certificates.typed_data import Certificate
from kpchain.contracts.enums import CertificateStatus

SOURCE, CONTRACT = "contracts/CertificateRegistry.sol", "CertificateRegistry"

# What `_storeNewRecord` writes (contracts/CertificateRegistry.sol): member -> (byte offset from
# the lowest-order byte of the slot, size in bytes). `replaced` is written as zero.
PACKING = {
    "exportingParticipant": (0, 2),  # uint16(exporting)
    "importingParticipant": (2, 2),  # uint16(importing) << 16
    "status": (4, 1),  # uint8(CertificateStatus.Issued) << 32
    "replaced": (5, 1),  # nothing: false
    "expiresAt": (6, 5),  # expiresAt << 48
    "docHashPrefix": (11, 21),  # uint168(bytes21(docHash)) << 88
}


@pytest.fixture
def layout(solc_output: dict[str, Any]) -> dict[str, Any]:
    """solc's storage layout of CertificateRegistry."""
    layout: dict[str, Any] = solc_output["contracts"][SOURCE][CONTRACT]["storageLayout"]
    return layout


def certificates_mapping(layout: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The `_certificates` mapping's slot (a record is at keccak256(certNo ‖ slot)) and solc's
    description of the struct it maps to."""
    (variable,) = (item for item in layout["storage"] if item["label"] == "_certificates")
    value_type = layout["types"][variable["type"]]["value"]
    return int(variable["slot"]), layout["types"][value_type]


def unpack(word: int, offset: int, size: int) -> bytes:
    """The `size` bytes of a storage word at byte `offset` from its lowest-order byte."""
    return ((word >> (8 * offset)) & ((1 << (8 * size)) - 1)).to_bytes(size, "big")


def test_certificate_record_layout_is_what_store_new_record_packs(
    layout: dict[str, Any],
) -> None:
    _, record = certificates_mapping(layout)
    solc = {
        member["label"]: (
            int(member["slot"]),
            member["offset"],
            int(layout["types"][member["type"]]["numberOfBytes"]),
        )
        for member in record["members"]
    }

    assert record["label"] == "struct ICertificateRegistry.CertificateRecord"
    assert record["numberOfBytes"] == "32"  # one slot: one SSTORE
    assert solc == {label: (0, offset, size) for label, (offset, size) in PACKING.items()}


def test_issued_record_slot_holds_each_member_where_packing_puts_it(
    layout: dict[str, Any],
    admitted: Any,
    chain: Any,
    issue: Callable[..., Any],
    make_certificate: Callable[..., Certificate],
    doc_hash: Callable[[Certificate], bytes],
) -> None:
    cert = make_certificate()
    issue(cert)

    mapping_slot, _ = certificates_mapping(layout)
    slot = keccak(cert.certNo + mapping_slot.to_bytes(32, "big"))
    raw = chain.provider.get_storage(admitted.address, int.from_bytes(slot, "big"))
    word = int.from_bytes(raw, "big")

    assert {label: unpack(word, *place) for label, place in PACKING.items()} == {
        "exportingParticipant": cert.exportingParticipant,
        "importingParticipant": cert.importingParticipant,
        "status": bytes([CertificateStatus.ISSUED]),
        "replaced": b"\x00",
        "expiresAt": cert.expiresAt.to_bytes(5, "big"),
        "docHashPrefix": doc_hash(cert)[:21],
    }
