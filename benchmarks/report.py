"""The report of a `make bench` run: its summary against the targets of issue 13, the printed
table (plain or Markdown, as the README shows it) and benchmarks/throughput.json."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import OPERATIONS

OUTPUT = Path(__file__).resolve().parent / "throughput.json"

TARGETS = {
    "cpu_ratio_to_floor": 2.0,  # at most: service CPU per operation over the floor's
    "ratio_to_floor": 1.0,  # at least: API operations/s over the floor's
    "verify_requests_per_second": 1500.0,  # at least, at 100 concurrent clients
    "verify_p99_ms": 50.0,  # at most
    "index_events_per_second": 5000.0,  # at least
    # The same two write targets, on chains that mine every 2 s (phases/block.py).
    "block_cpu_ratio_to_floor": 2.0,
    "block_ratio_to_floor": 1.0,
}
_AT_MOST = {"cpu_ratio_to_floor", "block_cpu_ratio_to_floor", "verify_p99_ms"}

Rows = list[tuple[str, str, str]]


Round = dict[str, dict[str, Any]]


def median_round(rounds: list[Round]) -> Round:
    """The round (its `api` and `floor` results) whose CPU ratio is the median (the lower of
    the two middle ones when the rounds are even): the one the table details."""
    ranked = sorted(rounds, key=lambda one: _round_figures(one)["cpu_ratio_to_floor"] or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def _round_figures(one: Round) -> dict[str, Any]:
    api, floor = one["api"], one["floor"]
    api_cpu = (api.get("cpu_ms_per_operation") or {}).get("service")
    floor_cpu = (floor.get("cpu_ms_per_operation") or {}).get("service")
    return {
        "api_operations_per_second": api["operations_per_second"],
        "floor_operations_per_second": floor["operations_per_second"],
        "api_cpu_ms_per_operation": api_cpu,
        "floor_cpu_ms_per_operation": floor_cpu,
        "cpu_ratio_to_floor": _ratio(api_cpu, floor_cpu),
        "ratio_to_floor": _ratio(api["operations_per_second"], floor["operations_per_second"]),
        "operations_per_transaction": api.get("operations_per_transaction"),
        "failures": _failures("api", api) + _failures("floor", floor),
    }


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    if len(known) < len(values) or not known:
        return None
    return round(statistics.median_low(known), 3)


def build_report(
    machine: dict[str, Any],
    phases: dict[str, dict[str, Any]],
    arguments: dict[str, Any],
    *,
    rounds: list[Round],
) -> dict[str, Any]:
    """The run's report: `phases` by name (api and floor the median round's, raw, and the
    optional phases when run), and every round of the API and the floor."""
    api, raw, floor = phases["api"], phases["raw"], phases["floor"]
    raw_rate = raw["sequential"]["tx_per_second"]
    api_cpu = (api.get("cpu_ms_per_operation") or {}).get("service")
    floor_cpu = (floor.get("cpu_ms_per_operation") or {}).get("service")
    per_round = [_round_figures(one) for one in rounds]
    figures: dict[str, float | None] = {
        "cpu_ratio_to_floor": _median([one["cpu_ratio_to_floor"] for one in per_round]),
        "ratio_to_floor": _median([one["ratio_to_floor"] for one in per_round]),
    }
    if "verify" in phases:
        figures["verify_requests_per_second"] = phases["verify"]["summary"]["requests_per_second"]
        figures["verify_p99_ms"] = phases["verify"]["summary"]["p99_ms"]
    if "index" in phases:
        figures["index_events_per_second"] = phases["index"]["summary"]["events_per_second"]
    if "block" in phases:
        figures["block_cpu_ratio_to_floor"] = phases["block"]["summary"]["cpu_ratio_to_floor"]
        figures["block_ratio_to_floor"] = phases["block"]["summary"]["ratio_to_floor"]
    # api and floor are counted in their rounds (the median round's among them).
    failures = sum(one["failures"] for one in per_round) + sum(
        _failures(name, result) for name, result in phases.items() if name not in ("api", "floor")
    )
    by_database = {
        result.get("database", "sqlite"): {
            "api_operations_per_second": result["operations_per_second"],
            "api_cpu_ms_per_operation": (result.get("cpu_ms_per_operation") or {}).get("service"),
            "operations_per_transaction": result.get("operations_per_transaction"),
            "cpu_ratio_to_floor": _ratio(
                (result.get("cpu_ms_per_operation") or {}).get("service"), floor_cpu
            ),
            "ratio_to_floor": _ratio(
                result["operations_per_second"], floor["operations_per_second"]
            ),
        }
        for name, result in phases.items()
        if name == "api" or name.startswith("api_")
    }
    return {
        "summary": {
            "api_operations_per_second": api["operations_per_second"],
            "floor_operations_per_second": floor["operations_per_second"],
            "raw_sequential_tx_per_second": raw_rate,
            "raw_pipelined_tx_per_second": raw["pipelined"]["tx_per_second"],
            "api_cpu_ms_per_operation": api_cpu,
            "floor_cpu_ms_per_operation": floor_cpu,
            **figures,
            "database": api.get("database", "sqlite"),
            "by_database": by_database,
            "rounds": per_round,
            "ratio": _ratio(api["operations_per_second"], raw_rate),
            "floor_ratio": _ratio(floor["operations_per_second"], raw_rate),
            "targets": {name: TARGETS[name] for name in figures},
            "meets_targets": {name: _meets(name, value) for name, value in figures.items()},
            "failures": failures,
        },
        **phases,
        "machine": machine,
        "method": {
            "operations": "issue + ship (exporter's officer) + receive (importer's officer) per "
            "certificate; each successful write is one operation",
            "raw": "the same three transactions per certificate, encoded with the service's "
            "domain code and signed offline, sent by one client over one keep-alive "
            "connection; sequential = send, poll the receipt (no sleep) until mined, next "
            "(DESIGN.md section 7), the fastest of three runs on fresh chains; "
            "pipelined = send all (phase by phase), then wait for each sender's last receipt",
            "cpu": "user + system CPU of each process over the measured window (Linux /proc), "
            "per API operation or per raw transaction: steadier than rates on a shared machine",
            "floor": "benchmarks/floor_service.py driven like the API with the same "
            "transactions: FastAPI on uvicorn, the body validated, a row recorded (SQLAlchemy, "
            "SQLite), the transaction signed (eth-account) and sent, its receipt awaited "
            "(web3), the row marked done; nothing else, one transaction per operation",
            "rounds": "the API (on the first database) then the floor, each on a fresh chain, "
            "repeated; api and floor above are the round of the median CPU ratio",
            "cpu_ratio_to_floor": "service CPU per API operation over the floor's in each "
            "round; the median of the rounds",
            "ratio_to_floor": "API operations/s over the floor's operations/s in each round; "
            "the median of the rounds",
            "arguments": arguments,
        },
    }


def write(report: dict[str, Any]) -> Path:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2) + "\n")
    return OUTPUT


def print_table(
    report: dict[str, Any],
    extra_rows: dict[str, Callable[[dict[str, Any]], Rows]],
    *,
    markdown: bool = False,
) -> None:
    """Prints the run's figures; `extra_rows` gives the rows of the optional phases."""
    rows = [("measure", "value", "note"), *_write_rows(report)]
    for name in sorted(report):
        if name.startswith("api_"):
            rows += _other_database_rows(report[name])
    for name, rows_of in extra_rows.items():
        if name in report:
            rows += rows_of(report[name])
    rows += _round_rows(report["summary"]["rounds"])
    rows += _target_rows(report["summary"])
    if markdown:
        print("| measure | value | note |")
        print("|---|---:|---|")
        for row in rows[1:]:
            print(f"| {row[0]} | {row[1]} | {row[2]} |")
    else:
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for number, row in enumerate(rows):
            line = f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2]}"
            print(line.rstrip())
            if number == 0:
                print("  ".join("-" * w for w in widths))
    machine = report["machine"]
    print(
        f"machine: {machine['nproc']} CPUs, load {machine['load_average_at_start']} at start, "
        f"Python {machine['python']}, {machine['anvil']}"
    )


def _write_rows(report: dict[str, Any]) -> Rows:
    api, raw, floor = report["api"], report["raw"], report["floor"]
    threads = api["threads_per_authority"]
    rows: Rows = [
        (
            "API operations/s",
            f"{api['operations_per_second']:,.1f}",
            f"{api['operations']:,} ops in {api['seconds']:.1f}s, 3 authorities x {threads} "
            f"threads, {_services(api)}, {api.get('database', 'sqlite')}",
        )
    ]
    for op in (*OPERATIONS, "all"):
        stats = api["latency_ms"][op]
        rows.append(
            (
                f"latency {op} p50 / p95",
                f"{stats['p50']:,.0f} / {stats['p95']:,.0f} ms",
                f"{stats['count']:,} requests",
            )
        )
    if api.get("operations_per_transaction") is not None:
        rows.append(
            (
                "API operations per transaction",
                f"{api['operations_per_transaction']:.2f}",
                f"{api['transactions']:,} transactions (coalesced writes, warm-up included)",
            )
        )
    api_cpu = api.get("cpu_ms_per_operation") or {}
    rows.append(
        (
            "CPU per API operation",
            _ms(api_cpu.get("service")),
            f"service; anvil {_ms(api_cpu.get('anvil'))}, client {_ms(api_cpu.get('client'))}",
        )
    )
    floor_cpu = floor.get("cpu_ms_per_operation") or {}
    rows += [
        (
            "stack floor ops/s",
            f"{floor['operations_per_second']:,.1f}",
            f"{floor['operations']:,} ops: record, sign, send, receipt, mark done; nothing else",
        ),
        (
            "CPU per floor operation",
            _ms(floor_cpu.get("service")),
            f"stand-in; anvil {_ms(floor_cpu.get('anvil'))}, client {_ms(floor_cpu.get('client'))}",
        ),
    ]
    sequential, pipelined = raw["sequential"], raw["pipelined"]
    seq_cpu = sequential.get("cpu_ms_per_tx") or {}
    rows += [
        (
            "raw tx/s, sequential",
            f"{sequential['tx_per_second']:,.1f}",
            f"{sequential['transactions']:,} tx, send then receipt, one client; best of "
            f"{', '.join(f'{r:,.0f}' for r in sequential['runs_tx_per_second'])}",
        ),
        (
            "raw tx/s, pipelined",
            f"{pipelined['tx_per_second']:,.1f}",
            f"{pipelined['transactions']:,} tx, send all then last receipts",
        ),
        (
            "CPU per raw tx, sequential",
            _ms(seq_cpu.get("anvil")),
            f"anvil; client {_ms(seq_cpu.get('client'))}",
        ),
    ]
    return rows


def _other_database_rows(api: dict[str, Any]) -> Rows:
    database = api.get("database", "?")
    cpu = api.get("cpu_ms_per_operation") or {}
    per_transaction = api.get("operations_per_transaction")
    return [
        (
            f"API operations/s, {database}",
            f"{api['operations_per_second']:,.1f}",
            f"{api['operations']:,} ops in {api['seconds']:.1f}s, "
            f"p50 / p95 {api['latency_ms']['all']['p50']:,.0f} / "
            f"{api['latency_ms']['all']['p95']:,.0f} ms",
        ),
        (
            f"CPU per API operation, {database}",
            _ms(cpu.get("service")),
            "service"
            + (f"; {per_transaction:.2f} operations per transaction" if per_transaction else ""),
        ),
    ]


def _round_rows(rounds: list[dict[str, Any]]) -> Rows:
    if len(rounds) < 2:
        return []
    cpu = ", ".join(
        f"{one['api_cpu_ms_per_operation']:.1f}/{one['floor_cpu_ms_per_operation']:.1f}"
        for one in rounds
        if one["cpu_ratio_to_floor"] is not None
    )
    return [
        (
            f"service CPU / floor CPU, {len(rounds)} rounds",
            ", ".join(_times(one["cpu_ratio_to_floor"]) for one in rounds),
            f"ms per op, service/floor: {cpu}",
        ),
        (
            f"API ops/s / floor ops/s, {len(rounds)} rounds",
            ", ".join(_times(one["ratio_to_floor"]) for one in rounds),
            ", ".join(
                f"{one['api_operations_per_second']:.1f}/{one['floor_operations_per_second']:.1f}"
                for one in rounds
            )
            + " ops/s",
        ),
    ]


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _target_rows(summary: dict[str, Any]) -> Rows:
    labels = {
        "cpu_ratio_to_floor": ("service CPU / floor CPU per op, median", "{:.2f}x", "at most"),
        "ratio_to_floor": ("API ops/s / floor ops/s, median", "{:.2f}", "at least"),
        "verify_requests_per_second": ("verify requests/s", "{:,.0f}", "at least"),
        "verify_p99_ms": ("verify p99", "{:.1f} ms", "at most"),
        "index_events_per_second": ("index events/s", "{:,.0f}", "at least"),
        "block_cpu_ratio_to_floor": ("CPU / floor CPU, 2 s blocks", "{:.2f}x", "at most"),
        "block_ratio_to_floor": ("ops/s / floor ops/s, 2 s blocks", "{:.2f}", "at least"),
    }
    rows: Rows = []
    for name, (label, form, direction) in labels.items():
        if name not in summary["targets"]:
            continue
        value, target = summary[name], summary["targets"][name]
        verdict = "ok" if summary["meets_targets"][name] else "MISSED"
        shown = "n/a" if value is None else form.format(value)
        rows.append((label, shown, f"target {direction} {form.format(target)}: {verdict}"))
    failures = summary["failures"]
    rows.append(("failures", str(failures), "FAILED" if failures else "none"))
    return rows


def print_failures(report: dict[str, Any], rounds: list[Round]) -> None:
    """Prints every failed request or transaction, of every round and phase, with the service's
    log where it was kept."""
    bar = "!" * 78
    print(bar, file=sys.stderr)
    print("BENCHMARK FAILED: the figures above do not count", file=sys.stderr)
    runs = [
        (f"{name}, round {number + 1}", name, one[name])
        for number, one in enumerate(rounds)
        for name in ("api", "floor")
    ]
    runs += [
        (name, name, report[name])
        for name in [n for n in report if n.startswith("api_")]
        + ["raw", "block", "verify", "index"]
        if name in report
    ]
    for label, name, result in runs:
        if not _failures(name, result):
            continue
        failed = (
            result["sequential"]["failed"] + result["pipelined"]["failed"]
            if name == "raw"
            else result.get("failed", [])
        )
        print(f"{label}: {_failures(name, result)} failure(s)", file=sys.stderr)
        for line in failed:
            print(f"  {line}", file=sys.stderr)
        for line in result.get("service_log") or []:
            print(f"  | {line}", file=sys.stderr)
    print(bar, file=sys.stderr)


def _failures(name: str, result: dict[str, Any]) -> int:
    if name == "raw":
        return int(result["sequential"]["failures"]) + int(result["pipelined"]["failures"])
    return int(result.get("failures", result.get("summary", {}).get("failures", 0)))


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _meets(name: str, value: float | None) -> bool:
    if value is None:
        return False
    return value <= TARGETS[name] if name in _AT_MOST else value >= TARGETS[name]


def _services(api: dict[str, Any]) -> str:
    processes = api.get("service_processes", 1)
    if processes == 1:
        return f"service {api['service_threads']} threads"
    return f"{processes} services (one per route) x {api['service_threads']} threads"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"
