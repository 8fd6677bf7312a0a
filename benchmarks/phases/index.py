"""Index catch-up: how fast `Indexer.rebuild` reads a long chain back into the SQL index.

Builds a fresh anvil (deployed and seeded as the devnet is) carrying `events` registry events:
rounds of certificates issued a hundred per `issueBatch` by the exporting authorities (BW -> AE,
RU -> IN, ZA -> EU), each then shipped and received in a transaction of its own, ten
transactions a block (a busy consortium chain seals many in each). The documents' EIP-712
signatures are made offline; the transactions are sent from the authorities' accounts, which
anvil signs for (`anvil_impersonateAccount`): building the chain is not what is measured.

Then it times `Indexer.rebuild` (the registry and its governance, from the deployment's block,
as `kpchain index rebuild` does) into a new SQLite file and, when PostgreSQL's server binaries
are installed, into a database of a throw-away PostgreSQL cluster (the harness's, as the tests
and the API phase start it: fsync off), checking each time that every event on the chain is in
the index. Figures: events, seconds, events per second, and the CPU this process used per
thousand events (steadier on a shared machine; the node's and PostgreSQL's work is not in it);
target 5,000 events/s, judged on the slower store (the summary's figures are its).

With `block_times=False` the logs lose their `blockTimestamp` (Besu's logs carry none), so the
indexer must read a header for every block with events: the path a Besu node takes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils.crypto import keccak
from sqlalchemy import func, select
from web3 import Web3

from benchmarks.harness import ROUTES, Rpc, fresh_chain
from kpchain.certificates.typed_data import ZERO32, ZERO_CODE, Certificate, Line, document_hash
from kpchain.chain.connection import connect
from kpchain.contracts.encoding import cert_number, participant_code
from kpchain.contracts.registry import Confirmation, Registry
from kpchain.deploy import GOVERNOR_CONTRACT, SEATS_CONTRACT, VALIDATOR_SET_CONTRACT, Deployment
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.postgres import PostgresCluster, postgres_bindir
from kpchain.devnet.seed import participant_account
from kpchain.indexer import Indexer
from kpchain.indexer.tables import Event
from kpchain.store import create_engine, migrate, session_factory

BATCH = 100  # certificates per issueBatch
TARGET = 5_000  # events per second
DEFAULT_EVENTS = 21_000
# Fixed gas limits (the gas price is zero): no estimate per transaction while building.
GAS = {"issue_batch": 12_000_000, "ship": 150_000, "receive": 150_000}
DAY = 86_400
TXS_PER_BLOCK = 10
"""Transactions mined per block while building: a consortium chain under load puts many in each
block (QBFT seals every few seconds)."""


# --- the chain ---------------------------------------------------------------------------------


class _Builder:
    """Sends lifecycles to the registry as the authorities, nonces counted here."""

    def __init__(self, rpc: Rpc, registry: Registry, txs_per_block: int) -> None:
        self._rpc = rpc
        self._registry = registry
        self._txs_per_block = txs_per_block
        codes = {code for route in ROUTES for code in route}
        self._accounts = {code: participant_account(code, "authority") for code in codes}
        self._nonces: dict[str, int] = {}
        for code, account in self._accounts.items():
            rpc.call("anvil_impersonateAccount", [account.address])
            self._nonces[code] = int(
                rpc.call("eth_getTransactionCount", [account.address, "latest"]), 16
            )
        self._serial = 0
        self.events = 0

    def round(self, per_route: int, now: int) -> None:
        """`per_route` certificates on each route: issued in batches, then shipped, then
        received, each step awaited before the next (a receipt needs its shipment mined)."""
        issued: list[tuple[str, str, str]] = []  # (cert no, exporting, importing)
        issues = []
        for exporting, importing in ROUTES:
            certs = [self._certificate(exporting, importing, now) for _ in range(per_route)]
            signer = self._accounts[exporting]
            for start in range(0, len(certs), BATCH):
                chunk = certs[start : start + BATCH]
                signatures = [self._sign(signer, cert) for cert in chunk]
                call = self._registry.issue_batch(chunk, signer.address, signatures)
                issues.append(self._tx(exporting, call._encode_transaction_data(), "issue_batch"))
            issued += [(c.certNo.rstrip(b"\0").decode(), exporting, importing) for c in certs]
        self._send(issues)
        ships = [
            self._tx(
                exporting,
                self._registry.ship(no, keccak(text=f"seal {no}"))._encode_transaction_data(),
                "ship",
            )
            for no, exporting, _ in issued
        ]
        self._send(ships)
        confirmation = Confirmation(3, 123_456, now - DAY, keccak(text="received"))
        receives = [
            self._tx(
                importing,
                self._registry.confirm_receipt(no, confirmation)._encode_transaction_data(),
                "receive",
            )
            for no, _, importing in issued
        ]
        self._send(receives)
        self.events += 3 * len(issued)

    def _sign(self, signer: LocalAccount, cert: Certificate) -> bytes:
        # The digest signed directly: a third of the time of eth-account's typed-data path.
        digest = document_hash(
            cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=self._registry.address
        )
        return bytes(signer.unsafe_sign_hash(Hash32(digest)).signature)

    def _certificate(self, exporting: str, importing: str, now: int) -> Certificate:
        self._serial += 1
        number = f"{exporting}-IDX-{self._serial:08d}"
        return Certificate(
            certNo=cert_number(number),
            exportingParticipant=participant_code(exporting),
            importingParticipant=participant_code(importing),
            origin=participant_code(exporting),
            provenance=ZERO_CODE,
            originZone=ZERO32,
            exporterHash=keccak(text=f"exporter of {number}"),
            importerHash=keccak(text=f"importer of {number}"),
            lines=(
                Line(hsCode=710210, carats=12_345, valueUsdCents=4_567_800, parcels=2),
                Line(hsCode=710231, carats=98_765, valueUsdCents=12_345_600, parcels=1),
            ),
            issuedAt=now - 2 * DAY,
            expiresAt=now + 60 * DAY,
            issuingAuthority=f"{exporting} Diamond Office",
        )

    def _tx(self, code: str, data: str, kind: str) -> tuple[str, list[Any]]:
        nonce = self._nonces[code]
        self._nonces[code] += 1
        tx = {
            "from": self._accounts[code].address,
            "to": self._registry.address,
            "data": data,
            "gas": hex(GAS[kind]),
            "gasPrice": "0x0",
            "nonce": hex(nonce),
        }
        return "eth_sendTransaction", [tx]

    def _send(self, calls: list[tuple[str, list[Any]]]) -> None:
        """Sends `calls` (one request each, in nonce order), mining a block after every
        `txs_per_block`, then until none is left pending; checks every receipt."""
        hashes: list[str] = []
        for method, params in calls:
            hashes.append(self._rpc.call(method, params))
            if len(hashes) % self._txs_per_block == 0:
                self._rpc.call("evm_mine", [])
        # A block takes what fits in its gas limit: the rest waits for the next.
        for _ in range(len(calls) + 1):
            if int(self._rpc.call("txpool_status", [])["pending"], 16) == 0:
                break
            self._rpc.call("evm_mine", [])
        receipts: list[Any] = []
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            receipts += self._rpc.batch([("eth_getTransactionReceipt", [h]) for h in chunk])
        failed = [
            h for h, r in zip(hashes, receipts, strict=True) if r is None or r["status"] != "0x1"
        ]
        if failed:
            missing = sum(1 for r in receipts if r is None)
            raise RuntimeError(
                f"{len(failed)} of {len(hashes)} transactions failed ({missing} not mined): "
                f"{failed[:3]}"
            )


def build_chain(
    rpc_url: str,
    registry: Registry,
    events: int,
    *,
    txs_per_block: int = TXS_PER_BLOCK,
    per_round: int = 300,
) -> int:
    """Adds at least `events` registry events to the chain, `txs_per_block` transactions a
    block; returns how many it added. Automine is off meanwhile: anvil's time per mined
    transaction grows with the chain's length, and a block a transaction took 13 minutes for
    21,000 events here."""
    rpc = Rpc(rpc_url)
    rpc.call("evm_setAutomine", [False])
    try:
        builder = _Builder(rpc, registry, txs_per_block)
        now = int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        per_route = max(1, per_round // len(ROUTES))
        while builder.events < events:
            left = -(-(events - builder.events) // (3 * len(ROUTES)))
            builder.round(min(per_route, left), now)
        return builder.events
    finally:
        rpc.call("evm_setAutomine", [True])
        rpc.close()


# --- databases ---------------------------------------------------------------------------------


@contextmanager
def sqlite_url(directory: Path) -> Iterator[str]:
    path = directory / f"index-{time.monotonic_ns()}.db"
    yield f"sqlite:///{path}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- measuring ---------------------------------------------------------------------------------


def _without_block_times(w3: Web3) -> None:
    """Drops `blockTimestamp` from every log the node sends, as Besu's logs have none."""
    provider = w3.provider
    make_request = provider.make_request

    def strip(method: Any, params: Any) -> Any:
        response = make_request(method, params)
        if method == "eth_getLogs" and isinstance(response.get("result"), list):
            for log in response["result"]:
                log.pop("blockTimestamp", None)
        return response

    provider.make_request = strip  # type: ignore[method-assign]


def rebuild(
    rpc_url: str, deployment: Deployment, database_url: str, *, block_times: bool = True
) -> dict[str, Any]:
    """Times one `Indexer.rebuild` into a new store at `database_url`."""
    engine = create_engine(database_url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        w3 = connect(rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
        if not block_times:
            _without_block_times(w3)
        contracts = {
            deployment.contracts[name]: name
            for name in (GOVERNOR_CONTRACT, SEATS_CONTRACT, VALIDATOR_SET_CONTRACT)
            if name in deployment.contracts
        }
        indexer = Indexer(
            w3,
            sessions,
            registry=deployment.address,
            start_block=deployment.block,
            contracts=contracts,
        )
        cpu, started = time.process_time(), time.perf_counter()
        head = indexer.rebuild()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        with sessions() as session:
            indexed = int(session.scalar(select(func.count()).select_from(Event)) or 0)
        return {
            "events": indexed,
            "blocks": (head or 0) - deployment.block + 1,
            "seconds": round(seconds, 3),
            "events_per_second": round(indexed / seconds, 1),
            "cpu_ms_per_1000_events": round(1000 * cpu / indexed * 1000, 1) if indexed else None,
        }
    finally:
        engine.dispose()


def _chain_events(rpc_url: str, deployment: Deployment) -> int:
    rpc = Rpc(rpc_url)
    try:
        query = {
            "address": deployment.address,
            "fromBlock": hex(deployment.block),
            "toBlock": "latest",
        }
        return len(rpc.call("eth_getLogs", [query]))
    finally:
        rpc.close()


def measure(
    directory: Path,
    *,
    events: int = DEFAULT_EVENTS,
    databases: tuple[str, ...] = ("sqlite", "postgresql"),
    block_times: bool = True,
) -> dict[str, Any]:
    """Builds a chain with about `events` registry events and times a rebuild of its index on
    each of `databases` (PostgreSQL is skipped, and said so, when its server is not installed).
    """
    directory.mkdir(parents=True, exist_ok=True)
    load = [round(value, 2) for value in os.getloadavg()]
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with fresh_chain(directory / "chain") as chain:
        rpc_url = chain.node.rpc_url
        deployment = Deployment.read(chain.deployment_file)
        started = time.perf_counter()
        build_chain(rpc_url, chain.registry, events)
        build_seconds = time.perf_counter() - started
        on_chain = _chain_events(rpc_url, deployment)
        for database in databases:
            if database == "sqlite":
                with sqlite_url(directory) as url:
                    results[database] = rebuild(rpc_url, deployment, url, block_times=block_times)
            elif database == "postgresql":
                bindir = postgres_bindir()
                if bindir is None:
                    skipped[database] = "no PostgreSQL server binaries (scripts/ensure-postgres.sh)"
                    continue
                cluster = PostgresCluster(bindir).start()
                try:
                    url = cluster.create_database()
                    results[database] = rebuild(rpc_url, deployment, url, block_times=block_times)
                finally:
                    cluster.stop()
            else:
                raise ValueError(f"unknown database {database!r}")
            if results[database]["events"] < on_chain:
                raise RuntimeError(
                    f"{database}: the index holds {results[database]['events']} events, "
                    f"the chain {on_chain} of the registry's"
                )
    rates = {name: result["events_per_second"] for name, result in results.items()}
    # The target is judged on the slower store.
    headline = min(results.values(), key=lambda result: float(result["events_per_second"]))
    return {
        "summary": {
            "events": headline["events"],
            "seconds": headline["seconds"],
            "events_per_second": headline["events_per_second"],
            "events_per_second_by_database": rates,
            "target_events_per_second": TARGET,
            "met": all(rate >= TARGET for rate in rates.values()),
        },
        "databases": results,
        "skipped": skipped,
        "registry_events_on_chain": on_chain,
        "chain_build_seconds": round(build_seconds, 1),
        "block_times_in_logs": block_times,
        "load_average_at_start": load,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, figure, target) lines for the printed table."""
    table = []
    for name, figures in result["databases"].items():
        table.append(
            (
                f"index rebuild, {name}",
                f"{figures['events_per_second']:,.0f} events/s "
                f"({figures['events']:,} events in {figures['seconds']:.1f} s, "
                f"{figures['cpu_ms_per_1000_events']} ms CPU per 1000)",
                f">= {TARGET:,} events/s",
            )
        )
    for name, why in result["skipped"].items():
        table.append((f"index rebuild, {name}", f"skipped: {why}", f">= {TARGET:,} events/s"))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--database", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument(
        "--without-block-times", action="store_true", help="strip blockTimestamp from logs (Besu)"
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kpchain-bench-index-") as directory:
        result = measure(
            Path(directory),
            events=args.events,
            databases=tuple(args.database or ("sqlite", "postgresql")),
            block_times=not args.without_block_times,
        )
    for label, figure, target in rows(result):
        print(f"{label:<28} {figure:<70} {target}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["summary"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
