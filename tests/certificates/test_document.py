"""The certificate document and its field types: what it accepts, every rule rejecting with the
JSON field name in the error location, and its JSON form."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from pydantic import TypeAdapter, ValidationError
from support_certificates import (
    REGISTRY,
    SALT_A,
    SALT_B,
    documents,
    errors_of,
    parsed_example,
    with_line,
    with_party,
)

from helpers.documents import EXAMPLE, example
from kpchain.certificates.conversions import (
    to_contract,
)
from kpchain.certificates.document import CertificateDocument, CertificateLine, Party
from kpchain.certificates.fields import MAX_LINES, UINT32_MAX
from kpchain.certificates.typed_data import (
    document_hash,
)
from kpchain.devnet.anvil import DEVNET_CHAIN_ID

# ----------------------------------------------------------------------------------------------
# What it accepts
# ----------------------------------------------------------------------------------------------


def test_certificate_document_accepts_design_example() -> None:
    doc = CertificateDocument.model_validate_json(json.dumps(EXAMPLE))

    assert doc.cert_no == "BW-2026-000123"
    assert doc.lines[0].carats == Decimal("1234.56")
    assert doc.issued_at == date(2026, 11, 27)
    assert doc.replaces is None
    assert doc.totals() == (Decimal("1234.56"), Decimal("456789.00"), 3)


@pytest.mark.parametrize(
    ("given_value", "stored"),
    [
        ("1234.56", "1234.56"),
        ("1234.5", "1234.50"),
        ("1234", "1234.00"),
        ("1234.500", "1234.50"),  # trailing zeros say nothing more
        ("0001.01", "1.01"),
        (1234, "1234.00"),  # a JSON integer loses nothing
        ("184467440737095516.15", "184467440737095516.15"),  # uint64 max hundredths
    ],
)
def test_certificate_line_reads_decimal_when_string_or_integer(
    given_value: Any, stored: str
) -> None:
    doc = CertificateDocument.model_validate_json(json.dumps(with_line(carats=given_value)))

    assert str(doc.lines[0].carats) == stored
    assert json.loads(doc.model_dump_json())["lines"][0]["carats"] == stored


def test_certificate_document_accepts_mixed_origin_zone_and_replacement() -> None:
    doc = CertificateDocument.model_validate(
        example(
            origin="MIXED",
            provenance="ZA",
            origin_zone="CF:Berberati",
            replaces="BW-2026-000001",
        )
    )

    assert (doc.origin, doc.provenance, doc.origin_zone) == ("MIXED", "ZA", "CF:Berberati")
    assert doc.replaces == "BW-2026-000001"


def test_certificate_document_accepts_lines_of_several_origins() -> None:
    line = EXAMPLE["lines"][0]
    doc = CertificateDocument.model_validate(
        example(
            lines=[
                line,
                {**line, "origin": "ZA"},
                {**line, "origin": "MIXED", "provenance": "BE"},
                {**line, "origin": "CF", "origin_zone": "CF:Berberati"},
            ]
        )
    )

    assert doc.line_origins() == [
        ("BW", None, None),  # the certificate's
        ("ZA", None, None),
        ("MIXED", "BE", None),
        ("CF", None, "CF:Berberati"),
    ]
    written = json.loads(doc.model_dump_json())["lines"]
    assert written[0] == line  # a line of the certificate's origin keeps its shape
    assert written[1] == {**line, "origin": "ZA"}
    assert written[2] == {**line, "origin": "MIXED", "provenance": "BE"}
    assert CertificateDocument.model_validate_json(doc.model_dump_json()) == doc


def test_certificate_document_json_keeps_its_shape_when_lines_state_no_origin() -> None:
    doc = CertificateDocument.model_validate(EXAMPLE)

    assert json.loads(doc.model_dump_json()) == {**EXAMPLE, "replaces": None}


def test_certificate_document_accepts_limits_when_at_maximum() -> None:
    line = {"hs_code": "7102.10", "carats": "0.01", "value_usd": "0.01", "parcels": UINT32_MAX}
    data = example(
        cert_no="BW-" + "~" * 29,
        lines=[line] * MAX_LINES,
        issued_at="1970-01-01",
        expires_at="9999-12-31",
        issuing_authority="A" * 200,
    )

    doc = CertificateDocument.model_validate(data)

    assert len(doc.cert_no) == 32
    assert doc.totals() == (Decimal("1.00"), Decimal("1.00"), 100 * UINT32_MAX)


def test_party_strips_and_normalises_when_text_has_spaces_or_decomposed_letters() -> None:
    decomposed = unicodedata.normalize("NFD", "  Société Minière  ")

    party = Party.model_validate(
        {"name": decomposed, "address": "Rue 1\nKinshasa", "licence": " L-1 "}
    )

    assert party.name == unicodedata.normalize("NFC", "Société Minière")
    assert party.address == "Rue 1\nKinshasa"
    assert party.licence == "L-1"


# ----------------------------------------------------------------------------------------------
# Every rule, with the field it names
# ----------------------------------------------------------------------------------------------


REJECTED: dict[str, tuple[dict[str, Any], tuple[Any, ...], str]] = {
    # cert_no
    "cert_no with space": (example(cert_no="BW 2026-1"), ("cert_no",), "cert_no_characters"),
    "cert_no non-ascii": (example(cert_no="BW-2026-é"), ("cert_no",), "cert_no_characters"),
    "cert_no 33 chars": (example(cert_no="BW-" + "1" * 30), ("cert_no",), "cert_no_too_long"),
    "cert_no no hyphen": (example(cert_no="BW2026000123"), ("cert_no",), "cert_no_prefix"),
    "cert_no only prefix": (example(cert_no="BW-"), ("cert_no",), "cert_no_prefix"),
    "cert_no other prefix": (example(cert_no="ZA-2026-1"), ("cert_no",), "cert_no_prefix"),
    "cert_no number": (example(cert_no=2026), ("cert_no",), "string_type"),
    "cert_no missing": (example(cert_no=...), ("cert_no",), "missing"),
    # participants
    "exporting lower-case": (
        example(exporting_participant="bw", cert_no="bw-1"),
        ("exporting_participant",),
        "participant_code",
    ),
    "exporting three letters": (
        example(exporting_participant="BWA"),
        ("exporting_participant",),
        "participant_code",
    ),
    "importing digit": (
        example(importing_participant="A1"),
        ("importing_participant",),
        "participant_code",
    ),
    "importing accented": (
        example(importing_participant="ÄE"),
        ("importing_participant",),
        "participant_code",
    ),
    "importing equals exporting": (
        example(importing_participant="BW"),
        ("importing_participant",),
        "participants_identical",
    ),
    # origin and provenance
    "origin name": (example(origin="Botswana"), ("origin",), "origin_code"),
    "origin lower-case mixed": (example(origin="mixed"), ("origin",), "origin_code"),
    "mixed without provenance": (example(origin="MIXED"), ("provenance",), "provenance_missing"),
    "provenance on unmixed": (
        example(provenance="ZA"),
        ("provenance",),
        "provenance_unexpected",
    ),
    "provenance lower-case": (
        example(origin="MIXED", provenance="za"),
        ("provenance",),
        "participant_code",
    ),
    "origin_zone empty": (example(origin_zone=""), ("origin_zone",), "string_too_short"),
    "origin_zone blank": (example(origin_zone="   "), ("origin_zone",), "string_too_short"),
    "origin_zone 101 chars": (
        example(origin_zone="Z" * 101),
        ("origin_zone",),
        "string_too_long",
    ),
    # parties
    "exporter name blank": (
        with_party("exporter", name=" "),
        ("exporter", "name"),
        "string_too_short",
    ),
    "exporter name long": (
        with_party("exporter", name="N" * 201),
        ("exporter", "name"),
        "string_too_long",
    ),
    "exporter licence tab": (
        with_party("exporter", licence="L\t1"),
        ("exporter", "licence"),
        "text_control_characters",
    ),
    "importer name newline": (
        with_party("importer", name="Dubai\nRough"),
        ("importer", "name"),
        "text_control_characters",
    ),
    "importer address long": (
        with_party("importer", address="A" * 501),
        ("importer", "address"),
        "string_too_long",
    ),
    "importer licence missing": (
        example(importer={"name": "X", "address": "Y"}),
        ("importer", "licence"),
        "missing",
    ),
    "importer extra field": (
        with_party("importer", email="x@example.com"),
        ("importer", "email"),
        "extra_forbidden",
    ),
    # lines
    "no lines": (example(lines=[]), ("lines",), "too_short"),
    "101 lines": (example(lines=EXAMPLE["lines"] * 101), ("lines",), "too_long"),
    "hs code unknown": (with_line(hs_code="7102.39"), ("lines", 0, "hs_code"), "literal_error"),
    "hs code number": (with_line(hs_code=710231), ("lines", 0, "hs_code"), "literal_error"),
    "carats float": (with_line(carats=1234.56), ("lines", 0, "carats"), "decimal_float"),
    "carats float integral": (with_line(carats=1234.0), ("lines", 0, "carats"), "decimal_float"),
    "carats three places": (with_line(carats="1.234"), ("lines", 0, "carats"), "decimal_places"),
    "carats zero": (with_line(carats="0.00"), ("lines", 0, "carats"), "decimal_positive"),
    "carats negative": (with_line(carats="-1"), ("lines", 0, "carats"), "decimal_positive"),
    "carats exponent": (with_line(carats="1e3"), ("lines", 0, "carats"), "decimal_format"),
    "carats text": (with_line(carats="lots"), ("lines", 0, "carats"), "decimal_format"),
    "carats blank": (with_line(carats=" 1.5"), ("lines", 0, "carats"), "decimal_format"),
    "carats boolean": (with_line(carats=True), ("lines", 0, "carats"), "decimal_type"),
    "carats over uint64": (
        with_line(carats="184467440737095516.16"),
        ("lines", 0, "carats"),
        "decimal_too_large",
    ),
    "value float": (with_line(value_usd=456789.5), ("lines", 0, "value_usd"), "decimal_float"),
    "value zero": (with_line(value_usd=0), ("lines", 0, "value_usd"), "decimal_positive"),
    "value three places": (
        with_line(value_usd="0.001"),
        ("lines", 0, "value_usd"),
        "decimal_places",
    ),
    "parcels zero": (with_line(parcels=0), ("lines", 0, "parcels"), "greater_than_equal"),
    "parcels over uint32": (
        with_line(parcels=UINT32_MAX + 1),
        ("lines", 0, "parcels"),
        "less_than_equal",
    ),
    "parcels string": (with_line(parcels="3"), ("lines", 0, "parcels"), "int_type"),
    "parcels float": (with_line(parcels=3.0), ("lines", 0, "parcels"), "int_type"),
    "line extra field": (with_line(colour="D"), ("lines", 0, "colour"), "extra_forbidden"),
    # a line's own origin
    "line origin unknown form": (with_line(origin="Mixed"), ("lines", 0, "origin"), "origin_code"),
    "line mixed without provenance": (
        with_line(origin="MIXED"),
        ("lines", 0, "provenance"),
        "provenance_missing",
    ),
    "line origin with provenance": (
        with_line(origin="ZA", provenance="BE"),
        ("lines", 0, "provenance"),
        "provenance_unexpected",
    ),
    "line provenance without origin": (
        with_line(provenance="BE"),
        ("lines", 0, "provenance"),
        "line_origin_missing",
    ),
    "line zone without origin": (
        with_line(origin_zone="CF:Berberati"),
        ("lines", 0, "origin_zone"),
        "line_origin_missing",
    ),
    # dates
    "issued_at slashes": (example(issued_at="27/11/2026"), ("issued_at",), "date_format"),
    "issued_at timestamp": (example(issued_at=1795737600), ("issued_at",), "date_format"),
    "issued_at datetime": (
        example(issued_at="2026-11-27T00:00:00Z"),
        ("issued_at",),
        "date_format",
    ),
    "issued_at before 1970": (example(issued_at="1969-12-31"), ("issued_at",), "date_too_early"),
    "expires_at not a day": (
        example(expires_at="2027-02-30"),
        ("expires_at",),
        "date_from_datetime_parsing",
    ),
    "expires_at same day": (
        example(expires_at="2026-11-27"),
        ("expires_at",),
        "expiry_not_after_issue",
    ),
    "expires_at before": (
        example(expires_at="2026-11-26"),
        ("expires_at",),
        "expiry_not_after_issue",
    ),
    # the rest
    "issuing_authority empty": (
        example(issuing_authority=""),
        ("issuing_authority",),
        "string_too_short",
    ),
    "issuing_authority 201 chars": (
        example(issuing_authority="A" * 201),
        ("issuing_authority",),
        "string_too_long",
    ),
    "replaces itself": (example(replaces="BW-2026-000123"), ("replaces",), "replaces_itself"),
    "replaces other exporter": (
        example(replaces="ZA-2026-000001"),
        ("replaces",),
        "replaces_other_exporter",
    ),
    "replaces with space": (example(replaces="BW 1"), ("replaces",), "cert_no_characters"),
    "unknown field": (example(colour="D"), ("colour",), "extra_forbidden"),
}


@pytest.mark.parametrize(("data", "loc", "kind"), REJECTED.values(), ids=list(REJECTED))
def test_certificate_document_rejects_naming_field_when_rule_broken(
    data: dict[str, Any], loc: tuple[Any, ...], kind: str
) -> None:
    assert (loc, kind) in errors_of(CertificateDocument, data)


def test_certificate_document_reports_every_cross_field_error_when_several_broken() -> None:
    data = example(
        cert_no="ZA-1", importing_participant="BW", origin="MIXED", expires_at="2026-01-01"
    )

    assert errors_of(CertificateDocument, data) == [
        (("cert_no",), "cert_no_prefix"),
        (("importing_participant",), "participants_identical"),
        (("provenance",), "provenance_missing"),
        (("expires_at",), "expiry_not_after_issue"),
    ]


def test_certificate_document_prefixes_error_location_when_nested_in_batch() -> None:
    batch = TypeAdapter(list[CertificateDocument])

    with pytest.raises(ValidationError) as caught:
        batch.validate_python([EXAMPLE, example(cert_no="ZA-1")])

    assert [error["loc"] for error in caught.value.errors()] == [(1, "cert_no")]


def test_certificate_document_message_says_floats_lose_cents_when_carats_float() -> None:
    with pytest.raises(ValidationError) as caught:
        CertificateDocument.model_validate_json(json.dumps(with_line(carats=0.1)))

    [error] = caught.value.errors()
    assert error["loc"] == ("lines", 0, "carats")
    assert "string" in error["msg"]
    assert "cents" in error["msg"]


def test_certificate_document_rejects_float_when_given_python_float() -> None:
    with pytest.raises(ValidationError) as caught:
        CertificateLine.model_validate(
            {"hs_code": "7102.10", "carats": 0.1, "value_usd": "1", "parcels": 1}
        )

    assert caught.value.errors()[0]["type"] == "decimal_float"


def test_certificate_document_is_immutable() -> None:
    doc = parsed_example()

    with pytest.raises(ValidationError):
        doc.cert_no = "BW-2"


# ----------------------------------------------------------------------------------------------
# As JSON
# ----------------------------------------------------------------------------------------------


def test_certificate_document_json_keeps_decimals_as_two_place_strings() -> None:
    doc = CertificateDocument.model_validate(with_line(carats=5, value_usd="7.5"))

    data = json.loads(doc.model_dump_json())

    assert data["lines"][0] == {
        "hs_code": "7102.31",
        "carats": "5.00",
        "value_usd": "7.50",
        "parcels": 3,
    }
    assert data["issued_at"] == "2026-11-27"
    assert list(data) == [*EXAMPLE, "replaces"]


def test_certificate_document_json_schema_says_decimals_are_strings() -> None:
    schema = CertificateDocument.model_json_schema()

    carats = schema["$defs"]["CertificateLine"]["properties"]["carats"]
    assert carats["type"] == "string"
    assert schema["properties"]["lines"]["maxItems"] == MAX_LINES


@given(documents())
def test_certificate_document_round_trips_through_json(doc: CertificateDocument) -> None:
    text = doc.model_dump_json()

    again = CertificateDocument.model_validate_json(text)

    assert again == doc
    assert all(isinstance(line["carats"], str) for line in json.loads(text)["lines"])
    assert document_hash(
        to_contract(again, exporter_salt=SALT_A, importer_salt=SALT_B),
        chain_id=DEVNET_CHAIN_ID,
        verifying_contract=REGISTRY,
    ) == document_hash(
        to_contract(doc, exporter_salt=SALT_A, importer_salt=SALT_B),
        chain_id=DEVNET_CHAIN_ID,
        verifying_contract=REGISTRY,
    )


# ----------------------------------------------------------------------------------------------
# The domain's imports
# ----------------------------------------------------------------------------------------------


def test_domain_modules_import_neither_web3_nor_fastapi() -> None:
    code = (
        "import sys, kpchain.vocabulary, kpchain.certificates.fields, "
        "kpchain.certificates.document, kpchain.certificates.conversions, "
        "kpchain.certificates.requests, kpchain.certificates.views; "
        "print(sorted(m for m in ('web3', 'fastapi') if m in sys.modules))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
