"""The field types of the certificate document, the operations' request bodies and the views:
annotated `str`, `Decimal`, `date` and `int` types that carry the KP's rules, their limits and
their JSON form.

Each type validates one value on its own, and a refusal names its rule (`PydanticCustomError`
types such as "cert_no_prefix"), so the API can hand `ValidationError.errors()` back as a 422
detail. Amounts are Decimals (never floats) with at most two decimals, written to JSON as
two-decimal strings. Rules across fields are the document's (`kpchain.certificates.document`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Context, Decimal
from functools import lru_cache
from typing import Annotated, Any

from eth_utils.address import is_checksum_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from kpchain.vocabulary import (
    ADDRESS_PATTERN,
    CERT_NO_CHARACTER,
    CERT_NO_MAX_LENGTH,
    CERT_NO_PATTERN,
    HEX32_PATTERN,
    ORIGIN_PATTERN,
    PARTICIPANT_CODE_PATTERN,
)

# ----------------------------------------------------------------------------------------------
# Limits
# ----------------------------------------------------------------------------------------------

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1

MAX_LINES = 100
"""Most lines a document may have. A KP certificate has one line per HS code in practice (three
at most); the contract has no limit but gas. Each line costs a few thousand gas (calldata, event
data, hashing), so 100 lines stay far below a block and leave room for batches."""

PARTY_NAME_MAX_LENGTH = 200
PARTY_ADDRESS_MAX_LENGTH = 500
PARTY_LICENCE_MAX_LENGTH = 100
ISSUING_AUTHORITY_MAX_LENGTH = 200
ZONE_NAME_MAX_LENGTH = 100
SEAL_REF_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 1000

EPOCH = date(1970, 1, 1)
"""The first date a document may hold: chain times are Unix seconds."""
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(UINT64_MAX) / 100
"""The largest amount whose hundredths fit a uint64 (the contract's carats and US cents)."""
_TOTAL_DIGITS = 40  # a sum of amounts stays below 10**40, far above any sum of uint64 lines
# Wide enough for every digit of an amount or total, so quantize() never rounds nor raises.
_AMOUNT_CONTEXT = Context(prec=_TOTAL_DIGITS + 10)

# ----------------------------------------------------------------------------------------------
# Field types
# ----------------------------------------------------------------------------------------------


def _is_none(value: Any) -> bool:
    return value is None


def omitted_if_none() -> Any:
    """An optional field's `Field`: None by default, and left out of the JSON when None, so a
    field added to a model keeps the JSON of what does not use it as it was."""
    return Field(default=None, exclude_if=_is_none)


_CODE = re.compile(PARTICIPANT_CODE_PATTERN)
_ORIGIN = re.compile(ORIGIN_PATTERN)
_CERT_NO_CHARACTERS = re.compile(f"{CERT_NO_CHARACTER}*")
_CERT_NO = re.compile(CERT_NO_PATTERN)
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HEX32 = re.compile(HEX32_PATTERN)
_HEX = re.compile(r"0x([0-9a-fA-F]{2})*")
_ADDRESS = re.compile(ADDRESS_PATTERN)


def _check_code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise PydanticCustomError(
            "participant_code",
            'must be an ISO 3166-1 alpha-2 code: two upper-case letters A-Z, such as "BW"',
        )
    return value


def _check_origin(value: str) -> str:
    if not _ORIGIN.fullmatch(value):
        raise PydanticCustomError(
            "origin_code",
            'must be an ISO 3166-1 alpha-2 code (two upper-case letters A-Z, such as "BW") '
            'or "MIXED"',
        )
    return value


def _check_cert_no(value: str) -> str:
    if not _CERT_NO_CHARACTERS.fullmatch(value):
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
    if not _CERT_NO.fullmatch(value):
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
    if bounded and value > MAX_AMOUNT:
        raise PydanticCustomError(
            "decimal_too_large",
            "must be at most {maximum} (its hundredths must fit a uint64)",
            {"maximum": str(MAX_AMOUNT)},
        )
    quantized = value.quantize(CENT, context=_AMOUNT_CONTEXT)
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
    return str(value.quantize(CENT, context=_AMOUNT_CONTEXT))


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
    if value < EPOCH:
        raise PydanticCustomError("date_too_early", "must be on or after 1970-01-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_parse_date), AfterValidator(_check_epoch)]
"""A calendar date, "YYYY-MM-DD" in JSON, from 1970-01-01 (chain times are Unix seconds)."""

# The UTC offsets an expiry may be given in: the date of an expiry instant is then readable from
# the instant alone (`kpchain.certificates.conversions.expiry_date`), by anyone who reads the
# chain. Every KP participant's zone is in it (Hawaii at -10:00 to New Zealand's summer +13:00).
MIN_UTC_OFFSET = -10 * 3600
MAX_UTC_OFFSET = 14 * 3600 - 60
_UTC_OFFSET_TEXT = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")


def utc_offset_seconds(text: str) -> int:
    """Seconds east of UTC of an offset written "+HH:MM" or "-HH:MM" ("-05:00" -> -18000).

    Raises:
        ValueError: not written so, or outside -10:00 to +13:59.
    """
    match = _UTC_OFFSET_TEXT.fullmatch(text)
    if match is None or int(match[3]) >= 60:
        raise ValueError(f'{text!r} is not a UTC offset such as "+02:00" or "-05:00"')
    seconds = (int(match[2]) * 3600 + int(match[3]) * 60) * (-1 if match[1] == "-" else 1)
    if not MIN_UTC_OFFSET <= seconds <= MAX_UTC_OFFSET:
        raise ValueError(f"UTC offset {text} is outside -10:00 to +13:59")
    return seconds


def utc_offset_text(seconds: int) -> str:
    """An offset in seconds east of UTC as "+HH:MM" (-18000 -> "-05:00"); the inverse of
    `utc_offset_seconds`."""
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _check_utc_offset(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("utc_offset_format", 'must be a UTC offset such as "+02:00"')
    try:
        seconds = utc_offset_seconds(value)
    except ValueError:
        raise PydanticCustomError(
            "utc_offset_format",
            'must be a UTC offset from "-10:00" to "+13:59", such as "+02:00" or "-05:00"',
        ) from None
    # Written one way, so that equal offsets make equal documents ("+00:00" is none at all).
    return None if seconds == 0 else utc_offset_text(seconds)


UtcOffset = Annotated[
    str | None,
    BeforeValidator(_check_utc_offset),
    Field(json_schema_extra={"pattern": r"^[+-][0-9]{2}:[0-9]{2}$", "examples": ["+02:00"]}),
]
"""The UTC offset of the end of a certificate's expiry day in the exporting participant's time
zone, "+HH:MM" from -10:00 to +13:59; "+00:00" reads as none (UTC)."""

ParticipantCode = Annotated[
    str,
    Field(strict=True, json_schema_extra={"pattern": PARTICIPANT_CODE_PATTERN, "examples": ["BW"]}),
    AfterValidator(_check_code),
]
"""A KP participant's ISO 3166-1 alpha-2 code ("BW"; "EU" for the European Union)."""

OriginCode = Annotated[
    str,
    Field(strict=True, json_schema_extra={"pattern": ORIGIN_PATTERN, "examples": ["BW"]}),
    AfterValidator(_check_origin),
]
"""A country of origin: an ISO 3166-1 alpha-2 code, or "MIXED"."""

CertNo = Annotated[
    str,
    Field(
        strict=True,
        json_schema_extra={"pattern": CERT_NO_PATTERN, "maxLength": CERT_NO_MAX_LENGTH},
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
    WithJsonSchema({"type": "string", "pattern": ADDRESS_PATTERN}),
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
