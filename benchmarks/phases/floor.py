"""The stack's floor: benchmarks/floor_service.py, a stand-in that does only what any crash-safe
write through this stack must (FastAPI on uvicorn, a row recorded, eth-account signing, web3
sending and awaiting the receipt, the row marked done), driven like the API with the same
transactions. Its rate and its CPU per operation bound any service built on this stack on this
machine.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    RAW_GAS,
    RECEIPT_TIMEOUT,
    ROUTES,
    Call,
    Chain,
    CpuMeter,
    Numbers,
    Tally,
    lifecycle_calls,
    percentiles,
    run_workers,
    tail,
)
from kpchain.devnet import launcher
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, free_port

FLOOR_SERVICE = Path(__file__).resolve().parents[1] / "floor_service.py"
READY_TIMEOUT = 60.0


def measure(
    chain: Chain, directory: Path, *, certificates: int, threads: int, service_threads: int
) -> dict[str, Any]:
    """The stand-in driven like the API: three routes x `threads` client threads, each running
    whole lifecycles of the same transactions, `certificates` in all."""
    directory.mkdir(parents=True, exist_ok=True)
    registry = chain.registry
    calls = lifecycle_calls(registry, Numbers("F"), certificates + len(ROUTES))
    warmup, calls = calls[: len(ROUTES)], calls[len(ROUTES) :]
    queues: dict[str, list[list[Call]]] = {exporting: [] for exporting, _ in ROUTES}
    for lifecycle_ in calls:
        queues[lifecycle_[0].sender].append(lifecycle_)
    env = {
        **os.environ,
        "KPCHAIN_RPC_URL": chain.node.rpc_url,
        "KPCHAIN_CHAIN_ID": str(DEVNET_CHAIN_ID),
        "KPCHAIN_DATABASE_URL": f"sqlite:///{directory / 'floor.db'}",
        "KPCHAIN_API_THREADS": str(service_threads),
        "FLOOR_PARTICIPANTS": ",".join(code for route in ROUTES for code in route),
    }
    log_file = directory / "floor.log"
    server = launcher.spawn(
        env,
        port=free_port(),
        log_file=log_file,
        command=[sys.executable, str(FLOOR_SERVICE)],
        name="the floor service",
    )
    url = server.url
    tally = Tally()
    try:
        server.wait_ready(timeout=READY_TIMEOUT)
        with httpx.Client(base_url=url, timeout=RECEIPT_TIMEOUT) as client:
            for lifecycle_ in warmup:
                lifecycle(client, registry.address, lifecycle_, Tally())
        lock = threading.Lock()

        def worker(exporting: str) -> None:
            with httpx.Client(base_url=url, timeout=RECEIPT_TIMEOUT) as client:
                while True:
                    with lock:
                        if not queues[exporting]:
                            return
                        lifecycle_ = queues[exporting].pop(0)
                    lifecycle(client, registry.address, lifecycle_, tally)

        workers = [
            threading.Thread(target=worker, args=(exporting,), name=f"floor-{exporting}-{n}")
            for exporting, _ in ROUTES
            for n in range(threads)
        ]
        cpu = CpuMeter({"service": server.pid, "anvil": chain.anvil_pid, "client": os.getpid()})
        elapsed = run_workers(workers, cpu)
    finally:
        server.stop(timeout=20)
    return {
        "seconds": round(elapsed, 3),
        "operations": tally.operations,
        "operations_per_second": round(tally.operations / elapsed, 1) if elapsed else 0.0,
        "latency_ms": percentiles([v for values in tally.latencies.values() for v in values]),
        "cpu_ms_per_operation": cpu.per(tally.operations),
        "failures": len(tally.failures),
        "failed": tally.failures[:20],
        "service_log": tail(log_file) if tally.failures else None,
    }


def lifecycle(client: httpx.Client, to: str, calls: list[Call], tally: Tally) -> None:
    """Posts one lifecycle's three calls in order; a write counts when mined with status 1."""
    for call in calls:
        body = {"to": to, "data": call.data, "gas": RAW_GAS[call.kind]}
        started = time.perf_counter()
        try:
            response = client.post(f"/{call.sender}", json=body)
        except httpx.HTTPError as exc:
            tally.failed(f"floor {call.kind}: {type(exc).__name__}: {exc}")
            return
        seconds = time.perf_counter() - started
        if not response.is_success or response.json().get("status") != 1:
            tally.failed(f"floor {call.kind}: HTTP {response.status_code} {response.text[:300]}")
            return
        tally.ok(call.kind, seconds)
