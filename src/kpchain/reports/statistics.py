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

By origin (`by_origin=True`): each flow also has `by_origin`, the same sums by each line's
origin (the line's own, or the certificate's for a line that states none; "MIXED" for mixed
goods), listing the origins traded only. A certificate with lines of several origins counts once
in each of their breakdowns. Its CSV has an `origin` column in place of `hs_code`, with one row
per origin after each "all" row.
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

BY_ORIGIN_CSV_HEADER = (
    "year",
    "period",
    "from",
    "to",
    "participant",
    "flow",
    "origin",
    "carats",
    "value_usd",
    "certificates",
)
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
    by_origin: dict[str, _Sums] | None = None  # None: not asked for

    def add(self, other: _FlowSums) -> None:
        self.total.add(other.total)
        for number, sums in other.by_hs_code.items():
            self.by_hs_code[number].add(sums)
        if other.by_origin is not None:
            by_origin = self.by_origin if self.by_origin is not None else {}
            for origin, sums in other.by_origin.items():
                by_origin.setdefault(origin, _Sums()).add(sums)
            self.by_origin = by_origin

    def as_dict(self) -> dict[str, Any]:
        result = {
            **self.total.as_dict(),
            "by_hs_code": {
                hs_code_text(number): sums.as_dict() for number, sums in self.by_hs_code.items()
            },
        }
        if self.by_origin is not None:
            result["by_origin"] = {
                origin: self.by_origin[origin].as_dict() for origin in sorted(self.by_origin)
            }
        return result


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
    session: Session,
    *,
    year: int,
    participant: str | None = None,
    period: str | None = None,
    by_origin: bool = False,
) -> dict[str, Any]:
    """Exports and imports by participant for `year` (or one quarter of it).

    Args:
        session: a session on the index.
        year: the calendar year.
        participant: only this participant's row (its code); None: every participant.
        period: "Q1".."Q4", or None for the whole year.
        by_origin: also break each flow down by origin (`by_origin`, see the module).

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
            by_origin=by_origin,
        ),
        "imports": _flow(
            session,
            party=Certificate.importing,
            day=Certificate.received_at,
            counted=Certificate.status.in_(IMPORTED),
            start=start,
            end=end,
            participant=participant,
            by_origin=by_origin,
        ),
    }
    codes = [participant] if participant is not None else _codes(session, flows)
    totals = {flow: _FlowSums(by_origin={} if by_origin else None) for flow in FLOWS}
    rows = []
    for code in codes:
        row: dict[str, Any] = {"code": code}
        for flow in FLOWS:
            sums = flows[flow].get(code, _FlowSums(by_origin={} if by_origin else None))
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
    session: Session,
    *,
    year: int,
    participant: str | None = None,
    period: str | None = None,
    by_origin: bool = False,
) -> str:
    """`statistics` as CSV (see the module's docstring for its columns and rows): by HS code,
    or by origin when `by_origin`."""
    report = statistics(
        session, year=year, participant=participant, period=period, by_origin=by_origin
    )
    breakdown = "by_origin" if by_origin else "by_hs_code"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BY_ORIGIN_CSV_HEADER if by_origin else CSV_HEADER)
    lead = [year, period or "year", report["from"], report["to"]]
    sections = [(row["code"], row) for row in report["participants"]]
    sections.append((ALL, report["totals"]))
    for code, flows in sections:
        for flow in FLOWS:
            sums = flows[flow]
            writer.writerow([*lead, code, flow, ALL, *_csv_amounts(sums)])
            for key, by_key in sums[breakdown].items():
                writer.writerow([*lead, code, flow, key, *_csv_amounts(by_key)])
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
    by_origin: bool = False,
) -> dict[str, _FlowSums]:
    """One flow's sums by participant: two GROUP BY queries, one over certificates (totals) and
    one over their lines (by HS code); and a third by origin when `by_origin`.

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
    if by_origin:
        origins: dict[str, dict[str, _Sums]] = defaultdict(dict)
        for code, origin, line_sums in _by_origin(session, party, conditions):
            origins[code][origin] = line_sums
        for code in set(sums) | set(origins):
            sums[code].by_origin = origins.get(code, {})
    return dict(sums)


def _by_origin(
    session: Session, party: InstrumentedAttribute[str], conditions: list[ColumnElement[bool]]
) -> list[tuple[str, str, _Sums]]:
    """(participant, origin, sums) of the lines of the certificates `conditions` count, by each
    line's origin: its own, or its certificate's when it states none."""
    origin = func.coalesce(CertificateLine.origin, Certificate.origin)
    rows = session.execute(
        select(
            party,
            origin,
            func.sum(CertificateLine.carats_hundredths),
            func.sum(CertificateLine.value_cents),
            func.count(func.distinct(Certificate.cert_no)),
        )
        .join(CertificateLine, CertificateLine.cert_no == Certificate.cert_no)
        .where(*conditions)
        .group_by(party, origin)
    )
    return [
        (code, str(line_origin), _Sums(int(hundredths), int(cents), int(count)))
        for code, line_origin, hundredths, cents, count in rows
    ]


def _codes(session: Session, flows: dict[str, dict[str, _FlowSums]]) -> list[str]:
    admitted = set(session.scalars(select(Participant.code)))
    traded = {code for sums in flows.values() for code in sums}
    return sorted(admitted | traded)
