"""The conversions between the document's units and the contract's: every conversion
round-trips with its inverse, raises DocumentInvalidError for what the other side cannot hold, and
the contract hashes `to_contract(document)` exactly as Python does."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st
from support_certificates import (
    HUNDREDTHS,
    RECEIVE,
    REGISTRY,
    SALT_A,
    SALT_B,
    documents,
    parsed_example,
    with_line,
)
from web3 import Web3

from helpers.documents import EXAMPLE, example
from kpchain.certificates.conversions import (
    canonical_json,
    carats_to_hundredths,
    cents_to_usd,
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
from kpchain.certificates.document import CertificateDocument, CertificateLine, Party
from kpchain.certificates.fields import UINT64_MAX
from kpchain.certificates.requests import (
    ReceiveRequest,
    RejectRequest,
    WithdrawRequest,
)
from kpchain.certificates.typed_data import (
    ZERO32,
    ZERO_CODE,
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
from kpchain.vocabulary import RejectionReasonLabel, WithdrawalReasonLabel


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
                origin=b"\0\0" if line.origin in (None, "MIXED") else line.origin.encode(),
                provenance=(line.provenance or "").encode().ljust(2, b"\0"),
                originZone=bytes(keccak(text=line.origin_zone)) if line.origin_zone else bytes(32),
            )
            for line in doc.lines
        ),
        issuedAt=midnight(doc.issued_at),
        expiresAt=midnight(doc.expires_at) + 86_399,
        issuingAuthority=doc.issuing_authority,
        replaces=doc.replaces.encode().ljust(32, b"\0") if doc.replaces else bytes(32),
    )


# ----------------------------------------------------------------------------------------------
# Amounts
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


# ----------------------------------------------------------------------------------------------
# HS codes
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------


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
        provenance=ZERO_CODE,
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

    assert (cert.origin, cert.provenance) == (ZERO_CODE, b"ZA")
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
        line_zones={
            zone_id(line.origin_zone): line.origin_zone for line in doc.lines if line.origin_zone
        },
    )

    assert again == doc


def test_to_contract_encodes_each_lines_own_origin_and_zeros_for_the_certificates() -> None:
    line = EXAMPLE["lines"][0]
    doc = CertificateDocument.model_validate(
        example(
            lines=[
                line,
                {**line, "origin": "MIXED", "provenance": "BE"},
                {**line, "origin": "CF", "origin_zone": "CF:Carnot"},
            ]
        )
    )

    cert = to_contract(doc, exporter_salt=SALT_A, importer_salt=SALT_B)

    assert [(ln.origin, ln.provenance, ln.originZone) for ln in cert.lines] == [
        (ZERO_CODE, ZERO_CODE, ZERO32),
        (ZERO_CODE, b"BE", ZERO32),
        (b"CF", ZERO_CODE, zone_id("CF:Carnot")),
    ]
    again = _from_contract(
        cert,
        exporter=doc.exporter,
        importer=doc.importer,
        line_zones={zone_id("CF:Carnot"): "CF:Carnot"},
    )
    assert again == doc
    with pytest.raises(DocumentInvalidError, match="zone"):
        _from_contract(cert, exporter=doc.exporter, importer=doc.importer)


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
# Shipping and receipt
# ----------------------------------------------------------------------------------------------


def test_seal_ref_hash_is_keccak_of_utf8_or_zero_when_none() -> None:
    assert seal_ref_hash(None) == ZERO32
    assert seal_ref_hash("SEAL-ñ") == keccak("SEAL-ñ".encode())


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


# ----------------------------------------------------------------------------------------------
# Reasons
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_rejection_reason_label_round_trips_every_contract_reason(
    reason: RejectionReason,
) -> None:
    label = rejection_reason_label(reason)

    assert rejection_reason_code(label) is reason
    assert RejectRequest.model_validate({"reason": label}).reason_code() is reason


def test_rejection_reason_labels_are_the_vocabulary() -> None:
    assert {rejection_reason_label(reason) for reason in RejectionReason} == set(
        RejectionReasonLabel
    )
    assert rejection_reason_label(1) == "seal_broken"


def test_rejection_reason_raises_document_invalid_when_unknown() -> None:
    with pytest.raises(DocumentInvalidError):
        rejection_reason_code("SEAL_BROKEN")
    with pytest.raises(DocumentInvalidError):
        rejection_reason_label(5)


@pytest.mark.parametrize("reason", list(WithdrawalReason))
def test_withdrawal_reason_label_round_trips_every_contract_reason(
    reason: WithdrawalReason,
) -> None:
    label = withdrawal_reason_label(reason)

    assert withdrawal_reason_code(label) is reason
    assert WithdrawRequest.model_validate({"reason": label}).reason_code() is reason


def test_withdrawal_reason_labels_are_the_vocabulary() -> None:
    assert {withdrawal_reason_label(reason) for reason in WithdrawalReason} == set(
        WithdrawalReasonLabel
    )
    assert withdrawal_reason_label(1) == "seized"


def test_withdrawal_reason_raises_document_invalid_when_unknown() -> None:
    with pytest.raises(DocumentInvalidError):
        withdrawal_reason_code("discrepancy")
    with pytest.raises(DocumentInvalidError):
        withdrawal_reason_label(4)


# ----------------------------------------------------------------------------------------------
# Validity in days
# ----------------------------------------------------------------------------------------------


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
