"""The certificate document: the KP certificate as an exporting authority issues it (DESIGN.md
§4), JSON with decimals as strings, dates as ISO dates and identities in clear.

Its fields are the types of `kpchain.certificates.fields`; the rules across fields (the cert_no
prefix, distinct participants, origin and provenance, date order, replaces) run here once every
field is valid on its own, and report at the field that has to change. What the contract makes
of a document is `kpchain.certificates.conversions.to_contract`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from kpchain.certificates.fields import (
    MAX_LINES,
    Amount,
    CertNo,
    IsoDate,
    IssuingAuthority,
    OriginCode,
    Parcels,
    ParticipantCode,
    PartyAddress,
    PartyLicence,
    PartyName,
    UtcOffset,
    ZoneName,
)
from kpchain.vocabulary import MIXED, HsCode


def _field_error(
    field: str, value: Any, kind: str, message: str, context: dict[str, Any] | None = None
) -> InitErrorDetails:
    error = PydanticCustomError(kind, message, context)
    return InitErrorDetails(type=error, loc=(field,), input=value)


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
        expires_at: date of expiry, after `issued_at`: valid through the end of that day in the
            exporting participant's time zone (`expiry_utc_offset`).
        expiry_utc_offset: the UTC offset of the exporting participant's time zone at the end
            of the expiry day ("+02:00"), which the chain's `expiresAt` is computed with; None
            (and left out of the JSON) for UTC, so documents from before it hash as they did.
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
    expiry_utc_offset: UtcOffset = None

    @model_serializer(mode="wrap")
    def _leave_out_utc(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A document in UTC has no offset key at all: its JSON (stored, delivered to the
        # importer, shown) is the same as before the field existed.
        data: dict[str, Any] = handler(self)
        if data.get("expiry_utc_offset") is None:
            data.pop("expiry_utc_offset", None)
        return data

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
