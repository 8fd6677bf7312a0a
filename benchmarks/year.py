"""`make bench-year`: a KP year replayed through the API, then its statistics asked for.

A year's worth of certificates (60,000 by default, about the KP's yearly volume) between the
devnet's real participants, shaped by the KP's 2023 production table scaled to that many
certificates: each producer exports its 2023 production (carats and US$) to the trading centres
and the United States, and the trading centres AE, EU and IN re-export what they import. Every
certificate is issued, shipped and received through the REST API of one real `kpchain serve`
(the devnet's launcher and settings, SQLite or PostgreSQL) on a fresh anvil (chain id 2021, zero
gas price, its state history pruned) whose clock starts on 1 January 2023 and moves through the
year week by week: the certificates dated in a week are issued and shipped in it, and each
receipt is confirmed in the week of its date (received_at), so the statistics count exports by
date of issue and imports by date of receipt as the KP does. Each participant's authority has
its own client threads (in proportion to its share of the work, at least one), so ten
authorities work at once.

Then it asks `GET /v1/statistics?year=2023` and checks every figure (carats, US$, certificates,
in total and by HS code, for every participant and the totals) against the sums of the
documents it replayed, computed exactly in integers (hundredths of a carat, US cents); any
difference, like any failed request, is a failure (exit 1). It prints the wall time, the rates,
the CPU per operation and the statistics query's time, and writes benchmarks/year.json.

`--index-only` skips the chain: it writes the same year's certificates straight into the index
tables of a fresh store, as the indexer would leave them, and times the statistics query
there (the query's speed without waiting for 180,000 writes).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import queue
import random
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import insert

from benchmarks.__main__ import machine_facts
from benchmarks.harness import (
    RECEIPT_TIMEOUT,
    Chain,
    CpuMeter,
    Databases,
    Rpc,
    Service,
    cpu_seconds,
    fresh_chain,
    percentiles,
    services,
)
from kpchain.certificates.conversions import expiry_seconds, hs_code_text, issued_at_seconds
from kpchain.certificates.typed_data import HS_CODES
from kpchain.devnet import service as devnet_service
from kpchain.devnet.seed import DEMO_PARTICIPANTS
from kpchain.indexer.tables import Certificate, CertificateLine, Participant
from kpchain.reports.common import amount_text
from kpchain.reports.statistics import statistics
from kpchain.store import create_engine, migrate, session_factory

OUTPUT = Path(__file__).resolve().parent / "year.json"

YEAR = 2023
CERTIFICATES = 60_000
TARGET_WALL_SECONDS = 15 * 60
TARGET_STATISTICS_SECONDS = 1.0
WINDOW_DAYS = 7
VALID_DAYS = 90  # each certificate's validity: far past its receipt, within the registry's 180
MAX_TRANSIT_DAYS = 10  # a receipt is dated 1..10 days after the shipping day
STATISTICS_REPEATS = 5
TRANSPORT_RETRIES = 2  # a request whose connection failed is sent again, with its own key
KEEPALIVE_SECONDS = 2.0
# anvil keeps every block's state in memory, and its CPU per transaction grows with its chain
# (measured over 3,000 certificates: 4.5 -> 17.1 ms per operation); without the history the
# replay never reads, it grows about half as fast (3.7 -> 9.6 ms). The service is unaffected.
ANVIL_ARGS = ("--prune-history",)
# Relative US$ per carat of a certificate's lines by HS code: gem quality (7102.31) dearer than
# unsorted (7102.10), industrial (7102.21) far cheaper. A model, for lines that differ.
PRICE_FACTORS = {710210: 1.0, 710221: 0.1, 710231: 3.0}

# --- the KP's 2023 production table --------------------------------------------------------------

PRODUCTION_SOURCE = (
    "Kimberley Process Rough Diamond Statistics, Annual Global Summary 2023 "
    "(kimberleyprocessstatistics.org): production by participant, in carats and US$; as "
    "republished rounded to the thousand carats and the million US$ by the Natural Diamond "
    "Council ('Diamond Facts and Statistics That Matter', World Diamond Production 2023, source "
    "KPCS)"
)
# participant: (thousand carats, US$ million). The public figures, rounded by the republisher
# to 1,000 carats and US$1 million (the KP's own table has the carats exactly): every row is
# approximate to that rounding, none is estimated here. "Others" (OT, not a code) is the
# table's own row for the smaller producers; the Central African Republic, a devnet participant,
# is inside it without a figure of its own, so it exports nothing here.
PRODUCTION_2023: dict[str, tuple[int, int]] = {
    "RU": (37_317, 3_606),  # Russian Federation
    "BW": (25_095, 3_283),  # Botswana
    "CA": (15_981, 1_550),  # Canada
    "AO": (9_754, 1_532),  # Angola
    "CD": (8_347, 65),  # Democratic Republic of the Congo
    "ZA": (5_892, 794),  # South Africa
    "ZW": (4_914, 303),  # Zimbabwe
    "NA": (2_385, 1_234),  # Namibia
    "SL": (525, 102),  # Sierra Leone
    "LS": (472, 139),  # Lesotho
    "TZ": (191, 31),  # Tanzania
    "OT": (650, 85),  # Others
}
WORLD_2023 = (111_523, 12_725)  # the table's totals row
# The producers among the devnet's participants (kpchain.devnet.seed): 96.4 of the world's 111.5
# million carats, US$12.0 of its 12.7 billion. CD, ZW, SL, LS and TZ are KP participants the
# devnet does not seed; VE (seeded, suspended there) produced next to nothing.
PRODUCERS = ("RU", "BW", "CA", "AO", "NA", "ZA")

# --- the export flows: a model, not KP figures ---------------------------------------------------

# Where each producer's exports go, in per cent of its carats. The shape of the public picture
# (the KP's trade tables by partner are not published at this grain): the rough goes to the
# trading centres (Dubai, Antwerp, India's cutting centres) and some to the United States;
# Namibia's production is sold through Gaborone (BW); Russia's goes mostly to AE and IN.
EXPORT_SHARES: dict[str, dict[str, int]] = {
    "RU": {"AE": 45, "IN": 40, "EU": 15},
    "BW": {"EU": 35, "IN": 30, "AE": 25, "US": 10},
    "CA": {"EU": 50, "IN": 25, "AE": 15, "US": 10},
    "AO": {"AE": 60, "EU": 30, "IN": 10},
    "NA": {"BW": 55, "EU": 30, "IN": 15},
    "ZA": {"EU": 40, "AE": 25, "IN": 25, "US": 10},
}


@dataclass(frozen=True)
class ReExport:
    """What a trading centre re-exports of the rough it imported from the producers: a share
    of the carats, at their import value marked up, split between destinations (per cent)."""

    carats_percent: int
    markup_percent: int
    to: dict[str, int]


# The trading centres re-export (KP trade double-counts: AE and EU export about what they
# import; India, the cutting centre, keeps most). One level deep: what they import from each
# other is not re-exported again, so the flows have no cycles.
RE_EXPORTS: dict[str, ReExport] = {
    "AE": ReExport(carats_percent=95, markup_percent=5, to={"IN": 60, "EU": 25, "US": 15}),
    "EU": ReExport(carats_percent=90, markup_percent=4, to={"IN": 55, "AE": 35, "US": 10}),
    "IN": ReExport(carats_percent=20, markup_percent=3, to={"AE": 60, "EU": 40}),
}


@dataclass(frozen=True)
class Flow:
    """Exports from one participant to another over the year, in hundredths of a carat and US
    cents; `sources` are the producers a re-export's goods came from (hundredths), none for a
    producer's own production."""

    exporting: str
    importing: str
    hundredths: int
    cents: int
    sources: dict[str, int] = field(default_factory=dict)

    @property
    def mixed(self) -> bool:
        return bool(self.sources)


def allocate(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """`total` split into integers in proportion to `weights` (largest remainder), each at least
    `minimum`; they sum to `total` exactly.

    Raises:
        ValueError: `total` is below `minimum` times the number of weights, or no weight is
            positive.
    """
    if total < minimum * len(weights):
        raise ValueError(f"{total} cannot give {len(weights)} parts of at least {minimum}")
    weight = sum(weights)
    if weight <= 0:
        raise ValueError("no positive weight")
    rest = total - minimum * len(weights)
    shares = [rest * w / weight for w in weights]
    parts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: parts[i] - shares[i])
    for i in by_remainder[: rest - sum(parts)]:
        parts[i] += 1
    return [minimum + part for part in parts]


def flows() -> list[Flow]:
    """The year's flows: every producer's production exported by EXPORT_SHARES, then the
    trading centres' re-exports by RE_EXPORTS; all in integers, so every total is exact."""
    primary = []
    for code in PRODUCERS:
        kilocarats, musd = PRODUCTION_2023[code]
        destinations = list(EXPORT_SHARES[code])
        weights = [float(EXPORT_SHARES[code][d]) for d in destinations]
        hundredths = allocate(kilocarats * 1000 * 100, weights)
        cents = allocate(musd * 1_000_000 * 100, weights)
        primary += [
            Flow(code, importing, h, c)
            for importing, h, c in zip(destinations, hundredths, cents, strict=True)
        ]
    secondary = []
    for centre, rule in RE_EXPORTS.items():
        imported = [flow for flow in primary if flow.importing == centre]
        carats = sum(flow.hundredths for flow in imported) * rule.carats_percent // 100
        value = sum(flow.cents for flow in imported) * rule.carats_percent // 100
        value = value * (100 + rule.markup_percent) // 100
        sources = {flow.exporting: flow.hundredths for flow in imported}
        destinations = list(rule.to)
        weights = [float(rule.to[d]) for d in destinations]
        secondary += [
            Flow(centre, importing, h, c, sources)
            for importing, h, c in zip(
                destinations, allocate(carats, weights), allocate(value, weights), strict=True
            )
        ]
    return primary + secondary


# --- the year's certificates ---------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    hs_code: int  # 710210 …
    hundredths: int
    cents: int
    parcels: int


@dataclass(frozen=True)
class Planned:
    """One certificate of the year: its document's figures, its dates and its weeks."""

    cert_no: str
    exporting: str
    importing: str
    origin: str
    provenance: str | None
    lines: tuple[Line, ...]
    issued_at: date
    shipped_on: date  # the chain's day in the week it is issued and shipped
    received_at: date
    issue_window: int
    receive_window: int

    @property
    def hundredths(self) -> int:
        return sum(line.hundredths for line in self.lines)

    @property
    def cents(self) -> int:
        return sum(line.cents for line in self.lines)

    @property
    def parcels(self) -> int:
        return sum(line.parcels for line in self.lines)

    def document(self) -> dict[str, Any]:
        """The certificate document the exporting authority issues."""
        doc = devnet_service.demo_document(
            self.cert_no,
            self.exporting,
            self.importing,
            origin=self.origin,
            provenance=self.provenance,
            lines=[
                {
                    "hs_code": hs_code_text(line.hs_code),
                    "carats": amount_text(line.hundredths),
                    "value_usd": amount_text(line.cents),
                    "parcels": line.parcels,
                }
                for line in self.lines
            ],
        )
        doc["issued_at"] = self.issued_at.isoformat()
        doc["expires_at"] = (self.issued_at + timedelta(days=VALID_DAYS)).isoformat()
        return doc

    def receipt(self) -> dict[str, Any]:
        """The importing authority's confirmation: everything arrived."""
        return {
            "parcels": self.parcels,
            "carats": amount_text(self.hundredths),
            "received_at": self.received_at.isoformat(),
        }


@dataclass(frozen=True)
class Plan:
    flows: list[Flow]
    certificates: list[Planned]
    window_days: int

    @property
    def windows(self) -> int:
        return 1 + max(p.receive_window for p in self.certificates)

    def window_day(self, window: int) -> date:
        """The chain's day during `window`: its last (so every issue date in it is past)."""
        return date(YEAR, 1, 1) + timedelta(days=(window + 1) * self.window_days - 1)


def plan(certificates: int, *, seed: int = YEAR, window_days: int = WINDOW_DAYS) -> Plan:
    """The year's `certificates`: each exporter's count in proportion to the carats it exports
    (so a producer's to its production), at least one per flow; each flow's carats and value
    split exactly among its certificates (sizes and values per carat varied at random, with
    `seed`), each certificate in one to three HS-code lines, dated on a random day of YEAR and
    received 1..MAX_TRANSIT_DAYS days after its shipping day.

    Raises:
        ValueError: fewer certificates than flows.
    """
    rng = random.Random(seed)
    year_flows = flows()
    exporters = sorted({flow.exporting for flow in year_flows})
    by_exporter = {code: [f for f in year_flows if f.exporting == code] for code in exporters}
    if certificates < len(year_flows):
        raise ValueError(f"at least {len(year_flows)} certificates: one per flow")
    counts = allocate(
        certificates,
        [float(sum(f.hundredths for f in by_exporter[code])) for code in exporters],
        minimum=max(len(fs) for fs in by_exporter.values()),
    )
    start = date(YEAR, 1, 1)
    days = (date(YEAR + 1, 1, 1) - start).days
    drafts: list[tuple[date, Flow, int, int]] = []
    for code, count in zip(exporters, counts, strict=True):
        code_flows = by_exporter[code]
        per_flow = allocate(count, [float(f.hundredths) for f in code_flows], minimum=1)
        for flow, n in zip(code_flows, per_flow, strict=True):
            sizes = [rng.lognormvariate(0, 0.8) for _ in range(n)]
            hundredths = allocate(flow.hundredths, sizes, minimum=3)
            prices = [h * rng.lognormvariate(0, 0.3) for h in hundredths]
            cents = allocate(flow.cents, prices, minimum=3)
            for size, value in zip(hundredths, cents, strict=True):
                drafts.append((start + timedelta(days=rng.randrange(days)), flow, size, value))
    drafts.sort(key=lambda draft: (draft[0], draft[1].exporting))
    numbers: dict[str, int] = defaultdict(int)
    planned = []
    codes = sorted(HS_CODES.values())
    for issued_at, flow, size, value in drafts:
        numbers[flow.exporting] += 1
        window = (issued_at - start).days // window_days
        shipped_on = start + timedelta(days=(window + 1) * window_days - 1)
        received_at = shipped_on + timedelta(days=rng.randint(1, MAX_TRANSIT_DAYS))
        hs_codes = sorted(rng.sample(codes, rng.randint(1, len(codes))))
        weights = [rng.uniform(0.2, 1.0) for _ in hs_codes]
        line_hundredths = allocate(size, weights, minimum=1)
        prices = [
            h * PRICE_FACTORS[code] for code, h in zip(hs_codes, line_hundredths, strict=True)
        ]
        line_cents = allocate(value, prices, minimum=1)
        provenance = None
        if flow.mixed:  # the last participant it was exported from, as likely as its goods
            sources = list(flow.sources)
            provenance = rng.choices(sources, [float(flow.sources[s]) for s in sources])[0]
        planned.append(
            Planned(
                cert_no=f"{flow.exporting}-{YEAR}-{numbers[flow.exporting]:06d}",
                exporting=flow.exporting,
                importing=flow.importing,
                origin="MIXED" if flow.mixed else flow.exporting,
                provenance=provenance,
                lines=tuple(
                    Line(code, h, c, rng.randint(1, 12))
                    for code, h, c in zip(hs_codes, line_hundredths, line_cents, strict=True)
                ),
                issued_at=issued_at,
                shipped_on=shipped_on,
                received_at=received_at,
                issue_window=window,
                receive_window=(received_at - start).days // window_days,
            )
        )
    return Plan(year_flows, planned, window_days)


# --- what the statistics must say ----------------------------------------------------------------


def expected(certificates: list[Planned]) -> dict[str, Any]:
    """The statistics for YEAR as `/v1/statistics` writes them, summed here from the documents:
    exports by date of issue, imports by date of receipt, every admitted participant (zeros
    included), in total and by HS code, and the totals over them."""
    sums: dict[tuple[str, str, int | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in certificates:
        counted = [(p.exporting, "exports")]
        if p.received_at.year == YEAR:
            counted.append((p.importing, "imports"))
        for code, flow in counted:
            keys: tuple[tuple[str, str, int | None], ...] = (
                (code, flow, None),
                ("all", flow, None),
            )
            for key in keys:
                _add(sums[key], p.hundredths, p.cents, 1)
            for hs_code in sorted({line.hs_code for line in p.lines}):
                lines = [line for line in p.lines if line.hs_code == hs_code]
                h = sum(line.hundredths for line in lines)
                c = sum(line.cents for line in lines)
                for key in ((code, flow, hs_code), ("all", flow, hs_code)):
                    _add(sums[key], h, c, 1)

    def view(code: str, flow: str) -> dict[str, Any]:
        return {
            **_sums_view(sums[(code, flow, None)]),
            "by_hs_code": {
                hs_code_text(number): _sums_view(sums[(code, flow, number)])
                for number in sorted(HS_CODES.values())
            },
        }

    codes = sorted(p.code for p in DEMO_PARTICIPANTS)
    return {
        "participants": [
            {"code": code, "exports": view(code, "exports"), "imports": view(code, "imports")}
            for code in codes
        ],
        "totals": {"exports": view("all", "exports"), "imports": view("all", "imports")},
    }


def _add(into: list[int], hundredths: int, cents: int, count: int) -> None:
    into[0] += hundredths
    into[1] += cents
    into[2] += count


def _sums_view(values: list[int]) -> dict[str, Any]:
    return {
        "carats": amount_text(values[0]),
        "value_usd": amount_text(values[1]),
        "certificates": values[2],
    }


def differences(report: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Where `report` (the statistics answered) differs from `want` (see `expected`)."""
    found: list[str] = []
    got_codes = [row["code"] for row in report.get("participants", [])]
    want_codes = [row["code"] for row in want["participants"]]
    if got_codes != want_codes:
        found.append(f"participants {got_codes} != {want_codes}")
    rows = {row["code"]: row for row in report.get("participants", [])}
    for row in want["participants"]:
        for flow in ("exports", "imports"):
            _compare(found, f"{row['code']} {flow}", rows.get(row["code"], {}).get(flow), row[flow])
    for flow in ("exports", "imports"):
        _compare(found, f"totals {flow}", report.get("totals", {}).get(flow), want["totals"][flow])
    if (report.get("year"), report.get("period")) != (YEAR, None):
        found.append(f"year/period {report.get('year')}/{report.get('period')}")
    return found


def _compare(found: list[str], where: str, got: Any, want: dict[str, Any]) -> None:
    if got == want:
        return
    if not isinstance(got, dict):
        found.append(f"{where}: missing")
        return
    for key, value in want.items():
        if key == "by_hs_code":
            for hs_code, sums in value.items():
                if got.get(key, {}).get(hs_code) != sums:
                    found.append(f"{where} {hs_code}: {got.get(key, {}).get(hs_code)} != {sums}")
        elif got.get(key) != value:
            found.append(f"{where} {key}: {got.get(key)} != {value}")


# --- a progress bar ------------------------------------------------------------------------------


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...
    def close(self) -> Any: ...


class _Bar:
    """A small progress bar on stderr, for when tqdm is not installed."""

    def __init__(self, total: int, unit: str) -> None:
        self._total, self._unit, self._done, self._note = total, unit, 0, ""
        self._started = time.monotonic()
        self._shown = 0.0
        self._lock = threading.Lock()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self._done += n
            now = time.monotonic()
            if now - self._shown >= 0.5 or self._done >= self._total:
                self._shown = now
                self._draw(now)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self._note = s

    def close(self) -> None:
        self._draw(time.monotonic())
        print(file=sys.stderr)

    def _draw(self, now: float) -> None:
        share = self._done / self._total if self._total else 1.0
        bar = "#" * int(30 * share)
        rate = self._done / max(now - self._started, 1e-9)
        print(
            f"\r[{bar:<30}] {self._done}/{self._total} {self._unit} {rate:.1f}/s {self._note}",
            end="",
            file=sys.stderr,
            flush=True,
        )


def progress_bar(total: int, description: str) -> Progress:
    """tqdm's bar when tqdm is installed (it is in the dev environment), else `_Bar`."""
    try:
        tqdm = importlib.import_module("tqdm")
    except ImportError:
        return _Bar(total, "ops")
    bar: Progress = tqdm.tqdm(
        total=total, unit="op", desc=description, file=sys.stderr, smoothing=0.05, mininterval=1
    )
    return bar


# --- the replay through the API ------------------------------------------------------------------


@dataclass
class Tally:
    """What the client threads measured (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"issue": [], "ship": [], "receive": []}
    )
    failures: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)

    @property
    def operations(self) -> int:
        return sum(len(values) for values in self.latencies.values())


Job = tuple[str, Planned]  # ("lifecycle" | "receive", certificate)


class Authorities:
    """Each participant's client threads, one keep-alive httpx client each, working through
    the participant's queue: issue and ship as the exporter, receive as the importer."""

    def __init__(
        self, url: str, keys: dict[str, str], threads: dict[str, int], progress: Progress
    ) -> None:
        self.tally = Tally()
        self._url, self._keys, self._progress = url, keys, progress
        self._queues: dict[str, queue.Queue[Job | None]] = {code: queue.Queue() for code in threads}
        self._threads = [
            threading.Thread(target=self._work, args=(code,), name=f"year-{code}-{n}", daemon=True)
            for code, count in threads.items()
            for n in range(count)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def put(self, code: str, job: Job) -> None:
        self._queues[code].put(job)

    def join(self) -> None:
        """Returns once every job put so far is done."""
        for jobs in self._queues.values():
            jobs.join()

    def stop(self) -> None:
        for thread in self._threads:
            self._queues[thread.name.split("-")[1]].put(None)
        for thread in self._threads:
            thread.join()

    def _work(self, code: str) -> None:
        jobs = self._queues[code]
        # Idle connections dropped before uvicorn's keep-alive timeout (5 s) closes them: a
        # small authority's threads idle through a busy week.
        limits = httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS)
        with httpx.Client(base_url=self._url, timeout=RECEIPT_TIMEOUT, limits=limits) as client:
            while (job := jobs.get()) is not None:
                try:
                    kind, planned = job
                    if kind == "lifecycle":
                        document = planned.document()
                        if self._post(client, "issue", planned, "/v1/certificates", document):
                            seal = {"seal_ref": f"SEAL-{planned.cert_no}"}
                            self._post(client, "ship", planned, "ship", seal)
                    else:
                        self._post(client, "receive", planned, "receive", planned.receipt())
                finally:
                    jobs.task_done()

    def _post(
        self, client: httpx.Client, operation: str, planned: Planned, path: str, body: Any
    ) -> bool:
        code = planned.importing if operation == "receive" else planned.exporting
        if not path.startswith("/"):
            path = f"/v1/certificates/{planned.cert_no}/{path}"
        headers = {"Authorization": f"Bearer {self._keys[code]}", "Idempotency-Key": _key()}
        started = time.perf_counter()
        for attempt in range(1 + TRANSPORT_RETRIES):
            try:
                response = client.post(path, json=body, headers=headers)
                break
            except httpx.TransportError as exc:
                # A keep-alive connection the server closed as it was reused: sent again with
                # the same Idempotency-Key, which is what the key is for (never done twice).
                if attempt == TRANSPORT_RETRIES:
                    self._failed(f"{operation} {planned.cert_no}: {type(exc).__name__}: {exc}")
                    return False
                with self.tally.lock:
                    self.tally.retried.append(f"{operation} {planned.cert_no}: {exc!r}")
            except httpx.HTTPError as exc:
                self._failed(f"{operation} {planned.cert_no}: {type(exc).__name__}: {exc}")
                return False
        seconds = time.perf_counter() - started
        if not response.is_success:
            status = response.status_code
            self._failed(f"{operation} {planned.cert_no}: HTTP {status} {response.text[:300]}")
            return False
        with self.tally.lock:
            self.tally.latencies[operation].append(seconds)
        self._progress.update(1)
        return True

    def _failed(self, what: str) -> None:
        with self.tally.lock:
            self.tally.failures.append(what)


def _key() -> str:
    return str(uuid.uuid4())


def client_threads(year: Plan, total: int) -> dict[str, int]:
    """`total` client threads shared among the participants in proportion to the requests each
    sends over the year (two per certificate exported, one per receipt), at least one each."""
    work: dict[str, float] = defaultdict(float)
    for p in year.certificates:
        work[p.exporting] += 2
        work[p.importing] += 1
    codes = sorted(work)
    return dict(
        zip(codes, allocate(max(total, len(codes)), [work[c] for c in codes], 1), strict=True)
    )


def replay(
    chain: Chain,
    directory: Path,
    year: Plan,
    *,
    threads: int,
    service_threads: int,
    databases: Databases,
) -> dict[str, Any]:
    """Replays `year` through one service hosting every demo participant; then asks its
    statistics and checks them."""
    hosted = {"service": [participant.code for participant in DEMO_PARTICIPANTS]}
    rpc = Rpc(chain.node.rpc_url)
    shares = client_threads(year, threads)
    with services(
        chain, hosted, directory, threads=service_threads, databases=databases
    ) as running:
        service = running["service"]
        operations = 3 * len(year.certificates)
        bar = progress_bar(operations, f"KP {YEAR}")
        authorities = Authorities(service.url, service.officer_keys, shares, bar)
        cpu = CpuMeter({"service": service.pid, "anvil": chain.anvil_pid, "client": os.getpid()})
        issues: dict[int, list[Planned]] = defaultdict(list)
        receipts: dict[int, list[Planned]] = defaultdict(list)
        for p in year.certificates:
            issues[p.issue_window].append(p)
            receipts[p.receive_window].append(p)
        timeline: list[dict[str, Any]] = []
        authorities.start()
        cpu.start()
        started = time.perf_counter()
        try:
            for window in range(year.windows):
                # Issued and shipped on the window's last day, received on their own days:
                # the chain's clock must be there first (a receipt is never dated after it).
                day = year.window_day(window)
                _set_chain_day(rpc, day)
                bar.set_postfix_str(f"week of {day.isoformat()}", refresh=False)
                for p in receipts[window]:
                    authorities.put(p.importing, ("receive", p))
                for p in issues[window]:
                    authorities.put(p.exporting, ("lifecycle", p))
                authorities.join()
                timeline.append(_milestone(window, day, authorities.tally, started, chain, service))
                if authorities.tally.failures:
                    break  # the rest would fail on what failed; the run is failed already
            elapsed = time.perf_counter() - started
            cpu.stop()
        finally:
            authorities.stop()
            bar.close()
            rpc.close()
        tally = authorities.tally
        result: dict[str, Any] = {
            "database": databases.kind,
            "client_threads": shares,
            "service_threads": service_threads,
            "windows": year.windows,
            "seconds": round(elapsed, 3),
            "operations": tally.operations,
            "operations_per_second": round(tally.operations / elapsed, 1) if elapsed else 0.0,
            "latency_ms": {op: percentiles(values) for op, values in tally.latencies.items()},
            "cpu_ms_per_operation": cpu.per(tally.operations),
            "failures": len(tally.failures),
            "failed": tally.failures[:20],
            "retried": len(tally.retried),
            "retried_requests": tally.retried[:20],
            "timeline": timeline,
        }
        done, transactions = service.transactions()
        result["transactions"] = transactions
        result["operations_per_transaction"] = (
            round(done / transactions, 2) if transactions else None
        )
        if tally.failures:
            result["service_log"] = service.log_tail()
            return result
        result["statistics"] = ask_statistics(service, expected(year.certificates))
    return result


def _milestone(
    window: int, day: date, tally: Tally, started: float, chain: Chain, service: Service
) -> dict[str, Any]:
    """Where the replay stands after `window`: operations, seconds and the CPU seconds the
    service and anvil have used so far (to see the cost per operation as the chain grows)."""
    service_cpu, anvil_cpu = cpu_seconds(service.pid), cpu_seconds(chain.anvil_pid)
    return {
        "window": window,
        "day": day.isoformat(),
        "operations": tally.operations,
        "seconds": round(time.perf_counter() - started, 2),
        "service_cpu_seconds": None if service_cpu is None else round(service_cpu, 2),
        "anvil_cpu_seconds": None if anvil_cpu is None else round(anvil_cpu, 2),
    }


def _set_chain_day(rpc: Rpc, day: date) -> None:
    """Moves the chain's clock to 01:00 UTC on `day` (the next blocks follow the wall clock from
    there: a window never lasts the 23 hours that would take it into the next day)."""
    target = issued_at_seconds(day) + 3600
    latest = int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    if target > latest:
        rpc.call("evm_setNextBlockTimestamp", [target])
        rpc.call("evm_mine", [])


def ask_statistics(service: Service, want: dict[str, Any]) -> dict[str, Any]:
    """`GET /v1/statistics?year=YEAR` STATISTICS_REPEATS times (the first one cold), timed, and
    the first answer checked against `want`."""
    key = service.officer_keys["EU"]  # any key reads the statistics
    headers = {"Authorization": f"Bearer {key}"}
    seconds = []
    answers = []
    with httpx.Client(base_url=service.url, timeout=120) as client:
        for _ in range(STATISTICS_REPEATS):
            started = time.perf_counter()
            response = client.get("/v1/statistics", params={"year": YEAR}, headers=headers)
            seconds.append(time.perf_counter() - started)
            answers.append(response)
    first = answers[0]
    if first.status_code != 200:
        found = [f"GET /v1/statistics: HTTP {first.status_code} {first.text[:300]}"]
        report: dict[str, Any] = {}
    else:
        report = first.json()
        found = differences(report, want)
    return _statistics_result(seconds, found, report)


def _statistics_result(
    seconds: list[float], found: list[str], report: dict[str, Any]
) -> dict[str, Any]:
    totals = report.get("totals", {})
    return {
        "seconds_first": round(seconds[0], 4),
        "seconds_best": round(min(seconds), 4),
        "seconds_all": [round(s, 4) for s in seconds],
        "target_seconds": TARGET_STATISTICS_SECONDS,
        "meets_target": max(seconds) <= TARGET_STATISTICS_SECONDS,
        "exact": not found,
        "differences": found[:50],
        "totals": {
            flow: {k: v for k, v in sums.items() if k != "by_hs_code"}
            for flow, sums in totals.items()
        },
    }


# --- the index alone -----------------------------------------------------------------------------


def fill_index(database_url: str, year: Plan) -> None:
    """Writes `year`'s certificates into the index tables of the store at `database_url` (the
    demo participants admitted, every certificate received) as the indexer would leave them."""
    engine = create_engine(database_url)
    migrate(engine)
    address = "0x" + "00" * 19 + "01"
    with session_factory(engine)() as session:
        session.execute(
            insert(Participant),
            [
                {
                    "code": p.code,
                    "status": p.status.name.lower(),
                    "admin": address,
                    "origin_restricted": p.origin_restricted,
                    "admitted_block": 1,
                    "admitted_time": issued_at_seconds(date(YEAR, 1, 1)),
                }
                for p in DEMO_PARTICIPANTS
            ],
        )
        for start in range(0, len(year.certificates), 5000):
            chunk = year.certificates[start : start + 5000]
            session.execute(insert(Certificate), [_row(start + i, p) for i, p in enumerate(chunk)])
            session.execute(
                insert(CertificateLine),
                [
                    {
                        "cert_no": p.cert_no,
                        "position": position,
                        "hs_code": line.hs_code,
                        "carats_hundredths": line.hundredths,
                        "value_cents": line.cents,
                        "parcels": line.parcels,
                    }
                    for p in chunk
                    for position, line in enumerate(p.lines)
                ],
            )
        session.commit()
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: the planner's statistics and the visibility
        # map an index-only scan needs. A replayed year has had time for it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _row(number: int, p: Planned) -> dict[str, Any]:
    block = 3 * number + 100

    def digest() -> str:
        return "0x" + secrets.token_hex(32)

    signer = "0x" + "00" * 19 + "02"
    shipped = issued_at_seconds(p.shipped_on) + 3600
    received = issued_at_seconds(p.received_at) + 7200
    return {
        "cert_no": p.cert_no,
        "exporting": p.exporting,
        "importing": p.importing,
        "origin": p.origin,
        "provenance": p.provenance,
        "origin_zone": None,
        "exporter_hash": digest(),
        "importer_hash": digest(),
        "issued_at": issued_at_seconds(p.issued_at),
        "expires_at": expiry_seconds(p.issued_at + timedelta(days=VALID_DAYS)),
        "issuing_authority": f"{p.exporting} Government Diamond Office",
        "replaces": None,
        "doc_hash": digest(),
        "signer": signer,
        "status": "received",
        "carats_hundredths": p.hundredths,
        "value_cents": p.cents,
        "parcels": p.parcels,
        "issued_block": block,
        "issued_tx": digest(),
        "issued_time": shipped,
        "shipped_block": block + 1,
        "shipped_tx": digest(),
        "shipped_time": shipped,
        "shipped_authority": signer,
        "seal_ref_hash": digest(),
        "received_block": block + 2,
        "received_tx": digest(),
        "received_time": received,
        "received_authority": signer,
        "received_parcels": p.parcels,
        "received_carats_hundredths": p.hundredths,
        "received_at": issued_at_seconds(p.received_at),
        "confirmation_hash": digest(),
    }


def measure_index(database_url: str, year: Plan) -> dict[str, Any]:
    """Fills the index with `year` and times the statistics query on it (in this process:
    `kpchain.reports.statistics`, the route's function), checked against the documents."""
    started = time.perf_counter()
    fill_index(database_url, year)
    filled = time.perf_counter() - started
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    seconds, cpu = [], []
    report: dict[str, Any] = {}
    try:
        for _ in range(STATISTICS_REPEATS):
            with sessions() as session:
                started, used = time.perf_counter(), time.process_time()
                report = statistics(session, year=YEAR)
                cpu.append(time.process_time() - used)
                seconds.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    result = _statistics_result(seconds, differences(report, expected(year.certificates)), report)
    result["fill_seconds"] = round(filled, 1)
    # This process's CPU: all of it on SQLite; the client's share only on PostgreSQL.
    result["cpu_seconds_best"] = round(min(cpu), 4)
    return result


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        year = plan(args.certificates, seed=args.seed, window_days=args.window_days)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    machine = machine_facts()
    databases = Databases(args.database)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="kpchain-year-") as tmp:
            directory = Path(tmp)
            if args.index_only:
                files = devnet_service.ServiceFiles(directory / "index")
                files.directory.mkdir(parents=True)
                index = measure_index(databases.url(files), year)
                return _finish_index(index, year, machine, args)
            with _chain(directory / "chain", args.anvil_arg) as chain:
                result = replay(
                    chain,
                    directory / "chain",
                    year,
                    threads=args.threads,
                    service_threads=args.service_threads,
                    databases=databases,
                )
    finally:
        databases.close()
    return _finish(result, year, machine, args, time.monotonic() - started)


@contextmanager
def _chain(directory: Path, anvil_args: list[str]) -> Iterator[Chain]:
    # The genesis block on 1 January of YEAR: the deployment and the seeding happen that day.
    start = ("--timestamp", str(issued_at_seconds(date(YEAR, 1, 1))))
    with fresh_chain(directory, anvil_args=(*start, *ANVIL_ARGS, *anvil_args)) as chain:
        yield chain


def _summary_of(year: Plan) -> dict[str, Any]:
    certificates = year.certificates
    return {
        "year": YEAR,
        "certificates": len(certificates),
        "operations_planned": 3 * len(certificates),
        "carats_exported": amount_text(sum(p.hundredths for p in certificates)),
        "value_exported_usd": amount_text(sum(p.cents for p in certificates)),
        "received_in_year": sum(1 for p in certificates if p.received_at.year == YEAR),
        "window_days": year.window_days,
    }


def _data(year: Plan) -> dict[str, Any]:
    return {
        "production_source": PRODUCTION_SOURCE,
        "production_2023_kct_musd": {code: list(v) for code, v in PRODUCTION_2023.items()},
        "world_2023_kct_musd": list(WORLD_2023),
        "producers_replayed": list(PRODUCERS),
        "flows": [
            {
                "from": f.exporting,
                "to": f.importing,
                "carats": amount_text(f.hundredths),
                "value_usd": amount_text(f.cents),
                "certificates": sum(
                    1
                    for p in year.certificates
                    if (p.exporting, p.importing) == (f.exporting, f.importing)
                ),
                "re_export": f.mixed,
            }
            for f in year.flows
        ],
    }


def _finish(
    result: dict[str, Any],
    year: Plan,
    machine: dict[str, Any],
    args: argparse.Namespace,
    total_seconds: float,
) -> int:
    stats = result.get("statistics") or {}
    failed = bool(result["failures"]) or not stats.get("exact", False)
    wall = result["seconds"]
    summary = {
        **_summary_of(year),
        "database": result["database"],
        "wall_seconds": wall,
        "target_wall_seconds": TARGET_WALL_SECONDS,
        # Judged on a full year only: a smaller one says nothing of the target.
        "meets_wall_target": (
            None
            if len(year.certificates) < CERTIFICATES
            else not failed and wall <= TARGET_WALL_SECONDS
        ),
        "operations": result["operations"],
        "operations_per_second": result["operations_per_second"],
        "service_cpu_ms_per_operation": (result["cpu_ms_per_operation"] or {}).get("service"),
        "operations_per_transaction": result.get("operations_per_transaction"),
        "requests_sent_again": result.get("retried", 0),
        "statistics_seconds": stats.get("seconds_first"),
        "statistics_seconds_best": stats.get("seconds_best"),
        "meets_statistics_target": stats.get("meets_target", False),
        "statistics_exact": stats.get("exact", False),
        "failures": result["failures"] + len(stats.get("differences", [])),
    }
    output = {
        "summary": summary,
        "replay": result,
        "data": _data(year),
        "machine": {**machine, "load_average_at_end": _load()},
        "arguments": vars(args),
        "anvil_args": [*ANVIL_ARGS, *args.anvil_arg],
    }
    rows = [
        ("certificates", f"{len(year.certificates):,}", f"x issue, ship, receive; KP {YEAR}"),
        ("wall time", f"{wall:,.1f} s", f"target <= {TARGET_WALL_SECONDS} s"),
        ("API operations/s", f"{result['operations_per_second']:,.1f}", _cpu(result)),
        *_estimate(year, result),
        (
            "operations/transaction",
            f"{result.get('operations_per_transaction') or 0:.2f}",
            f"{result.get('transactions', 0):,} transactions: how far writes were coalesced",
        ),
        ("statistics (first)", _seconds(stats.get("seconds_first")), "GET /v1/statistics"),
        ("statistics (best)", _seconds(stats.get("seconds_best")), f"of {STATISTICS_REPEATS}"),
        ("totals exact", str(stats.get("exact", False)), "every participant, flow, HS code"),
        ("failures", str(summary["failures"]), "FAILED" if failed else "none"),
        ("sent again", str(result.get("retried", 0)), "connection lost: same Idempotency-Key"),
    ]
    _print_rows(rows, machine)
    _write(output, args, failed)
    print(f"done in {total_seconds:.1f}s")
    if failed:
        _print_failures(result, stats)
        return 1
    return 0


def _finish_index(
    index: dict[str, Any], year: Plan, machine: dict[str, Any], args: argparse.Namespace
) -> int:
    rows = [
        (
            "certificates",
            f"{len(year.certificates):,}",
            f"written straight into the index ({args.database})",
        ),
        ("fill", f"{index['fill_seconds']:,.1f} s", "not a write-path figure"),
        ("statistics (first)", _seconds(index["seconds_first"]), "kpchain.reports.statistics"),
        ("statistics (best)", _seconds(index["seconds_best"]), f"of {STATISTICS_REPEATS}"),
        ("client CPU (best)", _seconds(index["cpu_seconds_best"]), "this process"),
        ("totals exact", str(index["exact"]), "every participant, flow, HS code"),
    ]
    _print_rows(rows, machine)
    if not index["exact"]:
        _print_failures({"failed": []}, index)
        return 1
    return 0


def _estimate(year: Plan, result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """For a smaller year, how long CERTIFICATES would take at this run's rate (a floor: anvil
    spends more per transaction as its chain grows)."""
    rate = result["operations_per_second"]
    if len(year.certificates) >= CERTIFICATES or not rate:
        return []
    minutes = 3 * CERTIFICATES / rate / 60
    return [(f"{CERTIFICATES:,} at this rate", f"{minutes:,.0f} min", "linear, at least")]


def _cpu(result: dict[str, Any]) -> str:
    cpu = result.get("cpu_ms_per_operation") or {}
    return (
        f"CPU per op: service {_ms(cpu.get('service'))}, anvil {_ms(cpu.get('anvil'))}, "
        f"client {_ms(cpu.get('client'))}"
    )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{1000 * value:,.0f} ms"


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _print_rows(rows: list[tuple[str, str, str]], machine: dict[str, Any]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for label, figure, note in rows:
        print(f"{label.ljust(widths[0])}  {figure.rjust(widths[1])}  {note}".rstrip())
    print(
        f"machine: {machine['nproc']} CPUs, load {machine['load_average_at_start']} at start, "
        f"{_load()} now"
    )


def _write(output: dict[str, Any], args: argparse.Namespace, failed: bool) -> None:
    if args.no_write:
        print(f"{OUTPUT.name} not written (--no-write)")
    elif failed:
        print(f"{OUTPUT.name} not written: a run with failures is no reference")
    else:
        OUTPUT.write_text(json.dumps(output, indent=2) + "\n")
        print(f"wrote {OUTPUT}")


def _print_failures(result: dict[str, Any], stats: dict[str, Any]) -> None:
    bar = "!" * 78
    print(bar, file=sys.stderr)
    print("KP YEAR FAILED", file=sys.stderr)
    for line in result.get("failed", []) + stats.get("differences", []):
        print(f"  {line}", file=sys.stderr)
    for line in result.get("service_log") or []:
        print(f"  | {line}", file=sys.stderr)
    print(bar, file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.year",
        description=__doc__.split("\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "--certificates",
        type=_positive,
        default=CERTIFICATES,
        help=f"certificates in the year (default {CERTIFICATES:,}), 3 operations each",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the service's store: a SQLite file (default) or a throw-away PostgreSQL cluster",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=120,
        help="client threads in all, shared among the authorities by their work (default 120: "
        "an authority's concurrent requests are what the service coalesces)",
    )
    parser.add_argument(
        "--service-threads",
        type=_positive,
        default=32,
        help="the service's worker threads (KPCHAIN_API_THREADS; default 32: with 8, at most 8 "
        "writes wait at once to be coalesced; 3,000 certificates ran at 41 ops/s with 8, 49 with "
        "32)",
    )
    parser.add_argument(
        "--window-days",
        type=_positive,
        default=WINDOW_DAYS,
        help=f"days the chain's clock moves at a time (default {WINDOW_DAYS})",
    )
    parser.add_argument("--seed", type=int, default=YEAR, help="the documents' random seed")
    parser.add_argument(
        "--anvil-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for anvil, as it is (repeat it); --prune-history is always given",
    )
    parser.add_argument(
        "--index-only",
        action="store_true",
        help="no chain: write the year straight into a fresh index and time the statistics",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/year.json")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
