"""Throughput of the authority service against the node's raw rate: `make bench` (a benchmark,
not a test).

One run, each phase on a fresh anvil (chain id 2021, zero gas price, automine) with the registry
deployed and the devnet's demo participants seeded (kpchain.deploy.deploy, seed):

1. API rate: starts the real service (`python -m kpchain serve` with KPCHAIN_* settings, as
   `kpchain devnet up` does: SQLite in a temporary directory, the devnet signers file,
   development mode) and drives it over HTTP: three exporting authorities (BW -> AE, RU -> IN,
   ZA -> EU) at once, each with N client threads (one keep-alive httpx client each). Every
   thread runs whole lifecycles: the exporter's officer issues and ships, the importer's officer
   receives. Every successful write is one operation; every response must be 2xx. With
   `--processes 3`, one service per route instead, hosting its exporter and importer with its
   own database and index, as separate authorities' services would: the way past one core.
2. Raw node rate: pre-signs the same lifecycles (issue, ship, receive: the three transactions
   the API sends per certificate, built with the service's own domain code and signed offline
   with the devnet authority keys, nonces counted locally) and sends them from one lean client,
   one after another (`eth_sendRawTransaction`, then `eth_getTransactionReceipt` until mined,
   then the next: the rate DESIGN.md section 7 quotes; three times, each on a fresh chain, the
   fastest counting), and on another fresh chain pipelined (all sent, phase by phase so no
   receipt comes before its shipment, then each sender's last receipt awaited). Every receipt
   is checked afterwards. By default as many transactions as the API made operations: anvil's
   block time grows with the chain's length (about 3 ms more per transaction for every
   thousand blocks, measured here), so all phases grow their chains alike.
3. Stack floor: scripts/floor_service.py, a stand-in that does only what any crash-safe write
   through this stack must (FastAPI on uvicorn, a row recorded, eth-account signing, web3
   sending and awaiting the receipt, the row marked done), driven like the API with the same
   transactions. Its rate is a ceiling for any service built on this stack on this machine.

The headline ratio is API operations/s over raw sequential transactions/s (target: at least
half); the floor's ratio beside it shows how much of the gap the stack and the machine leave.
Prints a table and writes benchmarks/throughput.json, with the CPU each process used per
operation (steadier than rates on a shared machine), nproc, the load average and the versions.
A run with any failed request or transaction says so, writes no JSON and exits 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from kpchain.certificates import models
from kpchain.certificates.typed_data import typed_data
from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.registry import Confirmation, Registry
from kpchain.deploy import deploy
from kpchain.devnet import service as devnet_service
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode, find_anvil, free_port
from kpchain.devnet.seed import (
    DEMO_PARTICIPANTS,
    DEVNET_GOVERNANCE,
    founders,
    governor_account,
    participant_account,
    seed,
)
from kpchain.service.keys import create_key
from kpchain.signing.local import LocalSigner
from kpchain.store import create_engine, migrate, session_factory

OUTPUT = Path(__file__).resolve().parents[1] / "benchmarks" / "throughput.json"

ROUTES: tuple[tuple[str, str], ...] = (("BW", "AE"), ("RU", "IN"), ("ZA", "EU"))
OPERATIONS = ("issue", "ship", "receive")
TARGET_RATIO = 0.5
# Gas limits of the raw transactions: generous fixed limits (the gas price is zero, so a limit
# costs nothing; the service estimates instead).
RAW_GAS = {"issue": 400_000, "ship": 150_000, "receive": 150_000}
RECEIPT_TIMEOUT = 60.0
MIN_RAW_CERTIFICATES = 100
RAW_REPEATS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--threads", type=int, default=8, help="client threads per authority (default 8)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=15.0,
        help="seconds the API is driven; threads finish the lifecycle in hand (default 15)",
    )
    parser.add_argument(
        "--certificates",
        type=int,
        default=None,
        help="drive the API for this many certificates (per authority) instead of --duration",
    )
    parser.add_argument(
        "--raw-certificates",
        type=int,
        default=None,
        help="certificates per raw mode, 3 transactions each (default: as many transactions as "
        "the API run made operations, so both phases grow their chains alike)",
    )
    parser.add_argument(
        "--service-threads",
        type=int,
        default=8,
        help="the service's worker threads (KPCHAIN_API_THREADS; default 8: on automine every "
        "write is answered at once, and more threads only contend for the GIL)",
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
        "--no-write", action="store_true", help="do not write benchmarks/throughput.json"
    )
    args = parser.parse_args(argv)
    if args.threads < 1 or (args.raw_certificates or 1) < 1 or args.duration <= 0:
        parser.error("--threads, --raw-certificates and --duration must be positive")

    started = time.monotonic()
    machine = machine_facts()
    with tempfile.TemporaryDirectory(prefix="kpchain-bench-") as tmp:
        directory = Path(tmp)
        # Each phase on a fresh, seeded chain: anvil's block time grows with the chain's length
        # (see the module docstring), so phases sharing a chain would not compare fairly.
        with fresh_chain(directory / "api") as (node, _, deployment_file):
            api = measure_api(
                node,
                directory / "api",
                deployment_file,
                threads=args.threads,
                service_threads=args.service_threads,
                processes=args.processes,
                duration=None if args.certificates else args.duration,
                certificates=args.certificates,
            )
            api["service_threads"] = args.service_threads
            api["service_processes"] = args.processes
        raw_certificates = args.raw_certificates or max(
            MIN_RAW_CERTIFICATES, api["operations"] // 3
        )
        # The sequential rate is one client waiting on each receipt: a neighbour's burst on a
        # shared machine halves it (143-686 tx/s seen in one day). It is taken RAW_REPEATS
        # times, each on a fresh chain, and the fastest counts: the node's rate undisturbed,
        # the strictest baseline for the ratio.
        runs = []
        for repeat in range(RAW_REPEATS):
            with fresh_chain(directory / f"sequential-{repeat}") as (node, registry, _):
                runs.append(
                    measure_raw(node, registry, raw_certificates, send_sequential, "sequential")
                )
        modes = {"sequential": fastest(runs)}
        with fresh_chain(directory / "pipelined") as (node, registry, _):
            modes["pipelined"] = measure_raw(
                node, registry, raw_certificates, send_pipelined, "pipelined"
            )
        with fresh_chain(directory / "floor") as (node, registry, _):
            floor = measure_floor(
                node,
                registry,
                directory / "floor",
                certificates=raw_certificates,
                threads=args.threads,
                service_threads=args.service_threads,
            )
    raw = {"certificates_per_mode": raw_certificates, **modes}
    report = build_report(machine, raw, api, floor, args)
    failures = report["summary"]["failures"]
    if args.no_write:
        where = f"{OUTPUT.name} not written (--no-write)"
    elif failures:
        where = f"{OUTPUT.name} not written: a run with failures is no reference"
    else:
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(report, indent=2) + "\n")
        where = f"wrote {OUTPUT}"
    print_table(report, markdown=args.markdown)
    print(f"{where} in {time.monotonic() - started:.1f}s")
    if failures:
        print_failures(report)
        return 1
    return 0


# --- setup -------------------------------------------------------------------------------------


@contextmanager
def fresh_chain(directory: Path) -> Iterator[tuple[AnvilNode, Registry, Path]]:
    """A fresh anvil, deployed and seeded as the devnet is: (node, registry, deployments file)."""
    directory.mkdir(parents=True, exist_ok=True)
    with AnvilNode() as node:
        w3 = connect(node.rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
        deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)
        deployment = deploy(
            deployer,
            founders=founders(),
            governance=DEVNET_GOVERNANCE,
            network="bench",
            expected_chain_id=DEVNET_CHAIN_ID,
        )
        seed(w3, deployment.address, chain_id=DEVNET_CHAIN_ID)
        yield node, Registry(w3, deployment.address), deployment.write(directory)


def machine_facts() -> dict[str, Any]:
    anvil = subprocess.run(
        [str(find_anvil()), "--version"], capture_output=True, text=True, check=False
    )
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": [round(value, 2) for value in load],
        "python": platform.python_version(),
        "anvil": anvil.stdout.splitlines()[0].strip() if anvil.stdout else "unknown",
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU used by some processes between `start` and `stop`, per unit of work; a name with
    several processes (the services of `--processes 3`) counts their sum."""

    pids: dict[str, int | list[int]]
    _before: dict[str, float | None] = field(default_factory=dict)
    used: dict[str, float | None] = field(default_factory=dict)

    def _read(self, name: str) -> float | None:
        pids = self.pids[name]
        readings = [cpu_seconds(pid) for pid in (pids if isinstance(pids, list) else [pids])]
        return None if None in readings else sum(r for r in readings if r is not None)

    def start(self) -> None:
        self._before = {name: self._read(name) for name in self.pids}

    def stop(self) -> None:
        for name in self.pids:
            before, after = self._before.get(name), self._read(name)
            self.used[name] = None if before is None or after is None else after - before

    def per(self, units: int) -> dict[str, float | None]:
        """Milliseconds of CPU per unit, by process."""
        return {
            name: None if used is None or not units else round(1000 * used / units, 2)
            for name, used in self.used.items()
        }


# --- documents ---------------------------------------------------------------------------------


document = devnet_service.demo_document


def receive_body() -> dict[str, Any]:
    today = datetime.now(UTC).date()  # the documents' dates are UTC days too
    return {"parcels": 3, "carats": "1234.56", "received_at": today.isoformat()}


class Numbers:
    """Certificate numbers unique within the run: <CODE>-<year>-<tag><sequence>."""

    def __init__(self, tag: str) -> None:
        self._tag = tag
        self._lock = threading.Lock()
        self._next: Counter[str] = Counter()
        self._year = datetime.now(UTC).year

    def next(self, code: str) -> str:
        with self._lock:
            self._next[code] += 1
            return f"{code}-{self._year}-{self._tag}{self._next[code]:07d}"


# --- raw node rate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawTx:
    kind: str
    sender: str
    raw: str  # 0x-hex
    tx_hash: str  # 0x-hex


class Rpc:
    """A lean JSON-RPC client on one keep-alive connection (http.client: a fraction of the CPU
    of requests or httpx per call), so that the raw rate is the node's, not the client's."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        self._headers = {"Content-Type": "application/json"}
        self._id = 0

    def _post(self, body: Any) -> Any:
        self._connection.request("POST", "/", body=json.dumps(body), headers=self._headers)
        return json.loads(self._connection.getresponse().read())

    def call(self, method: str, params: list[Any]) -> Any:
        self._id += 1
        answer = self._post({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        body = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        answers = sorted(self._post(body), key=lambda a: a["id"])
        return [answer.get("result") for answer in answers]

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class Call:
    """One lifecycle transaction before signing: what, by whom, with which calldata."""

    kind: str
    sender: str
    data: str  # 0x-hex calldata to the registry


def lifecycle_calls(registry: Registry, numbers: Numbers, count: int) -> list[list[Call]]:
    """`count` lifecycles (issue, ship, receive), round-robin over the routes, encoded with the
    service's domain code; the issue carries the exporting authority's EIP-712 signature."""
    accounts = {code: participant_account(code, "authority") for route in ROUTES for code in route}
    lifecycles = []
    for i in range(count):
        exporting, importing = ROUTES[i % len(ROUTES)]
        doc = models.CertificateDocument.model_validate(
            document(numbers.next(exporting), exporting, importing)
        )
        certificate = models.to_contract(
            doc, exporter_salt=models.new_salt(), importer_salt=models.new_salt()
        )
        message = typed_data(
            certificate, chain_id=DEVNET_CHAIN_ID, verifying_contract=registry.address
        )
        signature = LocalSigner(accounts[exporting]).sign_typed_data(message)
        issue = registry.issue(certificate, accounts[exporting].address, signature)
        ship = registry.ship(doc.cert_no, models.seal_ref_hash(f"SEAL-{doc.cert_no}"))
        confirmation = models.confirmation_to_contract(
            doc.cert_no, models.ReceiveRequest.model_validate(receive_body())
        )
        receive = registry.confirm_receipt(doc.cert_no, Confirmation(*confirmation))
        lifecycles.append(
            [
                Call("issue", exporting, issue._encode_transaction_data()),
                Call("ship", exporting, ship._encode_transaction_data()),
                Call("receive", importing, receive._encode_transaction_data()),
            ]
        )
    return lifecycles


def presign(
    registry: Registry, numbers: Numbers, count: int, nonces: dict[str, int]
) -> list[list[RawTx]]:
    """`lifecycle_calls`, each signed by the authority the API would sign with; `nonces` (per
    participant) are counted on."""
    accounts = {code: participant_account(code, "authority") for code in nonces}

    def signed(call: Call) -> RawTx:
        tx = {
            "to": registry.address,
            "data": call.data,
            "value": 0,
            "gas": RAW_GAS[call.kind],
            "gasPrice": 0,
            "nonce": nonces[call.sender],
            "chainId": DEVNET_CHAIN_ID,
        }
        nonces[call.sender] += 1
        raw = accounts[call.sender].sign_transaction(tx)  # type: ignore[arg-type]
        return RawTx(
            call.kind, call.sender, "0x" + raw.raw_transaction.hex(), "0x" + raw.hash.hex()
        )

    return [[signed(call) for call in calls] for calls in lifecycle_calls(registry, numbers, count)]


def send_sequential(rpc: Rpc, txs: list[RawTx]) -> float:
    """Sends each transaction and polls its receipt until mined before the next; seconds."""
    started = time.perf_counter()
    for tx in txs:
        rpc.call("eth_sendRawTransaction", [tx.raw])
        _wait_receipt(rpc, tx.tx_hash)
    return time.perf_counter() - started


def send_pipelined(rpc: Rpc, txs: list[RawTx]) -> float:
    """Sends every transaction, then waits for each sender's last one; seconds."""
    started = time.perf_counter()
    last: dict[str, str] = {}
    for tx in txs:
        rpc.call("eth_sendRawTransaction", [tx.raw])
        last[tx.sender] = tx.tx_hash
    for tx_hash in last.values():
        _wait_receipt(rpc, tx_hash)
    return time.perf_counter() - started


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the highest rate, with every run's rate and failures kept beside it."""
    best = max(runs, key=lambda run: float(run["tx_per_second"]))
    return {
        **best,
        "runs_tx_per_second": [run["tx_per_second"] for run in runs],
        "failures": sum(run["failures"] for run in runs),
        "failed": [line for run in runs for line in run["failed"]][:20],
    }


def _wait_receipt(rpc: Rpc, tx_hash: str) -> dict[str, Any]:
    deadline = time.monotonic() + RECEIPT_TIMEOUT
    while True:
        receipt = rpc.call("eth_getTransactionReceipt", [tx_hash])
        if receipt is not None:
            return dict(receipt)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{tx_hash} not mined within {RECEIPT_TIMEOUT:.0f}s")


def _failed(rpc: Rpc, txs: list[RawTx]) -> list[str]:
    """Hashes of `txs` whose receipt is missing or reverted (checked after the timing)."""
    failed = []
    for start in range(0, len(txs), 200):
        chunk = txs[start : start + 200]
        receipts = rpc.batch([("eth_getTransactionReceipt", [tx.tx_hash]) for tx in chunk])
        for tx, receipt in zip(chunk, receipts, strict=True):
            if receipt is None or int(receipt["status"], 16) != 1:
                failed.append(f"{tx.kind} {tx.tx_hash}")
    return failed


def measure_raw(
    node: AnvilNode,
    registry: Registry,
    certificates: int,
    send: Callable[[Rpc, list[RawTx]], float],
    mode: str,
) -> dict[str, Any]:
    """Pre-signs `certificates` lifecycles and sends them with `send`."""
    assert node.process is not None
    rpc = Rpc(node.rpc_url)
    try:
        nonces = {
            code: int(
                rpc.call(
                    "eth_getTransactionCount",
                    [participant_account(code, "authority").address, "pending"],
                ),
                16,
            )
            for route in ROUTES
            for code in route
        }
        signing = time.perf_counter()
        lifecycles = presign(registry, Numbers("R"), certificates, nonces)
        signing = time.perf_counter() - signing
        if mode == "pipelined":  # phase by phase: no receipt before its shipment
            txs = [lifecycle[phase] for phase in range(3) for lifecycle in lifecycles]
        else:
            txs = [tx for lifecycle in lifecycles for tx in lifecycle]
        blocks_before = int(rpc.call("eth_blockNumber", []), 16)
        cpu = CpuMeter({"anvil": node.process.pid, "client": os.getpid()})
        cpu.start()
        seconds = send(rpc, txs)
        cpu.stop()
        failed = _failed(rpc, txs)
        blocks_after = int(rpc.call("eth_blockNumber", []), 16)
    finally:
        rpc.close()
    return {
        "transactions": len(txs),
        "seconds": round(seconds, 3),
        "tx_per_second": round(len(txs) / seconds, 1),
        "cpu_ms_per_tx": cpu.per(len(txs)),
        "presign_tx_per_second": round(len(txs) / signing, 1),
        "blocks": [blocks_before, blocks_after],
        "failures": len(failed),
        "failed": failed[:20],
    }


# --- API rate ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the worker threads measured (guarded by `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    failures: list[str] = field(default_factory=list)
    certificates: int = 0

    def ok(self, operation: str, seconds: float) -> None:
        with self.lock:
            self.latencies[operation].append(seconds)

    def failed(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)

    @property
    def operations(self) -> int:
        return sum(len(values) for values in self.latencies.values())


def start_service(
    files: devnet_service.ServiceFiles,
    rpc_url: str,
    deployment_file: Path,
    *,
    threads: int,
    codes: list[str],
) -> tuple[subprocess.Popen[bytes], str]:
    """Starts `python -m kpchain serve` as `kpchain devnet up` does (KPCHAIN_* environment,
    SQLite, the devnet signers file for `codes`, development mode); returns it and its URL once
    ready."""
    devnet_service.write_signers(files, codes)
    port = free_port()
    env = {
        **os.environ,
        "KPCHAIN_RPC_URL": rpc_url,
        "KPCHAIN_CHAIN_ID": str(DEVNET_CHAIN_ID),
        "KPCHAIN_NETWORK": "bench",
        "KPCHAIN_DEPLOYMENT_FILE": str(deployment_file.resolve()),
        "KPCHAIN_DATABASE_URL": files.database_url,
        "KPCHAIN_SIGNERS_FILE": str(files.signers.resolve()),
        "KPCHAIN_DEVELOPMENT": "true",
        "KPCHAIN_API_HOST": "127.0.0.1",
        "KPCHAIN_API_PORT": str(port),
        "KPCHAIN_API_THREADS": str(threads),
    }
    env.pop("KPCHAIN_REGISTRY_ADDRESS", None)
    url = f"http://127.0.0.1:{port}"
    with files.log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kpchain", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    _wait_ready(process, url, files.log_file)
    return process, url


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_file: Path) -> None:
    """Returns once `url`/readyz answers 200; stops `process` and raises if it never does."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}: {_tail(log_file)}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_service(process)
    raise RuntimeError(f"{url} was not ready within 120s: {_tail(log_file)}")


def stop_service(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def officer_keys(database_url: str, codes: list[str]) -> dict[str, str]:
    """An officer API key for each of `codes`, in the store at `database_url`."""
    engine = create_engine(database_url)
    migrate(engine)
    try:
        with session_factory(engine)() as session:
            keys = {
                code: create_key(session, participant=code, role="officer", label="bench").token
                for code in codes
            }
            session.commit()
    finally:
        engine.dispose()
    return keys


def measure_api(
    node: AnvilNode,
    directory: Path,
    deployment_file: Path,
    *,
    threads: int,
    service_threads: int,
    processes: int,
    duration: float | None,
    certificates: int | None,
) -> dict[str, Any]:
    """Drives the service (`processes` 1: one hosting every route's participants; 3: one per
    route, hosting its exporter and importer, each with its own database and index)."""
    assert node.process is not None
    rpc_url, anvil_pid = node.rpc_url, node.process.pid
    hosted = (
        {"service": [participant.code for participant in DEMO_PARTICIPANTS]}  # as the devnet
        if processes == 1
        else {f"service-{exporting}": [exporting, importing] for exporting, importing in ROUTES}
    )
    keys: dict[str, str] = {}
    services: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    files = {name: devnet_service.ServiceFiles(directory / name) for name in hosted}
    numbers = Numbers("A")
    try:
        for name, codes in hosted.items():
            files[name].directory.mkdir(parents=True, exist_ok=True)
            # Keys first: that migrates the store, and the service finds it migrated.
            keys.update(officer_keys(files[name].database_url, codes))
            services[name] = start_service(
                files[name], rpc_url, deployment_file, threads=service_threads, codes=codes
            )
        url_of = {code: services[name][1] for name, codes in hosted.items() for code in codes}
        logs = [f.log_file for f in files.values()]
        # Warm-up, not counted: one lifecycle per route (first nonces, connections, imports).
        warm = Tally()
        for exporting, importing in ROUTES:
            with httpx.Client(base_url=url_of[exporting], timeout=RECEIPT_TIMEOUT) as client:
                lifecycle(client, keys, numbers, exporting, importing, warm)
        if warm.failures:
            return _api_result(warm, 0.0, threads, duration, certificates, logs, None, warmup=True)
        tally = Tally()
        remaining = {exporting: certificates for exporting, _ in ROUTES}
        remaining_lock = threading.Lock()
        deadline: float | None = None

        def more(exporting: str) -> bool:
            if deadline is not None:
                return time.perf_counter() < deadline
            with remaining_lock:
                left = remaining[exporting] or 0
                if left <= 0:
                    return False
                remaining[exporting] = left - 1
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
        service_pids = [process.pid for process, _ in services.values()]
        cpu = CpuMeter({"service": service_pids, "anvil": anvil_pid, "client": os.getpid()})
        deadline = time.perf_counter() + duration if duration is not None else None
        elapsed = run_workers(workers, cpu)
    finally:
        for process, _ in services.values():
            stop_service(process)
    return _api_result(tally, elapsed, threads, duration, certificates, logs, cpu)


def run_workers(workers: list[threading.Thread], cpu: CpuMeter) -> float:
    """Starts `workers`, waits for them all; the seconds they took, `cpu` metered meanwhile."""
    cpu.start()
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu.stop()
    return elapsed


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


def _api_result(
    tally: Tally,
    elapsed: float,
    threads: int,
    duration: float | None,
    certificates: int | None,
    logs: list[Path],
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
            **{op: _percentiles(values) for op, values in tally.latencies.items()},
            "all": _percentiles(all_latencies),
        },
        "cpu_ms_per_operation": cpu.per(tally.operations) if cpu else None,
        "failures": len(tally.failures),
        "failed": tally.failures[:20],
        "failed_in_warmup": warmup,
        "service_log": [line for log in logs for line in _tail(log)] if tally.failures else None,
    }


def _percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0, "p50": 0.0, "p95": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(0.50), "p95": at(0.95)}


def _tail(path: Path, lines: int = 40) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return []


# --- stack floor -------------------------------------------------------------------------------

FLOOR_SERVICE = Path(__file__).resolve().parent / "floor_service.py"


def measure_floor(
    node: AnvilNode,
    registry: Registry,
    directory: Path,
    *,
    certificates: int,
    threads: int,
    service_threads: int,
) -> dict[str, Any]:
    """The stand-in of scripts/floor_service.py (record, sign, send, await the receipt, mark
    done: nothing kpchain adds) driven like the API: three routes x `threads` client threads,
    each running whole lifecycles of the same transactions, `certificates` in all."""
    assert node.process is not None
    directory.mkdir(parents=True, exist_ok=True)
    calls = lifecycle_calls(registry, Numbers("F"), certificates + len(ROUTES))
    warmup, calls = calls[: len(ROUTES)], calls[len(ROUTES) :]
    queues: dict[str, list[list[Call]]] = {exporting: [] for exporting, _ in ROUTES}
    for lifecycle_ in calls:
        queues[lifecycle_[0].sender].append(lifecycle_)
    port = free_port()
    env = {
        **os.environ,
        "KPCHAIN_RPC_URL": node.rpc_url,
        "KPCHAIN_CHAIN_ID": str(DEVNET_CHAIN_ID),
        "KPCHAIN_DATABASE_URL": f"sqlite:///{directory / 'floor.db'}",
        "KPCHAIN_API_PORT": str(port),
        "KPCHAIN_API_THREADS": str(service_threads),
        "FLOOR_PARTICIPANTS": ",".join(code for route in ROUTES for code in route),
    }
    log_file = directory / "floor.log"
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(FLOOR_SERVICE)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    tally = Tally()
    try:
        _wait_ready(process, url, log_file)
        with httpx.Client(base_url=url, timeout=RECEIPT_TIMEOUT) as client:
            for lifecycle_ in warmup:
                floor_lifecycle(client, registry.address, lifecycle_, Tally())
        lock = threading.Lock()

        def worker(exporting: str) -> None:
            with httpx.Client(base_url=url, timeout=RECEIPT_TIMEOUT) as client:
                while True:
                    with lock:
                        if not queues[exporting]:
                            return
                        lifecycle_ = queues[exporting].pop(0)
                    floor_lifecycle(client, registry.address, lifecycle_, tally)

        workers = [
            threading.Thread(target=worker, args=(exporting,), name=f"floor-{exporting}-{n}")
            for exporting, _ in ROUTES
            for n in range(threads)
        ]
        cpu = CpuMeter({"service": process.pid, "anvil": node.process.pid, "client": os.getpid()})
        elapsed = run_workers(workers, cpu)
    finally:
        stop_service(process)
    return {
        "seconds": round(elapsed, 3),
        "operations": tally.operations,
        "operations_per_second": round(tally.operations / elapsed, 1) if elapsed else 0.0,
        "latency_ms": _percentiles([v for values in tally.latencies.values() for v in values]),
        "cpu_ms_per_operation": cpu.per(tally.operations),
        "failures": len(tally.failures),
        "failed": tally.failures[:20],
        "service_log": _tail(log_file) if tally.failures else None,
    }


def floor_lifecycle(client: httpx.Client, to: str, calls: list[Call], tally: Tally) -> None:
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


# --- report ------------------------------------------------------------------------------------


def build_report(
    machine: dict[str, Any],
    raw: dict[str, Any],
    api: dict[str, Any],
    floor: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    raw_rate = raw["sequential"]["tx_per_second"]
    raw_failures = raw["sequential"]["failures"] + raw["pipelined"]["failures"]
    ratio = api["operations_per_second"] / raw_rate if raw_rate else 0.0
    floor_ratio = floor["operations_per_second"] / raw_rate if raw_rate else 0.0
    return {
        "summary": {
            "api_operations_per_second": api["operations_per_second"],
            "raw_sequential_tx_per_second": raw_rate,
            "raw_pipelined_tx_per_second": raw["pipelined"]["tx_per_second"],
            "ratio": round(ratio, 3),
            "target_ratio": TARGET_RATIO,
            "meets_target": ratio >= TARGET_RATIO,
            "floor_operations_per_second": floor["operations_per_second"],
            "floor_ratio": round(floor_ratio, 3),
            "failures": api["failures"] + raw_failures + floor["failures"],
        },
        "api": api,
        "raw": raw,
        "floor": floor,
        "machine": machine,
        "method": {
            "operations": "issue + ship (exporter's officer) + receive (importer's officer) per "
            "certificate; each successful write is one operation",
            "raw": "the same three transactions per certificate, encoded with the service's "
            "domain code and signed offline, sent by one client over one keep-alive "
            "connection; sequential = send, poll the receipt (no sleep) until mined, next "
            "(DESIGN.md section 7), the fastest of RAW_REPEATS runs on fresh chains; "
            "pipelined = send all (phase by phase), then wait for each sender's last receipt",
            "cpu": "user + system CPU of each process over the measured window (Linux /proc), "
            "per API operation or per raw transaction: steadier than rates on a shared machine",
            "ratio": "API operations/s divided by raw sequential transactions/s",
            "floor": "scripts/floor_service.py driven like the API with the same transactions: "
            "FastAPI on uvicorn, the body validated, a row recorded (SQLAlchemy, SQLite), the "
            "transaction signed (eth-account) and sent, its receipt awaited (web3), the row "
            "marked done; nothing else. What it reaches bounds any service on this stack and "
            "machine; floor_ratio is its rate over raw sequential",
            "arguments": {k: v for k, v in vars(args).items() if k not in ("markdown", "no_write")},
        },
    }


def print_table(report: dict[str, Any], *, markdown: bool = False) -> None:
    api, raw, summary, machine = report["api"], report["raw"], report["summary"], report["machine"]
    latency = api["latency_ms"]
    rows: list[tuple[str, str, str]] = [("measure", "value", "note")]
    threads = api["threads_per_authority"]
    rows.append(
        (
            "API operations/s",
            f"{api['operations_per_second']:,.1f}",
            f"{api['operations']:,} ops in {api['seconds']:.1f}s, 3 authorities x {threads} "
            f"threads, {_services(api)}",
        )
    )
    for op in (*OPERATIONS, "all"):
        stats = latency[op]
        rows.append(
            (
                f"latency {op} p50 / p95",
                f"{stats['p50']:,.0f} / {stats['p95']:,.0f} ms",
                f"{stats['count']:,} requests",
            )
        )
    rows.append(
        (
            "raw tx/s, sequential",
            f"{raw['sequential']['tx_per_second']:,.1f}",
            f"{raw['sequential']['transactions']:,} tx, send then receipt, one client; best "
            f"of {', '.join(f'{r:,.0f}' for r in raw['sequential']['runs_tx_per_second'])}",
        )
    )
    rows.append(
        (
            "raw tx/s, pipelined",
            f"{raw['pipelined']['tx_per_second']:,.1f}",
            f"{raw['pipelined']['transactions']:,} tx, send all then last receipts",
        )
    )
    api_cpu = api.get("cpu_ms_per_operation") or {}
    seq_cpu = raw["sequential"].get("cpu_ms_per_tx") or {}
    rows.append(
        (
            "CPU per API operation",
            _ms(api_cpu.get("service")),
            f"service; anvil {_ms(api_cpu.get('anvil'))}, client {_ms(api_cpu.get('client'))}",
        )
    )
    rows.append(
        (
            "CPU per raw tx, sequential",
            _ms(seq_cpu.get("anvil")),
            f"anvil; client {_ms(seq_cpu.get('client'))}",
        )
    )
    floor = report["floor"]
    floor_cpu = floor.get("cpu_ms_per_operation") or {}
    rows.append(
        (
            "stack floor ops/s",
            f"{floor['operations_per_second']:,.1f}",
            f"{floor['operations']:,} ops: record, sign, send, receipt, mark done; nothing else",
        )
    )
    rows.append(
        (
            "CPU per floor operation",
            _ms(floor_cpu.get("service")),
            f"stand-in; anvil {_ms(floor_cpu.get('anvil'))}, client {_ms(floor_cpu.get('client'))}",
        )
    )
    rows.append(("floor / raw sequential", f"{summary['floor_ratio']:.0%}", "the stack's ceiling"))
    verdict = "ok" if summary["meets_target"] else "BELOW TARGET"
    rows.append(
        (
            "API / raw sequential",
            f"{summary['ratio']:.0%}",
            f"target >= {TARGET_RATIO:.0%}: {verdict}",
        )
    )
    rows.append(("failures", str(summary["failures"]), "FAILED" if summary["failures"] else "none"))
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
    print(
        f"machine: {machine['nproc']} CPUs, load {machine['load_average_at_start']}, "
        f"Python {machine['python']}, {machine['anvil']}"
    )


def _services(api: dict[str, Any]) -> str:
    processes = api.get("service_processes", 1)
    if processes == 1:
        return f"service {api['service_threads']} threads"
    return f"{processes} services (one per route) x {api['service_threads']} threads"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def print_failures(report: dict[str, Any]) -> None:
    bar = "!" * 78
    raw, floor = report["raw"], report["floor"]
    raw_failures = raw["sequential"]["failures"] + raw["pipelined"]["failures"]
    print(bar, file=sys.stderr)
    print(
        f"BENCHMARK FAILED: {report['api']['failures']} API request(s), {raw_failures} raw "
        f"transaction(s) and {floor['failures']} floor request(s) failed; the figures above do "
        "not count",
        file=sys.stderr,
    )
    failed = report["api"]["failed"] + raw["sequential"]["failed"] + raw["pipelined"]["failed"]
    for line in failed + floor["failed"]:
        print(f"  {line}", file=sys.stderr)
    for name, log in (("service", report["api"]), ("floor stand-in", floor)):
        if log.get("service_log"):
            print(f"{name} log (tail):", file=sys.stderr)
            for line in log["service_log"]:
                print(f"  {line}", file=sys.stderr)
    print(bar, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
