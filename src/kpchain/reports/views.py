"""The shapes of the statistics and monitoring reports, as the API answers them.

Amounts are exact decimals written as strings with two decimals ("1234.56"): sums of many
certificates need not fit a float, nor any fixed width.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kpchain.certificates.fields import omitted_if_none
from kpchain.vocabulary import (
    ORIGIN_PATTERN,
    PARTICIPANT_CODE_PATTERN,
    HsCode,
    RejectionReasonLabel,
)

_CONFIG = ConfigDict(extra="forbid", frozen=True)

AmountText = Annotated[
    str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["1234.56"], description="Two decimals.")
]
CodeText = Annotated[str, Field(pattern=PARTICIPANT_CODE_PATTERN, examples=["BW"])]
MixedOrCode = Annotated[str, Field(pattern=ORIGIN_PATTERN, examples=["BW", "MIXED"])]
UtcTime = Annotated[str, Field(examples=["2026-11-27T10:00:00Z"], description="UTC, ISO 8601.")]
DateText = Annotated[str, Field(examples=["2026-11-27"], description="ISO 8601 date.")]


class Sums(BaseModel):
    """Carats, US$ and a certificate count."""

    model_config = _CONFIG

    carats: AmountText
    value_usd: AmountText
    certificates: int = Field(ge=0)


class Flow(Sums):
    """A flow (exports or imports) in total and by HS code; by origin when asked for
    (`?by=origin`: each line's origin, an ISO code or "MIXED", for the origins traded)."""

    by_hs_code: dict[HsCode, Sums]
    by_origin: dict[MixedOrCode, Sums] | None = omitted_if_none()


class ParticipantFlows(BaseModel):
    model_config = _CONFIG

    code: CodeText
    exports: Flow
    imports: Flow


class Totals(BaseModel):
    model_config = _CONFIG

    exports: Flow
    imports: Flow


class StatisticsReport(BaseModel):
    """Exports (shipped or received, by issue date) and imports (received, by receipt date) per
    participant, with totals over the participants listed."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    year: int
    period: Literal["Q1", "Q2", "Q3", "Q4"] | None
    from_: DateText = Field(alias="from")
    to: DateText
    participants: list[ParticipantFlows]
    totals: Totals


class PairImports(Sums):
    """B's imports from A: the certificates' figures, and the carats B confirmed on receipt."""

    confirmed_carats: AmountText


class Difference(BaseModel):
    """Exports minus imports: negative where more was received than exported in the period."""

    model_config = _CONFIG

    carats: AmountText
    value_usd: AmountText
    certificates: int


class MirrorPair(BaseModel):
    """A's exports to B beside B's imports from A."""

    model_config = _CONFIG

    exporting: CodeText
    importing: CodeText
    exports: Sums
    imports: PairImports
    difference: Difference


class MirrorReport(BaseModel):
    """For each ordered pair of participants that traded in the period, the exporter's exports
    (shipped or received, by issue date) beside the importer's imports (received, by receipt
    date), pair by pair."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    year: int
    period: Literal["Q1", "Q2", "Q3", "Q4"] | None
    from_: DateText = Field(alias="from")
    to: DateText
    pairs: list[MirrorPair]


class _Parties(BaseModel):
    model_config = _CONFIG

    cert_no: str
    exporting_participant: CodeText
    importing_participant: CodeText


class Overdue(_Parties):
    """A shipment without a confirmation of receipt for longer than the overdue period."""

    status: Literal["shipped", "expired"]
    shipped_at: UtcTime
    days_in_transit: int
    expires_at: DateText


class ExpiredInTransit(_Parties):
    """A shipment whose certificate expired before its receipt was confirmed."""

    shipped_at: UtcTime
    expires_at: DateText
    days_since_expiry: int


class Rejection(_Parties):
    reason: RejectionReasonLabel | None
    rejected_at: UtcTime


class Rejections(BaseModel):
    model_config = _CONFIG

    by_reason: dict[str, int]
    items: list[Rejection]


class Figures(BaseModel):
    model_config = _CONFIG

    parcels: int = Field(ge=0)
    carats: AmountText


class Discrepancy(_Parties):
    """A confirmation of receipt whose parcels or carats differ from the certificate's."""

    received_at: DateText
    certified: Figures
    confirmed: Figures
    parcels_difference: int
    carats_difference: AmountText


class Discrepancies(BaseModel):
    model_config = _CONFIG

    count: int = Field(ge=0)
    items: list[Discrepancy]


class Outlier(_Parties):
    """A certificate whose value per carat is far from the median of its origin."""

    origin: MixedOrCode
    value_per_carat: AmountText
    median: AmountText
    factor: float
    direction: Literal["above", "below"]


class MonitoringReport(BaseModel):
    """What the Working Group on Monitoring looks at, at `generated_at`."""

    model_config = _CONFIG

    generated_at: UtcTime
    overdue_days: int
    outlier_factor: float
    overdue: list[Overdue]
    expired_in_transit: list[ExpiredInTransit]
    rejections: Rejections
    discrepancies: Discrepancies
    outliers: list[Outlier]
