"""The write path on a chain with a block period, as the consortium runs it (QBFT on Besu seals
a block every `blockperiodseconds`, 2 by default in kpchain's genesis), beside the automine
phases: the API and the floor again, each on a fresh anvil that mines every `block_time`
seconds once the registry is deployed and seeded.

Automine mines each transaction the moment it arrives, so writes rarely find each other and
coalescing has little to share. With a block period, every write of an authority that arrives
while its transaction waits for the next block joins the following batch: one signature, one
send, one receipt wait and one index pass for the lot. This phase measures what that saves per
operation (CPU, gas is `make gas`'s) and whether the service keeps the floor's pace, where
the floor sends one transaction per operation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import Chain, Databases, fresh_chain
from benchmarks.phases import api, floor
from kpchain.chain.transactions import call_node
from kpchain.config import Settings

BLOCK_TIME = 2
"""Seconds between blocks: the consortium genesis' QBFT `blockperiodseconds`."""

SERVICE_THREADS: int = Settings.model_fields["api_threads"].default
"""The service's worker threads here (and the floor's): the service's default. A write holds
one until it is mined, so at the automine phases' 8 both would be bounded by 8 writes a block,
not by what they do."""

CPU_TARGET = 2.0  # service CPU per operation over the floor's, at most
RATE_TARGET = 1.0  # API operations/s over the floor's, at least


def measure(
    directory: Path,
    *,
    block_time: int = BLOCK_TIME,
    threads: int,
    service_threads: int = SERVICE_THREADS,
    duration: float,
) -> dict[str, Any]:
    """The API for `duration` seconds, then the floor for as many lifecycles, on chains that
    mine every `block_time` seconds (SQLite stores, one service hosting every participant)."""
    databases = Databases("sqlite")
    try:
        with fresh_chain(directory / "api") as chain:
            _mine_every(chain, block_time)
            served = api.measure(
                chain,
                directory / "api",
                threads=threads,
                service_threads=service_threads,
                processes=1,
                duration=duration,
                certificates=None,
                databases=databases,
            )
    finally:
        databases.close()
    with fresh_chain(directory / "floor") as chain:
        _mine_every(chain, block_time)
        stand_in = floor.measure(
            chain,
            directory / "floor",
            certificates=max(1, served["operations"] // 3),
            threads=threads,
            service_threads=service_threads,
        )
    api_cpu = (served.get("cpu_ms_per_operation") or {}).get("service")
    floor_cpu = (stand_in.get("cpu_ms_per_operation") or {}).get("service")
    cpu_ratio = round(api_cpu / floor_cpu, 3) if api_cpu and floor_cpu else None
    rate_ratio = (
        round(served["operations_per_second"] / stand_in["operations_per_second"], 3)
        if stand_in["operations_per_second"]
        else None
    )
    return {
        "summary": {
            "block_time_seconds": block_time,
            "api_operations_per_second": served["operations_per_second"],
            "floor_operations_per_second": stand_in["operations_per_second"],
            "operations_per_transaction": served.get("operations_per_transaction"),
            "api_cpu_ms_per_operation": api_cpu,
            "floor_cpu_ms_per_operation": floor_cpu,
            "cpu_ratio_to_floor": cpu_ratio,
            "ratio_to_floor": rate_ratio,
            "failures": int(served["failures"]) + int(stand_in["failures"]),
            "meets_targets": {
                "cpu_ratio_to_floor": cpu_ratio is not None and cpu_ratio <= CPU_TARGET,
                "ratio_to_floor": rate_ratio is not None and rate_ratio >= RATE_TARGET,
            },
        },
        "api": served,
        "floor": stand_in,
    }


def rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The phase's lines of `make bench`'s table."""
    summary = result["summary"]
    period = f"{summary['block_time_seconds']} s blocks"
    served, stand_in = result["api"], result["floor"]
    api_cpu = served.get("cpu_ms_per_operation") or {}
    floor_cpu = stand_in.get("cpu_ms_per_operation") or {}

    def verdict(name: str) -> str:
        return "met" if summary["meets_targets"][name] else "MISSED"

    return [
        (
            f"API operations/s, {period}",
            f"{summary['api_operations_per_second']:.1f}",
            f"{served['operations']:,} ops in {served['seconds']:.1f}s, "
            f"{summary['operations_per_transaction']} operations per transaction, "
            f"p50 {served['latency_ms']['all']['p50']:.0f} ms",
        ),
        (
            f"floor ops/s, {period}",
            f"{summary['floor_operations_per_second']:.1f}",
            f"{stand_in['operations']:,} ops, one transaction each, "
            f"p50 {stand_in['latency_ms']['p50']:.0f} ms",
        ),
        (
            f"CPU per operation, {period}",
            f"{summary['api_cpu_ms_per_operation']} ms",
            f"service; floor {summary['floor_cpu_ms_per_operation']} ms; anvil "
            f"{api_cpu.get('anvil')} vs {floor_cpu.get('anvil')} ms",
        ),
        (
            f"service CPU / floor CPU, {period}",
            f"{summary['cpu_ratio_to_floor']:.2f}x",
            f"target at most {CPU_TARGET:.2f}x: {verdict('cpu_ratio_to_floor')}",
        ),
        (
            f"API ops/s / floor ops/s, {period}",
            f"{summary['ratio_to_floor']:.2f}",
            f"target at least {RATE_TARGET:.2f}: {verdict('ratio_to_floor')}",
        ),
    ]


def _mine_every(chain: Chain, seconds: int) -> None:
    """Turns the node from automine to a block every `seconds` (anvil's evm_setIntervalMining,
    which also ends automine); the registry was deployed and seeded under automine, quickly."""
    w3 = chain.registry.w3
    call_node(lambda: w3.provider.make_request("evm_setIntervalMining", [seconds]))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block-time", type=int, default=BLOCK_TIME)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--service-threads", type=int, default=SERVICE_THREADS)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kpchain-bench-block-") as directory:
        result = measure(
            Path(directory),
            block_time=args.block_time,
            threads=args.threads,
            service_threads=args.service_threads,
            duration=args.duration,
        )
    for label, figure, note in rows(result):
        print(f"{label:<36} {figure:>10}  {note}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["summary"]["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
