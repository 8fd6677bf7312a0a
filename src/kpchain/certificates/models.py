"""The certificate document and the API's request bodies, validated, and their conversions to the
contract's units.

A `CertificateDocument` is the KP certificate as the authority API takes and returns it
(DESIGN.md §4): JSON with decimals as strings, dates as ISO dates, identities in clear.
`to_contract` turns it into the contract's `Certificate` (typed_data), whose EIP-712 hash is the
certificate's `docHash`:

- carats "1234.56" <-> uint64 hundredths 123456; value_usd "456789.00" <-> uint64 US cents;
- hs_code "7102.31" <-> 710231;
- origin "BW" -> b"BW", "MIXED" -> 0x0000 (then provenance names an ISO code; else 0x0000);
- origin_zone "CF:Berberati" -> zone_id(name); None -> 32 zero bytes;
- issued_at -> Unix seconds of 00:00:00 UTC that day, expires_at -> 23:59:59 UTC that day (a
  certificate is valid through its expiry date);
- exporter/importer -> keccak256(salt || canonical JSON of the party): the chain never sees an
  identity, and whoever holds the document and the salt can recompute the hash;
- cert_no and replaces -> left-aligned ASCII bytes32.

Validation errors carry the JSON field names in their locations (there are no aliases), so the
API can hand `ValidationError.errors()` back as a 422 detail. Rules checked across fields
(the cert_no prefix, distinct participants, origin/provenance, date order, replaces) run once
every field is valid on its own, and report at the field that has to change.

This module imports neither web3 nor FastAPI. The views the API returns are in
`kpchain.certificates.views`.
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Context, Decimal
from enum import IntEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, Self, TypeVar, cast

from eth_utils.address import is_checksum_address, to_checksum_address
from eth_utils.crypto import keccak
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from kpchain.certificates.typed_data import HS_CODES, MIXED_ORIGIN, ZERO32, Certificate, Line
from kpchain.contracts.encoding import cert_number, participant_code, zone_id
from kpchain.contracts.enums import RejectionReason, WithdrawalReason
from kpchain.errors import DocumentInvalidError

# ----------------------------------------------------------------------------------------------
# Limits
# ----------------------------------------------------------------------------------------------

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1

MAX_LINES = 100
"""Most lines a document may have. A KP certificate has one line per HS code in practice (three
at most); the contract has no limit but gas. Each line costs a few thousand gas (calldata, event
data, hashing), so 100 lines stay far below a block and leave room for batches."""

CERT_NO_MAX_LENGTH = 32  # bytes32 on chain, one ASCII character per byte
PARTY_NAME_MAX_LENGTH = 200
PARTY_ADDRESS_MAX_LENGTH = 500
PARTY_LICENCE_MAX_LENGTH = 100
ISSUING_AUTHORITY_MAX_LENGTH = 200
ZONE_NAME_MAX_LENGTH = 100
SEAL_REF_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 1000

MIXED = "MIXED"
"""The origin of a parcel of mixed origin (KPCS Annex I: trading centres write "mixed")."""

SALT_LENGTH = 32
SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal(UINT64_MAX) / 100  # the largest amount whose hundredths fit a uint64
_TOTAL_DIGITS = 40  # a sum of amounts stays below 10**40, far above any sum of uint64 lines
# Wide enough for every digit of an amount or total, so quantize() never rounds nor raises.
_AMOUNT_CONTEXT = Context(prec=_TOTAL_DIGITS + 10)

HsCode = Literal["7102.10", "7102.21", "7102.31"]
"""The HS codes of rough diamonds under the KPCS: unsorted, industrial, non-industrial."""

RejectionReasonLabel = Literal[
    "discrepancy", "seal_broken", "expired", "suspected_forgery", "other"
]
"""A rejection reason as the API names it (RejectionReason's member name, lower-case)."""

WithdrawalReasonLabel = Literal["returned", "seized", "lost", "other"]
"""Why an exporter withdrew a shipment, as the API names it (WithdrawalReason's member name,
lower-case)."""

_Reason = TypeVar("_Reason", bound=IntEnum)

ParticipantStatusLabel = Literal["active", "suspended", "withdrawn"]
"""A participant's status as the API names it (ParticipantStatus.label)."""

# ----------------------------------------------------------------------------------------------
# Field types
# ----------------------------------------------------------------------------------------------

_CODE = re.compile(r"[A-Z]{2}")
_CERT_NO_SHAPE = re.compile(r"[A-Z]{2}-.+", re.DOTALL)
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_HEX = re.compile(r"0x([0-9a-fA-F]{2})*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def _check_code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise PydanticCustomError(
            "participant_code",
            'must be an ISO 3166-1 alpha-2 code: two upper-case letters A-Z, such as "BW"',
        )
    return value


def _check_origin(value: str) -> str:
    if value != MIXED and not _CODE.fullmatch(value):
        raise PydanticCustomError(
            "origin_code",
            'must be an ISO 3166-1 alpha-2 code (two upper-case letters A-Z, such as "BW") '
            'or "MIXED"',
        )
    return value


def _check_cert_no(value: str) -> str:
    if not all(0x21 <= ord(char) <= 0x7E for char in value):
        raise PydanticCustomError(
            "cert_no_characters",
            "must be printable ASCII without spaces (characters 0x21 to 0x7E)",
        )
    if len(value) > CERT_NO_MAX_LENGTH:
        raise PydanticCustomError(
            "cert_no_too_long",
            "must be at most {max_length} characters (it is stored as bytes32)",
            {"max_length": CERT_NO_MAX_LENGTH},
        )
    if not _CERT_NO_SHAPE.fullmatch(value):
        raise PydanticCustomError(
            "cert_no_prefix",
            "must start with the exporting participant's code and a hyphen, "
            'such as "BW-2026-000123"',
        )
    return value


def _check_text(value: str, *, multiline: bool = False) -> str:
    # NFC, so that the same name typed on two keyboards hashes the same.
    value = unicodedata.normalize("NFC", value)
    allowed = "\n" if multiline else ""
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in value):
        raise PydanticCustomError(
            "text_control_characters",
            "must not contain control characters" + (" other than line breaks" if allowed else ""),
        )
    return value


def _check_multiline(value: str) -> str:
    return _check_text(value, multiline=True)


def _bounded(max_length: int) -> StringConstraints:
    return StringConstraints(
        strict=True, strip_whitespace=True, min_length=1, max_length=max_length
    )


_SINGLE_LINE = AfterValidator(_check_text)
_MULTILINE = AfterValidator(_check_multiline)

# Free text: non-empty once stripped, NFC-normalised, no control characters (line breaks only
# where a text may span lines), at most so many characters.
PartyName = Annotated[str, _bounded(PARTY_NAME_MAX_LENGTH), _SINGLE_LINE]
PartyAddress = Annotated[str, _bounded(PARTY_ADDRESS_MAX_LENGTH), _MULTILINE]
PartyLicence = Annotated[str, _bounded(PARTY_LICENCE_MAX_LENGTH), _SINGLE_LINE]
IssuingAuthority = Annotated[str, _bounded(ISSUING_AUTHORITY_MAX_LENGTH), _SINGLE_LINE]
SealRef = Annotated[str, _bounded(SEAL_REF_MAX_LENGTH), _SINGLE_LINE]
Note = Annotated[str, _bounded(NOTE_MAX_LENGTH), _MULTILINE]
ZoneName = Annotated[str, _bounded(ZONE_NAME_MAX_LENGTH), _SINGLE_LINE]
"""An origin zone's name, such as "CF:Berberati"; its id on chain is keccak256 of the name."""


def _parse_decimal(value: Any) -> Any:
    """Takes decimal strings, integers and Decimals; refuses floats, which lose cents."""
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", 'must be a decimal string such as "1234.56"')
    if isinstance(value, float):
        raise PydanticCustomError(
            "decimal_float",
            'must be a string such as "1234.56", not a JSON number with a fraction: '
            "binary floating point loses cents",
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise PydanticCustomError(
                "decimal_format",
                'must be a decimal string such as "1234.56": digits, then optionally a point '
                "and at most two decimals",
            )
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    raise PydanticCustomError("decimal_type", 'must be a decimal string such as "1234.56"')


def _check_amount(value: Decimal, *, allow_zero: bool, bounded: bool = True) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("decimal_finite", "must be a finite number")
    if value < 0 or (value == 0 and not allow_zero):
        message = "must not be negative" if allow_zero else "must be greater than 0"
        raise PydanticCustomError("decimal_positive", message)
    if not bounded and value.adjusted() >= _TOTAL_DIGITS:
        raise PydanticCustomError(
            "decimal_too_large", "must be below 10**{digits}", {"digits": _TOTAL_DIGITS}
        )
    if bounded and value > _MAX_AMOUNT:
        raise PydanticCustomError(
            "decimal_too_large",
            "must be at most {maximum} (its hundredths must fit a uint64)",
            {"maximum": str(_MAX_AMOUNT)},
        )
    quantized = value.quantize(_CENT, context=_AMOUNT_CONTEXT)
    if value != quantized:
        raise PydanticCustomError("decimal_places", "must have at most two decimal places")
    # Stored with exactly two places, so str() and the JSON form agree ("5" -> "5.00").
    return quantized


def _check_positive_amount(value: Decimal) -> Decimal:
    return _check_amount(value, allow_zero=False)


def _check_non_negative_amount(value: Decimal) -> Decimal:
    return _check_amount(value, allow_zero=True)


def _check_total(value: Decimal) -> Decimal:
    return _check_amount(value, allow_zero=True, bounded=False)


def format_amount(value: Decimal) -> str:
    """An amount as the API writes it: a string with exactly two decimals ("1234.50")."""
    return str(value.quantize(_CENT, context=_AMOUNT_CONTEXT))


_AMOUNT_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": r"^[0-9]+(\.[0-9]{1,2})?$", "examples": ["1234.56"]}
)

Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    AfterValidator(_check_positive_amount),
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    _AMOUNT_SCHEMA,
]
"""A positive amount with at most two decimals whose hundredths fit a uint64 (carats, US$).
Read from a string or an integer, never a float; written to JSON as a two-decimal string."""

NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    AfterValidator(_check_non_negative_amount),
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    _AMOUNT_SCHEMA,
]
"""As `Amount`, but zero is allowed: what the chain may hold (it accepts a zero value)."""

TotalAmount = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    AfterValidator(_check_total),
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    _AMOUNT_SCHEMA,
]
"""A sum of amounts: non-negative, two decimals, and unbounded (a sum of uint64 lines need not
fit a uint64)."""


def _parse_date(value: Any) -> Any:
    # Only a calendar date: pydantic alone would also take Unix timestamps and datetimes.
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise PydanticCustomError("date_format", 'must be a date such as "2026-11-27"')
    if isinstance(value, str) and not _DATE_TEXT.fullmatch(value):
        raise PydanticCustomError("date_format", 'must be a date such as "2026-11-27"')
    return value


def _check_epoch(value: date) -> date:
    if value < _EPOCH:
        raise PydanticCustomError("date_too_early", "must be on or after 1970-01-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_parse_date), AfterValidator(_check_epoch)]
"""A calendar date, "YYYY-MM-DD" in JSON, from 1970-01-01 (chain times are Unix seconds)."""

ParticipantCode = Annotated[
    str,
    Field(strict=True, json_schema_extra={"pattern": "^[A-Z]{2}$", "examples": ["BW"]}),
    AfterValidator(_check_code),
]
"""A KP participant's ISO 3166-1 alpha-2 code ("BW"; "EU" for the European Union)."""

OriginCode = Annotated[
    str,
    Field(strict=True, json_schema_extra={"pattern": "^([A-Z]{2}|MIXED)$", "examples": ["BW"]}),
    AfterValidator(_check_origin),
]
"""A country of origin: an ISO 3166-1 alpha-2 code, or "MIXED"."""

CertNo = Annotated[
    str,
    Field(
        strict=True,
        json_schema_extra={"pattern": "^[A-Z]{2}-[!-~]+$", "maxLength": 32},
        examples=["BW-2026-000123"],
    ),
    AfterValidator(_check_cert_no),
]
"""A certificate number: printable ASCII without spaces, at most 32 characters, starting with a
participant code and a hyphen. The document also requires the code to be the exporter's."""

Parcels = Annotated[int, Field(strict=True, ge=1, le=UINT32_MAX)]
"""A number of parcels: a positive integer that fits a uint32."""


def _parse_address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise PydanticCustomError(
            "address_format", "must be an account address: 0x and 40 hexadecimal digits"
        )
    checksummed = _checksummed(value)
    if checksummed is None:
        raise PydanticCustomError(
            "address_checksum", "has an invalid EIP-55 checksum: check the address for typos"
        )
    return checksummed


@lru_cache(maxsize=4096)
def _checksummed(address: str) -> str | None:
    """`address` (0x and 40 hex digits) EIP-55 checksummed, or None when it is in mixed case
    with a wrong checksum (mixed case claims one; a wrong one means a mistyped address).

    Cached: a view holds the same few authority addresses again and again, and each response is
    validated twice (its view model, then FastAPI's response model), at two keccaks an address.
    """
    digits = address[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(address):
        return None
    return str(to_checksum_address(address))


Address = Annotated[
    str,
    BeforeValidator(_parse_address),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}),
]
"""An account address, written back EIP-55 checksummed."""


def _not_zero(address: str) -> str:
    if int(address, 16) == 0:
        raise PydanticCustomError("address_zero", "must not be the zero address")
    return address


NonZeroAddress = Annotated[Address, AfterValidator(_not_zero)]
"""An account address other than the zero address."""


def _parse_hex32(value: Any) -> str:
    if isinstance(value, bytes | bytearray) and len(value) == 32:
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and _HEX32.fullmatch(value):
        return value.lower()
    raise PydanticCustomError("hex32_format", "must be 0x and 64 hexadecimal digits (32 bytes)")


Hex32 = Annotated[
    str,
    BeforeValidator(_parse_hex32),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-f]{64}$"}),
]
"""32 bytes (a hash, a zone id, a salt) as lower-case 0x-hex; bytes are accepted too."""


def _parse_hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and _HEX.fullmatch(value):
        return value.lower()
    raise PydanticCustomError("hex_format", "must be 0x and an even number of hexadecimal digits")


HexData = Annotated[
    str,
    BeforeValidator(_parse_hex),
    WithJsonSchema({"type": "string", "pattern": "^0x([0-9a-f]{2})*$"}),
]
"""Bytes of any length (a signature: 65 bytes from a key, any length from ERC-1271) as 0x-hex."""


def _field_error(
    field: str, value: Any, kind: str, message: str, context: dict[str, Any] | None = None
) -> InitErrorDetails:
    error = PydanticCustomError(kind, message, context)
    return InitErrorDetails(type=error, loc=(field,), input=value)


# ----------------------------------------------------------------------------------------------
# The certificate document
# ----------------------------------------------------------------------------------------------

_DOCUMENT_CONFIG = ConfigDict(extra="forbid", frozen=True)


class Party(BaseModel):
    """An exporter or importer (KPCS Annex I: "identification of exporter and importer").

    Its fields are stripped and NFC-normalised; on chain it appears only as `party_hash`.
    """

    model_config = _DOCUMENT_CONFIG

    name: PartyName
    address: PartyAddress
    licence: PartyLicence


class CertificateLine(BaseModel):
    """One HS-code line of a shipment: what it weighs, what it is worth, in how many parcels."""

    model_config = _DOCUMENT_CONFIG

    hs_code: HsCode
    carats: Amount
    value_usd: Amount
    parcels: Parcels


class CertificateDocument(BaseModel):
    """The KP certificate document (DESIGN.md §4), as the exporting authority issues it.

    Attributes:
        cert_no: unique number, "<exporting_participant>-…", printable ASCII, at most 32 bytes.
        exporting_participant: ISO code of the exporting participant.
        importing_participant: ISO code of the importing participant (not the exporter).
        origin: ISO code of the country of origin, or "MIXED".
        provenance: for "MIXED" origin, the ISO code of the participant the parcel was last
            exported from; otherwise None.
        origin_zone: zone name ("CF:Berberati"), needed when the origin is restricted to zones.
        exporter: the exporter's identity.
        importer: the importer's identity.
        lines: 1 to MAX_LINES HS-code lines.
        issued_at: date of issue.
        expires_at: date of expiry (valid through that day, UTC); after `issued_at`.
        issuing_authority: name of the issuing authority.
        replaces: number of a cancelled certificate of the same exporter that this one replaces.
    """

    model_config = _DOCUMENT_CONFIG

    cert_no: CertNo
    exporting_participant: ParticipantCode
    importing_participant: ParticipantCode
    origin: OriginCode
    provenance: ParticipantCode | None = None
    origin_zone: ZoneName | None = None
    exporter: Party
    importer: Party
    lines: list[CertificateLine] = Field(min_length=1, max_length=MAX_LINES)
    issued_at: IsoDate
    expires_at: IsoDate
    issuing_authority: IssuingAuthority
    replaces: CertNo | None = None

    @model_validator(mode="after")
    def _check_across_fields(self) -> Self:
        errors: list[InitErrorDetails] = []
        prefix = f"{self.exporting_participant}-"
        if not self.cert_no.startswith(prefix):
            errors.append(
                _field_error(
                    "cert_no",
                    self.cert_no,
                    "cert_no_prefix",
                    'must start with the exporting participant\'s code and a hyphen: "{prefix}"',
                    {"prefix": prefix},
                )
            )
        if self.importing_participant == self.exporting_participant:
            errors.append(
                _field_error(
                    "importing_participant",
                    self.importing_participant,
                    "participants_identical",
                    "must differ from exporting_participant: a participant does not export to "
                    "itself",
                )
            )
        if self.origin == MIXED and self.provenance is None:
            errors.append(
                _field_error(
                    "provenance",
                    None,
                    "provenance_missing",
                    'is required when origin is "MIXED": the ISO code of the participant the '
                    "parcel was last exported from",
                )
            )
        if self.origin != MIXED and self.provenance is not None:
            errors.append(
                _field_error(
                    "provenance",
                    self.provenance,
                    "provenance_unexpected",
                    'must be null unless origin is "MIXED"',
                )
            )
        if self.expires_at <= self.issued_at:
            errors.append(
                _field_error(
                    "expires_at",
                    self.expires_at.isoformat(),
                    "expiry_not_after_issue",
                    "must be after issued_at ({issued_at})",
                    {"issued_at": self.issued_at.isoformat()},
                )
            )
        if self.replaces is not None:
            if self.replaces == self.cert_no:
                errors.append(
                    _field_error(
                        "replaces",
                        self.replaces,
                        "replaces_itself",
                        "must name another certificate than cert_no",
                    )
                )
            elif not self.replaces.startswith(prefix):
                # The contract only lets an exporter replace its own certificates.
                errors.append(
                    _field_error(
                        "replaces",
                        self.replaces,
                        "replaces_other_exporter",
                        'must be a certificate of the same exporting participant: "{prefix}…"',
                        {"prefix": prefix},
                    )
                )
        if errors:
            # Raised inside a validator, a ValidationError's errors join the outer ones, with
            # their locations prefixed (e.g. ("certificates", 2, "cert_no") in a batch).
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def totals(self) -> tuple[Decimal, Decimal, int]:
        """The shipment's totals over its lines: (carats, value_usd, parcels)."""
        carats = sum((line.carats for line in self.lines), Decimal("0.00"))
        value = sum((line.value_usd for line in self.lines), Decimal("0.00"))
        return carats, value, sum(line.parcels for line in self.lines)


# ----------------------------------------------------------------------------------------------
# Conversions to and from the contract's units
# ----------------------------------------------------------------------------------------------


def _to_hundredths(value: Decimal, what: str) -> int:
    if not value.is_finite() or value < 0 or value > _MAX_AMOUNT:
        raise DocumentInvalidError(
            f"{what} {value} is outside 0 to {_MAX_AMOUNT}", detail={what: str(value)}
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
    return Decimal(value).scaleb(-2).quantize(_CENT)


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


_HS_TEXT: dict[int, HsCode] = {number: cast(HsCode, text) for text, number in HS_CODES.items()}


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


def issued_at_seconds(day: date) -> int:
    """Unix seconds of 00:00:00 UTC on `day`: the chain's `issuedAt` (and a receipt's
    `receivedAt`).

    Raises:
        DocumentInvalidError: `day` is a datetime, or before 1970-01-01.
    """
    if isinstance(day, datetime) or day < _EPOCH:
        raise DocumentInvalidError(
            f"{day!r} is not a calendar date from 1970-01-01", detail={"date": str(day)}
        )
    return (day - _EPOCH).days * SECONDS_PER_DAY


def expiry_seconds(day: date) -> int:
    """Unix seconds of 23:59:59 UTC on `day`: the chain's `expiresAt`. A certificate is valid
    through its expiry date; the contract reads it as expired once block time passes this.

    Raises:
        DocumentInvalidError: `day` is a datetime, or before 1970-01-01.
    """
    return issued_at_seconds(day) + SECONDS_PER_DAY - 1


def date_from_seconds(seconds: int) -> date:
    """The UTC date of Unix time `seconds` (inverse of both `issued_at_seconds` and
    `expiry_seconds`).

    Raises:
        DocumentInvalidError: `seconds` is negative or past the year 9999.
    """
    try:
        if seconds < 0:
            raise OverflowError
        return _EPOCH + timedelta(days=seconds // SECONDS_PER_DAY)
    except OverflowError:
        raise DocumentInvalidError(
            f"Unix time {seconds} is not a date between 1970 and 9999", detail={"seconds": seconds}
        ) from None


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
        origin=MIXED_ORIGIN if document.origin == MIXED else participant_code(document.origin),
        provenance=(
            MIXED_ORIGIN if document.provenance is None else participant_code(document.provenance)
        ),
        originZone=ZERO32 if document.origin_zone is None else zone_id(document.origin_zone),
        exporterHash=party_hash(document.exporter, exporter_salt),
        importerHash=party_hash(document.importer, importer_salt),
        lines=tuple(
            Line(
                hsCode=hs_code_number(line.hs_code),
                carats=carats_to_hundredths(line.carats),
                valueUsdCents=usd_to_cents(line.value_usd),
                parcels=line.parcels,
            )
            for line in document.lines
        ),
        issuedAt=issued_at_seconds(document.issued_at),
        expiresAt=expiry_seconds(document.expires_at),
        issuingAuthority=document.issuing_authority,
        replaces=ZERO32 if document.replaces is None else cert_number(document.replaces),
    )


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


def code_text(raw: bytes) -> str:
    """A bytes2 participant code as text (b"BW" -> "BW"); 0x-hex when it is not two ASCII
    letters (the contract checks participant codes, but not a certificate's origin)."""
    if len(raw) == 2 and raw.isascii() and raw.isalpha():
        return raw.decode("ascii")
    return "0x" + raw.hex()


def document_from_contract(
    cert: Certificate,
    *,
    exporter: Party,
    importer: Party,
    exporter_salt: bytes,
    importer_salt: bytes,
    origin_zone: str | None = None,
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

    Raises:
        DocumentInvalidError: an identity or the zone name does not match its hash, or the
            certificate has values no valid document has (the contract accepts some, such as a
            zero US$ value, an empty issuing authority or an expiry not at 23:59:59 UTC).
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
        "origin": MIXED if cert.origin == MIXED_ORIGIN else code_text(cert.origin),
        "provenance": None if cert.provenance == MIXED_ORIGIN else code_text(cert.provenance),
        "origin_zone": origin_zone,
        "exporter": exporter,
        "importer": importer,
        "lines": [
            {
                "hs_code": hs_code_text(line.hsCode),
                "carats": hundredths_to_carats(line.carats),
                "value_usd": cents_to_usd(line.valueUsdCents),
                "parcels": line.parcels,
            }
            for line in cert.lines
        ],
        "issued_at": date_from_seconds(cert.issuedAt),
        "expires_at": date_from_seconds(cert.expiresAt),
        "issuing_authority": cert.issuingAuthority,
        "replaces": None if cert.replaces == ZERO32 else cert_no_text(cert.replaces),
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
            "the certificate's issue or expiry time is not the start or end of a UTC day"
        )
    return document


# ----------------------------------------------------------------------------------------------
# Request bodies of the certificate operations
# ----------------------------------------------------------------------------------------------

_REQUEST_CONFIG = ConfigDict(extra="forbid", frozen=True)


class ShipRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/ship: the seal or container reference, if any.
    The chain keeps only `seal_ref_hash(seal_ref)`."""

    model_config = _REQUEST_CONFIG

    seal_ref: SealRef | None = None


class ReceiveRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/receive: the importing authority's confirmation
    of receipt (KPCS Section III)."""

    model_config = _REQUEST_CONFIG

    parcels: Parcels
    carats: Amount
    received_at: IsoDate


class RejectRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/reject. Only `reason` goes on chain."""

    model_config = _REQUEST_CONFIG

    reason: RejectionReasonLabel
    note: Note | None = None

    def reason_code(self) -> RejectionReason:
        """The reason as the contract's enum."""
        return rejection_reason_code(self.reason)


class CancelRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/cancel. The reason stays off chain."""

    model_config = _REQUEST_CONFIG

    reason: Note | None = None


class WithdrawRequest(BaseModel):
    """Body of POST /v1/certificates/{cert_no}/withdraw: the exporter withdraws a shipment in
    transit to a participant that is no longer Active. Only `reason` goes on chain."""

    model_config = _REQUEST_CONFIG

    reason: WithdrawalReasonLabel
    note: Note | None = None

    def reason_code(self) -> WithdrawalReason:
        """The reason as the contract's enum."""
        return withdrawal_reason_code(self.reason)


class AuthorityRequest(BaseModel):
    """Body of POST /v1/participants/{code}/authorities: the account the participant's admin
    makes an authority of the participant (a key that signs its certificates)."""

    model_config = _REQUEST_CONFIG

    account: NonZeroAddress = Field(
        description="The new authority account (EIP-55 checksummed, or all one case).",
        examples=["0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"],
    )


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


def seal_ref_hash(seal_ref: str | None) -> bytes:
    """The `sealRef` the chain records: keccak256 of the UTF-8 reference, or 32 zero bytes
    when there is none."""
    if seal_ref is None:
        return ZERO32
    return bytes(keccak(seal_ref.encode("utf-8")))


def confirmation_hash(cert_no: str, request: ReceiveRequest) -> bytes:
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


def confirmation_to_contract(cert_no: str, request: ReceiveRequest) -> tuple[int, int, int, bytes]:
    """The contract's `Confirmation` tuple (parcels, carats in hundredths, receivedAt as Unix
    seconds of 00:00 UTC, confirmationHash) for `confirmReceipt`."""
    return (
        request.parcels,
        carats_to_hundredths(request.carats),
        issued_at_seconds(request.received_at),
        confirmation_hash(cert_no, request),
    )


def _labels(enum: type[_Reason]) -> dict[_Reason, str]:
    """The API label of each member of a reason enum: its name, lower-case."""
    return {member: member.name.lower() for member in enum}


def _reason_of(labels: dict[_Reason, str], label: str, what: str) -> _Reason:
    for member, known in labels.items():
        if known == label:
            return member
    raise DocumentInvalidError(f"unknown {what} {label!r}", detail={"reason": label})


def _label_of(labels: dict[_Reason, str], enum: type[_Reason], value: int, what: str) -> str:
    try:
        return labels[enum(value)]
    except ValueError:
        raise DocumentInvalidError(
            f"unknown {what} {value!r}", detail={"reason": int(value)}
        ) from None


_REJECTION_LABELS = _labels(RejectionReason)
_WITHDRAWAL_LABELS = _labels(WithdrawalReason)


def rejection_reason_code(label: str) -> RejectionReason:
    """The contract's RejectionReason for an API label ("seal_broken" -> SEAL_BROKEN).

    Raises:
        DocumentInvalidError: not a known label.
    """
    return _reason_of(_REJECTION_LABELS, label, "rejection reason")


def rejection_reason_label(reason: RejectionReason | int) -> RejectionReasonLabel:
    """The API label of the contract's RejectionReason (SEAL_BROKEN -> "seal_broken").

    Raises:
        DocumentInvalidError: not a RejectionReason value.
    """
    label = _label_of(_REJECTION_LABELS, RejectionReason, reason, "rejection reason")
    return cast(RejectionReasonLabel, label)


def withdrawal_reason_code(label: str) -> WithdrawalReason:
    """The contract's WithdrawalReason for an API label ("returned" -> RETURNED).

    Raises:
        DocumentInvalidError: not a known label.
    """
    return _reason_of(_WITHDRAWAL_LABELS, label, "withdrawal reason")


def withdrawal_reason_label(reason: WithdrawalReason | int) -> WithdrawalReasonLabel:
    """The API label of the contract's WithdrawalReason (SEIZED -> "seized").

    Raises:
        DocumentInvalidError: not a WithdrawalReason value.
    """
    label = _label_of(_WITHDRAWAL_LABELS, WithdrawalReason, reason, "withdrawal reason")
    return cast(WithdrawalReasonLabel, label)
