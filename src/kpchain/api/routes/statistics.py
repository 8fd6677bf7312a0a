"""KP statistics (JSON and CSV) and monitoring, for any authenticated key: the Working Groups on
Statistics and on Monitoring read them, and so may every authority."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kpchain.api.deps import ReaderDep, RuntimeDep
from kpchain.api.schemas import error_responses
from kpchain.reports.mirror import mirror, mirror_csv
from kpchain.reports.monitoring import monitoring
from kpchain.reports.statistics import MAX_YEAR, MIN_YEAR, statistics, statistics_csv
from kpchain.reports.views import MirrorReport, MonitoringReport, StatisticsReport
from kpchain.vocabulary import PARTICIPANT_CODE_PATTERN

router = APIRouter(prefix="/v1", tags=["statistics"])

Year = Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR, description="Calendar year, e.g. 2026.")]
Period = Annotated[
    Literal["Q1", "Q2", "Q3", "Q4"] | None, Query(description="A quarter; default the year.")
]
By = Annotated[
    Literal["origin"] | None,
    Query(description="`origin`: also break each flow down by each line's origin."),
]
ParticipantFilter = Annotated[
    str | None,
    Query(pattern=PARTICIPANT_CODE_PATTERN, description="Only this participant (e.g. BW)."),
]


@router.get(
    "/statistics",
    response_model=StatisticsReport,
    responses=error_responses(401, 403, 404, 422),
)
def get_statistics(
    _: ReaderDep,
    runtime: RuntimeDep,
    year: Year,
    participant: ParticipantFilter = None,
    period: Period = None,
    by: By = None,
) -> dict[str, Any]:
    """Exports (certificates shipped or received, by issue date; not those only issued,
    rejected, cancelled or withdrawn) and imports (received, by receipt date) per participant,
    in carats, US$ and certificates, by HS code (and by origin with `by=origin`), with totals."""
    with runtime.sessions() as session:
        return statistics(
            session, year=year, participant=participant, period=period, by_origin=by == "origin"
        )


@router.get(
    "/statistics.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One row per participant, flow and HS code, then the totals.",
        },
        **error_responses(401, 403, 404, 422),
    },
)
def get_statistics_csv(
    _: ReaderDep,
    runtime: RuntimeDep,
    year: Year,
    participant: ParticipantFilter = None,
    period: Period = None,
    by: By = None,
) -> Response:
    """The statistics as CSV: one row per participant, flow and HS code (or origin, with
    `by=origin`), then the totals."""
    with runtime.sessions() as session:
        content = statistics_csv(
            session, year=year, participant=participant, period=period, by_origin=by == "origin"
        )
    name = "-".join(str(part) for part in ("kp-statistics", year, period, participant) if part)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get(
    "/statistics/mirror",
    response_model=MirrorReport,
    responses=error_responses(401, 403, 422),
)
def get_mirror(
    _: ReaderDep, runtime: RuntimeDep, year: Year, period: Period = None
) -> dict[str, Any]:
    """For each ordered pair (A, B) that traded: A's exports to B (shipped or received, by issue
    date) beside B's imports from A (received, by receipt date, with the carats B confirmed), and
    the differences, pair by pair."""
    with runtime.sessions() as session:
        return mirror(session, year=year, period=period)


@router.get(
    "/statistics/mirror.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One row per ordered pair of participants.",
        },
        **error_responses(401, 403, 422),
    },
)
def get_mirror_csv(
    _: ReaderDep, runtime: RuntimeDep, year: Year, period: Period = None
) -> Response:
    """The mirror report as CSV: one row per ordered pair of participants."""
    with runtime.sessions() as session:
        content = mirror_csv(session, year=year, period=period)
    name = "-".join(str(part) for part in ("kp-mirror", year, period) if part)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get(
    "/monitoring",
    response_model=MonitoringReport,
    responses=error_responses(401, 403, 404, 422),
)
def get_monitoring(
    _: ReaderDep,
    runtime: RuntimeDep,
    participant: ParticipantFilter = None,
    overdue_days: Annotated[
        int | None,
        Query(ge=1, le=36500, description="Default KPCHAIN_OVERDUE_DAYS."),
    ] = None,
    outlier_factor: Annotated[
        float | None,
        Query(gt=1, le=1e6, description="Default KPCHAIN_OUTLIER_FACTOR."),
    ] = None,
) -> dict[str, Any]:
    """Shipments overdue for confirmation, certificates expired in transit, rejections by
    reason, and value-per-carat outliers by origin."""
    settings = runtime.settings
    now = runtime.authority.now()
    with runtime.sessions() as session:
        return monitoring(
            session,
            now=now,
            overdue_days=overdue_days or settings.overdue_days,
            outlier_factor=outlier_factor or settings.outlier_factor,
            participant=participant,
        )
