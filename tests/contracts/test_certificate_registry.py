"""CertificateRegistry: issuing (single, batch, replacement), shipping, receipt, rejection,
cancellation, withdrawal of a shipment, the maximum validity and batches of calls (multicall),
each with its stored record, its event and every revert it documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpchain.certificates.typed_data import ZERO32, ZERO_CODE, Certificate, Line
from kpchain.contracts.encoding import cert_number, zone_id
from kpchain.contracts.enums import (
    CertificateStatus,
    ParticipantStatus,
    RejectionReason,
    WithdrawalReason,
)

from support import emitted, event, issued_event, reverts

HOUR = 3_600
DAY = 86_400
GRACE = 30 * DAY  # the registry's default receipt grace period
BW, AE, EU, CF, BE, ZA = b"BW", b"AE", b"EU", b"CF", b"BE", b"ZA"
SEAL = keccak(text="seal BW-2026-000123 container C-77")
BERBERATI = zone_id("CF:Berberati")
BANGUI = zone_id("CF:Bangui")


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def record(
    cert: Certificate, status: CertificateStatus, doc_hash: bytes, *, replaced: bool = False
) -> tuple[Any, ...]:
    """The expected CertificateRecord of `cert`."""
    return (
        cert.exportingParticipant,
        cert.importingParticipant,
        status,
        replaced,
        cert.expiresAt,
        doc_hash[:21],
    )


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def cold_key(admitted: Any, accounts: Any, bw_admin: Any) -> Any:
    """A second BW authority: the validation key that signs what `bw_authority` submits."""
    account = accounts[8]
    admitted.addAuthority(BW, account, sender=bw_admin)
    return account


@pytest.fixture
def set_status(admitted: Any, governor: Any) -> Callable[[bytes, ParticipantStatus], Any]:
    def run(code: bytes, status: ParticipantStatus) -> Any:
        return admitted.setParticipantStatus(code, status, sender=governor)

    return run


@pytest.fixture
def confirmation(now: int) -> tuple[int, int, int, bytes]:
    """A valid Confirmation: (parcels, carats, receivedAt, confirmationHash), received today
    (00:00 UTC, as the service dates a receipt: never after the block's time)."""
    return (3, 123_450, now - now % DAY, keccak(text="AE import confirmation 2026/0001"))


@pytest.fixture
def certificate_in(
    admitted: Any,
    issue: Callable[..., Any],
    make_certificate: Callable[..., Certificate],
    bw_authority: Any,
    ae_authority: Any,
    confirmation: tuple[int, int, int, bytes],
) -> Callable[..., Certificate]:
    """Brings a new BW -> AE certificate to `status` (a stored one) and returns it."""

    def reach(status: CertificateStatus, number: str = "BW-2026-000123") -> Certificate:
        cert = make_certificate(number)
        issue(cert)
        if status == CertificateStatus.CANCELLED:
            admitted.cancel(cert.certNo, sender=bw_authority)
        if status in (
            CertificateStatus.SHIPPED,
            CertificateStatus.RECEIVED,
            CertificateStatus.REJECTED,
        ):
            admitted.ship(cert.certNo, SEAL, sender=bw_authority)
        if status == CertificateStatus.RECEIVED:
            admitted.confirmReceipt(cert.certNo, confirmation, sender=ae_authority)
        if status == CertificateStatus.REJECTED:
            admitted.reject(cert.certNo, RejectionReason.OTHER, sender=ae_authority)
        return cert

    return reach


@pytest.fixture
def restricted_cf(admitted: Any, governor: Any, accounts: Any) -> Any:
    """CF admitted as a restricted origin, with Berberati its one allowed zone."""
    admitted.admitParticipant(CF, accounts[9], sender=governor)
    admitted.setOriginRestriction(CF, True, sender=governor)
    admitted.setOriginZone(CF, BERBERATI, True, sender=governor)
    return admitted


def withdrawable(admitted: Any, governor: Any, certificate_in: Any) -> Certificate:
    """A BW -> AE certificate shipped, then AE suspended: what BW may withdraw."""
    cert = certificate_in(CertificateStatus.SHIPPED)
    admitted.setParticipantStatus(AE, ParticipantStatus.SUSPENDED, sender=governor)
    return cert


def after_expiry(chain: Any, cert: Certificate) -> None:
    """Mines a block one second past `cert`'s expiry, so reads and later blocks see it expired."""
    chain.mine(timestamp=cert.expiresAt + 1)


# ----------------------------------------------------------------------------------------------
# issue: success
# ----------------------------------------------------------------------------------------------


def test_issue_stores_record_when_document_valid(
    admitted: Any, issue: Any, make_certificate: Any, doc_hash: Any
) -> None:
    cert = make_certificate()

    issue(cert)

    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.ISSUED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED
    assert admitted.matchesDocument(cert.certNo, doc_hash(cert))


def test_issue_emits_certificate_issued_with_every_document_field(
    admitted: Any, issue: Any, make_certificate: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = make_certificate()

    receipt = issue(cert)

    assert emitted(receipt) == [issued_event(admitted, cert, doc_hash(cert), bw_authority)]


def test_issue_returns_document_hash(
    admitted: Any, make_certificate: Any, sign: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = make_certificate()

    returned = admitted.issue.call(
        cert.to_abi(), bw_authority, sign(cert, bw_authority), sender=bw_authority
    )

    assert returned == doc_hash(cert)


def test_issue_succeeds_when_signer_is_another_authority_of_exporter(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    doc_hash: Any,
    bw_authority: Any,
    cold_key: Any,
) -> None:
    cert = make_certificate()

    receipt = issue(cert, sender=bw_authority, signer=cold_key)

    assert emitted(receipt) == [issued_event(admitted, cert, doc_hash(cert), cold_key)]
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED


def test_issue_emits_every_line_when_many_lines_and_mixed_origin(
    admitted: Any, issue: Any, make_certificate: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = make_certificate(
        origin=ZERO_CODE,
        provenance=BE,
        lines=(
            Line(hsCode=710210, carats=1, valueUsdCents=0, parcels=1),
            Line(hsCode=710221, carats=2**64 - 1, valueUsdCents=2**64 - 1, parcels=2**32 - 1),
            Line(hsCode=710231, carats=500, valueUsdCents=1_000, parcels=2),
        ),
        issuingAuthority="Ministère des Mines — Bureau d'Évaluation",
    )

    receipt = issue(cert)

    assert emitted(receipt) == [issued_event(admitted, cert, doc_hash(cert), bw_authority)]
    assert admitted.matchesDocument(cert.certNo, doc_hash(cert))


def test_issue_succeeds_when_restricted_origin_names_allowed_zone(
    restricted_cf: Any, issue: Any, make_certificate: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = make_certificate(origin=CF, originZone=BERBERATI)

    receipt = issue(cert)

    assert emitted(receipt) == [issued_event(restricted_cf, cert, doc_hash(cert), bw_authority)]


def test_issue_succeeds_when_issue_date_equals_expiry(
    admitted: Any, issue: Any, make_certificate: Any, now: int
) -> None:
    cert = make_certificate(issuedAt=now + HOUR, expiresAt=now + HOUR)

    issue(cert)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED


def test_issue_succeeds_when_issue_date_begins_14_hours_after_block_time(
    admitted: Any, issue: Any, make_certificate: Any, chain: Any, now: int
) -> None:
    # Dated tomorrow (00:00 UTC) by an exporter at UTC+14, whose tomorrow has begun.
    block_time = now + 100
    cert = make_certificate(issuedAt=block_time + 14 * HOUR, expiresAt=block_time + 30 * DAY)
    chain.pending_timestamp = block_time

    receipt = issue(cert)

    assert receipt.timestamp == block_time
    assert admitted.MAX_ISSUE_DATE_LEAD() == 14 * HOUR
    assert admitted.certificate(cert.certNo).status == CertificateStatus.ISSUED


def test_issue_reverts_when_issue_date_begins_over_14_hours_after_block_time(
    admitted: Any, issue: Any, make_certificate: Any, chain: Any, now: int
) -> None:
    block_time = now + 100
    issued_at = block_time + 14 * HOUR + 1
    cert = make_certificate(issuedAt=issued_at, expiresAt=block_time + 30 * DAY)
    chain.pending_timestamp = block_time

    with reverts(admitted.CertificateIssueDateInFuture, certNo=cert.certNo, issuedAt=issued_at):
        issue(cert)


def test_issue_succeeds_when_expiry_one_second_after_block_time(
    admitted: Any, issue: Any, make_certificate: Any, chain: Any, now: int
) -> None:
    block_time = now + 100
    cert = make_certificate(issuedAt=block_time, expiresAt=block_time + 1)
    chain.pending_timestamp = block_time

    receipt = issue(cert)

    assert receipt.timestamp == block_time
    assert admitted.certificate(cert.certNo).status == CertificateStatus.ISSUED


def test_matches_document_false_when_hash_differs(
    admitted: Any, issue: Any, make_certificate: Any, doc_hash: Any
) -> None:
    cert = make_certificate()
    issue(cert)

    other = make_certificate(issuingAuthority="Another Office")

    assert not admitted.matchesDocument(cert.certNo, doc_hash(other))


def test_matches_document_false_when_certificate_unknown(admitted: Any) -> None:
    # The zero hash equals the empty record's prefix: only the status tells them apart.
    assert not admitted.matchesDocument(cert_number("BW-UNKNOWN"), ZERO32)


def test_certificate_reads_empty_record_when_unknown(admitted: Any) -> None:
    unknown = cert_number("BW-UNKNOWN")

    assert admitted.certificate(unknown) == (b"\x00\x00", b"\x00\x00", 0, False, 0, bytes(21))
    assert admitted.certificateStatus(unknown) == CertificateStatus.NONE


# ----------------------------------------------------------------------------------------------
# issue: reverts
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CertificateStatus.ISSUED, CertificateStatus.CANCELLED])
def test_issue_reverts_when_certificate_number_used(
    admitted: Any, issue: Any, certificate_in: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    with reverts(admitted.CertificateAlreadyExists, certNo=cert.certNo):
        issue(cert)


@pytest.mark.parametrize(
    "number",
    ["AE-2026-000123", "bw-2026-000123", "XBW-2026"],
)
def test_issue_reverts_when_certificate_number_not_prefixed_by_exporter(
    admitted: Any, issue: Any, make_certificate: Any, number: str
) -> None:
    cert = make_certificate(number)

    with reverts(admitted.CertificateNumberInvalid, certNo=cert.certNo, exportingParticipant=BW):
        issue(cert)


def is_valid_number(raw: bytes, exporter: bytes) -> bool:
    """The contract's rule for a certificate number, as documented on CertificateNumberInvalid:
    printable ASCII without spaces (0x21-0x7E), left-aligned and zero-padded, starting with the
    exporter's code."""
    text = raw.rstrip(b"\x00")
    return text[:2] == exporter and all(0x21 <= char <= 0x7E for char in text)


VALID_NUMBERS = {
    "code-only": b"BW",
    "boundary-chars": b"BW!~",
    "full-word": b"BW-" + b"9" * 29,
}
INVALID_NUMBERS = {
    "not-ascii": b"BW-2026-\xe9",
    "high-bit": b"BW-2026-\x80",
    "control": b"BW-2026-\x01",
    "space": b"BW 2026",
    "del": b"BW-2026-\x7f",
    "not-left-aligned": b"BW-2026-1\x00\x00X",
    "last-byte-after-gap": b"BW".ljust(31, b"\x00") + b"X",
}


@pytest.mark.parametrize("raw", VALID_NUMBERS.values(), ids=VALID_NUMBERS.keys())
def test_issue_succeeds_when_certificate_number_printable_left_aligned(
    admitted: Any, issue: Any, make_certificate: Any, raw: bytes
) -> None:
    cert = make_certificate(certNo=raw.ljust(32, b"\x00"))

    issue(cert)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED


@pytest.mark.parametrize("raw", INVALID_NUMBERS.values(), ids=INVALID_NUMBERS.keys())
def test_issue_reverts_when_certificate_number_not_printable_left_aligned(
    admitted: Any, issue: Any, make_certificate: Any, raw: bytes
) -> None:
    cert = make_certificate(certNo=raw.ljust(32, b"\x00"))

    with reverts(admitted.CertificateNumberInvalid, certNo=cert.certNo, exportingParticipant=BW):
        issue(cert)


# Bytes on the edges of the contract's word-at-once (SWAR) check.
EDGE_BYTES = [0x00, 0x01, 0x20, 0x21, 0x7E, 0x7F, 0x80, 0xFF]
# Printable characters but the single quote: ape 0.8's py-evm provider cannot decode a custom
# error whose revert data holds 0x27 and no 0x22 (ape_test/provider.py only parses the b'...'
# repr of the data, and Python writes such bytes as b"..."), so the revert would read as
# undecoded there. The concrete examples above need no quote.
PRINTABLE = [char for char in range(0x21, 0x7F) if char != 0x27]


@st.composite
def certificate_numbers(draw: st.DrawFn) -> bytes:
    """BW numbers of printable characters, most with one edge byte somewhere."""
    chars = draw(st.lists(st.sampled_from(PRINTABLE), max_size=30))
    if chars and draw(st.integers(min_value=0, max_value=3)):
        chars[draw(st.integers(min_value=0, max_value=len(chars) - 1))] = draw(
            st.sampled_from(EDGE_BYTES)
        )
    return (BW + bytes(chars)).ljust(32, b"\x00")


@settings(
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=certificate_numbers())
def test_issue_accepts_certificate_number_exactly_when_printable_left_aligned(
    admitted: Any, issue: Any, make_certificate: Any, chain: Any, raw: bytes
) -> None:
    cert = make_certificate(certNo=raw)
    # Examples share the test's chain: each one starts from the same state.
    snapshot = chain.snapshot()
    try:
        if is_valid_number(raw, BW):
            issue(cert)
            assert admitted.certificateStatus(raw) == CertificateStatus.ISSUED
        else:
            with reverts(admitted.CertificateNumberInvalid, certNo=raw, exportingParticipant=BW):
                issue(cert)
    finally:
        chain.restore(snapshot)


def test_issue_reverts_when_expiry_in_past(
    admitted: Any, issue: Any, make_certificate: Any, now: int
) -> None:
    cert = make_certificate(issuedAt=now - 10 * DAY, expiresAt=now - DAY)

    with reverts(admitted.CertificateDatesInvalid, issuedAt=now - 10 * DAY, expiresAt=now - DAY):
        issue(cert)


def test_issue_reverts_when_expiry_equals_block_time(
    admitted: Any, issue: Any, make_certificate: Any, chain: Any, now: int
) -> None:
    block_time = now + 100
    cert = make_certificate(issuedAt=now, expiresAt=block_time)
    chain.pending_timestamp = block_time

    with reverts(admitted.CertificateDatesInvalid, issuedAt=now, expiresAt=block_time):
        issue(cert)


def test_issue_succeeds_when_validity_equals_max_validity(
    admitted: Any, issue: Any, make_certificate: Any, now: int
) -> None:
    cert = make_certificate(issuedAt=now, expiresAt=now + 180 * DAY)

    issue(cert)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED


def test_issue_reverts_when_validity_exceeds_max_validity(
    admitted: Any, issue: Any, make_certificate: Any, now: int
) -> None:
    cert = make_certificate(issuedAt=now, expiresAt=now + 180 * DAY + 1)

    with reverts(
        admitted.CertificateValidityTooLong,
        certNo=cert.certNo,
        validity=180 * DAY + 1,
        maxValidity=180 * DAY,
    ):
        issue(cert)


def test_issue_reverts_when_issued_long_ago_and_expiry_within_max_validity_from_now(
    admitted: Any, issue: Any, make_certificate: Any, now: int
) -> None:
    # Validity runs from the issue date, not from the block: back-dating does not extend it.
    cert = make_certificate(issuedAt=now - 150 * DAY, expiresAt=now + 31 * DAY)

    with reverts(
        admitted.CertificateValidityTooLong,
        certNo=cert.certNo,
        validity=181 * DAY,
        maxValidity=180 * DAY,
    ):
        issue(cert)


def test_issue_reverts_when_validity_exceeds_max_validity_set_by_governor(
    admitted: Any, issue: Any, make_certificate: Any, governor: Any, now: int
) -> None:
    admitted.setMaxValidity(30 * DAY, sender=governor)
    cert = make_certificate(issuedAt=now, expiresAt=now + 30 * DAY + 1)

    with reverts(
        admitted.CertificateValidityTooLong,
        certNo=cert.certNo,
        validity=30 * DAY + 1,
        maxValidity=30 * DAY,
    ):
        issue(cert)


def test_issue_reverts_when_issue_date_after_expiry(
    admitted: Any, issue: Any, make_certificate: Any, now: int
) -> None:
    cert = make_certificate(issuedAt=now + 2 * DAY, expiresAt=now + DAY)

    with reverts(admitted.CertificateDatesInvalid, issuedAt=now + 2 * DAY, expiresAt=now + DAY):
        issue(cert)


def test_issue_reverts_when_lines_empty(admitted: Any, issue: Any, make_certificate: Any) -> None:
    cert = make_certificate(lines=())

    with reverts(admitted.CertificateLinesEmpty, certNo=cert.certNo):
        issue(cert)


GOOD_LINE = Line(hsCode=710210, carats=100, valueUsdCents=5_000, parcels=1)
BAD_LINES = {
    "hs-code-710220": replace(GOOD_LINE, hsCode=710220),
    "hs-code-710232": replace(GOOD_LINE, hsCode=710232),
    "zero-carats": replace(GOOD_LINE, carats=0),
    "zero-parcels": replace(GOOD_LINE, parcels=0),
}


@pytest.mark.parametrize("bad_line", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_issue_reverts_when_line_invalid(
    admitted: Any, issue: Any, make_certificate: Any, bad_line: Line
) -> None:
    cert = make_certificate(lines=(GOOD_LINE, bad_line, GOOD_LINE))

    with reverts(admitted.CertificateLineInvalid, certNo=cert.certNo, index=1):
        issue(cert)


@pytest.mark.parametrize(
    ("origin", "provenance"),
    [(ZERO_CODE, ZERO_CODE), (BW, BE)],
    ids=["mixed-without-provenance", "unmixed-with-provenance"],
)
def test_issue_reverts_when_origin_and_provenance_inconsistent(
    admitted: Any, issue: Any, make_certificate: Any, origin: bytes, provenance: bytes
) -> None:
    cert = make_certificate(origin=origin, provenance=provenance)

    with reverts(admitted.CertificateOriginInvalid, origin=origin, provenance=provenance):
        issue(cert)


@pytest.mark.parametrize("zone", [ZERO32, BANGUI], ids=["no-zone", "zone-not-allowed"])
def test_issue_reverts_when_restricted_origin_zone_not_allowed(
    restricted_cf: Any, issue: Any, make_certificate: Any, zone: bytes
) -> None:
    cert = make_certificate(origin=CF, originZone=zone)

    with reverts(restricted_cf.OriginZoneNotAllowed, origin=CF, zone=zone):
        issue(cert)


def test_issue_reverts_when_zone_disallowed_again(
    restricted_cf: Any, issue: Any, make_certificate: Any, governor: Any
) -> None:
    restricted_cf.setOriginZone(CF, BERBERATI, False, sender=governor)
    cert = make_certificate(origin=CF, originZone=BERBERATI)

    with reverts(restricted_cf.OriginZoneNotAllowed, origin=CF, zone=BERBERATI):
        issue(cert)


def test_issue_reverts_when_importer_is_exporter(
    admitted: Any, issue: Any, make_certificate: Any
) -> None:
    cert = make_certificate(importingParticipant=BW)

    with reverts(admitted.ParticipantsIdentical, code=BW):
        issue(cert)


@pytest.mark.parametrize("status", [ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN])
def test_issue_reverts_when_importer_not_active(
    admitted: Any, issue: Any, make_certificate: Any, set_status: Any, status: ParticipantStatus
) -> None:
    set_status(AE, status)
    cert = make_certificate()

    with reverts(admitted.ParticipantNotActive, code=AE):
        issue(cert)


def test_issue_reverts_when_importer_never_admitted(
    admitted: Any, issue: Any, make_certificate: Any
) -> None:
    cert = make_certificate(importingParticipant=ZA)

    with reverts(admitted.ParticipantNotActive, code=ZA):
        issue(cert)


def test_issue_reverts_when_exporter_suspended(
    admitted: Any, issue: Any, make_certificate: Any, set_status: Any
) -> None:
    set_status(BW, ParticipantStatus.SUSPENDED)
    cert = make_certificate()

    with reverts(admitted.ParticipantNotActive, code=BW):
        issue(cert)


@pytest.mark.parametrize("sender_name", ["ae_authority", "bw_admin"])
def test_issue_reverts_when_sender_not_authority_of_exporter(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    request: pytest.FixtureRequest,
    bw_authority: Any,
    sender_name: str,
) -> None:
    sender = request.getfixturevalue(sender_name)
    cert = make_certificate()

    with reverts(admitted.UnauthorizedAuthority, account=sender.address, participant=BW):
        issue(cert, sender=sender, signer=bw_authority)


def test_issue_reverts_when_sender_authority_revoked(
    admitted: Any, issue: Any, make_certificate: Any, bw_admin: Any, bw_authority: Any
) -> None:
    admitted.revokeAuthority(BW, bw_authority, sender=bw_admin)
    cert = make_certificate()

    with reverts(admitted.UnauthorizedAuthority, account=bw_authority.address, participant=BW):
        issue(cert)


@pytest.mark.parametrize("signer_name", ["ae_authority", "stranger"])
def test_issue_reverts_when_signer_not_authority_of_exporter(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    request: pytest.FixtureRequest,
    bw_authority: Any,
    signer_name: str,
) -> None:
    signer = request.getfixturevalue(signer_name)
    cert = make_certificate()

    with reverts(admitted.UnauthorizedAuthority, account=signer.address, participant=BW):
        issue(cert, sender=bw_authority, signer=signer)


def test_issue_reverts_when_signer_authority_revoked(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    bw_admin: Any,
    bw_authority: Any,
    cold_key: Any,
) -> None:
    admitted.revokeAuthority(BW, cold_key, sender=bw_admin)
    cert = make_certificate()

    with reverts(admitted.UnauthorizedAuthority, account=cold_key.address, participant=BW):
        issue(cert, sender=bw_authority, signer=cold_key)


def test_issue_reverts_when_signature_by_another_key(
    admitted: Any, make_certificate: Any, sign: Any, bw_authority: Any, cold_key: Any
) -> None:
    cert = make_certificate()

    with reverts(
        admitted.DocumentSignatureInvalid, certNo=cert.certNo, signer=bw_authority.address
    ):
        admitted.issue(cert.to_abi(), bw_authority, sign(cert, cold_key), sender=bw_authority)


@pytest.mark.parametrize("signature", [b"", bytes(65)], ids=["empty", "zero-65-bytes"])
def test_issue_reverts_when_signature_malformed(
    admitted: Any, make_certificate: Any, bw_authority: Any, signature: bytes
) -> None:
    cert = make_certificate()

    with reverts(
        admitted.DocumentSignatureInvalid, certNo=cert.certNo, signer=bw_authority.address
    ):
        admitted.issue(cert.to_abi(), bw_authority, signature, sender=bw_authority)


def test_issue_reverts_when_signature_over_another_certificate(
    admitted: Any, make_certificate: Any, sign: Any, bw_authority: Any
) -> None:
    cert = make_certificate("BW-2026-000123")
    other = make_certificate("BW-2026-000124")

    with reverts(
        admitted.DocumentSignatureInvalid, certNo=cert.certNo, signer=bw_authority.address
    ):
        admitted.issue(cert.to_abi(), bw_authority, sign(other, bw_authority), sender=bw_authority)


# ----------------------------------------------------------------------------------------------
# issue: replacement
# ----------------------------------------------------------------------------------------------


def test_issue_marks_replaced_certificate_when_replaces_cancelled_one(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    certificate_in: Any,
    doc_hash: Any,
    bw_authority: Any,
) -> None:
    old = certificate_in(CertificateStatus.CANCELLED, "BW-2026-000001")
    new = make_certificate("BW-2026-000002", replaces=old.certNo)

    receipt = issue(new)

    assert emitted(receipt) == [issued_event(admitted, new, doc_hash(new), bw_authority)]
    assert admitted.certificate(old.certNo) == record(
        old, CertificateStatus.CANCELLED, doc_hash(old), replaced=True
    )
    assert admitted.certificate(new.certNo) == record(new, CertificateStatus.ISSUED, doc_hash(new))


def test_issue_marks_replaced_certificate_when_replaces_withdrawn_shipment(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    certificate_in: Any,
    doc_hash: Any,
    governor: Any,
    bw_authority: Any,
) -> None:
    old = withdrawable(admitted, governor, certificate_in)
    admitted.withdrawShipment(old.certNo, WithdrawalReason.RETURNED, sender=bw_authority)
    admitted.setParticipantStatus(AE, ParticipantStatus.ACTIVE, sender=governor)
    new = make_certificate("BW-2026-000002", replaces=old.certNo)

    issue(new)

    assert admitted.certificate(old.certNo) == record(
        old, CertificateStatus.CANCELLED, doc_hash(old), replaced=True
    )


def test_issue_reverts_when_replaced_certificate_unknown(
    admitted: Any, issue: Any, make_certificate: Any
) -> None:
    unknown = cert_number("BW-2026-000999")
    cert = make_certificate(replaces=unknown)

    with reverts(admitted.CertificateNotFound, certNo=unknown):
        issue(cert)


def test_issue_marks_replaced_certificate_when_replaces_rejected_one(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    certificate_in: Any,
    doc_hash: Any,
    bw_authority: Any,
) -> None:
    old = certificate_in(CertificateStatus.REJECTED, "BW-2026-000001")
    new = make_certificate("BW-2026-000002", replaces=old.certNo)

    receipt = issue(new)

    assert emitted(receipt) == [issued_event(admitted, new, doc_hash(new), bw_authority)]
    assert admitted.certificate(old.certNo) == record(
        old, CertificateStatus.REJECTED, doc_hash(old), replaced=True
    )
    assert admitted.certificate(new.certNo) == record(new, CertificateStatus.ISSUED, doc_hash(new))


@pytest.mark.parametrize(
    "status",
    [CertificateStatus.ISSUED, CertificateStatus.SHIPPED, CertificateStatus.RECEIVED],
)
def test_issue_reverts_when_replaced_certificate_neither_cancelled_nor_rejected(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    certificate_in: Any,
    status: CertificateStatus,
) -> None:
    old = certificate_in(status, "BW-2026-000001")
    new = make_certificate("BW-2026-000002", replaces=old.certNo)

    with reverts(admitted.ReplacementInvalid, certNo=new.certNo, replaces=old.certNo):
        issue(new)


def test_issue_reverts_when_replaced_certificate_of_another_exporter(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    ae_authority: Any,
) -> None:
    old = make_certificate("AE-2026-000001", exportingParticipant=AE, importingParticipant=BW)
    issue(old, sender=ae_authority)
    admitted.cancel(old.certNo, sender=ae_authority)
    new = make_certificate("BW-2026-000002", replaces=old.certNo)

    with reverts(admitted.ReplacementInvalid, certNo=new.certNo, replaces=old.certNo):
        issue(new)


@pytest.mark.parametrize("status", [CertificateStatus.CANCELLED, CertificateStatus.REJECTED])
def test_issue_reverts_when_replaced_certificate_replaced_already(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    certificate_in: Any,
    status: CertificateStatus,
) -> None:
    old = certificate_in(status, "BW-2026-000001")
    issue(make_certificate("BW-2026-000002", replaces=old.certNo))
    again = make_certificate("BW-2026-000003", replaces=old.certNo)

    with reverts(admitted.ReplacementInvalid, certNo=again.certNo, replaces=old.certNo):
        issue(again)


def test_issue_leaves_replaced_certificate_unmarked_when_signature_invalid(
    admitted: Any,
    make_certificate: Any,
    certificate_in: Any,
    sign: Any,
    doc_hash: Any,
    bw_authority: Any,
    cold_key: Any,
) -> None:
    old = certificate_in(CertificateStatus.CANCELLED, "BW-2026-000001")
    new = make_certificate("BW-2026-000002", replaces=old.certNo)

    with reverts(admitted.DocumentSignatureInvalid, certNo=new.certNo, signer=bw_authority.address):
        admitted.issue(new.to_abi(), bw_authority, sign(new, cold_key), sender=bw_authority)

    assert admitted.certificate(old.certNo) == record(
        old, CertificateStatus.CANCELLED, doc_hash(old), replaced=False
    )


# ----------------------------------------------------------------------------------------------
# issue: lines of several origins
# ----------------------------------------------------------------------------------------------

SEVERAL_ORIGINS = (
    GOOD_LINE,  # the certificate's origin (BW)
    replace(GOOD_LINE, origin=ZA),  # of another origin
    replace(GOOD_LINE, hsCode=710231, provenance=BE),  # mixed, last exported from BE
    replace(GOOD_LINE, hsCode=710221, origin=CF, originZone=BERBERATI),  # a restricted origin
)


def test_issue_emits_each_lines_origin_when_lines_differ_in_origin(
    restricted_cf: Any, issue: Any, make_certificate: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = make_certificate(lines=SEVERAL_ORIGINS)

    receipt = issue(cert)

    assert emitted(receipt) == [issued_event(restricted_cf, cert, doc_hash(cert), bw_authority)]
    assert restricted_cf.certificate(cert.certNo) == record(
        cert, CertificateStatus.ISSUED, doc_hash(cert)
    )
    assert restricted_cf.hashCertificate(cert.to_abi()) == doc_hash(cert)


@pytest.mark.parametrize(
    ("line", "origin", "provenance"),
    [
        (replace(GOOD_LINE, origin=ZA, provenance=BE), ZA, BE),
        (replace(GOOD_LINE, originZone=BERBERATI), ZERO_CODE, ZERO_CODE),
    ],
    ids=["origin-with-provenance", "zone-without-origin"],
)
def test_issue_reverts_when_line_origin_invalid(
    admitted: Any,
    issue: Any,
    make_certificate: Any,
    line: Line,
    origin: bytes,
    provenance: bytes,
) -> None:
    cert = make_certificate(lines=(GOOD_LINE, line))

    with reverts(
        admitted.LineOriginInvalid,
        certNo=cert.certNo,
        index=1,
        origin=origin,
        provenance=provenance,
    ):
        issue(cert)


@pytest.mark.parametrize("zone", [BANGUI, ZERO32], ids=["zone-not-allowed", "no-zone"])
def test_issue_reverts_when_line_origin_restricted_and_zone_not_allowed(
    restricted_cf: Any, issue: Any, make_certificate: Any, zone: bytes
) -> None:
    line = replace(GOOD_LINE, origin=CF, originZone=zone)
    cert = make_certificate(lines=(GOOD_LINE, GOOD_LINE, line))

    with reverts(
        restricted_cf.LineOriginZoneNotAllowed,
        certNo=cert.certNo,
        index=2,
        origin=CF,
        zone=zone,
    ):
        issue(cert)


def test_issue_succeeds_when_certificate_origin_restricted_and_other_lines_of_other_origins(
    restricted_cf: Any, issue: Any, make_certificate: Any
) -> None:
    # The certificate's zone covers the lines of its origin; a line of another origin needs none.
    cert = make_certificate(
        origin=CF, originZone=BERBERATI, lines=(GOOD_LINE, replace(GOOD_LINE, origin=ZA))
    )

    issue(cert)

    assert restricted_cf.certificateStatus(cert.certNo) == CertificateStatus.ISSUED


# ----------------------------------------------------------------------------------------------
# issueBatch
# ----------------------------------------------------------------------------------------------

BATCH_NUMBERS = ["BW-2026-000101", "BW-2026-000102", "BW-2026-000103"]


@pytest.fixture
def issue_batch(admitted: Any, sign: Any, bw_authority: Any) -> Callable[..., Any]:
    """Issues `certs` in one batch, each signed by `signer` (default: the sender)."""

    def run(certs: list[Certificate], *, sender: Any = None, signer: Any = None) -> Any:
        sender = sender or bw_authority
        signer = signer or sender
        signatures = [sign(cert, signer) for cert in certs]
        return admitted.issueBatch([c.to_abi() for c in certs], signer, signatures, sender=sender)

    return run


def test_issue_batch_stores_every_certificate_and_emits_in_order(
    admitted: Any,
    issue_batch: Any,
    make_certificate: Any,
    doc_hash: Any,
    bw_authority: Any,
    cold_key: Any,
) -> None:
    certs = [make_certificate(number) for number in BATCH_NUMBERS]

    receipt = issue_batch(certs, signer=cold_key)

    assert emitted(receipt) == [
        issued_event(admitted, cert, doc_hash(cert), cold_key) for cert in certs
    ]
    for cert in certs:
        assert admitted.certificate(cert.certNo) == record(
            cert, CertificateStatus.ISSUED, doc_hash(cert)
        )


def test_issue_batch_returns_document_hashes_in_order(
    admitted: Any, make_certificate: Any, sign: Any, doc_hash: Any, bw_authority: Any
) -> None:
    certs = [make_certificate(number) for number in BATCH_NUMBERS]

    returned = admitted.issueBatch.call(
        [c.to_abi() for c in certs],
        bw_authority,
        [sign(c, bw_authority) for c in certs],
        sender=bw_authority,
    )

    assert list(returned) == [doc_hash(cert) for cert in certs]


@pytest.mark.parametrize(("certificates", "signatures"), [(0, 0), (2, 1), (1, 2)])
def test_issue_batch_reverts_when_counts_invalid(
    admitted: Any,
    make_certificate: Any,
    sign: Any,
    bw_authority: Any,
    certificates: int,
    signatures: int,
) -> None:
    certs = [make_certificate(number) for number in BATCH_NUMBERS[:certificates]]
    signed = [sign(make_certificate(number), bw_authority) for number in BATCH_NUMBERS]

    with reverts(admitted.BatchInvalid, certificates=certificates, signatures=signatures):
        admitted.issueBatch(
            [c.to_abi() for c in certs], bw_authority, signed[:signatures], sender=bw_authority
        )


def test_issue_batch_stores_nothing_when_one_certificate_invalid(
    admitted: Any, issue_batch: Any, make_certificate: Any
) -> None:
    first, third = make_certificate(BATCH_NUMBERS[0]), make_certificate(BATCH_NUMBERS[2])
    bad = make_certificate(BATCH_NUMBERS[1], lines=(replace(GOOD_LINE, carats=0),))

    with reverts(admitted.CertificateLineInvalid, certNo=bad.certNo, index=0):
        issue_batch([first, bad, third])

    for cert in (first, bad, third):
        assert admitted.certificateStatus(cert.certNo) == CertificateStatus.NONE


def test_issue_batch_stores_nothing_when_last_signature_invalid(
    admitted: Any, make_certificate: Any, sign: Any, bw_authority: Any, cold_key: Any
) -> None:
    certs = [make_certificate(number) for number in BATCH_NUMBERS]
    signatures = [sign(certs[0], bw_authority), sign(certs[1], bw_authority)]
    signatures.append(sign(certs[2], cold_key))

    with reverts(
        admitted.DocumentSignatureInvalid, certNo=certs[2].certNo, signer=bw_authority.address
    ):
        admitted.issueBatch(
            [c.to_abi() for c in certs], bw_authority, signatures, sender=bw_authority
        )

    for cert in certs:
        assert admitted.certificateStatus(cert.certNo) == CertificateStatus.NONE


def test_issue_batch_stores_nothing_when_one_certificate_valid_too_long(
    admitted: Any, issue_batch: Any, make_certificate: Any, now: int
) -> None:
    first, third = make_certificate(BATCH_NUMBERS[0]), make_certificate(BATCH_NUMBERS[2])
    long = make_certificate(BATCH_NUMBERS[1], issuedAt=now, expiresAt=now + 365 * DAY)

    with reverts(
        admitted.CertificateValidityTooLong,
        certNo=long.certNo,
        validity=365 * DAY,
        maxValidity=180 * DAY,
    ):
        issue_batch([first, long, third])

    for cert in (first, long, third):
        assert admitted.certificateStatus(cert.certNo) == CertificateStatus.NONE


def test_issue_batch_reverts_when_number_repeated(
    admitted: Any, issue_batch: Any, make_certificate: Any
) -> None:
    cert = make_certificate(BATCH_NUMBERS[0])

    with reverts(admitted.CertificateAlreadyExists, certNo=cert.certNo):
        issue_batch([cert, cert])

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.NONE


def test_issue_batch_reverts_when_certificate_of_another_exporter(
    admitted: Any, issue_batch: Any, make_certificate: Any, bw_authority: Any
) -> None:
    # One participant issues the whole batch: an AE certificate in second place is refused.
    ours = make_certificate(BATCH_NUMBERS[0])
    theirs = make_certificate("AE-2026-000001", exportingParticipant=AE, importingParticipant=BW)

    with reverts(admitted.UnauthorizedAuthority, account=bw_authority.address, participant=AE):
        issue_batch([ours, theirs])


def test_issue_batch_reverts_when_sender_not_authority_of_exporter(
    admitted: Any, issue_batch: Any, make_certificate: Any, ae_authority: Any, bw_authority: Any
) -> None:
    certs = [make_certificate(number) for number in BATCH_NUMBERS]

    with reverts(admitted.UnauthorizedAuthority, account=ae_authority.address, participant=BW):
        issue_batch(certs, sender=ae_authority, signer=bw_authority)


def test_issue_batch_reverts_when_signer_not_authority_of_exporter(
    admitted: Any, issue_batch: Any, make_certificate: Any, ae_authority: Any, bw_authority: Any
) -> None:
    certs = [make_certificate(number) for number in BATCH_NUMBERS]

    with reverts(admitted.UnauthorizedAuthority, account=ae_authority.address, participant=BW):
        issue_batch(certs, sender=bw_authority, signer=ae_authority)


def test_issue_batch_reverts_when_exporter_not_active(
    admitted: Any, issue_batch: Any, make_certificate: Any, set_status: Any
) -> None:
    set_status(BW, ParticipantStatus.SUSPENDED)
    certs = [make_certificate(number) for number in BATCH_NUMBERS]

    with reverts(admitted.ParticipantNotActive, code=BW):
        issue_batch(certs)


# ----------------------------------------------------------------------------------------------
# ship
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seal", [SEAL, ZERO32], ids=["seal", "no-seal"])
def test_ship_marks_certificate_shipped_and_emits_event(
    admitted: Any, certificate_in: Any, doc_hash: Any, bw_authority: Any, seal: bytes
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)

    receipt = admitted.ship(cert.certNo, seal, sender=bw_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateShipped,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=bw_authority.address,
            sealRef=seal,
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.SHIPPED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.SHIPPED


def test_ship_succeeds_when_sent_by_another_authority_of_exporter(
    admitted: Any, certificate_in: Any, cold_key: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)

    receipt = admitted.ship(cert.certNo, SEAL, sender=cold_key)

    assert receipt.events[0].authority == cold_key.address
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.SHIPPED


def test_ship_succeeds_when_block_time_equals_expiry(
    admitted: Any, certificate_in: Any, chain: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)
    chain.pending_timestamp = cert.expiresAt

    receipt = admitted.ship(cert.certNo, SEAL, sender=bw_authority)

    assert receipt.timestamp == cert.expiresAt
    assert admitted.certificate(cert.certNo).status == CertificateStatus.SHIPPED


def test_ship_reverts_when_certificate_expired(
    admitted: Any, certificate_in: Any, chain: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)
    after_expiry(chain, cert)

    with reverts(admitted.CertificateExpired, certNo=cert.certNo, expiresAt=cert.expiresAt):
        admitted.ship(cert.certNo, SEAL, sender=bw_authority)


def test_ship_reverts_when_certificate_not_found(admitted: Any, bw_authority: Any) -> None:
    unknown = cert_number("BW-2026-000999")

    with reverts(admitted.CertificateNotFound, certNo=unknown):
        admitted.ship(unknown, SEAL, sender=bw_authority)


@pytest.mark.parametrize(
    "status",
    [
        CertificateStatus.SHIPPED,
        CertificateStatus.RECEIVED,
        CertificateStatus.REJECTED,
        CertificateStatus.CANCELLED,
    ],
)
def test_ship_reverts_when_status_not_issued(
    admitted: Any, certificate_in: Any, bw_authority: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    with reverts(
        admitted.CertificateStatusInvalid,
        certNo=cert.certNo,
        status=status,
        required=CertificateStatus.ISSUED,
    ):
        admitted.ship(cert.certNo, SEAL, sender=bw_authority)


@pytest.mark.parametrize("sender_name", ["ae_authority", "bw_admin"])
def test_ship_reverts_when_sender_not_authority_of_exporter(
    admitted: Any, certificate_in: Any, request: pytest.FixtureRequest, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)
    cert = certificate_in(CertificateStatus.ISSUED)

    with reverts(admitted.UnauthorizedAuthority, account=sender.address, participant=BW):
        admitted.ship(cert.certNo, SEAL, sender=sender)


def test_ship_reverts_when_exporter_suspended(
    admitted: Any, certificate_in: Any, set_status: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)
    set_status(BW, ParticipantStatus.SUSPENDED)

    with reverts(admitted.ParticipantNotActive, code=BW):
        admitted.ship(cert.certNo, SEAL, sender=bw_authority)


@pytest.mark.parametrize("status", [ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN])
def test_ship_reverts_when_importer_no_longer_active(
    admitted: Any,
    certificate_in: Any,
    set_status: Any,
    doc_hash: Any,
    bw_authority: Any,
    status: ParticipantStatus,
) -> None:
    # Issued while AE was Active; governance suspended (or AE withdrew) before the dispatch.
    cert = certificate_in(CertificateStatus.ISSUED)
    set_status(AE, status)

    with reverts(admitted.ParticipantNotActive, code=AE):
        admitted.ship(cert.certNo, SEAL, sender=bw_authority)

    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.ISSUED, doc_hash(cert)
    )


# ----------------------------------------------------------------------------------------------
# confirmReceipt
# ----------------------------------------------------------------------------------------------


def test_confirm_receipt_marks_certificate_received_and_emits_event(
    admitted: Any,
    certificate_in: Any,
    doc_hash: Any,
    ae_authority: Any,
    confirmation: tuple[int, int, int, bytes],
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)

    receipt = admitted.confirmReceipt(cert.certNo, confirmation, sender=ae_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateReceived,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=ae_authority.address,
            confirmation=list(confirmation),
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.RECEIVED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.RECEIVED


def test_confirm_receipt_reverts_when_certificate_expired_and_received_after_expiry(
    admitted: Any, certificate_in: Any, chain: Any, ae_authority: Any, confirmation: Any
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    after_expiry(chain, cert)
    late = (*confirmation[:2], cert.expiresAt + 1, confirmation[3])

    with reverts(admitted.CertificateExpired, certNo=cert.certNo, expiresAt=cert.expiresAt):
        admitted.confirmReceipt(cert.certNo, late, sender=ae_authority)


@pytest.mark.parametrize("past_expiry", [HOUR, GRACE], ids=["an-hour-late", "grace-ends"])
def test_confirm_receipt_succeeds_when_expired_within_grace_and_received_by_expiry(
    admitted: Any,
    certificate_in: Any,
    chain: Any,
    doc_hash: Any,
    ae_authority: Any,
    confirmation: Any,
    past_expiry: int,
) -> None:
    # Arrived on the day it expired (dated 00:00 UTC that day), confirmed late.
    cert = certificate_in(CertificateStatus.SHIPPED)
    in_time = (*confirmation[:2], cert.expiresAt - cert.expiresAt % DAY, confirmation[3])
    chain.mine(timestamp=cert.expiresAt + past_expiry - 1)
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.EXPIRED
    chain.pending_timestamp = cert.expiresAt + past_expiry

    receipt = admitted.confirmReceipt(cert.certNo, in_time, sender=ae_authority)

    assert receipt.timestamp == cert.expiresAt + past_expiry
    assert emitted(receipt) == [
        event(
            admitted.CertificateReceived,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=ae_authority.address,
            confirmation=list(in_time),
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.RECEIVED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.RECEIVED


def test_confirm_receipt_reverts_when_grace_period_over(
    admitted: Any, certificate_in: Any, chain: Any, ae_authority: Any, confirmation: Any
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    in_time = (*confirmation[:2], cert.expiresAt - cert.expiresAt % DAY, confirmation[3])
    chain.mine(timestamp=cert.expiresAt + GRACE + 1)

    with reverts(admitted.CertificateExpired, certNo=cert.certNo, expiresAt=cert.expiresAt):
        admitted.confirmReceipt(cert.certNo, in_time, sender=ae_authority)


def test_confirm_receipt_reverts_after_expiry_when_grace_period_set_to_zero(
    admitted: Any,
    certificate_in: Any,
    chain: Any,
    governor: Any,
    ae_authority: Any,
    confirmation: Any,
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    admitted.setReceiptGracePeriod(0, sender=governor)
    in_time = (*confirmation[:2], cert.expiresAt - cert.expiresAt % DAY, confirmation[3])
    after_expiry(chain, cert)

    with reverts(admitted.CertificateExpired, certNo=cert.certNo, expiresAt=cert.expiresAt):
        admitted.confirmReceipt(cert.certNo, in_time, sender=ae_authority)


@pytest.mark.parametrize(("parcels", "carats"), [(0, 100), (3, 0)], ids=["no-parcels", "no-carats"])
def test_confirm_receipt_reverts_when_confirmation_empty(
    admitted: Any,
    certificate_in: Any,
    ae_authority: Any,
    confirmation: tuple[int, int, int, bytes],
    parcels: int,
    carats: int,
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    empty = (parcels, carats, *confirmation[2:])

    with reverts(admitted.ConfirmationInvalid, certNo=cert.certNo):
        admitted.confirmReceipt(cert.certNo, empty, sender=ae_authority)


def test_confirm_receipt_succeeds_when_received_at_equals_block_time(
    admitted: Any, certificate_in: Any, chain: Any, ae_authority: Any, now: int
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    block_time = now + 100
    chain.pending_timestamp = block_time

    receipt = admitted.confirmReceipt(
        cert.certNo, (3, 123_450, block_time, keccak(text="same second")), sender=ae_authority
    )

    assert receipt.timestamp == block_time
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.RECEIVED


def test_confirm_receipt_reverts_when_received_at_after_block_time(
    admitted: Any, certificate_in: Any, chain: Any, ae_authority: Any, now: int
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    block_time = now + 100
    chain.pending_timestamp = block_time
    dated = (3, 123_450, block_time + 1, keccak(text="dated tomorrow"))

    with reverts(admitted.ReceiptDateInFuture, certNo=cert.certNo, receivedAt=block_time + 1):
        admitted.confirmReceipt(cert.certNo, dated, sender=ae_authority)


def test_confirm_receipt_reverts_when_certificate_not_found(
    admitted: Any, ae_authority: Any, confirmation: Any
) -> None:
    unknown = cert_number("BW-2026-000999")

    with reverts(admitted.CertificateNotFound, certNo=unknown):
        admitted.confirmReceipt(unknown, confirmation, sender=ae_authority)


@pytest.mark.parametrize(
    "status",
    [
        CertificateStatus.ISSUED,
        CertificateStatus.RECEIVED,
        CertificateStatus.REJECTED,
        CertificateStatus.CANCELLED,
    ],
)
def test_confirm_receipt_reverts_when_status_not_shipped(
    admitted: Any,
    certificate_in: Any,
    ae_authority: Any,
    confirmation: Any,
    status: CertificateStatus,
) -> None:
    cert = certificate_in(status)

    with reverts(
        admitted.CertificateStatusInvalid,
        certNo=cert.certNo,
        status=status,
        required=CertificateStatus.SHIPPED,
    ):
        admitted.confirmReceipt(cert.certNo, confirmation, sender=ae_authority)


@pytest.mark.parametrize("sender_name", ["bw_authority", "eu_authority"])
def test_confirm_receipt_reverts_when_sender_not_authority_of_importer(
    admitted: Any,
    certificate_in: Any,
    confirmation: Any,
    request: pytest.FixtureRequest,
    sender_name: str,
) -> None:
    sender = request.getfixturevalue(sender_name)
    cert = certificate_in(CertificateStatus.SHIPPED)

    with reverts(admitted.UnauthorizedAuthority, account=sender.address, participant=AE):
        admitted.confirmReceipt(cert.certNo, confirmation, sender=sender)


@pytest.mark.parametrize("status", [ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN])
def test_confirm_receipt_reverts_when_importer_no_longer_active_after_shipping(
    admitted: Any,
    certificate_in: Any,
    set_status: Any,
    ae_authority: Any,
    confirmation: Any,
    status: ParticipantStatus,
) -> None:
    # Confirming completes the import, which is trade: refused even for goods sent before.
    cert = certificate_in(CertificateStatus.SHIPPED)
    set_status(AE, status)

    with reverts(admitted.ParticipantNotActive, code=AE):
        admitted.confirmReceipt(cert.certNo, confirmation, sender=ae_authority)


def test_confirm_receipt_succeeds_when_exporter_suspended_after_shipping(
    admitted: Any, certificate_in: Any, set_status: Any, ae_authority: Any, confirmation: Any
) -> None:
    # Only the acting participant must be Active: goods in transit can still be received.
    cert = certificate_in(CertificateStatus.SHIPPED)
    set_status(BW, ParticipantStatus.SUSPENDED)

    admitted.confirmReceipt(cert.certNo, confirmation, sender=ae_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.RECEIVED


# ----------------------------------------------------------------------------------------------
# reject
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [RejectionReason.DISCREPANCY, RejectionReason.OTHER])
def test_reject_marks_certificate_rejected_and_emits_event(
    admitted: Any, certificate_in: Any, doc_hash: Any, ae_authority: Any, reason: RejectionReason
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)

    receipt = admitted.reject(cert.certNo, reason, sender=ae_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateRejected,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=ae_authority.address,
            reason=reason,
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.REJECTED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.REJECTED


def test_reject_succeeds_when_certificate_expired(
    admitted: Any, certificate_in: Any, chain: Any, ae_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    after_expiry(chain, cert)
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.EXPIRED

    admitted.reject(cert.certNo, RejectionReason.EXPIRED, sender=ae_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.REJECTED


def test_reject_reverts_when_certificate_not_found(admitted: Any, ae_authority: Any) -> None:
    unknown = cert_number("BW-2026-000999")

    with reverts(admitted.CertificateNotFound, certNo=unknown):
        admitted.reject(unknown, RejectionReason.OTHER, sender=ae_authority)


@pytest.mark.parametrize(
    "status",
    [
        CertificateStatus.ISSUED,
        CertificateStatus.RECEIVED,
        CertificateStatus.REJECTED,
        CertificateStatus.CANCELLED,
    ],
)
def test_reject_reverts_when_status_not_shipped(
    admitted: Any, certificate_in: Any, ae_authority: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    with reverts(
        admitted.CertificateStatusInvalid,
        certNo=cert.certNo,
        status=status,
        required=CertificateStatus.SHIPPED,
    ):
        admitted.reject(cert.certNo, RejectionReason.DISCREPANCY, sender=ae_authority)


@pytest.mark.parametrize("sender_name", ["bw_authority", "ae_admin"])
def test_reject_reverts_when_sender_not_authority_of_importer(
    admitted: Any, certificate_in: Any, request: pytest.FixtureRequest, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)
    cert = certificate_in(CertificateStatus.SHIPPED)

    with reverts(admitted.UnauthorizedAuthority, account=sender.address, participant=AE):
        admitted.reject(cert.certNo, RejectionReason.OTHER, sender=sender)


@pytest.mark.parametrize("status", [ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN])
def test_reject_succeeds_when_importer_no_longer_active_after_shipping(
    admitted: Any,
    certificate_in: Any,
    set_status: Any,
    doc_hash: Any,
    ae_authority: Any,
    status: ParticipantStatus,
) -> None:
    # Closing the record of a shipment in transit is not trade: the importer may still refuse it.
    cert = certificate_in(CertificateStatus.SHIPPED)
    set_status(AE, status)

    receipt = admitted.reject(cert.certNo, RejectionReason.OTHER, sender=ae_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateRejected,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=ae_authority.address,
            reason=RejectionReason.OTHER,
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.REJECTED, doc_hash(cert)
    )


def test_reject_reverts_when_sender_authority_revoked(
    admitted: Any, certificate_in: Any, ae_admin: Any, ae_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    admitted.revokeAuthority(AE, ae_authority, sender=ae_admin)

    with reverts(admitted.UnauthorizedAuthority, account=ae_authority.address, participant=AE):
        admitted.reject(cert.certNo, RejectionReason.OTHER, sender=ae_authority)


# ----------------------------------------------------------------------------------------------
# cancel
# ----------------------------------------------------------------------------------------------


def test_cancel_marks_certificate_cancelled_and_emits_event(
    admitted: Any, certificate_in: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)

    receipt = admitted.cancel(cert.certNo, sender=bw_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateCancelled,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=bw_authority.address,
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.CANCELLED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.CANCELLED


def test_cancel_succeeds_when_issued_certificate_expired(
    admitted: Any, certificate_in: Any, chain: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)
    after_expiry(chain, cert)
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.EXPIRED

    admitted.cancel(cert.certNo, sender=bw_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.CANCELLED


def test_cancel_reverts_when_certificate_not_found(admitted: Any, bw_authority: Any) -> None:
    unknown = cert_number("BW-2026-000999")

    with reverts(admitted.CertificateNotFound, certNo=unknown):
        admitted.cancel(unknown, sender=bw_authority)


@pytest.mark.parametrize(
    "status",
    [
        CertificateStatus.SHIPPED,
        CertificateStatus.RECEIVED,
        CertificateStatus.REJECTED,
        CertificateStatus.CANCELLED,
    ],
)
def test_cancel_reverts_when_status_not_issued(
    admitted: Any, certificate_in: Any, bw_authority: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    with reverts(
        admitted.CertificateStatusInvalid,
        certNo=cert.certNo,
        status=status,
        required=CertificateStatus.ISSUED,
    ):
        admitted.cancel(cert.certNo, sender=bw_authority)


@pytest.mark.parametrize("sender_name", ["ae_authority", "stranger"])
def test_cancel_reverts_when_sender_not_authority_of_exporter(
    admitted: Any, certificate_in: Any, request: pytest.FixtureRequest, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)
    cert = certificate_in(CertificateStatus.ISSUED)

    with reverts(admitted.UnauthorizedAuthority, account=sender.address, participant=BW):
        admitted.cancel(cert.certNo, sender=sender)


def test_cancel_reverts_when_exporter_suspended(
    admitted: Any, certificate_in: Any, set_status: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)
    set_status(BW, ParticipantStatus.SUSPENDED)

    with reverts(admitted.ParticipantNotActive, code=BW):
        admitted.cancel(cert.certNo, sender=bw_authority)


# ----------------------------------------------------------------------------------------------
# withdrawShipment
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ParticipantStatus.SUSPENDED, WithdrawalReason.RETURNED),
        (ParticipantStatus.WITHDRAWN, WithdrawalReason.SEIZED),
        (ParticipantStatus.SUSPENDED, WithdrawalReason.OTHER),
    ],
)
def test_withdraw_shipment_cancels_certificate_and_emits_event_when_importer_not_active(
    admitted: Any,
    certificate_in: Any,
    set_status: Any,
    doc_hash: Any,
    bw_authority: Any,
    status: ParticipantStatus,
    reason: WithdrawalReason,
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)
    set_status(AE, status)

    receipt = admitted.withdrawShipment(cert.certNo, reason, sender=bw_authority)

    assert emitted(receipt) == [
        event(
            admitted.ShipmentWithdrawn,
            certNo=cert.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=bw_authority.address,
            reason=reason,
        )
    ]
    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.CANCELLED, doc_hash(cert)
    )
    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.CANCELLED


def test_withdraw_shipment_succeeds_when_certificate_expired(
    admitted: Any, certificate_in: Any, governor: Any, chain: Any, bw_authority: Any
) -> None:
    cert = withdrawable(admitted, governor, certificate_in)
    after_expiry(chain, cert)

    admitted.withdrawShipment(cert.certNo, WithdrawalReason.LOST, sender=bw_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.CANCELLED


def test_withdraw_shipment_succeeds_when_exporter_suspended_too(
    admitted: Any, certificate_in: Any, governor: Any, set_status: Any, bw_authority: Any
) -> None:
    cert = withdrawable(admitted, governor, certificate_in)
    set_status(BW, ParticipantStatus.SUSPENDED)

    admitted.withdrawShipment(cert.certNo, WithdrawalReason.RETURNED, sender=bw_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.CANCELLED


def test_withdraw_shipment_reverts_when_importer_active(
    admitted: Any, certificate_in: Any, doc_hash: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.SHIPPED)

    with reverts(admitted.ImporterStillActive, certNo=cert.certNo, importingParticipant=AE):
        admitted.withdrawShipment(cert.certNo, WithdrawalReason.RETURNED, sender=bw_authority)

    assert admitted.certificate(cert.certNo) == record(
        cert, CertificateStatus.SHIPPED, doc_hash(cert)
    )


def test_withdraw_shipment_reverts_when_importer_reinstated(
    admitted: Any, certificate_in: Any, governor: Any, set_status: Any, bw_authority: Any
) -> None:
    cert = withdrawable(admitted, governor, certificate_in)
    set_status(AE, ParticipantStatus.ACTIVE)

    with reverts(admitted.ImporterStillActive, certNo=cert.certNo, importingParticipant=AE):
        admitted.withdrawShipment(cert.certNo, WithdrawalReason.RETURNED, sender=bw_authority)


def test_withdraw_shipment_reverts_when_certificate_not_found(
    admitted: Any, bw_authority: Any
) -> None:
    unknown = cert_number("BW-2026-000999")

    with reverts(admitted.CertificateNotFound, certNo=unknown):
        admitted.withdrawShipment(unknown, WithdrawalReason.OTHER, sender=bw_authority)


@pytest.mark.parametrize(
    "status",
    [
        CertificateStatus.ISSUED,
        CertificateStatus.RECEIVED,
        CertificateStatus.REJECTED,
        CertificateStatus.CANCELLED,
    ],
)
def test_withdraw_shipment_reverts_when_status_not_shipped(
    admitted: Any,
    certificate_in: Any,
    set_status: Any,
    bw_authority: Any,
    status: CertificateStatus,
) -> None:
    cert = certificate_in(status)
    set_status(AE, ParticipantStatus.SUSPENDED)

    with reverts(
        admitted.CertificateStatusInvalid,
        certNo=cert.certNo,
        status=status,
        required=CertificateStatus.SHIPPED,
    ):
        admitted.withdrawShipment(cert.certNo, WithdrawalReason.OTHER, sender=bw_authority)


@pytest.mark.parametrize("sender_name", ["ae_authority", "eu_authority", "bw_admin"])
def test_withdraw_shipment_reverts_when_sender_not_authority_of_exporter(
    admitted: Any,
    certificate_in: Any,
    governor: Any,
    request: pytest.FixtureRequest,
    sender_name: str,
) -> None:
    sender = request.getfixturevalue(sender_name)
    cert = withdrawable(admitted, governor, certificate_in)

    with reverts(admitted.UnauthorizedAuthority, account=sender.address, participant=BW):
        admitted.withdrawShipment(cert.certNo, WithdrawalReason.OTHER, sender=sender)


# ----------------------------------------------------------------------------------------------
# maxValidity
# ----------------------------------------------------------------------------------------------


def test_max_validity_reads_default_of_180_days_when_deployed(registry: Any) -> None:
    assert registry.DEFAULT_MAX_VALIDITY() == 180 * DAY
    assert registry.maxValidity() == 180 * DAY


def test_constructor_emits_max_validity_set_with_default(
    project: Any, chain: Any, governor: Any
) -> None:
    contract = governor.deploy(project.CertificateRegistry, governor)
    receipt = chain.get_receipt(contract.txn_hash)

    logs = list(contract.MaxValiditySet.from_receipt(receipt))

    assert [dict(log.event_arguments) for log in logs] == [{"maxValidity": 180 * DAY}]


def test_set_max_validity_changes_limit_and_emits_event(registry: Any, governor: Any) -> None:
    receipt = registry.setMaxValidity(90 * DAY, sender=governor)

    assert emitted(receipt) == [event(registry.MaxValiditySet, maxValidity=90 * DAY)]
    assert registry.maxValidity() == 90 * DAY


def test_set_max_validity_reverts_when_zero(registry: Any, governor: Any) -> None:
    with reverts(registry.MaxValidityInvalid, maxValidity=0):
        registry.setMaxValidity(0, sender=governor)

    assert registry.maxValidity() == 180 * DAY


def test_set_max_validity_leaves_certificates_issued_before_unchanged(
    admitted: Any, certificate_in: Any, governor: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)  # valid for 60 days
    admitted.setMaxValidity(30 * DAY, sender=governor)

    admitted.ship(cert.certNo, SEAL, sender=bw_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.SHIPPED


# ----------------------------------------------------------------------------------------------
# receiptGracePeriod
# ----------------------------------------------------------------------------------------------


def test_receipt_grace_period_reads_default_of_30_days_when_deployed(registry: Any) -> None:
    assert registry.DEFAULT_RECEIPT_GRACE_PERIOD() == 30 * DAY
    assert registry.receiptGracePeriod() == 30 * DAY


def test_constructor_emits_receipt_grace_period_set_with_default(
    project: Any, chain: Any, governor: Any
) -> None:
    contract = governor.deploy(project.CertificateRegistry, governor)
    receipt = chain.get_receipt(contract.txn_hash)

    logs = list(contract.ReceiptGracePeriodSet.from_receipt(receipt))

    assert [dict(log.event_arguments) for log in logs] == [{"receiptGracePeriod": 30 * DAY}]


@pytest.mark.parametrize("seconds", [0, 7 * DAY])
def test_set_receipt_grace_period_changes_it_and_emits_event(
    registry: Any, governor: Any, seconds: int
) -> None:
    receipt = registry.setReceiptGracePeriod(seconds, sender=governor)

    assert emitted(receipt) == [event(registry.ReceiptGracePeriodSet, receiptGracePeriod=seconds)]
    assert registry.receiptGracePeriod() == seconds
    assert registry.maxValidity() == 180 * DAY  # its slot's other member is left alone


def test_set_receipt_grace_period_reverts_when_sender_not_governor(
    registry: Any, stranger: Any
) -> None:
    with reverts(
        registry.AccessControlUnauthorizedAccount,
        account=stranger.address,
        neededRole=bytes(registry.GOVERNOR_ROLE()),
    ):
        registry.setReceiptGracePeriod(0, sender=stranger)

    assert registry.receiptGracePeriod() == 30 * DAY


# ----------------------------------------------------------------------------------------------
# certificateStatus: expiry
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [CertificateStatus.ISSUED, CertificateStatus.SHIPPED])
def test_certificate_status_reads_expired_when_live_certificate_past_expiry(
    admitted: Any, certificate_in: Any, chain: Any, doc_hash: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    after_expiry(chain, cert)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.EXPIRED
    # Expired is derived, never stored.
    assert admitted.certificate(cert.certNo) == record(cert, status, doc_hash(cert))


@pytest.mark.parametrize("status", [CertificateStatus.ISSUED, CertificateStatus.SHIPPED])
def test_certificate_status_reads_live_status_when_block_time_equals_expiry(
    admitted: Any, certificate_in: Any, chain: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    chain.mine(timestamp=cert.expiresAt)

    assert admitted.certificateStatus(cert.certNo) == status


@pytest.mark.parametrize(
    "status",
    [CertificateStatus.RECEIVED, CertificateStatus.REJECTED, CertificateStatus.CANCELLED],
)
def test_certificate_status_keeps_final_status_when_past_expiry(
    admitted: Any, certificate_in: Any, chain: Any, status: CertificateStatus
) -> None:
    cert = certificate_in(status)

    after_expiry(chain, cert)

    assert admitted.certificateStatus(cert.certNo) == status


# ----------------------------------------------------------------------------------------------
# multicall: one authority's calls in one transaction
# ----------------------------------------------------------------------------------------------


def test_multicall_ships_receives_and_issues_and_emits_each_event_when_one_authority_batches(
    admitted: Any,
    issue: Callable[..., Any],
    make_certificate: Callable[..., Certificate],
    shipped: Certificate,
    sign: Callable[[Certificate, Any], bytes],
    doc_hash: Callable[[Certificate], bytes],
    ae_authority: Any,
    confirmation: tuple[int, int, int, bytes],
) -> None:
    # The UAE's authority exports one certificate, imports another and issues a third at once.
    def exported_by_ae(number: str) -> Certificate:
        return make_certificate(number, exportingParticipant=AE, importingParticipant=BW, origin=AE)

    to_ship, to_issue = exported_by_ae("AE-2026-000001"), exported_by_ae("AE-2026-000002")
    issue(to_ship, sender=ae_authority)
    calls = [
        admitted.ship.encode_input(to_ship.certNo, SEAL),
        admitted.confirmReceipt.encode_input(shipped.certNo, confirmation),
        admitted.issue.encode_input(to_issue.to_abi(), ae_authority, sign(to_issue, ae_authority)),
    ]

    receipt = admitted.multicall(calls, sender=ae_authority)

    assert emitted(receipt) == [
        event(
            admitted.CertificateShipped,
            certNo=to_ship.certNo,
            exportingParticipant=AE,
            importingParticipant=BW,
            authority=ae_authority.address,
            sealRef=SEAL,
        ),
        event(
            admitted.CertificateReceived,
            certNo=shipped.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=ae_authority.address,
            confirmation=list(confirmation),
        ),
        issued_event(admitted, to_issue, doc_hash(to_issue), ae_authority),
    ]
    assert admitted.certificateStatus(to_ship.certNo) == CertificateStatus.SHIPPED
    assert admitted.certificateStatus(shipped.certNo) == CertificateStatus.RECEIVED
    assert admitted.certificate(to_issue.certNo) == record(
        to_issue, CertificateStatus.ISSUED, doc_hash(to_issue)
    )


def test_multicall_reverts_with_error_of_reverting_call_and_undoes_calls_before_it(
    admitted: Any, certificate_in: Any, bw_authority: Any
) -> None:
    cert = certificate_in(CertificateStatus.ISSUED)
    # The second call sees the first one's effect (shipped), so it cannot cancel any more.
    calls = [
        admitted.ship.encode_input(cert.certNo, SEAL),
        admitted.cancel.encode_input(cert.certNo),
    ]

    with reverts(
        admitted.CertificateStatusInvalid,
        certNo=cert.certNo,
        status=CertificateStatus.SHIPPED,
        required=CertificateStatus.ISSUED,
    ):
        admitted.multicall(calls, sender=bw_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED


def test_multicall_reverts_when_non_governor_batches_governance_call(
    admitted: Any, certificate_in: Any, bw_authority: Any
) -> None:
    # The authority's own shipment does not lend the batch any right of the governance's.
    cert = certificate_in(CertificateStatus.ISSUED)
    calls = [
        admitted.ship.encode_input(cert.certNo, SEAL),
        admitted.setMaxValidity.encode_input(365 * DAY),
    ]

    with reverts(
        admitted.AccessControlUnauthorizedAccount,
        account=bw_authority.address,
        neededRole=admitted.GOVERNOR_ROLE(),
    ):
        admitted.multicall(calls, sender=bw_authority)

    assert admitted.certificateStatus(cert.certNo) == CertificateStatus.ISSUED
    assert admitted.maxValidity() == admitted.DEFAULT_MAX_VALIDITY()
