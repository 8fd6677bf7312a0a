"""What every benchmark phase stands on: a fresh seeded chain, the services under test (the
devnet's launcher, on SQLite or a throw-away PostgreSQL), CPU meters, certificate numbers and
documents, worker threads and latency percentiles.

A phase runs on a chain of its own: anvil's block time grows with the chain's length (about
3 ms more per transaction for every thousand blocks, measured here), so phases sharing a chain
would not compare fairly.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import distinct, func, select

from kpchain.certificates.conversions import (
    confirmation_to_contract,
    new_salt,
    seal_ref_hash,
    to_contract,
)
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import ReceiveRequest
from kpchain.certificates.typed_data import typed_data
from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.registry import Confirmation, Registry
from kpchain.deploy import deploy
from kpchain.devnet import service as devnet_service
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode, free_port
from kpchain.devnet.postgres import PostgresCluster, postgres_bindir
from kpchain.devnet.seed import (
    DEVNET_GOVERNANCE,
    founders,
    governor_account,
    participant_account,
    seed,
)
from kpchain.service.keys import create_key
from kpchain.service.tables import Operation
from kpchain.signing.local import LocalSigner
from kpchain.store import create_engine, migrate, session_factory

ROUTES: tuple[tuple[str, str], ...] = (("BW", "AE"), ("RU", "IN"), ("ZA", "EU"))
"""The exporting and importing authorities the write phases drive, three at once."""
OPERATIONS = ("issue", "ship", "receive")
RECEIPT_TIMEOUT = 60.0
# Gas limits of the raw transactions: generous fixed limits (the gas price is zero, so a limit
# costs nothing; the service estimates instead).
RAW_GAS = {"issue": 400_000, "ship": 150_000, "receive": 150_000}
Database = Literal["sqlite", "postgresql"]


# --- chains ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """A fresh anvil with the contracts deployed and the devnet's participants seeded."""

    node: AnvilNode
    registry: Registry
    deployment_file: Path

    @property
    def anvil_pid(self) -> int:
        assert self.node.process is not None
        return self.node.process.pid


@contextmanager
def fresh_chain(directory: Path, *, anvil_args: tuple[str, ...] = ()) -> Iterator[Chain]:
    """A fresh anvil (chain id 2021, zero gas price, automine), deployed and seeded as the devnet
    is; its deployments file is written under `directory`. `anvil_args` go to anvil as they are
    (`make bench-year` starts its chain in the year it replays: `--timestamp`)."""
    directory.mkdir(parents=True, exist_ok=True)
    with AnvilNode(extra_args=anvil_args) as node:
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
        yield Chain(node, Registry(w3, deployment.address), deployment.write(directory))


# --- databases and services --------------------------------------------------------------------


class Databases:
    """Where the services under test keep their stores: a SQLite file each, or a database each
    in one throw-away PostgreSQL cluster (started on first use, stopped by `close`)."""

    def __init__(self, kind: Database) -> None:
        self.kind = kind
        self._cluster: PostgresCluster | None = None

    def url(self, files: devnet_service.ServiceFiles) -> str:
        if self.kind == "sqlite":
            return files.database_url
        if self._cluster is None:
            bindir = postgres_bindir()
            if bindir is None:
                raise RuntimeError("no PostgreSQL server binaries: run scripts/ensure-postgres.sh")
            self._cluster = PostgresCluster(bindir).start()
        return self._cluster.create_database()

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None


@dataclass(frozen=True)
class Service:
    """A `kpchain serve` process under test, the participants it hosts and their officer keys."""

    files: devnet_service.ServiceFiles
    pid: int
    url: str
    codes: tuple[str, ...]
    officer_keys: dict[str, str]
    database_url: str

    def log_tail(self, lines: int = 40) -> list[str]:
        return tail(self.files.log_file, lines)

    def transactions(self) -> tuple[int, int]:
        """(finished operations, distinct transactions they were sent in), from its store:
        fewer transactions than operations means writes were coalesced."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                done = Operation.status == "done"
                operations = connection.scalar(select(func.count()).where(done)) or 0
                transactions = (
                    connection.scalar(select(func.count(distinct(Operation.tx_hash))).where(done))
                    or 0
                )
        finally:
            engine.dispose()
        return int(operations), int(transactions)


@contextmanager
def services(
    chain: Chain,
    hosted: dict[str, list[str]],
    directory: Path,
    *,
    threads: int,
    databases: Databases,
) -> Iterator[dict[str, Service]]:
    """Starts one `kpchain serve` per entry of `hosted` (name -> the participants it signs for),
    with the devnet's launcher and settings (development mode, the devnet signers file), its
    own store and `threads` worker threads; stops them all on exit."""
    started: dict[str, Service] = {}
    try:
        for name, codes in hosted.items():
            files = devnet_service.ServiceFiles(directory / name)
            files.directory.mkdir(parents=True, exist_ok=True)
            devnet_service.write_signers(files, codes)
            database_url = databases.url(files)
            keys = officer_keys(database_url, codes)  # migrates: the service finds it migrated
            process, url = devnet_service.launch(
                files,
                free_port(),
                rpc_url=chain.node.rpc_url,
                deployment=chain.deployment_file,
                environment={
                    "KPCHAIN_NETWORK": "bench",
                    "KPCHAIN_DATABASE_URL": database_url,
                    "KPCHAIN_API_THREADS": str(threads),
                    # The year benchmark replays a past year: its dates of issue are old.
                    "KPCHAIN_MAX_ISSUE_AGE_DAYS": "36500",
                },
            )
            try:
                pid = devnet_service.wait_ready(files, process, url)
            except BaseException:
                devnet_service.stop(files)
                raise
            started[name] = Service(files, pid, url, tuple(codes), keys, database_url)
        yield started
    finally:
        for service in started.values():
            devnet_service.stop(service.files)


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


# --- the machine and its CPU -------------------------------------------------------------------


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


# --- documents and calls ---------------------------------------------------------------------


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
        doc = CertificateDocument.model_validate(
            document(numbers.next(exporting), exporting, importing)
        )
        certificate = to_contract(doc, exporter_salt=new_salt(), importer_salt=new_salt())
        message = typed_data(
            certificate, chain_id=DEVNET_CHAIN_ID, verifying_contract=registry.address
        )
        signature = LocalSigner(accounts[exporting]).sign_typed_data(message)
        issue = registry.issue(certificate, accounts[exporting].address, signature)
        ship = registry.ship(doc.cert_no, seal_ref_hash(f"SEAL-{doc.cert_no}"))
        confirmation = confirmation_to_contract(
            doc.cert_no, ReceiveRequest.model_validate(receive_body())
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


# --- workers and their figures ---------------------------------------------------------------


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


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0, "p50": 0.0, "p95": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(0.50), "p95": at(0.95)}


def tail(path: Path, lines: int = 40) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return []
