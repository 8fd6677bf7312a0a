"""Monitoring (the KP Working Group on Monitoring's cross-checks), read from the index:

- overdue: shipped certificates whose receipt has not been confirmed (nor the shipment
  rejected) within `overdue_days` of shipping (KPCS Section III asks for the confirmation
  "expeditiously");
- expired in transit: shipped certificates past their expiry, which can now only be rejected;
- rejections, counted by reason;
- discrepancies on receipt: confirmations whose parcels or carats differ from the certificate's
  totals (the index's flag, `Certificate.discrepancy`; the registry keeps no totals to compare);
- value-per-carat outliers: certificates whose US$ per carat is above `outlier_factor` times the
  median of their origin, or below the median divided by it. The median of an origin is taken
  over its certificates that were not cancelled; origins with fewer than `MIN_SAMPLE` of them
  are not judged.
"""

from __future__ import annotations

import statistics as stats
from collections import defaultdict
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from kpchain.certificates.conversions import SECONDS_PER_DAY, date_from_seconds, expiry_date
from kpchain.errors import ErrorCode, InvalidRequestError
from kpchain.indexer import queries
from kpchain.indexer.tables import Certificate
from kpchain.reports.common import amount_text, require_participant

MIN_SAMPLE = 3
"""Fewest certificates of an origin for its median to judge outliers by."""


def monitoring(
    session: Session,
    *,
    now: int,
    overdue_days: int,
    outlier_factor: float,
    participant: str | None = None,
) -> dict[str, Any]:
    """The monitoring report at Unix time `now`.

    Args:
        session: a session on the index.
        now: the Unix time to judge at (see AuthorityService.now).
        overdue_days: days after shipping without a confirmation before a shipment is overdue.
        outlier_factor: how many times above (or below) its origin's median value per carat a
            certificate must be to be flagged; above 1.
        participant: only certificates this participant exports or imports (medians are still
            taken over every certificate of an origin).

    Returns:
        `{"generated_at", "overdue_days", "outlier_factor", "overdue": [...],
        "expired_in_transit": [...], "rejections": {"by_reason": {reason: count}, "items":
        [...]}, "discrepancies": {"count", "items": [...]}, "outliers": [...]}`.

    Raises:
        InvalidRequestError: `overdue_days` below 1, `outlier_factor` not above 1, or
            `participant` malformed.
        NotFoundError: `participant` was never admitted (participant_not_found).
    """
    if isinstance(overdue_days, bool) or overdue_days < 1:
        raise InvalidRequestError(
            f"overdue_days must be at least 1, got {overdue_days}",
            code=ErrorCode.OVERDUE_DAYS_INVALID,
        )
    if not outlier_factor > 1:
        raise InvalidRequestError(
            f"outlier_factor must be above 1, got {outlier_factor}",
            code=ErrorCode.OUTLIER_FACTOR_INVALID,
        )
    if participant is not None:
        require_participant(session, participant)
    party = (
        or_(Certificate.exporting == participant, Certificate.importing == participant)
        if participant is not None
        else true()
    )
    return {
        "generated_at": _time(now),
        "overdue_days": overdue_days,
        "outlier_factor": outlier_factor,
        "overdue": _overdue(session, party, now=now, overdue_days=overdue_days),
        "expired_in_transit": _expired_in_transit(session, party, now=now),
        "rejections": _rejections(session, party),
        "discrepancies": _discrepancies(session, party),
        "outliers": _outliers(session, participant, factor=Fraction(outlier_factor)),
    }


def _overdue(
    session: Session, party: ColumnElement[bool], *, now: int, overdue_days: int
) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Certificate)
        .where(
            party,
            Certificate.status == "shipped",
            Certificate.shipped_time < now - overdue_days * SECONDS_PER_DAY,
        )
        .order_by(Certificate.shipped_block, Certificate.cert_no)
    )
    return [
        {
            **_parties(row),
            "status": queries.derived_status(row, now),
            "shipped_at": _time(_shipped_time(row)),
            "days_in_transit": (now - _shipped_time(row)) // SECONDS_PER_DAY,
            "expires_at": expiry_date(row.expires_at).isoformat(),
        }
        for row in rows
    ]


def _expired_in_transit(
    session: Session, party: ColumnElement[bool], *, now: int
) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Certificate)
        .where(party, Certificate.status == "shipped", Certificate.expires_at < now)
        .order_by(Certificate.expires_at, Certificate.cert_no)
    )
    return [
        {
            **_parties(row),
            "shipped_at": _time(_shipped_time(row)),
            "expires_at": expiry_date(row.expires_at).isoformat(),
            "days_since_expiry": (now - row.expires_at) // SECONDS_PER_DAY,
        }
        for row in rows
    ]


def _rejections(session: Session, party: ColumnElement[bool]) -> dict[str, Any]:
    rejected = (party, Certificate.status == "rejected")
    counts = session.execute(
        select(Certificate.rejection_reason, func.count())
        .where(*rejected)
        .group_by(Certificate.rejection_reason)
        .order_by(Certificate.rejection_reason)
    )
    rows = session.scalars(
        select(Certificate)
        .where(*rejected)
        .order_by(Certificate.rejected_block.desc(), Certificate.cert_no)
    )
    return {
        "by_reason": {str(reason): int(count) for reason, count in counts},
        "items": [
            {
                **_parties(row),
                "reason": row.rejection_reason,
                "rejected_at": _time(row.rejected_time or 0),
            }
            for row in rows
        ],
    }


def _discrepancies(session: Session, party: ColumnElement[bool]) -> dict[str, Any]:
    rows = session.execute(
        select(
            Certificate.cert_no,
            Certificate.exporting,
            Certificate.importing,
            Certificate.parcels,
            Certificate.carats_hundredths,
            Certificate.received_parcels,
            Certificate.received_carats_hundredths,
            Certificate.received_at,
        )
        .where(party, Certificate.discrepancy.is_(True))
        .order_by(Certificate.received_block.desc(), Certificate.cert_no)
    ).all()
    items = []
    for cert_no, exporting, importing, parcels, hundredths, *confirmed in rows:
        # Set together with the flag, on receipt.
        got_parcels, got_hundredths, received_at = (int(value or 0) for value in confirmed)
        items.append(
            {
                "cert_no": cert_no,
                "exporting_participant": exporting,
                "importing_participant": importing,
                "received_at": date_from_seconds(received_at).isoformat(),
                "certified": {"parcels": parcels, "carats": amount_text(hundredths)},
                "confirmed": {"parcels": got_parcels, "carats": amount_text(got_hundredths)},
                "parcels_difference": got_parcels - parcels,
                "carats_difference": amount_text(got_hundredths - hundredths),
            }
        )
    return {"count": len(items), "items": items}


def _outliers(
    session: Session, participant: str | None, *, factor: Fraction
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            Certificate.origin,
            Certificate.cert_no,
            Certificate.exporting,
            Certificate.importing,
            Certificate.value_cents,
            Certificate.carats_hundredths,
        )
        .where(Certificate.status != "cancelled", Certificate.carats_hundredths > 0)
        .order_by(Certificate.origin, Certificate.cert_no)
    )
    by_origin: dict[str, list[tuple[str, str, str, Fraction]]] = defaultdict(list)
    for origin, cert_no, exporting, importing, cents, hundredths in rows:
        # US cents per hundredth of a carat is US$ per carat.
        by_origin[origin].append((cert_no, exporting, importing, Fraction(cents, hundredths)))
    flagged = []
    for origin, certificates in by_origin.items():
        if len(certificates) < MIN_SAMPLE:
            continue
        median = Fraction(stats.median(value for *_, value in certificates))
        if median == 0:
            continue  # nothing is a multiple of zero
        for cert_no, exporting, importing, value in certificates:
            if participant is not None and participant not in (exporting, importing):
                continue
            if median / factor <= value <= median * factor:
                continue
            flagged.append(
                {
                    "cert_no": cert_no,
                    "exporting_participant": exporting,
                    "importing_participant": importing,
                    "origin": origin,
                    "value_per_carat": _usd(value),
                    "median": _usd(median),
                    "factor": round(float(value / median), 2),
                    "direction": "above" if value > median else "below",
                }
            )
    return flagged


def _parties(row: Certificate) -> dict[str, Any]:
    return {
        "cert_no": row.cert_no,
        "exporting_participant": row.exporting,
        "importing_participant": row.importing,
    }


def _shipped_time(row: Certificate) -> int:
    assert row.shipped_time is not None  # every row selected here was shipped
    return row.shipped_time


def _usd(value: Fraction) -> str:
    return amount_text(round(value * 100))


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
