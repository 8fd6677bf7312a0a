"""The node's raw rate: the lifecycles the API would send (issue, ship, receive, encoded with the
service's own domain code), signed offline with the devnet authority keys (nonces counted
locally) and sent from one lean client.

Sequential: `eth_sendRawTransaction`, then `eth_getTransactionReceipt` until mined, then the next
(the rate DESIGN.md section 7 quotes). Pipelined: all sent, phase by phase so no receipt comes
before its shipment, then each sender's last receipt awaited. Every receipt is checked
afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    RAW_GAS,
    RECEIPT_TIMEOUT,
    ROUTES,
    Call,
    Chain,
    CpuMeter,
    Numbers,
    Rpc,
    fresh_chain,
    lifecycle_calls,
)
from kpchain.contracts.registry import Registry
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import participant_account

RAW_REPEATS = 3
"""Sequential runs, each on a fresh chain; the fastest counts (a neighbour's burst on a shared
machine halves one client's rate: 143-686 tx/s seen in one day)."""


@dataclass(frozen=True)
class RawTx:
    kind: str
    sender: str
    raw: str  # 0x-hex
    tx_hash: str  # 0x-hex


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
    chain: Chain,
    certificates: int,
    send: Callable[[Rpc, list[RawTx]], float],
) -> dict[str, Any]:
    """Pre-signs `certificates` lifecycles and sends them with `send`."""
    registry, pipelined = chain.registry, send is send_pipelined
    rpc = Rpc(chain.node.rpc_url)
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
        if pipelined:  # phase by phase: no receipt before its shipment
            txs = [lifecycle[phase] for phase in range(3) for lifecycle in lifecycles]
        else:
            txs = [tx for lifecycle in lifecycles for tx in lifecycle]
        blocks_before = int(rpc.call("eth_blockNumber", []), 16)
        cpu = CpuMeter({"anvil": chain.anvil_pid, "client": os.getpid()})
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


def measure(directory: Path, *, certificates: int) -> dict[str, Any]:
    """The sequential rate (the fastest of RAW_REPEATS runs, each on a fresh chain) and the
    pipelined rate, `certificates` lifecycles each."""
    runs = []
    for repeat in range(RAW_REPEATS):
        with fresh_chain(directory / f"sequential-{repeat}") as chain:
            runs.append(measure_raw(chain, certificates, send_sequential))
    modes = {"sequential": fastest(runs)}
    with fresh_chain(directory / "pipelined") as chain:
        modes["pipelined"] = measure_raw(chain, certificates, send_pipelined)
    return {"certificates_per_mode": certificates, **modes}
