"""What the authority API returns: certificate, document and participant views.

Views describe what the chain (through the index) holds, so they check shapes (hex lengths,
addresses, labels) but not the document's input rules: the contract accepts certificates that
`CertificateDocument` would refuse (a zero US$ value, an empty issuing authority), and a view
must still show them. Amounts are written as two-decimal strings and times as UTC ISO 8601.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from kpchain.certificates.conversions import (
    cents_to_usd,
    date_from_seconds,
    expiry_date,
    hs_code_text,
    hundredths_to_carats,
    origin_text,
    provenance_text,
    rejection_reason_label,
    withdrawal_reason_label,
)
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.fields import (
    Address,
    Amount,
    Hex32,
    HexData,
    NonNegativeAmount,
    Parcels,
    ParticipantCode,
    TotalAmount,
    format_amount,
    omitted_if_none,
)
from kpchain.certificates.typed_data import ZERO32, Certificate, Line
from kpchain.contracts.encoding import cert_no_text, code_text
from kpchain.contracts.enums import CertificateStatus, RejectionReason, WithdrawalReason
from kpchain.errors import DocumentInvalidError
from kpchain.vocabulary import (
    CertificateStatusLabel,
    HsCode,
    ParticipantStatusLabel,
    RejectionReasonLabel,
    StepName,
    WithdrawalReasonLabel,
)

_VIEW_CONFIG = ConfigDict(extra="forbid", frozen=True)

SignedAmount = Annotated[
    Decimal,
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["-1.50"]}),
]
"""A difference of amounts: two decimals, either sign."""


def certificate_status_label(status: CertificateStatus | int) -> CertificateStatusLabel:
    """The API label of a contract status (CertificateStatus.SHIPPED -> "shipped").

    Raises:
        DocumentInvalidError: `status` is NONE (no certificate) or not a CertificateStatus.
    """
    try:
        member = CertificateStatus(status)
    except ValueError:
        member = CertificateStatus.NONE
    if member is CertificateStatus.NONE:
        raise DocumentInvalidError(
            f"status {status!r} is not a certificate's status", detail={"status": int(status)}
        )
    return CertificateStatusLabel[member.name]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class LineView(BaseModel):
    """One HS-code line, as `CertificateLine`, but with a value of zero allowed (the contract
    allows it).

    Attributes:
        origin: the line's own origin (ISO code or "MIXED"); None: the certificate's.
        provenance: a mixed line's provenance.
        origin_zone: the line's zone, by name when known, else its 0x-hex id; None without one.
    """

    model_config = _VIEW_CONFIG

    hs_code: HsCode
    carats: Amount
    value_usd: NonNegativeAmount
    parcels: Parcels
    # Left out of the JSON when None: a certificate of one origin keeps its lines' shape.
    origin: str | None = omitted_if_none()
    provenance: str | None = omitted_if_none()
    origin_zone: str | None = omitted_if_none()

    @classmethod
    def from_contract(cls, line: Line, zone_names: Mapping[bytes, str] | None = None) -> LineView:
        """The view of a contract line (hundredths and cents to decimals), its zone named from
        `zone_names` when known."""
        stated = line.states_origin
        return cls(
            hs_code=hs_code_text(line.hsCode),
            carats=hundredths_to_carats(line.carats),
            value_usd=cents_to_usd(line.valueUsdCents),
            parcels=line.parcels,
            origin=origin_text(line.origin) if stated else None,
            provenance=provenance_text(line.provenance) if stated else None,
            origin_zone=_zone_text(line.originZone, zone_names),
        )


def _zone_text(zone: bytes, zone_names: Mapping[bytes, str] | None) -> str | None:
    """A zone id as a view shows it: its name when known, else 0x-hex; None for no zone."""
    if zone == ZERO32:
        return None
    return (zone_names or {}).get(zone, "0x" + zone.hex())


class StepView(BaseModel):
    """When and by whom a lifecycle step happened on chain.

    Attributes:
        at: the block's time, in UTC.
        block_number: the block that holds the transaction.
        tx_hash: the transaction's hash.
        authority: the authority account that sent it, if known.
    """

    model_config = _VIEW_CONFIG

    at: Annotated[AwareDatetime, AfterValidator(_to_utc)]
    block_number: int = Field(ge=0)
    tx_hash: Hex32
    authority: Address | None = None

    @classmethod
    def from_block(
        cls,
        *,
        timestamp: int,
        block_number: int,
        tx_hash: bytes | str,
        authority: str | None = None,
    ) -> StepView:
        """The step of a transaction mined in the block of Unix time `timestamp`."""
        return cls.model_validate(
            {
                "at": datetime.fromtimestamp(timestamp, UTC),
                "block_number": block_number,
                "tx_hash": tx_hash,
                "authority": authority,
            }
        )


class ConfirmationView(BaseModel):
    """The importing authority's confirmation of receipt, as the chain recorded it."""

    model_config = _VIEW_CONFIG

    parcels: Parcels
    carats: Amount
    received_at: date
    confirmation_hash: Hex32

    @classmethod
    def from_contract(
        cls, *, parcels: int, carats: int, received_at: int, confirmation_hash: bytes | str
    ) -> ConfirmationView:
        """The view of the contract's `Confirmation` (carats in hundredths, Unix seconds)."""
        return cls.model_validate(
            {
                "parcels": parcels,
                "carats": hundredths_to_carats(carats),
                "received_at": date_from_seconds(received_at),
                "confirmation_hash": confirmation_hash,
            }
        )


class ReceiptFigures(BaseModel):
    """Parcels and carats, as certified or as confirmed on receipt."""

    model_config = _VIEW_CONFIG

    parcels: int = Field(ge=0)
    carats: TotalAmount


class DiscrepancyView(BaseModel):
    """A confirmation of receipt whose parcels or carats differ from the certificate's totals
    (the KP's discrepancy on receipt), shown to both parties.

    Attributes:
        certified: the certificate's totals.
        confirmed: what the importing authority confirmed.
        parcels_difference: confirmed minus certified parcels.
        carats_difference: confirmed minus certified carats.
    """

    model_config = _VIEW_CONFIG

    certified: ReceiptFigures
    confirmed: ReceiptFigures
    parcels_difference: int
    carats_difference: SignedAmount

    @classmethod
    def of(
        cls,
        *,
        certified: tuple[int, Decimal],
        confirmed: tuple[int, Decimal],
    ) -> DiscrepancyView | None:
        """The discrepancy between the certified and confirmed (parcels, carats), or None when
        they agree."""
        if certified == confirmed:
            return None
        return cls(
            certified=ReceiptFigures(parcels=certified[0], carats=certified[1]),
            confirmed=ReceiptFigures(parcels=confirmed[0], carats=confirmed[1]),
            parcels_difference=confirmed[0] - certified[0],
            carats_difference=confirmed[1] - certified[1],
        )


class CertificateView(BaseModel):
    """A certificate as GET /v1/certificates/{cert_no} returns it: the document's fields as the
    chain has them (identities as their hashes), its status, totals and lifecycle steps.

    Attributes:
        origin: an ISO code, or "MIXED".
        origin_zone: the zone's name when known, else the 0x-hex zone id; None without a zone.
        exporter_hash: the exporter's salted identity hash.
        importer_hash: the importer's salted identity hash.
        status: the status, "expired" once an issued or shipped certificate is past its expiry.
        doc_hash: the document's EIP-712 hash.
        signer: the account whose signature validated the document.
        carats: total carats over the lines.
        value_usd: total US$ value over the lines.
        parcels: total parcels over the lines.
        seal_ref_hash: the seal reference hash recorded on shipping; None when none was given.
        confirmation: the confirmation of receipt, once received.
        discrepancy: the certified and confirmed figures when the confirmation of receipt
            differs from the certificate's totals in parcels or carats; None otherwise.
        rejection_reason: why the importing authority rejected it, once rejected.
        withdrawal_reason: why the exporting authority withdrew it in transit (its importer no
            longer Active), once withdrawn; its status is then "cancelled", and its `cancelled`
            step is the withdrawal.
        steps: the transaction of each step so far, by step name.
        replaced_by: the number of the certificate that replaces this (cancelled or rejected)
            one, once one does; the other side of `replaces`.
    """

    model_config = _VIEW_CONFIG

    cert_no: str
    exporting_participant: str
    importing_participant: str
    origin: str
    provenance: str | None
    origin_zone: str | None
    exporter_hash: Hex32
    importer_hash: Hex32
    lines: list[LineView]
    issued_at: date
    expires_at: date
    issuing_authority: str
    replaces: str | None
    status: CertificateStatusLabel
    doc_hash: Hex32
    signer: Address
    carats: TotalAmount
    value_usd: TotalAmount
    parcels: int = Field(ge=0)
    seal_ref_hash: Hex32 | None = None
    confirmation: ConfirmationView | None = None
    discrepancy: DiscrepancyView | None = None
    rejection_reason: RejectionReasonLabel | None = None
    withdrawal_reason: WithdrawalReasonLabel | None = None
    steps: dict[StepName, StepView] = Field(default_factory=dict)
    replaced_by: str | None = None

    @classmethod
    def from_certificate(
        cls,
        cert: Certificate,
        *,
        status: CertificateStatus | CertificateStatusLabel,
        doc_hash: bytes | str,
        signer: str,
        zone_names: Mapping[bytes, str] | None = None,
        seal_ref_hash: bytes | None = None,
        confirmation: ConfirmationView | None = None,
        rejection_reason: RejectionReason | None = None,
        withdrawal_reason: WithdrawalReason | None = None,
        steps: Mapping[StepName, StepView] | None = None,
        replaced_by: str | None = None,
    ) -> CertificateView:
        """The view of an on-chain certificate and what happened to it since.

        Args:
            cert: the certificate as issued (e.g. rebuilt from its CertificateIssued event).
            status: its status now, "expired" included (the caller knows the time).
            doc_hash: its document hash.
            signer: the account that signed the document.
            zone_names: names of known zone ids, to show `origin_zone` by name.
            seal_ref_hash: the `sealRef` of its shipping; zero bytes count as none.
            confirmation: its confirmation of receipt, if received.
            rejection_reason: the reason it was rejected, if it was.
            withdrawal_reason: the reason it was withdrawn in transit, if it was.
            steps: the transaction of each step so far.
            replaced_by: the number of the certificate that replaces it, if one does.

        Raises:
            DocumentInvalidError: `cert` holds a number that is not left-aligned ASCII, or
                `status` is NONE.
        """
        lines = [LineView.from_contract(line, zone_names) for line in cert.lines]
        zone = _zone_text(cert.originZone, zone_names)
        carats = sum((line.carats for line in lines), Decimal("0.00"))
        parcels = sum(line.parcels for line in lines)
        discrepancy = None
        if confirmation is not None:
            discrepancy = DiscrepancyView.of(
                certified=(parcels, carats),
                confirmed=(confirmation.parcels, confirmation.carats),
            )
        label = status if isinstance(status, str) else certificate_status_label(status)
        return cls.model_validate(
            {
                "cert_no": cert_no_text(cert.certNo),
                "exporting_participant": code_text(cert.exportingParticipant),
                "importing_participant": code_text(cert.importingParticipant),
                "origin": origin_text(cert.origin),
                "provenance": provenance_text(cert.provenance),
                "origin_zone": zone,
                "exporter_hash": cert.exporterHash,
                "importer_hash": cert.importerHash,
                "lines": lines,
                "issued_at": date_from_seconds(cert.issuedAt),
                "expires_at": expiry_date(cert.expiresAt),
                "issuing_authority": cert.issuingAuthority,
                "replaces": None if cert.replaces == ZERO32 else cert_no_text(cert.replaces),
                "status": label,
                "doc_hash": doc_hash,
                "signer": signer,
                "carats": carats,
                "value_usd": sum((line.value_usd for line in lines), Decimal("0.00")),
                "parcels": parcels,
                "seal_ref_hash": None if seal_ref_hash in (None, ZERO32) else seal_ref_hash,
                "confirmation": confirmation,
                "discrepancy": discrepancy,
                "rejection_reason": (
                    None if rejection_reason is None else rejection_reason_label(rejection_reason)
                ),
                "withdrawal_reason": (
                    None
                    if withdrawal_reason is None
                    else withdrawal_reason_label(withdrawal_reason)
                ),
                "steps": dict(steps or {}),
                "replaced_by": replaced_by,
            }
        )


class CertificatePage(BaseModel):
    """A page of certificates, newest first."""

    model_config = _VIEW_CONFIG

    items: list[CertificateView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class CertificateDocumentView(BaseModel):
    """GET /v1/certificates/{cert_no}/document: the canonical document, its hash and
    signature, and the identity salts, so that whoever holds it can recompute every hash
    (`to_contract(document, exporter_salt=…, importer_salt=…)` and `document_hash`)."""

    model_config = _VIEW_CONFIG

    document: CertificateDocument
    doc_hash: Hex32
    signature: HexData
    signer: Address
    exporter_salt: Hex32
    importer_salt: Hex32


class AuthorityView(BaseModel):
    """An authority account of a participant and when it held that role."""

    model_config = _VIEW_CONFIG

    address: Address
    added_block: int = Field(ge=0)
    revoked_block: int | None = Field(default=None, ge=0)


class ParticipantView(BaseModel):
    """A participant as GET /v1/participants/{code} returns it.

    Attributes:
        zones: allowed origin zone ids (0x-hex), when the origin is restricted.
        authorities: its authority accounts, current and revoked.
    """

    model_config = _VIEW_CONFIG

    code: ParticipantCode
    status: ParticipantStatusLabel
    admin: Address
    origin_restricted: bool
    zones: list[Hex32] = Field(default_factory=list)
    authorities: list[AuthorityView] = Field(default_factory=list)
