"""KP statistics, as the KP's Annual Global Summary counts trade: for each participant, exports
(certificates shipped, by date of issue) and imports (certificates received, by date of
receipt), in carats, US$ and certificates, with a breakdown by HS code.

An export counts once its shipment has left: the certificate is shipped or received (`EXPORTED`).
A certificate only issued has moved no diamonds; a cancelled one never will; a rejected one was
refused at the border and goes back; a shipment withdrawn in transit (its importer no longer
Active; stored as cancelled) was returned or re-routed under a new certificate, which counts in
its turn. Counting those would report trade no importer can ever confirm, so the mirror report
(`kpchain.reports.mirror`) would show differences that never close.

Every sum is done by the database over the index's integers (hundredths of a carat, US cents)
and written as a two-decimal string, so totals equal the sum of the documents exactly. A
certificate with lines under several HS codes counts once in each of their breakdowns, and once
in the participant's total.

CSV (`statistics_csv`), one row per participant, flow and HS code::

    year,period,from,to,participant,flow,hs_code,carats,value_usd,certificates
    2026,Q1,2026-01-01,2026-03-31,BW,exports,all,1234.56,456789.00,1
    2026,Q1,2026-01-01,2026-03-31,BW,exports,7102.31,1234.56,456789.00,1
    …
    2026,Q1,2026-01-01,2026-03-31,all,imports,7102.10,0.00,0.00,0

`period` is Q1..Q4 or `year`; `hs_code` is "all" on a flow's total row; `participant` is "all"
on the totals rows, which come last. For each participant and flow the "all" row comes first,
then the three HS codes.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kpchain.certificates.conversions import SECONDS_PER_DAY, hs_code_text, issued_at_seconds
from kpchain.certificates.typed_data import HS_CODES
from kpchain.errors import ErrorCode, InvalidRequestError
from kpchain.indexer.tables import Certificate, CertificateLine, Participant
from kpchain.reports.common import amount_text, require_participant

EXPORTED = ("shipped", "received")
"""The stored statuses of a certificate that counts as an export (see the module's docstring)."""
IMPORTED = ("received",)
"""The stored status of a certificate that counts as an import."""

Flow = Literal["exports", "imports"]
FLOWS: tuple[Flow, ...] = ("exports", "imports")
PERIODS = ("Q1", "Q2", "Q3", "Q4")
MIN_YEAR = 1970  # chain dates are Unix seconds
MAX_YEAR = 9999

CSV_HEADER = (
    "year",
    "period",
    "from",
    "to",
    "participant",
    "flow",
    "hs_code",
    "carats",
    "value_usd",
    "certificates",
)
ALL = "all"


@dataclass
class _Sums:
    """Hundredths of a carat, US cents and a certificate count."""

    hundredths: int = 0
    cents: int = 0
    certificates: int = 0

    def add(self, other: _Sums) -> None:
        self.hundredths += other.hundredths
        self.cents += other.cents
        self.certificates += other.certificates

    def as_dict(self) -> dict[str, Any]:
        return {
            "carats": amount_text(self.hundredths),
            "value_usd": amount_text(self.cents),
            "certificates": self.certificates,
        }


@dataclass
class _FlowSums:
    """One participant's flow (or the world's): its total and its breakdown by HS code."""

    total: _Sums = field(default_factory=_Sums)
    by_hs_code: dict[int, _Sums] = field(
        default_factory=lambda: {number: _Sums() for number in sorted(HS_CODES.values())}
    )

    def add(self, other: _FlowSums) -> None:
        self.total.add(other.total)
        for number, sums in other.by_hs_code.items():
            self.by_hs_code[number].add(sums)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.total.as_dict(),
            "by_hs_code": {
                hs_code_text(number): sums.as_dict() for number, sums in self.by_hs_code.items()
            },
        }


def period_bounds(year: int, period: str | None) -> tuple[date, date]:
    """The first and last day of `period` (Q1..Q4) of `year`, or of the whole year (None).

    Raises:
        InvalidRequestError: `year` is outside 1970..9999 or `period` is not Q1..Q4.
    """
    if isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidRequestError(
            f"year must be from {MIN_YEAR} to {MAX_YEAR}, got {year}",
            code=ErrorCode.YEAR_INVALID,
            detail={"year": year},
        )
    if period is None:
        return date(year, 1, 1), date(year, 12, 31)
    if period not in PERIODS:
        raise InvalidRequestError(
            f"period must be one of {', '.join(PERIODS)}, got {period!r}",
            code=ErrorCode.PERIOD_INVALID,
            detail={"period": str(period)[:20]},
        )
    last_month = 3 * PERIODS.index(period) + 3
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, last_month - 2, 1), date(year, last_month, last_day)


def statistics(
    session: Session, *, year: int, participant: str | None = None, period: str | None = None
) -> dict[str, Any]:
    """Exports and imports by participant for `year` (or one quarter of it).

    Args:
        session: a session on the index.
        year: the calendar year.
        participant: only this participant's row (its code); None: every participant.
        period: "Q1".."Q4", or None for the whole year.

    Returns:
        `{"year", "period", "from", "to", "participants": [{"code", "exports", "imports"}],
        "totals": {"exports", "imports"}}`, each flow `{"carats", "value_usd",
        "certificates", "by_hs_code": {"7102.10": {"carats", "value_usd", "certificates"},
        …}}`. Participants come by code, every admitted one (with zeros) unless `participant`
        is given; `totals` sums the participants listed.

    Raises:
        InvalidRequestError: `year` or `period` is out of range, or `participant` malformed.
        NotFoundError: `participant` was never admitted (code participant_not_found).
    """
    first, last = period_bounds(year, period)
    if participant is not None:
        require_participant(session, participant)
    start = issued_at_seconds(first)
    end = issued_at_seconds(last) + SECONDS_PER_DAY
    flows = {
        "exports": _flow(
            session,
            party=Certificate.exporting,
            day=Certificate.issued_at,
            counted=Certificate.status.in_(EXPORTED),
            start=start,
            end=end,
            participant=participant,
        ),
        "imports": _flow(
            session,
            party=Certificate.importing,
            day=Certificate.received_at,
            counted=Certificate.status.in_(IMPORTED),
            start=start,
            end=end,
            participant=participant,
        ),
    }
    codes = [participant] if participant is not None else _codes(session, flows)
    totals = {flow: _FlowSums() for flow in FLOWS}
    rows = []
    for code in codes:
        row: dict[str, Any] = {"code": code}
        for flow in FLOWS:
            sums = flows[flow].get(code, _FlowSums())
            totals[flow].add(sums)
            row[flow] = sums.as_dict()
        rows.append(row)
    return {
        "year": year,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "participants": rows,
        "totals": {flow: totals[flow].as_dict() for flow in FLOWS},
    }


def statistics_csv(
    session: Session, *, year: int, participant: str | None = None, period: str | None = None
) -> str:
    """`statistics` as CSV (see the module's docstring for its columns and rows)."""
    report = statistics(session, year=year, participant=participant, period=period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    lead = [year, period or "year", report["from"], report["to"]]
    sections = [(row["code"], row) for row in report["participants"]]
    sections.append((ALL, report["totals"]))
    for code, flows in sections:
        for flow in FLOWS:
            sums = flows[flow]
            writer.writerow([*lead, code, flow, ALL, *_csv_amounts(sums)])
            for hs_code, by_code in sums["by_hs_code"].items():
                writer.writerow([*lead, code, flow, hs_code, *_csv_amounts(by_code)])
    return out.getvalue()


def _csv_amounts(sums: dict[str, Any]) -> list[Any]:
    return [sums["carats"], sums["value_usd"], sums["certificates"]]


def _flow(
    session: Session,
    *,
    party: InstrumentedAttribute[str],
    day: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    counted: ColumnElement[bool],
    start: int,
    end: int,
    participant: str | None,
) -> dict[str, _FlowSums]:
    """One flow's sums by participant: two GROUP BY queries, one over certificates (totals) and
    one over their lines (by HS code).

    Both read indexes alone (migration 0008_statistics): ix_certificates_exports or _imports
    (the day, status, participant, number and amounts) and ix_certificate_lines_by_hs_code;
    looking up each certificate's wide row made a year's statistics half as slow again.
    COUNT(DISTINCT) stays: a certificate with two lines under one HS code counts once in it.
    """
    conditions = [counted, day >= start, day < end]
    if participant is not None:
        conditions.append(party == participant)
    sums: dict[str, _FlowSums] = defaultdict(_FlowSums)
    totals = session.execute(
        select(
            party,
            func.sum(Certificate.carats_hundredths),
            func.sum(Certificate.value_cents),
            func.count(),
        )
        .where(*conditions)
        .group_by(party)
    )
    for code, hundredths, cents, count in totals:
        sums[code].total = _Sums(int(hundredths), int(cents), int(count))
    by_code = session.execute(
        select(
            party,
            CertificateLine.hs_code,
            func.sum(CertificateLine.carats_hundredths),
            func.sum(CertificateLine.value_cents),
            func.count(func.distinct(Certificate.cert_no)),
        )
        .join(CertificateLine, CertificateLine.cert_no == Certificate.cert_no)
        .where(*conditions)
        .group_by(party, CertificateLine.hs_code)
    )
    for code, hs_code, hundredths, cents, count in by_code:
        # The contract takes only the KP's three codes; anything else would be a new one.
        sums[code].by_hs_code[int(hs_code)] = _Sums(int(hundredths), int(cents), int(count))
    return dict(sums)


def _codes(session: Session, flows: dict[str, dict[str, _FlowSums]]) -> list[str]:
    admitted = set(session.scalars(select(Participant.code)))
    traded = {code for sums in flows.values() for code in sums}
    return sorted(admitted | traded)
