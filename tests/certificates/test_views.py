"""The views the API returns: built from what the chain holds, written as JSON with decimals as
two-place strings, hashes as 0x-hex, addresses checksummed and times in UTC."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from kpchain.certificates.conversions import document_from_contract, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.typed_data import ZERO_CODE, Certificate, Line
from kpchain.certificates.views import (
    AuthorityView,
    CertificateDocumentView,
    CertificateView,
    ConfirmationView,
    DiscrepancyView,
    LineView,
    ParticipantView,
    StepView,
    certificate_status_label,
)
from kpchain.contracts.encoding import cert_number, zone_id
from kpchain.contracts.enums import CertificateStatus, RejectionReason, WithdrawalReason
from kpchain.errors import DocumentInvalidError

SALT_A = bytes(range(32))
SALT_B = bytes(range(32, 64))
SIGNER = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TX = bytes.fromhex("ab" * 32)
DOC_HASH = bytes.fromhex("cd" * 32)
DOCUMENT = CertificateDocument.model_validate(
    {
        "cert_no": "BW-2026-000123",
        "exporting_participant": "BW",
        "importing_participant": "AE",
        "origin": "CF",
        "origin_zone": "CF:Berberati",
        "exporter": {"name": "Okavango", "address": "Gaborone", "licence": "EX-17"},
        "importer": {"name": "Dubai Rough", "address": "Dubai", "licence": "DMCC-42"},
        "lines": [
            {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3},
            {"hs_code": "7102.10", "carats": "0.44", "value_usd": "11", "parcels": 1},
        ],
        "issued_at": "2026-11-27",
        "expires_at": "2027-01-26",
        "issuing_authority": "Government Diamond Office",
    }
)
CERT = to_contract(DOCUMENT, exporter_salt=SALT_A, importer_salt=SALT_B)


def view(cert: Certificate = CERT, **changes: Any) -> CertificateView:
    arguments: dict[str, Any] = {
        "status": CertificateStatus.ISSUED,
        "doc_hash": DOC_HASH,
        "signer": SIGNER.lower(),
        **changes,
    }
    return CertificateView.from_certificate(cert, **arguments)


# ----------------------------------------------------------------------------------------------
# Parts
# ----------------------------------------------------------------------------------------------


def test_line_view_allows_zero_value_when_chain_holds_it() -> None:
    line = LineView.from_contract(Line(hsCode=710221, carats=5, valueUsdCents=0, parcels=2))

    assert json.loads(line.model_dump_json()) == {
        "hs_code": "7102.21",
        "carats": "0.05",
        "value_usd": "0.00",
        "parcels": 2,
    }


def test_step_view_from_block_is_utc_with_hex_hash() -> None:
    step = StepView.from_block(
        timestamp=1_795_780_800, block_number=7, tx_hash=TX, authority=SIGNER.lower()
    )

    assert step.at == datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert json.loads(step.model_dump_json()) == {
        "at": "2026-11-27T12:00:00Z",
        "block_number": 7,
        "tx_hash": "0x" + "ab" * 32,
        "authority": SIGNER,
    }


def test_step_view_converts_to_utc_when_other_zone() -> None:
    plus_two = datetime(2026, 11, 27, 14, tzinfo=timezone(timedelta(hours=2)))

    step = StepView(at=plus_two, block_number=1, tx_hash="0x" + "AB" * 32)

    assert step.at.utcoffset() == timedelta(0)
    assert step.at == plus_two
    assert step.tx_hash == "0x" + "ab" * 32


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"at": datetime(2026, 11, 27, 12)}, ("at",)),  # naive: which zone?
        ({"tx_hash": "0x1234"}, ("tx_hash",)),
        ({"tx_hash": bytes(31)}, ("tx_hash",)),
        ({"block_number": -1}, ("block_number",)),
        ({"authority": "0x1234"}, ("authority",)),
    ],
)
def test_step_view_rejects_naming_field_when_invalid(
    changes: dict[str, Any], loc: tuple[str, ...]
) -> None:
    fields = {"at": datetime(2026, 11, 27, tzinfo=UTC), "block_number": 1, "tx_hash": TX}

    with pytest.raises(ValidationError) as caught:
        StepView.model_validate({**fields, **changes})

    assert [error["loc"] for error in caught.value.errors()] == [loc]


def test_confirmation_view_from_contract_converts_units() -> None:
    confirmation = ConfirmationView.from_contract(
        parcels=3, carats=123_456, received_at=1_796_083_200, confirmation_hash=DOC_HASH
    )

    assert json.loads(confirmation.model_dump_json()) == {
        "parcels": 3,
        "carats": "1234.56",
        "received_at": "2026-12-01",
        "confirmation_hash": "0x" + "cd" * 32,
    }


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (CertificateStatus.ISSUED, "issued"),
        (CertificateStatus.SHIPPED, "shipped"),
        (CertificateStatus.RECEIVED, "received"),
        (CertificateStatus.REJECTED, "rejected"),
        (CertificateStatus.CANCELLED, "cancelled"),
        (CertificateStatus.EXPIRED, "expired"),
        (2, "shipped"),
    ],
)
def test_certificate_status_label_names_every_status(
    status: CertificateStatus | int, label: str
) -> None:
    assert certificate_status_label(status) == label


@pytest.mark.parametrize("status", [CertificateStatus.NONE, 7])
def test_certificate_status_label_raises_document_invalid_when_no_certificate(
    status: int,
) -> None:
    with pytest.raises(DocumentInvalidError):
        certificate_status_label(status)


# ----------------------------------------------------------------------------------------------
# The certificate view
# ----------------------------------------------------------------------------------------------


def test_certificate_view_shows_chain_fields_totals_and_steps() -> None:
    issued = StepView.from_block(timestamp=1_795_780_800, block_number=7, tx_hash=TX)
    received = ConfirmationView.from_contract(
        parcels=4, carats=123_500, received_at=1_796_083_200, confirmation_hash=DOC_HASH
    )

    result = view(
        status=CertificateStatus.RECEIVED,
        zone_names={zone_id("CF:Berberati"): "CF:Berberati"},
        seal_ref_hash=TX,
        confirmation=received,
        steps={"issued": issued},
    )

    data = json.loads(result.model_dump_json())
    assert data == {
        "cert_no": "BW-2026-000123",
        "exporting_participant": "BW",
        "importing_participant": "AE",
        "origin": "CF",
        "provenance": None,
        "origin_zone": "CF:Berberati",
        "exporter_hash": "0x" + CERT.exporterHash.hex(),
        "importer_hash": "0x" + CERT.importerHash.hex(),
        "lines": [
            {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3},
            {"hs_code": "7102.10", "carats": "0.44", "value_usd": "11.00", "parcels": 1},
        ],
        "issued_at": "2026-11-27",
        "expires_at": "2027-01-26",
        "issuing_authority": "Government Diamond Office",
        "replaces": None,
        "status": "received",
        "doc_hash": "0x" + "cd" * 32,
        "signer": SIGNER,
        "carats": "1235.00",
        "value_usd": "456800.00",
        "parcels": 4,
        "seal_ref_hash": "0x" + "ab" * 32,
        "confirmation": json.loads(received.model_dump_json()),
        "discrepancy": None,
        "rejection_reason": None,
        "withdrawal_reason": None,
        "steps": {"issued": json.loads(issued.model_dump_json())},
        "replaced_by": None,
    }
    assert CertificateView.model_validate_json(result.model_dump_json()) == result


def test_certificate_view_shows_each_lines_own_origin_and_only_when_it_states_one() -> None:
    line = CERT.lines[0]
    several = Certificate(
        **{
            **CERT.__dict__,
            "lines": (
                line,
                replace(line, provenance=b"BE"),
                replace(line, origin=b"CF", originZone=zone_id("CF:Berberati")),
                replace(line, origin=b"ZA", originZone=zone_id("ZA:Kimberley")),
            ),
        }
    )

    result = view(several, zone_names={zone_id("CF:Berberati"): "CF:Berberati"})

    written = json.loads(result.model_dump_json())["lines"]
    plain = {"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3}
    assert written == [
        plain,  # the certificate's origin: the line's shape as before
        {**plain, "origin": "MIXED", "provenance": "BE"},
        {**plain, "origin": "CF", "origin_zone": "CF:Berberati"},
        {**plain, "origin": "ZA", "origin_zone": "0x" + zone_id("ZA:Kimberley").hex()},
    ]
    assert CertificateView.model_validate_json(result.model_dump_json()) == result


def test_certificate_view_shows_zone_id_when_name_unknown() -> None:
    assert view().origin_zone == "0x" + zone_id("CF:Berberati").hex()


def test_certificate_view_shows_mixed_origin_and_replacement() -> None:
    mixed = Certificate(
        **{
            **CERT.__dict__,
            "origin": ZERO_CODE,
            "provenance": b"ZA",
            "originZone": bytes(32),
            "replaces": cert_number("BW-2026-000001"),
        }
    )

    result = view(mixed, status="expired", seal_ref_hash=bytes(32))

    assert (result.origin, result.provenance, result.origin_zone) == ("MIXED", "ZA", None)
    assert result.replaces == "BW-2026-000001"
    assert result.status == "expired"
    assert result.seal_ref_hash is None


def test_certificate_view_names_rejection_reason() -> None:
    result = view(status=CertificateStatus.REJECTED, rejection_reason=RejectionReason.SEAL_BROKEN)

    assert result.rejection_reason == "seal_broken"


def test_certificate_view_names_withdrawal_reason() -> None:
    result = view(status=CertificateStatus.CANCELLED, withdrawal_reason=WithdrawalReason.LOST)

    assert (result.status, result.withdrawal_reason) == ("cancelled", "lost")
    assert result.rejection_reason is None


def test_certificate_view_shows_totals_beyond_uint64_when_lines_sum_past_it() -> None:
    big = Line(hsCode=710231, carats=2**64 - 1, valueUsdCents=2**64 - 1, parcels=2**32 - 1)
    cert = Certificate(**{**CERT.__dict__, "lines": (big, big)})

    result = view(cert)

    assert result.carats == Decimal("368934881474191032.30")
    assert result.parcels == 2 * (2**32 - 1)


def test_certificate_view_raises_document_invalid_when_status_none() -> None:
    with pytest.raises(DocumentInvalidError):
        view(status=CertificateStatus.NONE)


# ----------------------------------------------------------------------------------------------
# The document view and participants
# ----------------------------------------------------------------------------------------------


def test_certificate_document_view_lets_holder_recompute_identity_hashes() -> None:
    result = CertificateDocumentView(
        document=DOCUMENT,
        doc_hash="0x" + DOC_HASH.hex(),
        signature="0x" + "11" * 65,
        signer=SIGNER,
        exporter_salt="0x" + SALT_A.hex(),
        importer_salt="0x" + SALT_B.hex(),
    )

    data = json.loads(result.model_dump_json())
    again = CertificateDocumentView.model_validate(data)
    document = again.document
    rebuilt = document_from_contract(
        CERT,
        exporter=document.exporter,
        importer=document.importer,
        exporter_salt=bytes.fromhex(data["exporter_salt"][2:]),
        importer_salt=bytes.fromhex(data["importer_salt"][2:]),
        origin_zone=document.origin_zone,
    )
    assert rebuilt == DOCUMENT
    assert data["document"]["lines"][1]["value_usd"] == "11.00"


def test_certificate_document_view_rejects_odd_length_signature() -> None:
    with pytest.raises(ValidationError) as caught:
        CertificateDocumentView(
            document=DOCUMENT,
            doc_hash="0x" + DOC_HASH.hex(),
            signature="0x123",
            signer=SIGNER,
            exporter_salt="0x" + SALT_A.hex(),
            importer_salt="0x" + SALT_B.hex(),
        )

    assert [error["loc"] for error in caught.value.errors()] == [("signature",)]


def test_participant_view_checksums_addresses_and_keeps_zone_ids() -> None:
    participant = ParticipantView.model_validate(
        {
            "code": "CF",
            "status": "active",
            "admin": SIGNER.lower(),
            "origin_restricted": True,
            "zones": [zone_id("CF:Berberati")],
            "authorities": [
                AuthorityView(address=SIGNER.lower(), added_block=3, revoked_block=9),
                {"address": SIGNER, "added_block": 10},
            ],
        }
    )

    data = json.loads(participant.model_dump_json())
    assert data["admin"] == SIGNER
    assert data["zones"] == ["0x" + zone_id("CF:Berberati").hex()]
    assert data["authorities"] == [
        {"address": SIGNER, "added_block": 3, "revoked_block": 9},
        {"address": SIGNER, "added_block": 10, "revoked_block": None},
    ]


def test_participant_view_rejects_naming_field_when_invalid() -> None:
    with pytest.raises(ValidationError) as caught:
        ParticipantView.model_validate(
            {"code": "cf", "status": "none", "admin": SIGNER, "origin_restricted": False}
        )

    assert [error["loc"] for error in caught.value.errors()] == [("code",), ("status",)]


def test_discrepancy_view_states_both_figures_and_the_differences_only_when_they_differ() -> None:
    certified = (3, Decimal("1234.56"))

    short = DiscrepancyView.of(certified=certified, confirmed=(2, Decimal("1200.00")))

    assert DiscrepancyView.of(certified=certified, confirmed=certified) is None
    assert short is not None
    assert short.model_dump(mode="json") == {
        "certified": {"parcels": 3, "carats": "1234.56"},
        "confirmed": {"parcels": 2, "carats": "1200.00"},
        "parcels_difference": -1,
        "carats_difference": "-34.56",
    }
    heavier = DiscrepancyView.of(certified=certified, confirmed=(3, Decimal("1234.57")))
    assert heavier is not None
    assert heavier.model_dump(mode="json")["carats_difference"] == "0.01"
