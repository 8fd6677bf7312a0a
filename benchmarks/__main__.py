"""`make bench`: the authority service's throughput and CPU against the stack's floor and the
node's raw rate, in one run; each phase on a fresh anvil (chain id 2021, zero gas price,
automine) with the registry deployed and the devnet's demo participants seeded.

1. api: the real service driven over HTTP (benchmarks/phases/api.py);
2. raw: the node's rate for the same transactions, signed offline (phases/raw.py);
3. floor: the stack's floor, a stand-in doing only what any crash-safe write must
   (phases/floor.py, benchmarks/floor_service.py);
4. block: the API and the floor again on chains that mine every 2 s, as QBFT does, where
   coalesced writes share their transactions (phases/block.py);
5. verify: public verification under 100 concurrent clients (phases/verify.py, autocannon);
6. index: a rebuild of the index from a chain of 21,000 registry events (phases/index.py).

The headline figures are the service's CPU per operation over the floor's (target at most 2x)
and its operations/s over the floor's (target at least 1.0), each the median of rounds that
alternate the API (on the first database) and the floor, each round on fresh chains. Prints a
table and writes benchmarks/throughput.json, with the CPU each process used per operation
(steadier than rates on a shared machine), nproc, the load average and the versions. A run
with any failed request or transaction says so, writes no JSON and exits 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.harness import Database, Databases, fresh_chain
from benchmarks.phases import api, block, floor, index, raw, verify
from kpchain.devnet.anvil import find_anvil

MIN_RAW_CERTIFICATES = 100


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    machine = machine_facts()
    phases: dict[str, dict[str, Any]] = {}
    rounds: list[dict[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="kpchain-bench-") as tmp:
        directory = Path(tmp)

        def measure_api(name: str, database: Database) -> dict[str, Any]:
            databases = Databases(database)
            try:
                with fresh_chain(directory / name) as chain:
                    return api.measure(
                        chain,
                        directory / name,
                        threads=args.threads,
                        service_threads=args.service_threads,
                        processes=args.processes,
                        duration=None if args.certificates else args.duration,
                        certificates=args.certificates,
                        databases=databases,
                    )
            finally:
                databases.close()

        # The headline: the API on the first database and the floor, alternated over rounds,
        # since the floor's CPU per operation moves with the machine's day by a fifth or more;
        # the report takes the median round.
        for number in range(args.rounds):
            first = measure_api(f"api_{number}", args.databases[0])
            # By default as many floor (and raw) transactions as the API made operations, so
            # that every phase grows its chain alike (anvil slows down as its chain grows).
            certificates = args.raw_certificates or max(
                MIN_RAW_CERTIFICATES, first["operations"] // 3
            )
            if number == 0:
                phases["raw"] = raw.measure(directory / "raw", certificates=certificates)
            with fresh_chain(directory / f"floor_{number}") as chain:
                second = floor.measure(
                    chain,
                    directory / f"floor_{number}",
                    certificates=certificates,
                    threads=args.threads,
                    service_threads=args.service_threads,
                )
            rounds.append({"api": first, "floor": second})
        median = report.median_round(rounds)
        phases["api"], phases["floor"] = median["api"], median["floor"]
        # The other databases once each, beside the headline.
        for database in args.databases[1:]:
            phases[f"api_{database}"] = measure_api(f"api_{database}", database)
        if "block" in args.phases:
            phases["block"] = block.measure(
                directory / "block", threads=args.threads, duration=args.duration
            )
        if "verify" in args.phases:
            phases["verify"] = verify.measure(directory / "verify", clients=args.verify_clients)
        if "index" in args.phases:
            phases["index"] = index.measure(directory / "index")
    arguments = {k: v for k, v in vars(args).items() if k not in ("markdown", "no_write")}
    arguments["phases"] = sorted(args.phases)
    result = report.build_report(machine, phases, arguments, rounds=rounds)
    failures = result["summary"]["failures"]
    if args.no_write:
        where = f"{report.OUTPUT.name} not written (--no-write)"
    elif failures:
        where = f"{report.OUTPUT.name} not written: a run with failures is no reference"
    else:
        where = f"wrote {report.write(result)}"
    report.print_table(
        result,
        {"block": block.rows, "verify": verify.rows, "index": index.rows},
        markdown=args.markdown,
    )
    print(f"{where} in {time.monotonic() - started:.1f}s")
    if failures:
        report.print_failures(result, rounds)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--threads", type=_positive, default=8, help="client threads per authority (default 8)"
    )
    parser.add_argument(
        "--duration",
        type=_positive_float,
        default=15.0,
        help="seconds the API is driven; threads finish the lifecycle in hand (default 15)",
    )
    parser.add_argument(
        "--certificates",
        type=_positive,
        default=None,
        help="drive the API for this many certificates (per authority) instead of --duration",
    )
    parser.add_argument(
        "--raw-certificates",
        type=_positive,
        default=None,
        help="certificates per raw mode and for the floor, 3 transactions each (default: as "
        "many transactions as the API run made operations)",
    )
    parser.add_argument(
        "--rounds",
        type=_positive,
        default=3,
        help="rounds of the API (first database) then the floor; the headline ratios are the "
        "rounds' medians (default 3)",
    )
    parser.add_argument(
        "--service-threads",
        type=_positive,
        default=8,
        help="the service's worker threads (KPCHAIN_API_THREADS; default 8)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        choices=(1, 3),
        default=1,
        help="service processes: 1 hosts every participant (default); 3 runs one per route, "
        "hosting its exporter and importer with its own database, as separate authorities would",
    )
    parser.add_argument(
        "--databases",
        type=_databases,
        default=["sqlite", "postgresql"],
        help="the service's stores to measure the API on, comma-separated, the first one the "
        "headline: sqlite (a file) and postgresql (a throw-away cluster; default: both)",
    )
    parser.add_argument(
        "--phases",
        type=lambda text: {name.strip() for name in text.split(",") if name.strip()},
        default={"block", "verify", "index"},
        help="optional phases to run after api, raw and floor, comma-separated (default: "
        "block,verify,index); an empty string runs none",
    )
    parser.add_argument(
        "--verify-clients",
        type=_positive,
        default=100,
        help="concurrent keep-alive connections of the verify phase (default 100)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not write benchmarks/throughput.json"
    )
    return parser


def machine_facts() -> dict[str, Any]:
    anvil = subprocess.run(
        [str(find_anvil()), "--version"], capture_output=True, text=True, check=False
    )
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
        "anvil": anvil.stdout.splitlines()[0].strip() if anvil.stdout else "unknown",
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _databases(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - {"sqlite", "postgresql"}
    if not names or unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError("a comma-separated list of sqlite and postgresql")
    return names


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


if __name__ == "__main__":
    sys.exit(main())
