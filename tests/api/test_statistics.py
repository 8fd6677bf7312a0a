"""KP statistics over HTTP (GET /v1/statistics and /v1/statistics.csv) on a workload generated
through the real service: several exporters and importers, lines under every HS code with odd
cents, cancelled certificates, receipts in a later quarter or year. Every figure is checked
exactly against sums computed here, with Decimal, from the documents themselves.

The workload's chain lives in YEAR: anvil starts on its eve and its clock is moved to each
receipt's day before the receipt, since a receipt is dated neither before its shipping nor after
the chain's time."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_checks import assert_error
from fastapi.testclient import TestClient

from helpers.documents import document
from kpchain.app import create_app
from kpchain.chain.connection import connect
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.devnet.seed import DEMO_PARTICIPANTS
from kpchain.reports.statistics import MAX_YEAR, MIN_YEAR
from support_api import Service, create_keys, service_settings
from support_chain import Devnet
from support_db import PostgresCluster

YEAR = 2025  # wholly past: every date below is a real date of issue or receipt
START = datetime(YEAR - 1, 12, 31, tzinfo=UTC)  # the chain's first block: the earliest issue
VALID_DAYS = 90  # each document expires this long after its issue, well past its receipt
HS_CODES = ("7102.10", "7102.21", "7102.31")
FLOWS = ("exports", "imports")
TRADE = [("BW", "AE"), ("BW", "EU"), ("RU", "IN"), ("RU", "AE"), ("ZA", "US"), ("CA", "EU")]
TRADE += [("AE", "IN"), ("NA", "BW"), ("ZA", "EU"), ("BW", "IN")]


@dataclass
class Issued:
    """A certificate of the workload and what became of it."""

    document: dict[str, Any]
    fate: str  # issued | shipped | received | rejected | cancelled
    received_at: date | None = None

    @property
    def issued_at(self) -> date:
        return date.fromisoformat(self.document["issued_at"])


@dataclass
class Workload:
    service: Service
    certificates: list[Issued] = field(default_factory=list)


def _lines(rng: random.Random) -> list[dict[str, Any]]:
    codes = rng.sample(HS_CODES, rng.randint(1, 3))
    return [
        {
            "hs_code": code,
            # Odd hundredths and cents: an amount lost to rounding anywhere shows.
            "carats": str(Decimal(rng.randint(1, 9_999_999)) / 100),
            "value_usd": str(Decimal(rng.randint(1, 99_999_999_999)) / 100),
            "parcels": rng.randint(1, 9),
        }
        for code in codes
    ]


# Certificates on the edges of quarters and years: (issued, fate, received).
EDGES: list[tuple[date, str, date | None]] = [
    (date(YEAR - 1, 12, 31), "received", date(YEAR, 1, 1)),
    (date(YEAR, 1, 1), "cancelled", None),
    (date(YEAR, 3, 31), "received", date(YEAR, 4, 1)),
    (date(YEAR, 4, 1), "received", date(YEAR, 6, 30)),
    (date(YEAR, 9, 30), "received", date(YEAR, 10, 1)),
    (date(YEAR, 12, 31), "received", date(YEAR + 1, 1, 1)),
]


def _plan(rng: random.Random) -> list[Issued]:
    """36 certificates: 30 on random days of YEAR, in every status, and the EDGES."""
    fates = ["cancelled"] * 5 + ["rejected"] * 3 + ["shipped"] * 5 + ["issued"] * 4
    fates += ["received"] * (30 - len(fates))
    rng.shuffle(fates)
    cases: list[tuple[date, str, date | None]] = []
    for fate in fates:
        issued_on = date(YEAR, 1, 1) + timedelta(days=rng.randrange(365))
        received = issued_on + timedelta(days=rng.randint(3, 45)) if fate == "received" else None
        cases.append((issued_on, fate, received))
    numbers: dict[str, int] = defaultdict(int)
    planned = []
    for index, (issued_on, fate, received) in enumerate([*cases, *EDGES]):
        exporting, importing = TRADE[index % len(TRADE)]
        numbers[exporting] += 1
        cert_no = f"{exporting}-{issued_on.year}-{numbers[exporting]:06d}"
        expires = issued_on + timedelta(days=VALID_DAYS)
        fields: dict[str, Any] = {
            "issued_at": issued_on.isoformat(),
            "expires_at": expires.isoformat(),
        }
        fields["lines"] = _lines(rng)
        if exporting == "AE":  # a trading centre: mixed origin, provenance its last exporter
            fields.update(origin="MIXED", provenance="BW")
        planned.append(Issued(document(cert_no, exporting, importing, **fields), fate, received))
    return planned


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def workload(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workload]:
    """A service on its own chain with the workload issued, shipped, received, rejected and
    cancelled through the API (shared by this module's tests, which only read), once on SQLite
    and once on PostgreSQL (whose SUM of BIGINTs is a NUMERIC)."""
    tmp_path: Path = tmp_path_factory.mktemp("statistics")
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'kpchain.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        database_url = cluster.create_database()
    start = ("--timestamp", str(int(START.timestamp())))
    with AnvilNode(chain_id=DEVNET_CHAIN_ID, extra_args=start) as node:
        chain = Devnet.deploy_and_seed(connect(node.rpc_url, expected_chain_id=node.chain_id))
        # A past year's certificates, dated as they were: older than the default limit.
        settings = service_settings(
            tmp_path, node.rpc_url, chain, database_url, max_issue_age_days=36500
        )
        governor, keys = create_keys(database_url)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            service = Service(client, chain, settings, keys, governor)
            loaded = Workload(service, _plan(random.Random(YEAR)))
            _run(service, loaded.certificates)
            yield loaded
    if request.param == "postgresql":
        cluster.drop_database(database_url)


def _run(service: Service, certificates: list[Issued]) -> None:
    """Plays the year in date order with the chain's clock moved to noon of each day: on its
    day of issue each certificate is issued (a batch per exporter and day), then shipped,
    cancelled or rejected; each receipt is confirmed on its day. The registry takes no date of
    issue that has not begun yet, and a receipt is dated from its shipping day."""
    days: dict[date, list[Issued]] = defaultdict(list)
    for item in certificates:
        days[item.issued_at].append(item)
    receipts: dict[date, list[Issued]] = defaultdict(list)
    for item in certificates:
        if item.received_at is not None:
            receipts[item.received_at].append(item)
    for day in sorted(days.keys() | receipts.keys()):
        noon = datetime(*day.timetuple()[:3], 12, tzinfo=UTC)
        if noon.timestamp() > service.chain.now():
            service.chain.rpc("evm_mine", int(noon.timestamp()))
        _issue_and_move(service, days.get(day, []))
        for item in receipts.get(day, []):
            receipt = {
                "parcels": sum(line["parcels"] for line in item.document["lines"]),
                "carats": "1.00",  # what arrived is the importer's to say; statistics use the
                "received_at": day.isoformat(),  # document's figures
            }
            cert_no = item.document["cert_no"]
            importing = item.document["importing_participant"]
            response = service.post(f"/v1/certificates/{cert_no}/receive", importing, receipt)
            assert response.status_code == 200, response.text


def _issue_and_move(service: Service, certificates: list[Issued]) -> None:
    by_exporter: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in certificates:
        by_exporter[item.document["exporting_participant"]].append(item.document)
    for exporting, documents in by_exporter.items():
        response = service.post("/v1/certificates/batch", exporting, documents)
        assert response.status_code == 201, response.text
    for item in certificates:
        cert_no = item.document["cert_no"]
        exporting = item.document["exporting_participant"]
        importing = item.document["importing_participant"]
        steps: list[tuple[str, str, Any]] = []
        if item.fate == "cancelled":
            steps.append(("cancel", exporting, None))
        if item.fate in ("shipped", "received", "rejected"):
            steps.append(("ship", exporting, None))
        if item.fate == "rejected":
            steps.append(("reject", importing, {"reason": "discrepancy"}))
        for step, code, body in steps:
            response = service.post(f"/v1/certificates/{cert_no}/{step}", code, body)
            assert response.status_code == 200, response.text


# --- what the documents say ------------------------------------------------------------------


def _zero() -> dict[str, Any]:
    return {"carats": Decimal("0.00"), "value_usd": Decimal("0.00"), "certificates": set()}


def _quarter_bounds(period: str | None) -> tuple[date, date]:
    if period is None:
        return date(YEAR, 1, 1), date(YEAR, 12, 31)
    quarter = int(period[1])
    first = date(YEAR, 3 * quarter - 2, 1)
    next_first = date(YEAR + 1, 1, 1) if quarter == 4 else date(YEAR, 3 * quarter + 1, 1)
    return first, next_first - timedelta(days=1)


def _expected(
    certificates: list[Issued], period: str | None
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Sums by (participant, flow, HS code or "all"), from the documents, with Decimal."""
    first, last = _quarter_bounds(period)
    sums: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(_zero)
    for item in certificates:
        doc = item.document
        counted = []
        # An export counts once shipped (shipped or received), by its date of issue.
        if item.fate in ("shipped", "received") and first <= item.issued_at <= last:
            counted.append((doc["exporting_participant"], "exports"))
        if item.received_at is not None and first <= item.received_at <= last:
            counted.append((doc["importing_participant"], "imports"))
        for code, flow in counted:
            for line in doc["lines"]:
                for key in ((code, flow, line["hs_code"]), (code, flow, "all")):
                    sums[key]["carats"] += Decimal(line["carats"])
                    sums[key]["value_usd"] += Decimal(line["value_usd"])
                    sums[key]["certificates"].add(doc["cert_no"])
    return sums


def _as_reported(sums: dict[str, Any]) -> dict[str, Any]:
    return {
        "carats": f"{sums['carats']:.2f}",
        "value_usd": f"{sums['value_usd']:.2f}",
        "certificates": len(sums["certificates"]),
    }


def _flow_view(expected: dict[tuple[str, str, str], dict[str, Any]], code: str, flow: str) -> Any:
    return {
        **_as_reported(expected[(code, flow, "all")]),
        "by_hs_code": {hs: _as_reported(expected[(code, flow, hs)]) for hs in HS_CODES},
    }


def _get(workload: Workload, path: str, **params: Any) -> Any:
    service = workload.service
    return service.client.get(path, params=params, headers=service.headers("EU", "auditor"))


# --- JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", [None, "Q1", "Q2", "Q3", "Q4"])
def test_statistics_equal_the_sums_of_the_documents_when_year_or_quarter(
    workload: Workload, period: str | None
) -> None:
    params = {"year": YEAR} if period is None else {"year": YEAR, "period": period}

    response = _get(workload, "/v1/statistics", **params)

    assert response.status_code == 200, response.text
    report = response.json()
    expected = _expected(workload.certificates, period)
    first, last = _quarter_bounds(period)
    assert (report["year"], report["period"]) == (YEAR, period)
    assert (report["from"], report["to"]) == (first.isoformat(), last.isoformat())
    codes = sorted(p.code for p in DEMO_PARTICIPANTS)
    assert [row["code"] for row in report["participants"]] == codes
    for row in report["participants"]:
        for flow in FLOWS:
            assert row[flow] == _flow_view(expected, row["code"], flow), (row["code"], flow)
    # World totals: the sum over every document counted, to the hundredth and the cent.
    world: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(_zero)
    for (_, flow, hs), sums in expected.items():
        world[("all", flow, hs)]["carats"] += sums["carats"]
        world[("all", flow, hs)]["value_usd"] += sums["value_usd"]
        world[("all", flow, hs)]["certificates"] |= sums["certificates"]
    for flow in FLOWS:
        assert report["totals"][flow] == _flow_view(world, "all", flow)


def test_workload_reaches_every_status_hs_code_and_a_later_quarter(workload: Workload) -> None:
    # The workload reaches what the figures are about (else the test above proves little).
    year = _expected(workload.certificates, None)
    fates = {item.fate for item in workload.certificates}
    assert fates == {"issued", "shipped", "received", "rejected", "cancelled"}
    assert all(year[(code, "exports", "all")]["certificates"] for code in ("BW", "RU", "ZA"))
    assert year[("IN", "imports", "all")]["certificates"]
    used = {hs for (_, _, hs), sums in year.items() if sums["certificates"]}
    assert used == {"all", *HS_CODES}
    crossing = [
        item
        for item in workload.certificates
        if item.received_at is not None
        and (item.received_at.month - 1) // 3 != (item.issued_at.month - 1) // 3
    ]
    assert crossing, "no receipt falls in a later quarter than its issue"


def test_statistics_give_one_participants_row_when_filtered(workload: Workload) -> None:
    response = _get(workload, "/v1/statistics", year=YEAR, participant="BW", period="Q2")

    assert response.status_code == 200, response.text
    report = response.json()
    expected = _expected(workload.certificates, "Q2")
    assert [row["code"] for row in report["participants"]] == ["BW"]
    for flow in FLOWS:
        assert report["participants"][0][flow] == _flow_view(expected, "BW", flow)
        assert report["totals"][flow] == report["participants"][0][flow]


def test_statistics_are_zero_when_period_has_no_certificates(workload: Workload) -> None:
    zero = {"carats": "0.00", "value_usd": "0.00", "certificates": 0}
    for year, period in ((1999, None), (MIN_YEAR, "Q1"), (MAX_YEAR, "Q4")):
        params = {"year": year} if period is None else {"year": year, "period": period}
        response = _get(workload, "/v1/statistics", **params)

        assert response.status_code == 200, response.text
        for flow in FLOWS:
            by_code = {hs: zero for hs in HS_CODES}
            assert response.json()["totals"][flow] == {**zero, "by_hs_code": by_code}


# --- CSV ---------------------------------------------------------------------------------------


def test_statistics_csv_has_a_row_per_participant_flow_and_hs_code_with_the_same_figures(
    workload: Workload,
) -> None:
    response = _get(workload, "/v1/statistics.csv", year=YEAR, period="Q3")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="kp-statistics-{YEAR}-Q3.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
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
    ]
    expected = _expected(workload.certificates, "Q3")
    codes = [*sorted(p.code for p in DEMO_PARTICIPANTS), "all"]
    keys = [(c, f, hs) for c in codes for f in FLOWS for hs in ("all", *HS_CODES)]
    assert [(r["participant"], r["flow"], r["hs_code"]) for r in rows] == keys
    totals: dict[tuple[str, str], dict[str, Any]] = defaultdict(_zero)
    for row in rows:
        assert (row["year"], row["period"]) == (str(YEAR), "Q3")
        assert (row["from"], row["to"]) == (f"{YEAR}-07-01", f"{YEAR}-09-30")
        key = (row["participant"], row["flow"], row["hs_code"])
        figures = {name: row[name] for name in ("carats", "value_usd", "certificates")}
        if row["participant"] == "all":
            total = totals[(row["flow"], row["hs_code"])]
            assert figures == {
                "carats": f"{total['carats']:.2f}",
                "value_usd": f"{total['value_usd']:.2f}",
                "certificates": str(len(total["certificates"])),
            }
            continue
        want = _as_reported(expected[key])
        assert figures == {name: str(value) for name, value in want.items()}, key
        total = totals[(row["flow"], row["hs_code"])]
        total["carats"] += expected[key]["carats"]
        total["value_usd"] += expected[key]["value_usd"]
        total["certificates"] |= expected[key]["certificates"]


# --- errors ------------------------------------------------------------------------------------


def test_statistics_refuse_bad_parameters(workload: Workload) -> None:
    for params in (
        {},  # year is required
        {"year": "last"},
        {"year": 1969},
        {"year": 10000},
        {"year": YEAR, "period": "Q5"},
        {"year": YEAR, "participant": "bw"},
    ):
        for path in ("/v1/statistics", "/v1/statistics.csv"):
            assert_error(_get(workload, path, **params), 422, "invalid_request")
    unknown = _get(workload, "/v1/statistics", year=YEAR, participant="ZZ")
    assert_error(unknown, 404, "participant_not_found")
    anonymous = workload.service.client.get("/v1/statistics", params={"year": YEAR})
    assert_error(anonymous, 401, "api_key_missing")
