"""The certificate document, its validation and its conversions to the contract's units: every
rule rejects with the JSON field name in the error location, every conversion round-trips, and
the contract hashes `to_contract(document)` exactly as Python does."""

from __future__ import annotations

import calendar
import json
import subprocess
import sys
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

import pytest
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from web3 import Web3

from helpers.documents import EXAMPLE, example
from kpchain.certificates.models import (
    MAX_LINES,
    UINT32_MAX,
    UINT64_MAX,
    CancelRequest,
    CertificateDocument,
    CertificateLine,
    Party,
    ReceiveRequest,
    RejectionReasonLabel,
    RejectRequest,
    ShipRequest,
    WithdrawalReasonLabel,
    WithdrawRequest,
    canonical_json,
    carats_to_hundredths,
    cents_to_usd,
    cert_no_text,
    code_text,
    confirmation_hash,
    confirmation_to_contract,
    date_from_seconds,
    document_from_contract,
    expiry_seconds,
    hs_code_number,
    hs_code_text,
    hundredths_to_carats,
    issued_at_seconds,
    max_validity_days,
    new_salt,
    party_hash,
    rejection_reason_code,
    rejection_reason_label,
    seal_ref_hash,
    to_contract,
    usd_to_cents,
    validity_days,
    withdrawal_reason_code,
    withdrawal_reason_label,
)
from kpchain.certificates.typed_data import (
    MIXED_ORIGIN,
    ZERO32,
    Certificate,
    Line,
    document_hash,
    typed_data,
)
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.encoding import cert_number, zone_id
from kpchain.contracts.enums import RejectionReason, WithdrawalReason
from kpchain.deploy import deploy
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import (
    DEVNET_GOVERNANCE,
    founders,
    governor_account,
    participant_account,
    registry,
    seed,
)
from kpchain.errors import DocumentInvalidError, KpchainError
from kpchain.signing import LocalSigner

SALT_A = bytes(range(32))
SALT_B = bytes(range(32, 64))
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # any address: the EIP-712 domain only


def with_line(**changes: Any) -> dict[str, Any]:
    """The example document with its one line changed."""
    line = {**EXAMPLE["lines"][0], **changes}
    return example(lines=[line])


def with_party(role: str, **changes: Any) -> dict[str, Any]:
    """The example document with the exporter's or importer's fields changed."""
    return example(**{role: {**EXAMPLE[role], **changes}})


def errors_of(model: type[BaseModel], data: Any) -> list[tuple[tuple[Any, ...], str]]:
    """(location, type) of each error validating `data` as `model`, through JSON as the API
    receives it."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(data))
    return [(tuple(error["loc"]), error["type"]) for error in caught.value.errors()]


def deployed(w3: Web3) -> tuple[TransactionSender, str]:
    """The devnet deployer and a registry it deployed, with the demo participants as founders."""
    deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)
    deployment = deploy(
        deployer,
        founders=founders(),
        governance=DEVNET_GOVERNANCE,
        network="test",
        expected_chain_id=DEVNET_CHAIN_ID,
    )
    return deployer, deployment.address


def parsed_example() -> CertificateDocument:
    return CertificateDocument.model_validate(EXAMPLE)


# ----------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------

CODES = st.sampled_from(["BW", "AE", "EU", "ZA", "IN", "CF", "RU", "CA"])
PRINTABLE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
).filter(lambda text: text.strip() != "")
HUNDREDTHS = st.integers(min_value=1, max_value=UINT64_MAX)


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "hs_code": draw(st.sampled_from(["7102.10", "7102.21", "7102.31"])),
        "carats": hundredths_to_carats(draw(HUNDREDTHS)),
        "value_usd": cents_to_usd(draw(HUNDREDTHS)),
        "parcels": draw(st.integers(min_value=1, max_value=UINT32_MAX)),
    }


@st.composite
def documents(draw: st.DrawFn) -> CertificateDocument:
    """Valid documents across every field's range."""
    exporting = draw(CODES)
    importing = draw(CODES.filter(lambda code: code != exporting))
    mixed = draw(st.booleans())
    issued = draw(st.dates(min_value=date(1970, 1, 1), max_value=date(9000, 1, 1)))
    party = st.fixed_dictionaries({"name": TEXT, "address": TEXT, "licence": TEXT})
    number = exporting + "-" + draw(st.text(alphabet=PRINTABLE, min_size=1, max_size=29))
    replaces = draw(st.none() | st.text(alphabet=PRINTABLE, min_size=1, max_size=29))
    return CertificateDocument.model_validate(
        {
            "cert_no": number,
            "exporting_participant": exporting,
            "importing_participant": importing,
            "origin": "MIXED" if mixed else draw(CODES),
            "provenance": draw(CODES) if mixed else None,
            "origin_zone": draw(st.none() | TEXT),
            "exporter": draw(party),
            "importer": draw(party),
            "lines": draw(st.lists(lines(), min_size=1, max_size=4)),
            "issued_at": issued,
            "expires_at": issued + timedelta(days=draw(st.integers(1, 3650))),
            "issuing_authority": draw(TEXT),
            "replaces": (None if replaces in (None, number[3:]) else f"{exporting}-{replaces}"),
        }
    )


def expected_certificate(
    doc: CertificateDocument, exporter_salt: bytes, importer_salt: bytes
) -> Certificate:
    """The contract's Certificate for `doc`, computed apart from the code under test."""

    def identity(party: Party, salt: bytes) -> bytes:
        fields = {"address": party.address, "licence": party.licence, "name": party.name}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return bytes(keccak(salt + text.encode("utf-8")))

    def midnight(day: date) -> int:
        return calendar.timegm(day.timetuple())

    return Certificate(
        certNo=doc.cert_no.encode().ljust(32, b"\0"),
        exportingParticipant=doc.exporting_participant.encode(),
        importingParticipant=doc.importing_participant.encode(),
        origin=b"\0\0" if doc.origin == "MIXED" else doc.origin.encode(),
        provenance=(doc.provenance or "").encode().ljust(2, b"\0"),
        originZone=bytes(keccak(text=doc.origin_zone)) if doc.origin_zone else bytes(32),
        exporterHash=identity(doc.exporter, exporter_salt),
        importerHash=identity(doc.importer, importer_salt),
        lines=tuple(
            Line(
                hsCode=int(line.hs_code.replace(".", "")),
                carats=int(line.carats * 100),
                valueUsdCents=int(line.value_usd * 100),
                parcels=line.parcels,
            )
            for line in doc.lines
        ),
        issuedAt=midnight(doc.issued_at),
        expiresAt=midnight(doc.expires_at) + 86_399,
        issuingAuthority=doc.issuing_authority,
        replaces=doc.replaces.encode().ljust(32, b"\0") if doc.replaces else bytes(32),
    )


# ----------------------------------------------------------------------------------------------
# The document: what it accepts
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
# The document: every rule, with the field it names
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
# The document as JSON
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
# Units
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("carats", "hundredths"),
    [
        (Decimal("1234.56"), 123_456),
        (Decimal("0.01"), 1),
        (Decimal("1"), 100),
        (Decimal("1.5"), 150),
        (Decimal("184467440737095516.15"), UINT64_MAX),
        (Decimal("0"), 0),
    ],
)
def test_carats_to_hundredths_scales_by_hundred(carats: Decimal, hundredths: int) -> None:
    assert carats_to_hundredths(carats) == hundredths
    assert usd_to_cents(carats) == hundredths
    assert hundredths_to_carats(hundredths) == carats
    assert cents_to_usd(hundredths) == carats


def test_hundredths_to_carats_gives_two_places() -> None:
    assert str(hundredths_to_carats(100)) == "1.00"
    assert str(cents_to_usd(45_678_900)) == "456789.00"


@pytest.mark.parametrize(
    "value",
    [Decimal("0.001"), Decimal("-0.01"), Decimal("184467440737095516.16"), Decimal("NaN")],
)
def test_carats_to_hundredths_raises_document_invalid_when_not_uint64_hundredths(
    value: Decimal,
) -> None:
    with pytest.raises(DocumentInvalidError):
        carats_to_hundredths(value)
    with pytest.raises(DocumentInvalidError):
        usd_to_cents(value)


@pytest.mark.parametrize("value", [-1, UINT64_MAX + 1])
def test_hundredths_to_carats_raises_document_invalid_when_not_uint64(value: int) -> None:
    with pytest.raises(DocumentInvalidError):
        hundredths_to_carats(value)
    with pytest.raises(DocumentInvalidError):
        cents_to_usd(value)


@given(HUNDREDTHS)
def test_hundredths_round_trip_through_decimal_and_text(hundredths: int) -> None:
    carats = hundredths_to_carats(hundredths)

    assert carats_to_hundredths(carats) == hundredths
    assert carats_to_hundredths(Decimal(str(carats))) == hundredths
    assert usd_to_cents(cents_to_usd(hundredths)) == hundredths
    line = CertificateLine.model_validate_json(
        json.dumps({"hs_code": "7102.10", "carats": str(carats), "value_usd": "1", "parcels": 1})
    )
    assert carats_to_hundredths(line.carats) == hundredths


@pytest.mark.parametrize(
    ("text", "number"), [("7102.10", 710210), ("7102.21", 710221), ("7102.31", 710231)]
)
def test_hs_code_number_round_trips_every_kp_code(text: str, number: int) -> None:
    assert hs_code_number(text) == number
    assert hs_code_text(number) == text


def test_hs_code_raises_document_invalid_when_unknown() -> None:
    with pytest.raises(DocumentInvalidError, match=r"7102\.39"):
        hs_code_number("7102.39")
    with pytest.raises(DocumentInvalidError, match="710239"):
        hs_code_text(710239)


def test_issued_at_seconds_is_utc_midnight_and_expiry_last_second() -> None:
    day = date(2026, 11, 27)
    midnight = int(datetime(2026, 11, 27, tzinfo=UTC).timestamp())

    assert issued_at_seconds(date(1970, 1, 1)) == 0
    assert issued_at_seconds(day) == midnight
    assert expiry_seconds(day) == midnight + 86_399
    assert date_from_seconds(expiry_seconds(day) + 1) == date(2026, 11, 28)


@given(st.dates(min_value=date(1970, 1, 1)))
def test_date_from_seconds_round_trips_issue_and_expiry(day: date) -> None:
    assert date_from_seconds(issued_at_seconds(day)) == day
    assert date_from_seconds(expiry_seconds(day)) == day


@pytest.mark.parametrize("day", [date(1969, 12, 31), datetime(2026, 11, 27, tzinfo=UTC)])
def test_issued_at_seconds_raises_document_invalid_when_not_epoch_date(day: date) -> None:
    with pytest.raises(DocumentInvalidError):
        issued_at_seconds(day)


@pytest.mark.parametrize("seconds", [-1, 2**40 - 1])
def test_date_from_seconds_raises_document_invalid_when_out_of_range(seconds: int) -> None:
    with pytest.raises(DocumentInvalidError):
        date_from_seconds(seconds)


def test_cert_no_text_round_trips_cert_number() -> None:
    assert cert_no_text(cert_number("BW-2026-000123")) == "BW-2026-000123"
    with pytest.raises(DocumentInvalidError):
        cert_no_text(b"BW\x00-1".ljust(32, b"\x00"))


def test_code_text_gives_hex_when_not_letters() -> None:
    assert code_text(b"BW") == "BW"
    assert code_text(b"\x00\x01") == "0x0001"


# ----------------------------------------------------------------------------------------------
# Identities
# ----------------------------------------------------------------------------------------------

PARTY = Party(name="Okavango Diamond Company", address="Gaborone", licence="EX-17")


def test_party_hash_is_keccak_of_salt_and_canonical_json() -> None:
    canonical = b'{"address":"Gaborone","licence":"EX-17","name":"Okavango Diamond Company"}'

    assert canonical_json(PARTY.model_dump()) == canonical
    assert party_hash(PARTY, SALT_A) == keccak(SALT_A + canonical)


def test_party_hash_keeps_unicode_unescaped() -> None:
    party = Party(name="Ministère 钻石", address="Kinshasa", licence="1")

    expected = '{"address":"Kinshasa","licence":"1","name":"Ministère 钻石"}'.encode()
    assert party_hash(party, SALT_A) == keccak(SALT_A + expected)


def test_party_hash_changes_when_salt_changes() -> None:
    assert party_hash(PARTY, SALT_A) != party_hash(PARTY, SALT_B)


@pytest.mark.parametrize("field", ["name", "address", "licence"])
def test_party_hash_changes_when_any_field_changes(field: str) -> None:
    other = PARTY.model_copy(update={field: getattr(PARTY, field) + "x"})

    assert party_hash(other, SALT_A) != party_hash(PARTY, SALT_A)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_party_hash_raises_document_invalid_when_salt_not_32_bytes(length: int) -> None:
    with pytest.raises(DocumentInvalidError, match="32 bytes"):
        party_hash(PARTY, bytes(length))


def test_new_salt_is_32_fresh_bytes() -> None:
    salts = {new_salt() for _ in range(16)}

    assert len(salts) == 16
    assert all(len(salt) == 32 for salt in salts)


def test_document_invalid_error_is_kpchain_error_and_value_error() -> None:
    error = DocumentInvalidError("bad")

    assert isinstance(error, KpchainError)
    assert isinstance(error, ValueError)
    assert error.code == "document_invalid"


# ----------------------------------------------------------------------------------------------
# to_contract and back
# ----------------------------------------------------------------------------------------------


def test_to_contract_encodes_design_example() -> None:
    cert = to_contract(parsed_example(), exporter_salt=SALT_A, importer_salt=SALT_B)

    assert cert == Certificate(
        certNo=cert_number("BW-2026-000123"),
        exportingParticipant=b"BW",
        importingParticipant=b"AE",
        origin=b"BW",
        provenance=MIXED_ORIGIN,
        originZone=ZERO32,
        exporterHash=party_hash(parsed_example().exporter, SALT_A),
        importerHash=party_hash(parsed_example().importer, SALT_B),
        lines=(Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3),),
        issuedAt=1_795_737_600,  # 2026-11-27T00:00:00Z
        expiresAt=1_801_007_999,  # 2027-01-26T23:59:59Z
        issuingAuthority="Government Diamond Office",
        replaces=ZERO32,
    )


def test_to_contract_encodes_mixed_origin_zone_and_replacement() -> None:
    doc = CertificateDocument.model_validate(
        example(origin="MIXED", provenance="ZA", origin_zone="CF:Carnot", replaces="BW-1")
    )

    cert = to_contract(doc, exporter_salt=SALT_A, importer_salt=SALT_B)

    assert (cert.origin, cert.provenance) == (MIXED_ORIGIN, b"ZA")
    assert cert.originZone == zone_id("CF:Carnot")
    assert cert.replaces == cert_number("BW-1")


def test_to_contract_raises_document_invalid_when_salt_short() -> None:
    with pytest.raises(DocumentInvalidError):
        to_contract(parsed_example(), exporter_salt=bytes(16), importer_salt=SALT_B)


@given(documents(), st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_to_contract_matches_independent_encoding(
    doc: CertificateDocument, exporter_salt: bytes, importer_salt: bytes
) -> None:
    cert = to_contract(doc, exporter_salt=exporter_salt, importer_salt=importer_salt)

    expected = expected_certificate(doc, exporter_salt, importer_salt)
    assert cert == expected
    assert document_hash(
        cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=REGISTRY
    ) == document_hash(expected, chain_id=DEVNET_CHAIN_ID, verifying_contract=REGISTRY)


@given(documents())
def test_document_from_contract_inverts_to_contract(doc: CertificateDocument) -> None:
    cert = to_contract(doc, exporter_salt=SALT_A, importer_salt=SALT_B)

    again = document_from_contract(
        cert,
        exporter=doc.exporter,
        importer=doc.importer,
        exporter_salt=SALT_A,
        importer_salt=SALT_B,
        origin_zone=doc.origin_zone,
    )

    assert again == doc


def _from_contract(cert: Certificate, **changes: Any) -> CertificateDocument:
    arguments: dict[str, Any] = {
        "exporter": parsed_example().exporter,
        "importer": parsed_example().importer,
        "exporter_salt": SALT_A,
        "importer_salt": SALT_B,
        "origin_zone": None,
        **changes,
    }
    return document_from_contract(cert, **arguments)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"exporter_salt": SALT_B}, "exporter"),
        ({"importer": PARTY}, "importer"),
        ({"origin_zone": "CF:Carnot"}, "zone"),
    ],
)
def test_document_from_contract_raises_document_invalid_when_off_chain_part_differs(
    changes: dict[str, Any], match: str
) -> None:
    cert = to_contract(parsed_example(), exporter_salt=SALT_A, importer_salt=SALT_B)

    with pytest.raises(DocumentInvalidError, match=match):
        _from_contract(cert, **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"expiresAt": 1_801_000_000},  # not 23:59:59 UTC
        {"issuingAuthority": ""},  # the contract allows it
        {"lines": (Line(hsCode=710231, carats=1, valueUsdCents=0, parcels=1),)},
        {"origin": b"\x00\x01"},
    ],
)
def test_document_from_contract_raises_document_invalid_when_chain_holds_what_no_document_can(
    changes: dict[str, Any],
) -> None:
    cert = to_contract(parsed_example(), exporter_salt=SALT_A, importer_salt=SALT_B)
    odd = Certificate(**{**cert.__dict__, **changes})

    with pytest.raises(DocumentInvalidError) as caught:
        _from_contract(odd)

    json.dumps(caught.value.detail)  # the API and the operations table store it as JSON


# ----------------------------------------------------------------------------------------------
# Operation requests
# ----------------------------------------------------------------------------------------------


def test_ship_request_takes_optional_seal_ref() -> None:
    assert ShipRequest.model_validate({}).seal_ref is None
    assert ShipRequest.model_validate({"seal_ref": " SEAL-0042 "}).seal_ref == "SEAL-0042"
    assert errors_of(ShipRequest, {"seal_ref": ""}) == [(("seal_ref",), "string_too_short")]
    assert errors_of(ShipRequest, {"seal": "x"}) == [(("seal",), "extra_forbidden")]


def test_seal_ref_hash_is_keccak_of_utf8_or_zero_when_none() -> None:
    assert seal_ref_hash(None) == ZERO32
    assert seal_ref_hash("SEAL-ñ") == keccak("SEAL-ñ".encode())


RECEIVE = {"parcels": 3, "carats": "1234.56", "received_at": "2026-12-01"}


def test_receive_request_reads_design_body() -> None:
    request = ReceiveRequest.model_validate_json(json.dumps(RECEIVE))

    assert (request.parcels, request.carats) == (3, Decimal("1234.56"))
    assert request.received_at == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("changes", "loc", "kind"),
    [
        ({"parcels": 0}, ("parcels",), "greater_than_equal"),
        ({"parcels": "3"}, ("parcels",), "int_type"),
        ({"carats": 1234.56}, ("carats",), "decimal_float"),
        ({"carats": "0"}, ("carats",), "decimal_positive"),
        ({"carats": "1.001"}, ("carats",), "decimal_places"),
        ({"received_at": "01/12/2026"}, ("received_at",), "date_format"),
        ({"received_at": ...}, ("received_at",), "missing"),
    ],
)
def test_receive_request_rejects_naming_field_when_invalid(
    changes: dict[str, Any], loc: tuple[Any, ...], kind: str
) -> None:
    body = {**RECEIVE, **changes}
    body = {key: value for key, value in body.items() if value is not ...}

    assert errors_of(ReceiveRequest, body) == [(loc, kind)]


def test_confirmation_hash_is_keccak_of_canonical_confirmation() -> None:
    request = ReceiveRequest.model_validate({**RECEIVE, "carats": "1234.5"})
    canonical = (
        b'{"carats":"1234.50","cert_no":"BW-2026-000123","parcels":3,"received_at":"2026-12-01"}'
    )

    assert confirmation_hash("BW-2026-000123", request) == keccak(canonical)
    assert confirmation_hash("BW-2026-000124", request) != keccak(canonical)


def test_confirmation_to_contract_gives_confirmation_tuple() -> None:
    request = ReceiveRequest.model_validate(RECEIVE)

    parcels, carats, received_at, digest = confirmation_to_contract("BW-1", request)

    assert (parcels, carats) == (3, 123_456)
    assert received_at == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    assert digest == confirmation_hash("BW-1", request)


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_rejection_reason_label_round_trips_every_contract_reason(
    reason: RejectionReason,
) -> None:
    label = rejection_reason_label(reason)

    assert rejection_reason_code(label) is reason
    assert RejectRequest.model_validate({"reason": label}).reason_code() is reason


def test_rejection_reason_labels_are_the_api_literal() -> None:
    assert {rejection_reason_label(reason) for reason in RejectionReason} == set(
        get_args(RejectionReasonLabel)
    )
    assert rejection_reason_label(1) == "seal_broken"


def test_rejection_reason_raises_document_invalid_when_unknown() -> None:
    with pytest.raises(DocumentInvalidError):
        rejection_reason_code("SEAL_BROKEN")
    with pytest.raises(DocumentInvalidError):
        rejection_reason_label(5)


def test_reject_request_rejects_naming_field_when_invalid() -> None:
    assert errors_of(RejectRequest, {"reason": "stolen"}) == [(("reason",), "literal_error")]
    assert errors_of(RejectRequest, {"reason": "other", "note": "N" * 1001}) == [
        (("note",), "string_too_long")
    ]
    note = RejectRequest.model_validate({"reason": "other", "note": "line 1\nline 2"}).note
    assert note == "line 1\nline 2"


@pytest.mark.parametrize("reason", list(WithdrawalReason))
def test_withdrawal_reason_label_round_trips_every_contract_reason(
    reason: WithdrawalReason,
) -> None:
    label = withdrawal_reason_label(reason)

    assert withdrawal_reason_code(label) is reason
    assert WithdrawRequest.model_validate({"reason": label}).reason_code() is reason


def test_withdrawal_reason_labels_are_the_api_literal() -> None:
    assert {withdrawal_reason_label(reason) for reason in WithdrawalReason} == set(
        get_args(WithdrawalReasonLabel)
    )
    assert withdrawal_reason_label(1) == "seized"


def test_withdrawal_reason_raises_document_invalid_when_unknown() -> None:
    with pytest.raises(DocumentInvalidError):
        withdrawal_reason_code("discrepancy")
    with pytest.raises(DocumentInvalidError):
        withdrawal_reason_label(4)


def test_withdraw_request_rejects_naming_field_when_invalid() -> None:
    assert errors_of(WithdrawRequest, {}) == [(("reason",), "missing")]
    assert errors_of(WithdrawRequest, {"reason": "seal_broken"}) == [(("reason",), "literal_error")]
    assert errors_of(WithdrawRequest, {"reason": "lost", "note": "N" * 1001}) == [
        (("note",), "string_too_long")
    ]


def test_validity_days_counts_issue_and_expiry_day() -> None:
    assert validity_days(date(2026, 11, 27), date(2026, 11, 28)) == 2
    assert validity_days(date(2026, 11, 27), date(2027, 5, 25)) == 180


@pytest.mark.parametrize("days", [1, 2, 30, 179, 180, 181])
def test_max_validity_days_admits_exactly_the_documents_the_registry_admits(days: int) -> None:
    # The registry compares expiresAt - issuedAt (23:59:59 of the expiry day minus 00:00 of the
    # issue day) with maxValidity; the service compares calendar days with max_validity_days.
    issued = date(2026, 11, 27)
    for valid_on in (days - 1, days, days + 1):
        if valid_on < 2:
            continue
        expires = issued + timedelta(days=valid_on - 1)
        on_chain = expiry_seconds(expires) - issued_at_seconds(issued)
        assert validity_days(issued, expires) == valid_on
        registry_admits = on_chain <= days * 86_400
        assert (valid_on <= max_validity_days(days * 86_400)) == registry_admits


def test_cancel_request_takes_optional_reason() -> None:
    assert CancelRequest.model_validate({}).reason is None
    assert CancelRequest.model_validate({"reason": "typo in licence"}).reason == "typo in licence"
    assert errors_of(CancelRequest, {"reason": 3}) == [(("reason",), "string_type")]


# ----------------------------------------------------------------------------------------------
# Against the contract
# ----------------------------------------------------------------------------------------------


@pytest.mark.anvil
def test_to_contract_document_hash_equals_contract_hash_certificate(w3: Web3) -> None:
    _, address = deployed(w3)
    contract = registry(w3, address)
    mixed = CertificateDocument.model_validate(
        example(
            origin="MIXED",
            provenance="ZA",
            origin_zone="CF:Carnot",
            replaces="BW-2026-000001",
            issuing_authority="Ministère des Mines — 钻石办公室",
            lines=[*EXAMPLE["lines"], with_line(hs_code="7102.10", carats="0.01")["lines"][0]],
        )
    )

    for doc in (parsed_example(), mixed):
        cert = to_contract(doc, exporter_salt=new_salt(), importer_salt=new_salt())
        on_chain = bytes(contract.functions.hashCertificate(cert.to_abi()).call())
        assert on_chain == document_hash(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=address)


@pytest.mark.anvil
def test_to_contract_certificate_is_issued_and_matches_when_signed_by_authority(w3: Web3) -> None:
    _, address = deployed(w3)
    seed(w3, address, chain_id=DEVNET_CHAIN_ID)
    authority = LocalSigner(participant_account("BW", "authority"))
    today = datetime.now(UTC).date()
    doc = CertificateDocument.model_validate(
        example(
            origin="CF",  # restricted to zones on the devnet
            origin_zone="CF:Berberati",
            issued_at=today.isoformat(),
            expires_at=(today + timedelta(days=60)).isoformat(),
        )
    )
    cert = to_contract(doc, exporter_salt=new_salt(), importer_salt=new_salt())
    signature = authority.sign_typed_data(
        typed_data(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=address)
    )
    contract = registry(w3, address)

    TransactionSender(w3, authority, chain_id=DEVNET_CHAIN_ID).transact(
        contract.functions.issue(cert.to_abi(), authority.address, signature)
    )

    doc_hash = document_hash(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=address)
    assert contract.functions.matchesDocument(cert.certNo, doc_hash).call() is True
    record = contract.functions.certificate(cert.certNo).call()
    assert record[4] == expiry_seconds(doc.expires_at)


def test_domain_modules_import_neither_web3_nor_fastapi() -> None:
    code = (
        "import sys, kpchain.certificates.models, kpchain.certificates.views; "
        "print(sorted(m for m in ('web3', 'fastapi') if m in sys.modules))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
