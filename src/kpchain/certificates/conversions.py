"""Conversions between the document's units and the contract's, each beside its inverse.

- carats "1234.56" <-> uint64 hundredths 123456; value_usd "456789.00" <-> uint64 US cents;
- hs_code "7102.31" <-> 710231;
- issued_at -> Unix seconds of 00:00:00 UTC that day, and back to the UTC date; expires_at ->
  23:59:59 that day in the exporting participant's time zone (a certificate is valid through its
  expiry date), at the document's `expiry_utc_offset` (UTC without one), and back to the date by
  `expiry_date`, which needs no offset (see there);
- origin "BW" <-> b"BW", "MIXED" <-> 0x0000 (then provenance names an ISO code; else 0x0000);
  a line's own origin likewise, and a line that states none <-> all three origin fields zero;
- exporter/importer -> keccak256(salt || canonical JSON of the party): the chain never sees an
  identity, and whoever holds the document and the salt can recompute the hash;
- the document <-> the contract's `Certificate` (`to_contract`, `document_from_contract`), whose
  EIP-712 hash is the certificate's `docHash`; a receipt -> the contract's `Confirmation`;
- rejection and withdrawal reasons: the API's labels <-> the contract's enums.

The encodings of the identifiers themselves (cert_no and replaces as left-aligned ASCII bytes32,
participant codes as bytes2, origin_zone as keccak256 of the zone's name) are the contracts',
each beside its decoding, in `kpchain.contracts.encoding`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import Any, Protocol, TypeVar

from eth_utils.crypto import keccak
from pydantic import ValidationError

from kpchain.certificates.document import CertificateDocument, CertificateLine, Party
from kpchain.certificates.fields import (
    CENT,
    EPOCH,
    MAX_AMOUNT,
    MAX_UTC_OFFSET,
    MIN_UTC_OFFSET,
    UINT64_MAX,
    format_amount,
    utc_offset_seconds,
    utc_offset_text,
)
from kpchain.certificates.typed_data import HS_CODES, ZERO32, ZERO_CODE, Certificate, Line
from kpchain.contracts.encoding import (
    cert_no_text,
    cert_number,
    code_text,
    participant_code,
    zone_id,
)
from kpchain.contracts.enums import RejectionReason, WithdrawalReason
from kpchain.errors import DocumentInvalidError
from kpchain.vocabulary import (
    MIXED,
    HsCode,
    Label,
    RejectionReasonLabel,
    WithdrawalReasonLabel,
)

_Code = TypeVar("_Code", bound=IntEnum)
_Label = TypeVar("_Label", bound=Label)

SECONDS_PER_DAY = 86_400
SALT_LENGTH = 32


# ----------------------------------------------------------------------------------------------
# Amounts
# ----------------------------------------------------------------------------------------------


def _to_hundredths(value: Decimal, what: str) -> int:
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise DocumentInvalidError(
            f"{what} {value} is outside 0 to {MAX_AMOUNT}", detail={what: str(value)}
        )
    scaled = value.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise DocumentInvalidError(
            f"{what} {value} has more than two decimal places", detail={what: str(value)}
        )
    return int(scaled)


def _from_hundredths(value: int, what: str) -> Decimal:
    if not 0 <= value <= UINT64_MAX:
        raise DocumentInvalidError(f"{what} {value} is not a uint64", detail={what: value})
    return Decimal(value).scaleb(-2).quantize(CENT)


def carats_to_hundredths(carats: Decimal) -> int:
    """Carats as the contract counts them: hundredths of a carat ("1234.56" -> 123456).

    Raises:
        DocumentInvalidError: more than two decimals, negative, or too large for a uint64.
    """
    return _to_hundredths(carats, "carats")


def hundredths_to_carats(hundredths: int) -> Decimal:
    """Carats from the contract's hundredths (123456 -> Decimal("1234.56")).

    Raises:
        DocumentInvalidError: `hundredths` is not a uint64.
    """
    return _from_hundredths(hundredths, "carats")


def usd_to_cents(value_usd: Decimal) -> int:
    """A US$ value as the contract counts it: cents ("456789.00" -> 45678900).

    Raises:
        DocumentInvalidError: more than two decimals, negative, or too large for a uint64.
    """
    return _to_hundredths(value_usd, "value_usd")


def cents_to_usd(cents: int) -> Decimal:
    """A US$ value from the contract's cents (45678900 -> Decimal("456789.00")).

    Raises:
        DocumentInvalidError: `cents` is not a uint64.
    """
    return _from_hundredths(cents, "value_usd")


# ----------------------------------------------------------------------------------------------
# HS codes
# ----------------------------------------------------------------------------------------------


_HS_TEXT: dict[int, HsCode] = {number: HsCode(text) for text, number in HS_CODES.items()}


def hs_code_number(hs_code: str) -> int:
    """An HS code as the contract encodes it ("7102.31" -> 710231).

    Raises:
        DocumentInvalidError: not one of the KP's three rough-diamond codes.
    """
    try:
        return HS_CODES[hs_code]
    except KeyError:
        raise DocumentInvalidError(
            f"HS code {hs_code!r} is not one of {', '.join(HS_CODES)}", detail={"hs_code": hs_code}
        ) from None


def hs_code_text(number: int) -> HsCode:
    """An HS code from the contract's encoding (710231 -> "7102.31").

    Raises:
        DocumentInvalidError: not one of the KP's three rough-diamond codes.
    """
    try:
        return _HS_TEXT[number]
    except KeyError:
        raise DocumentInvalidError(
            f"HS code {number} is not one of {', '.join(map(str, _HS_TEXT))}",
            detail={"hs_code": number},
        ) from None


# ----------------------------------------------------------------------------------------------
# Dates
# ----------------------------------------------------------------------------------------------


def issued_at_seconds(day: date) -> int:
    """Unix seconds of 00:00:00 UTC on `day`: the chain's `issuedAt` (and a receipt's
    `receivedAt`).

    Raises:
        DocumentInvalidError: `day` is a datetime, or before 1970-01-01.
    """
    if isinstance(day, datetime) or day < EPOCH:
        raise DocumentInvalidError(
            f"{day!r} is not a calendar date from 1970-01-01", detail={"date": str(day)}
        )
    return (day - EPOCH).days * SECONDS_PER_DAY


def expiry_seconds(day: date, utc_offset: str | None = None) -> int:
    """Unix seconds of 23:59:59 on `day` at `utc_offset` ("+02:00"; None: UTC): the chain's
    `expiresAt`. A certificate is valid through its expiry date in the exporting participant's
    time zone; the contract reads it as expired once block time passes this.

    Raises:
        DocumentInvalidError: `day` is a datetime, or before 1970-01-01, or `utc_offset` is not
            an offset from -10:00 to +13:59.
    """
    offset = 0
    if utc_offset is not None:
        try:
            offset = utc_offset_seconds(utc_offset)
        except ValueError as error:
            raise DocumentInvalidError(str(error), detail={"utc_offset": utc_offset}) from None
    return issued_at_seconds(day) + SECONDS_PER_DAY - 1 - offset


# The end of a day at any offset from -10:00 to +13:59 falls between 10:00 that day and 09:59
# the next (UTC): ten hours back, it is in that day whatever the offset.
_EXPIRY_SHIFT = -MIN_UTC_OFFSET


def expiry_date(seconds: int) -> date:
    """The expiry date of the chain's `expiresAt` (inverse of `expiry_seconds` at every offset
    it takes): the UTC date ten hours earlier. So anyone who reads the chain knows a
    certificate's expiry date without knowing the exporter's time zone.

    Raises:
        DocumentInvalidError: `seconds` is negative or past the year 9999.
    """
    # The first ten hours of 1970 stay on 1970-01-01: no document expires then.
    return date_from_seconds(seconds - _EXPIRY_SHIFT if seconds >= _EXPIRY_SHIFT else seconds)


def expiry_utc_offset(seconds: int) -> str | None:
    """The UTC offset `expiry_seconds` made `seconds` with ("+02:00"; None for UTC), or None
    when `seconds` is not the end of a day at a whole-minute offset the documents take."""
    offset = issued_at_seconds(expiry_date(seconds)) + SECONDS_PER_DAY - 1 - seconds
    if offset == 0 or offset % 60 or not MIN_UTC_OFFSET <= offset <= MAX_UTC_OFFSET:
        return None
    return utc_offset_text(offset)


def date_from_seconds(seconds: int) -> date:
    """The UTC date of Unix time `seconds` (inverse of both `issued_at_seconds` and
    `expiry_seconds`).

    Raises:
        DocumentInvalidError: `seconds` is negative or past the year 9999.
    """
    try:
        if seconds < 0:
            raise OverflowError
        return EPOCH + timedelta(days=seconds // SECONDS_PER_DAY)
    except OverflowError:
        raise DocumentInvalidError(
            f"Unix time {seconds} is not a date between 1970 and 9999", detail={"seconds": seconds}
        ) from None


def validity_days(issued_at: date, expires_at: date) -> int:
    """The calendar days a certificate is valid on, its issue and expiry days included (issued
    and expiring the next day: 2). The registry's `expiresAt - issuedAt` of such a document is
    this many days less one second, so it accepts the document exactly when this is at most
    `max_validity_days(maxValidity)`."""
    return (expires_at - issued_at).days + 1


def max_validity_days(max_validity: int) -> int:
    """The most calendar days (see `validity_days`) a document may be valid on under the
    registry's `maxValidity` of `max_validity` seconds."""
    return (max_validity + 1) // SECONDS_PER_DAY


# ----------------------------------------------------------------------------------------------
# Origin and provenance
# ----------------------------------------------------------------------------------------------


def origin_code(origin: str) -> bytes:
    """A document's origin as the contract's bytes2: the code's letters, ZERO_CODE for MIXED."""
    return ZERO_CODE if origin == MIXED else participant_code(origin)


def origin_text(raw: bytes) -> str:
    """A certificate's origin from the contract's bytes2: MIXED for ZERO_CODE, else the code (see
    `code_text`). The inverse of `origin_code`."""
    return MIXED if raw == ZERO_CODE else code_text(raw)


def provenance_code(provenance: str | None) -> bytes:
    """A document's provenance as the contract's bytes2: ZERO_CODE when it has none."""
    return ZERO_CODE if provenance is None else participant_code(provenance)


def provenance_text(raw: bytes) -> str | None:
    """A certificate's provenance from the contract's bytes2: None for ZERO_CODE. The inverse of
    `provenance_code`."""
    return None if raw == ZERO_CODE else code_text(raw)


def zone_code(origin_zone: str | None) -> bytes:
    """A zone of origin as the contract's bytes32: its id (see `zone_id`), ZERO32 for none."""
    return ZERO32 if origin_zone is None else zone_id(origin_zone)


def line_to_contract(line: CertificateLine) -> Line:
    """A document line as the contract's `Line`: its origin fields all zero when the line
    states no origin of its own (it is of the certificate's)."""
    stated = line.origin is not None
    return Line(
        hsCode=hs_code_number(line.hs_code),
        carats=carats_to_hundredths(line.carats),
        valueUsdCents=usd_to_cents(line.value_usd),
        parcels=line.parcels,
        origin=origin_code(line.origin) if line.origin is not None else ZERO_CODE,
        provenance=provenance_code(line.provenance) if stated else ZERO_CODE,
        originZone=zone_code(line.origin_zone) if stated else ZERO32,
    )


def line_from_contract(line: Line, zone_names: Mapping[bytes, str]) -> dict[str, Any]:
    """A contract `Line` as the document line's fields (unvalidated); the inverse of
    `line_to_contract`. A line's zone is named from `zone_names` (zone id -> name).

    Raises:
        DocumentInvalidError: the line names a zone that `zone_names` does not know.
    """
    fields: dict[str, Any] = {
        "hs_code": hs_code_text(line.hsCode),
        "carats": hundredths_to_carats(line.carats),
        "value_usd": cents_to_usd(line.valueUsdCents),
        "parcels": line.parcels,
    }
    if not line.states_origin:
        return fields
    zone: str | None = None
    if line.originZone != ZERO32:
        zone = zone_names.get(line.originZone)
        if zone is None or zone_id(zone) != line.originZone:
            raise DocumentInvalidError(
                f"no zone name given for the line's originZone 0x{line.originZone.hex()}"
            )
    fields.update(
        origin=origin_text(line.origin),
        provenance=provenance_text(line.provenance),
        origin_zone=zone,
    )
    return fields


# ----------------------------------------------------------------------------------------------
# Identities
# ----------------------------------------------------------------------------------------------


def new_salt() -> bytes:
    """A fresh random 32-byte salt for one party's identity hash."""
    return secrets.token_bytes(SALT_LENGTH)


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of a JSON-compatible value: keys sorted, no whitespace, UTF-8
    without escaping (`json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`). What the identity and confirmation hashes are taken over."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def party_hash(party: Party, salt: bytes) -> bytes:
    """A party's on-chain identity hash: keccak256(salt || canonical_json(party)), where the
    party's JSON is `{"address": …, "licence": …, "name": …}`.

    The salt keeps the identity from being guessed from a list of known exporters.

    Raises:
        DocumentInvalidError: `salt` is not 32 bytes.
    """
    if len(salt) != SALT_LENGTH:
        raise DocumentInvalidError(
            f"a party salt must be {SALT_LENGTH} bytes, got {len(salt)}",
            detail={"salt_length": len(salt)},
        )
    return bytes(keccak(bytes(salt) + canonical_json(party.model_dump(mode="json"))))


# ----------------------------------------------------------------------------------------------
# The document
# ----------------------------------------------------------------------------------------------


def to_contract(
    document: CertificateDocument, *, exporter_salt: bytes, importer_salt: bytes
) -> Certificate:
    """The document as CertificateRegistry takes it; its `document_hash` is the `docHash`.

    Args:
        document: the validated document.
        exporter_salt: 32-byte salt of the exporter's identity hash (see `new_salt`).
        importer_salt: 32-byte salt of the importer's identity hash.

    Raises:
        DocumentInvalidError: a salt is not 32 bytes.
    """
    return Certificate(
        certNo=cert_number(document.cert_no),
        exportingParticipant=participant_code(document.exporting_participant),
        importingParticipant=participant_code(document.importing_participant),
        origin=origin_code(document.origin),
        provenance=provenance_code(document.provenance),
        originZone=zone_code(document.origin_zone),
        exporterHash=party_hash(document.exporter, exporter_salt),
        importerHash=party_hash(document.importer, importer_salt),
        lines=tuple(line_to_contract(line) for line in document.lines),
        issuedAt=issued_at_seconds(document.issued_at),
        expiresAt=expiry_seconds(document.expires_at, document.expiry_utc_offset),
        issuingAuthority=document.issuing_authority,
        replaces=ZERO32 if document.replaces is None else cert_number(document.replaces),
    )


def document_from_contract(
    cert: Certificate,
    *,
    exporter: Party,
    importer: Party,
    exporter_salt: bytes,
    importer_salt: bytes,
    origin_zone: str | None = None,
    line_zones: Mapping[bytes, str] | None = None,
) -> CertificateDocument:
    """Rebuilds the document of an on-chain certificate from the identities and zone name kept
    off chain; the inverse of `to_contract`.

    Args:
        cert: the certificate as the contract has it (e.g. from a CertificateIssued event).
        exporter: the exporter's identity, which must hash to `cert.exporterHash`.
        importer: the importer's identity, which must hash to `cert.importerHash`.
        exporter_salt: the exporter's salt.
        importer_salt: the importer's salt.
        origin_zone: the name of `cert.originZone`, if that is not zero.
        line_zones: the names of the zone ids the lines name (zone id -> name), if any.

    Raises:
        DocumentInvalidError: an identity or the zone name does not match its hash, or the
            certificate has values no valid document has (the contract accepts some, such as a
            zero US$ value, an empty issuing authority or an expiry not at the end of a day).
    """
    if party_hash(exporter, exporter_salt) != cert.exporterHash:
        raise DocumentInvalidError("the exporter identity does not match exporterHash")
    if party_hash(importer, importer_salt) != cert.importerHash:
        raise DocumentInvalidError("the importer identity does not match importerHash")
    if (cert.originZone == ZERO32) != (origin_zone is None) or (
        origin_zone is not None and zone_id(origin_zone) != cert.originZone
    ):
        raise DocumentInvalidError(
            f"origin zone name {origin_zone!r} does not match originZone 0x{cert.originZone.hex()}"
        )
    fields = {
        "cert_no": cert_no_text(cert.certNo),
        "exporting_participant": code_text(cert.exportingParticipant),
        "importing_participant": code_text(cert.importingParticipant),
        "origin": origin_text(cert.origin),
        "provenance": provenance_text(cert.provenance),
        "origin_zone": origin_zone,
        "exporter": exporter,
        "importer": importer,
        "lines": [line_from_contract(line, line_zones or {}) for line in cert.lines],
        "issued_at": date_from_seconds(cert.issuedAt),
        "expires_at": expiry_date(cert.expiresAt),
        "issuing_authority": cert.issuingAuthority,
        "replaces": None if cert.replaces == ZERO32 else cert_no_text(cert.replaces),
        "expiry_utc_offset": expiry_utc_offset(cert.expiresAt),
    }
    try:
        document = CertificateDocument.model_validate(fields)
    except ValidationError as error:
        raise DocumentInvalidError(
            f"the certificate is not a valid document: {error.error_count()} problem(s)",
            detail={
                "errors": [
                    {"loc": list(item["loc"]), "type": item["type"], "msg": item["msg"]}
                    for item in error.errors()
                ]
            },
        ) from None
    # Catches what has no field of its own: times of day other than the document's.
    if to_contract(document, exporter_salt=exporter_salt, importer_salt=importer_salt) != cert:
        raise DocumentInvalidError(
            "the certificate's issue time is not the start of a UTC day, or its expiry time not "
            "the end of a day at a UTC offset from -10:00 to +13:59"
        )
    return document


# ----------------------------------------------------------------------------------------------
# Shipping and receipt
# ----------------------------------------------------------------------------------------------


def seal_ref_hash(seal_ref: str | None) -> bytes:
    """The `sealRef` the chain records: keccak256 of the UTF-8 reference, or 32 zero bytes
    when there is none."""
    if seal_ref is None:
        return ZERO32
    return bytes(keccak(seal_ref.encode("utf-8")))


class Receipt(Protocol):
    """What a confirmation of receipt states, as a `ReceiveRequest` holds it. A protocol, not that
    class: the request bodies (kpchain.certificates.requests) build on this module."""

    @property
    def parcels(self) -> int: ...

    @property
    def carats(self) -> Decimal: ...

    @property
    def received_at(self) -> date: ...


def confirmation_hash(cert_no: str, request: Receipt) -> bytes:
    """The `confirmationHash` of a receipt: keccak256 of the canonical JSON (see
    `canonical_json`) of the confirmation,
    `{"carats": "1234.56", "cert_no": "BW-2026-000123", "parcels": 3, "received_at": "2026-11-27"}`
    (carats with exactly two decimals). Anyone holding the confirmation can recompute it."""
    payload = {
        "cert_no": cert_no,
        "parcels": request.parcels,
        "carats": format_amount(request.carats),
        "received_at": request.received_at.isoformat(),
    }
    return bytes(keccak(canonical_json(payload)))


def confirmation_to_contract(cert_no: str, request: Receipt) -> tuple[int, int, int, bytes]:
    """The contract's `Confirmation` tuple (parcels, carats in hundredths, receivedAt as Unix
    seconds of 00:00 UTC, confirmationHash) for `confirmReceipt`."""
    return (
        request.parcels,
        carats_to_hundredths(request.carats),
        issued_at_seconds(request.received_at),
        confirmation_hash(cert_no, request),
    )


# ----------------------------------------------------------------------------------------------
# Reasons
# ----------------------------------------------------------------------------------------------


def _code_of(enum: type[_Code], labels: type[Label], label: str, what: str) -> _Code:
    try:
        return enum[labels(label).name]
    except ValueError:
        raise DocumentInvalidError(f"unknown {what} {label!r}", detail={"reason": label}) from None


def _label_of(labels: type[_Label], enum: type[IntEnum], value: int, what: str) -> _Label:
    try:
        return labels[enum(value).name]
    except ValueError:
        raise DocumentInvalidError(
            f"unknown {what} {value!r}", detail={"reason": int(value)}
        ) from None


def rejection_reason_code(label: str) -> RejectionReason:
    """The contract's RejectionReason for an API label ("seal_broken" -> SEAL_BROKEN).

    Raises:
        DocumentInvalidError: not a known label.
    """
    return _code_of(RejectionReason, RejectionReasonLabel, label, "rejection reason")


def rejection_reason_label(reason: RejectionReason | int) -> RejectionReasonLabel:
    """The API label of the contract's RejectionReason (SEAL_BROKEN -> "seal_broken").

    Raises:
        DocumentInvalidError: not a RejectionReason value.
    """
    return _label_of(RejectionReasonLabel, RejectionReason, reason, "rejection reason")


def withdrawal_reason_code(label: str) -> WithdrawalReason:
    """The contract's WithdrawalReason for an API label ("returned" -> RETURNED).

    Raises:
        DocumentInvalidError: not a known label.
    """
    return _code_of(WithdrawalReason, WithdrawalReasonLabel, label, "withdrawal reason")


def withdrawal_reason_label(reason: WithdrawalReason | int) -> WithdrawalReasonLabel:
    """The API label of the contract's WithdrawalReason (SEIZED -> "seized").

    Raises:
        DocumentInvalidError: not a WithdrawalReason value.
    """
    return _label_of(WithdrawalReasonLabel, WithdrawalReason, reason, "withdrawal reason")
