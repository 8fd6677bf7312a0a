"""The certificate document: the KP certificate as an exporting authority issues it (DESIGN.md
§4), JSON with decimals as strings, dates as ISO dates and identities in clear.

Its fields are the types of `kpchain.certificates.fields`; the rules across fields (the cert_no
prefix, distinct participants, origin and provenance, date order, replaces) run here once every
field is valid on its own, and report at the field that has to change. What the contract makes
of a document is `kpchain.certificates.conversions.to_contract`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
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
    omitted_if_none,
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


class Origin(NamedTuple):
    """Where a line's goods come from: an ISO code or "MIXED", the provenance of a mixed one,
    and the zone of origin (its name) where one is named."""

    origin: str
    provenance: str | None
    origin_zone: str | None


def _origin_errors(origin: str, provenance: str | None) -> list[InitErrorDetails]:
    """The origin-and-provenance rule, the certificate's and a line's alike: "MIXED" names the
    participant the parcel was last exported from, an ISO origin names none."""
    if origin == MIXED and provenance is None:
        return [
            _field_error(
                "provenance",
                None,
                "provenance_missing",
                'is required when origin is "MIXED": the ISO code of the participant the '
                "parcel was last exported from",
            )
        ]
    if origin != MIXED and provenance is not None:
        return [
            _field_error(
                "provenance",
                provenance,
                "provenance_unexpected",
                'must be null unless origin is "MIXED"',
            )
        ]
    return []


class CertificateLine(BaseModel):
    """One HS-code line of a shipment: what it weighs, what it is worth, in how many parcels,
    and, when its goods come from elsewhere than the certificate's origin, their own origin.

    Attributes:
        origin: this line's origin (ISO code or "MIXED"); None: the certificate's origin, and
            then `provenance` and `origin_zone` are None too.
        provenance: for a "MIXED" line, the participant it was last exported from.
        origin_zone: this line's zone of origin, needed when its origin is restricted.

    The three are left out of the JSON when None, so a document of one origin keeps the shape
    it had before lines could state their own.
    """

    model_config = _DOCUMENT_CONFIG

    hs_code: HsCode
    carats: Amount
    value_usd: Amount
    parcels: Parcels
    origin: OriginCode | None = omitted_if_none()
    provenance: ParticipantCode | None = omitted_if_none()
    origin_zone: ZoneName | None = omitted_if_none()

    @model_validator(mode="after")
    def _check_origin(self) -> Self:
        if self.origin is None:
            errors = [
                _field_error(
                    name,
                    getattr(self, name),
                    "line_origin_missing",
                    "must be null unless the line states its own origin",
                )
                for name in ("provenance", "origin_zone")
                if getattr(self, name) is not None
            ]
        else:
            errors = _origin_errors(self.origin, self.provenance)
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


class CertificateDocument(BaseModel):
    """The KP certificate document (DESIGN.md §4), as the exporting authority issues it.

    Attributes:
        cert_no: unique number, "<exporting_participant>-…", printable ASCII, at most 32 bytes.
        exporting_participant: ISO code of the exporting participant.
        importing_participant: ISO code of the importing participant (not the exporter).
        origin: ISO code of the country of origin, or "MIXED": the origin of every line that
            states none. A certificate whose lines differ in origin states it on the lines
            that differ; this is then the origin of the others (the shipment's main origin),
            and `line_origins` gives each line's.
        provenance: for "MIXED" origin, the ISO code of the participant the parcel was last
            exported from; otherwise None.
        origin_zone: zone name ("CF:Berberati"), needed when the origin is restricted to zones
            (of the lines that state no origin, as `origin`).
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
    # Left out of the JSON when None: a document in UTC (stored, delivered to the importer,
    # shown, hashed) is the same as before the field existed.
    expiry_utc_offset: UtcOffset = omitted_if_none()

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
        errors.extend(_origin_errors(self.origin, self.provenance))
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

    def line_origins(self) -> list[Origin]:
        """Each line's origin, in line order: its own when it states one, else the
        certificate's."""
        own = Origin(self.origin, self.provenance, self.origin_zone)
        return [
            own if line.origin is None else Origin(line.origin, line.provenance, line.origin_zone)
            for line in self.lines
        ]

    def totals(self) -> tuple[Decimal, Decimal, int]:
        """The shipment's totals over its lines: (carats, value_usd, parcels)."""
        carats = sum((line.carats for line in self.lines), Decimal("0.00"))
        value = sum((line.value_usd for line in self.lines), Decimal("0.00"))
        return carats, value, sum(line.parcels for line in self.lines)
