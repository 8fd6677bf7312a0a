"""Public verification under a crowd: `GET /v1/verify/{cert_no}?doc_hash=…` from many clients at
once against one real service process (`kpchain serve`, started by the devnet's launcher), with a
few hundred certificates in its index.

The chain seals an empty block every `block_period` seconds besides mining each transaction at
once, as the devnet does and a QBFT network does: the index head moves during the measurement.
The certificates are issued through the API (in batches), some then shipped, received or
cancelled. The requests mix, over every certificate, the right document hash, a wrong one and
none, numbers nobody issued, and revalidations (`If-None-Match` with the answer's ETag, which
must answer 304; with another tag, 200).

One client first asks every request once, in order (the cold pass: every answer computed), and
each answer is checked against what was issued (found or not, status, genuine, which check
failed). Then `autocannon` (pinned in package.json, run by benchmarks/phases/verify_load.js)
holds `clients` keep-alive connections for `seconds`, each walking its own window of the
requests, and checks every answer against the cold pass's, byte for byte; figures count after a
one-second warm-up. A Python client on this 2-core machine would be the bottleneck. Public
verification has no rate limit, so the load generator needs no allowance.

Figures: requests, seconds, requests/s, latency percentiles, statuses, errors and mismatches,
and the service's CPU per request (steadier than rates on a shared machine).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchmarks.harness import (
    RECEIPT_TIMEOUT,
    ROUTES,
    Databases,
    Service,
    cpu_seconds,
    document,
    fresh_chain,
    receive_body,
    services,
)

TARGET_RPS = 1_500
TARGET_P99_MS = 50.0
CLIENTS = 100
SECONDS = 15.0
CERTIFICATES = 300
BLOCK_PERIOD = 2
BATCH = 50
LOAD_SCRIPT = Path(__file__).with_name("verify_load.js")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Issued:
    """A certificate the phase issued, and the status it left it in."""

    cert_no: str
    doc_hash: str
    status: str  # issued, shipped, received, cancelled


@dataclass(frozen=True)
class Probe:
    """One request of the mix and what its answer must say."""

    path: str
    headers: dict[str, str]
    cert: Issued | None  # None: a number nobody issued
    presented: str  # "right", "wrong", "none": the doc_hash sent


def measure(
    directory: Path,
    *,
    clients: int = CLIENTS,
    seconds: float = SECONDS,
    certificates: int = CERTIFICATES,
    block_period: int = BLOCK_PERIOD,
    databases: Databases | None = None,
) -> dict[str, Any]:
    """Issues `certificates` through a fresh service, then drives its public verification
    from `clients` connections for `seconds` (see the module docstring)."""
    databases = databases or Databases("sqlite")
    load = os.getloadavg()
    codes = sorted({code for route in ROUTES for code in route})
    anvil_args = ("--block-time", str(block_period), "--mixed-mining")
    with (
        fresh_chain(directory / "chain", anvil_args=anvil_args) as chain,
        services(chain, {"service": codes}, directory, threads=8, databases=databases) as started,
    ):
        service = started["service"]
        issued = _populate(service, certificates)
        probes = _probes(issued, random.Random(2026))
        cold = _cold_pass(service.url, probes)
        spec = _spec(service.url, probes, cold["answers"], clients, seconds, random.Random(7))
        head_before = chain.registry.w3.eth.block_number
        run = _run_load(service, spec, directory / "verify-load.json")
        head_after = chain.registry.w3.eth.block_number
        failures = cold["failures"] + run.pop("failures")
        log = service.log_tail() if failures else None
    latency = run["latency_ms"]
    rps = run["requests_per_second"]
    return {
        "summary": {
            "requests_per_second": rps,
            "p50_ms": latency["p50"],
            "p95_ms": latency["p95"],
            "p99_ms": latency["p99"],
            "clients": clients,
            "service_cpu_ms_per_request": run["cpu_ms_per_request"]["service"],
            "target_requests_per_second": TARGET_RPS,
            "target_p99_ms": TARGET_P99_MS,
            "met": not failures and rps >= TARGET_RPS and latency["p99"] <= TARGET_P99_MS,
            "failures": len(failures),
        },
        "certificates": len(issued),
        "distinct_requests": len(spec["requests"]),
        "cold": {key: value for key, value in cold.items() if key not in ("answers", "failures")},
        "load": run,
        "blocks_during_load": head_after - head_before,
        "block_period_seconds": block_period,
        "failed": failures[:20],
        "service_log": log,
        "load_average_at_start": [round(value, 2) for value in load],
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, figure, target) lines for the printed table."""
    summary, load, cold = result["summary"], result["load"], result["cold"]
    clients = summary["clients"]
    return [
        (
            f"verify, {clients} clients",
            f"{summary['requests_per_second']:,.0f} requests/s ({load['requests']:,} in "
            f"{load['seconds']:.1f} s; {summary['service_cpu_ms_per_request']} ms service CPU "
            "per request)",
            f">= {TARGET_RPS:,} requests/s",
        ),
        (
            f"verify latency, {clients} clients",
            f"p50 {summary['p50_ms']:.1f} / p95 {summary['p95_ms']:.1f} / "
            f"p99 {summary['p99_ms']:.1f} ms",
            f"p99 <= {TARGET_P99_MS:.0f} ms",
        ),
        (
            "verify answers",
            f"{load['statuses']}; {load['errors']} errors, {load['timeouts']} timeouts, "
            f"{load['mismatches']} wrong; {summary['failures']} failures",
            "every answer 200 (304 revalidated) and right",
        ),
        (
            "verify, cold, 1 client",
            f"{cold['requests_per_second']:,.0f} requests/s, p50 {cold['p50_ms']:.1f} ms "
            f"({cold['requests']} answers computed)",
            "",
        ),
    ]


# --- the certificates ----------------------------------------------------------------------------


def _populate(service: Service, count: int) -> list[Issued]:
    """`count` certificates issued in batches round-robin over the routes; of each ten, two
    shipped, two received and one cancelled."""
    keys = service.officer_keys
    year = datetime.now(UTC).year
    per_route: dict[tuple[str, str], list[dict[str, Any]]] = {route: [] for route in ROUTES}
    for i in range(count):
        route = ROUTES[i % len(ROUTES)]
        per_route[route].append(document(f"{route[0]}-{year}-V{i:07d}", *route))
    issued: list[Issued] = []
    with httpx.Client(base_url=service.url, timeout=RECEIPT_TIMEOUT) as client:

        def post(code: str, path: str, body: Any) -> Any:
            headers = {
                "Authorization": f"Bearer {keys[code]}",
                "Idempotency-Key": str(uuid.uuid4()),
            }
            response = client.post(path, json=body, headers=headers)
            if not response.is_success:
                raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:300]}")
            return response.json()

        for (exporting, importing), documents in per_route.items():
            for start in range(0, len(documents), BATCH):
                views = post(exporting, "/v1/certificates/batch", documents[start : start + BATCH])
                for n, view in enumerate(views, start):
                    cert_no, status = view["cert_no"], "issued"
                    if n % 10 in (1, 2, 3, 4):
                        post(exporting, f"/v1/certificates/{cert_no}/ship", {"seal_ref": "S-1"})
                        status = "shipped"
                    if n % 10 in (3, 4):
                        post(importing, f"/v1/certificates/{cert_no}/receive", receive_body())
                        status = "received"
                    if n % 10 == 5:
                        post(exporting, f"/v1/certificates/{cert_no}/cancel", {"reason": "bench"})
                        status = "cancelled"
                    issued.append(Issued(cert_no, view["doc_hash"], status))
    return issued


def _probes(issued: list[Issued], rng: random.Random) -> list[Probe]:
    """The mix: every certificate with its document hash; about a third also without one and
    a third with a wrong one; 60 numbers nobody issued; shuffled."""
    probes = []
    for cert in issued:
        base = f"/v1/verify/{cert.cert_no}"
        probes.append(Probe(f"{base}?doc_hash={cert.doc_hash}", {}, cert, "right"))
        if rng.random() < 0.3:
            probes.append(Probe(base, {}, cert, "none"))
        if rng.random() < 0.3:
            wrong = "0x" + rng.randbytes(32).hex()
            probes.append(Probe(f"{base}?doc_hash={wrong}", {}, cert, "wrong"))
    year = datetime.now(UTC).year
    for i in range(60):
        wrong = "0x" + rng.randbytes(32).hex()
        path = f"/v1/verify/BW-{year}-U{i:07d}?doc_hash={wrong}"
        probes.append(Probe(path, {}, None, "wrong"))
    rng.shuffle(probes)
    return probes


# --- the cold pass -------------------------------------------------------------------------------


def _cold_pass(url: str, probes: list[Probe]) -> dict[str, Any]:
    """Every probe once from one keep-alive connection; every answer checked against what was
    issued."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    answers: list[tuple[int, str | None, bytes]] = []
    latencies: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    try:
        for probe in probes:
            before = time.perf_counter()
            connection.request("GET", probe.path, headers=probe.headers)
            response = connection.getresponse()
            body = response.read()
            latencies.append(time.perf_counter() - before)
            answers.append((response.status, response.getheader("ETag"), body))
            problem = _wrong(probe, response.status, response.getheader("ETag"), body)
            if problem:
                failures.append(f"cold {probe.path}: {problem}")
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(probes),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(probes) / elapsed, 1),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
        "answers": answers,
        "failures": failures,
    }


def _wrong(probe: Probe, status: int, etag: str | None, body: bytes) -> str | None:
    """What is wrong with an answer to `probe`, or None."""
    if status != 200:
        return f"HTTP {status} {body[:200]!r}"
    if not etag:
        return "no ETag"
    report = json.loads(body)
    checks = {check["name"]: check["passed"] for check in report["checks"]}
    cert = probe.cert
    if cert is None:
        return None if report["found"] is False and report["genuine"] is False else "found"
    valid = cert.status in ("issued", "shipped", "received")
    expected = {
        "found": True,
        "status": cert.status,
        "genuine": valid and probe.presented != "wrong",
        "doc_hash_checked": probe.presented != "none",
    }
    got = {name: report[name] for name in expected}
    if got != expected:
        return f"{got} instead of {expected}"
    hash_check = checks.get("document_hash")
    if probe.presented != "none" and hash_check is not (probe.presented == "right"):
        return f"document_hash check {hash_check}"
    return None


# --- the load ------------------------------------------------------------------------------------


def _spec(
    url: str,
    probes: list[Probe],
    answers: list[tuple[int, str | None, bytes]],
    clients: int,
    seconds: float,
    rng: random.Random,
) -> dict[str, Any]:
    """What verify_load.js runs: every probe with its cold answer, and, for about a third of
    them, the same revalidated with its ETag (304) and, for a few, with another one (200)."""
    requests = []
    for probe, (status, etag, body) in zip(probes, answers, strict=True):
        expected = {"status": status, "etag": etag, "body": body.decode()}
        requests.append({"path": probe.path, "headers": probe.headers, **expected})
        draw = rng.random()
        if etag and draw < 0.3:
            revalidate = {**probe.headers, "If-None-Match": etag}
            requests.append({**expected, "path": probe.path, "headers": revalidate})
            requests[-1].update(status=304, body="")
        elif etag and draw < 0.35:
            stale = {**probe.headers, "If-None-Match": '"' + "0" * 32 + '"'}
            requests.append({"path": probe.path, "headers": stale, **expected})
    return {"url": url, "connections": clients, "seconds": seconds, "requests": requests}


def _run_load(service: Service, spec: dict[str, Any], spec_file: Path) -> dict[str, Any]:
    """Runs verify_load.js on `spec`; its figures, with the CPU of the service and of the load
    generator per request."""
    spec_file.write_text(json.dumps(spec))
    node_cpu_before = _children_cpu()
    service_cpu_before = cpu_seconds(service.pid)
    completed = subprocess.run(
        ["node", str(LOAD_SCRIPT), str(spec_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=spec["seconds"] + 120,
    )
    service_cpu_after = cpu_seconds(service.pid)
    node_cpu = _children_cpu() - node_cpu_before
    if completed.returncode != 0:
        raise RuntimeError(f"verify_load.js failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    requests, seconds = result["requests"], result["seconds"]
    statuses = {code: figures["count"] for code, figures in result["statuses"].items()}
    answered = sum(statuses.values())  # the warm-up's too: the CPU was metered over it
    service_cpu = (
        None
        if service_cpu_before is None or service_cpu_after is None
        else service_cpu_after - service_cpu_before
    )
    failures = [f"load {wrong['path']}: {wrong}" for wrong in result["mismatched"]]
    if result["errors"] or result["timeouts"] or result["mismatches"]:
        failures.append(
            f"load: {result['errors']} errors, {result['timeouts']} timeouts, "
            f"{result['mismatches']} wrong answers"
        )
    return {
        "requests": requests,
        "seconds": seconds,
        "requests_per_second": round(requests / seconds, 1) if seconds else 0.0,
        "latency_ms": {key: round(value, 2) for key, value in result["latency_ms"].items()},
        "statuses": statuses,
        "errors": result["errors"],
        "timeouts": result["timeouts"],
        "mismatches": result["mismatches"],
        "cpu_ms_per_request": {
            "service": None if service_cpu is None else round(1000 * service_cpu / answered, 3),
            "load_generator": round(1000 * node_cpu / answered, 3) if answered else None,
        },
        "failures": failures,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--certificates", type=int, default=CERTIFICATES)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    databases = Databases(args.database)
    try:
        with tempfile.TemporaryDirectory(prefix="kpchain-bench-verify-") as directory:
            result = measure(
                Path(directory),
                clients=args.clients,
                seconds=args.seconds,
                certificates=args.certificates,
                databases=databases,
            )
    finally:
        databases.close()
    for label, figure, target in rows(result):
        print(f"{label:<34} {figure:<90} {target}")
    print(
        f"load average {result['load_average_at_start']} at start, "
        f"{result['load_average_at_end']} at end; {result['blocks_during_load']} blocks sealed "
        "during the load"
    )
    for failure in result["failed"]:
        print(f"FAILED {failure}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["summary"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
