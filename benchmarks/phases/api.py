"""The API rate: the real service (`kpchain serve`, started by the devnet's launcher with its
settings: development mode, the devnet signers file, SQLite or PostgreSQL) driven over HTTP by
three exporting authorities at once (BW -> AE, RU -> IN, ZA -> EU), each with N client threads
(one keep-alive httpx client each). Every thread runs whole lifecycles: the exporter's officer
issues and ships, the importer's officer receives. Every successful write is one operation;
every response must be 2xx.

With `processes=3`, one service per route instead, hosting its exporter and importer with its
own database and index, as separate authorities' services would: the way past one core.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import (
    RECEIPT_TIMEOUT,
    ROUTES,
    Chain,
    CpuMeter,
    Databases,
    Numbers,
    Service,
    Tally,
    document,
    percentiles,
    receive_body,
    run_workers,
    services,
)
from kpchain.devnet.seed import DEMO_PARTICIPANTS


def measure(
    chain: Chain,
    directory: Path,
    *,
    threads: int,
    service_threads: int,
    processes: int,
    duration: float | None,
    certificates: int | None,
    databases: Databases,
) -> dict[str, Any]:
    """Drives the service (`processes` 1: one hosting every demo participant, as the hosted
    devnet does; 3: one per route, hosting its exporter and importer, each with its own
    database and index) for `duration` seconds or `certificates` lifecycles per route."""
    hosted = (
        {"service": [participant.code for participant in DEMO_PARTICIPANTS]}
        if processes == 1
        else {f"service-{exporting}": [exporting, importing] for exporting, importing in ROUTES}
    )
    numbers = Numbers("A")
    with services(
        chain, hosted, directory, threads=service_threads, databases=databases
    ) as running:
        url_of = {code: s.url for s in running.values() for code in s.codes}
        keys = {code: key for s in running.values() for code, key in s.officer_keys.items()}
        served = list(running.values())
        # Warm-up, not counted: one lifecycle per route (first nonces, connections, imports).
        warm = Tally()
        for exporting, importing in ROUTES:
            with httpx.Client(base_url=url_of[exporting], timeout=RECEIPT_TIMEOUT) as client:
                lifecycle(client, keys, numbers, exporting, importing, warm)
        if warm.failures:
            return _result(warm, 0.0, threads, duration, certificates, served, None, warmup=True)
        tally = Tally()
        remaining = {exporting: certificates or 0 for exporting, _ in ROUTES}
        remaining_lock = threading.Lock()
        deadline: float | None = None

        def more(exporting: str) -> bool:
            if deadline is not None:
                return time.perf_counter() < deadline
            with remaining_lock:
                if remaining[exporting] <= 0:
                    return False
                remaining[exporting] -= 1
                return True

        def worker(exporting: str, importing: str) -> None:
            with httpx.Client(base_url=url_of[exporting], timeout=RECEIPT_TIMEOUT) as client:
                while more(exporting):
                    lifecycle(client, keys, numbers, exporting, importing, tally)

        workers = [
            threading.Thread(target=worker, args=route, name=f"bench-{route[0]}-{n}")
            for route in ROUTES
            for n in range(threads)
        ]
        pids = [s.pid for s in served]
        cpu = CpuMeter({"service": pids, "anvil": chain.anvil_pid, "client": os.getpid()})
        deadline = time.perf_counter() + duration if duration is not None else None
        elapsed = run_workers(workers, cpu)
        result = _result(tally, elapsed, threads, duration, certificates, served, cpu)
        counts = [s.transactions() for s in served]
        operations, transactions = (sum(c[0] for c in counts), sum(c[1] for c in counts))
        result["transactions"] = transactions
        result["operations_per_transaction"] = (
            round(operations / transactions, 2) if transactions else None
        )
    result["service_threads"] = service_threads
    result["service_processes"] = processes
    result["database"] = databases.kind
    return result


def lifecycle(
    client: httpx.Client,
    keys: dict[str, str],
    numbers: Numbers,
    exporting: str,
    importing: str,
    tally: Tally,
) -> None:
    """Issue and ship as the exporter, receive as the importer; stops at the first failure."""
    cert_no = numbers.next(exporting)
    steps: list[tuple[str, str, str, Any]] = [
        ("issue", exporting, "/v1/certificates", document(cert_no, exporting, importing)),
        ("ship", exporting, f"/v1/certificates/{cert_no}/ship", {"seal_ref": f"SEAL-{cert_no}"}),
        ("receive", importing, f"/v1/certificates/{cert_no}/receive", receive_body()),
    ]
    for operation, code, path, body in steps:
        headers = {"Authorization": f"Bearer {keys[code]}", "Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        try:
            response = client.post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            tally.failed(f"{operation} {cert_no}: {type(exc).__name__}: {exc}")
            return
        seconds = time.perf_counter() - started
        if not response.is_success:
            status = response.status_code
            tally.failed(f"{operation} {cert_no}: HTTP {status} {response.text[:300]}")
            return
        tally.ok(operation, seconds)
    with tally.lock:
        tally.certificates += 1


def _result(
    tally: Tally,
    elapsed: float,
    threads: int,
    duration: float | None,
    certificates: int | None,
    served: list[Service],
    cpu: CpuMeter | None,
    *,
    warmup: bool = False,
) -> dict[str, Any]:
    all_latencies = [value for values in tally.latencies.values() for value in values]
    return {
        "authorities": [f"{a}->{b}" for a, b in ROUTES],
        "threads_per_authority": threads,
        "mode": f"duration {duration:g}s" if duration else f"{certificates} certificates each",
        "seconds": round(elapsed, 3),
        "operations": tally.operations,
        "certificates_completed": tally.certificates,
        "operations_per_second": round(tally.operations / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            **{op: percentiles(values) for op, values in tally.latencies.items()},
            "all": percentiles(all_latencies),
        },
        "cpu_ms_per_operation": cpu.per(tally.operations) if cpu else None,
        "failures": len(tally.failures),
        "failed": tally.failures[:20],
        "failed_in_warmup": warmup,
        "service_log": [line for s in served for line in s.log_tail()] if tally.failures else None,
    }
