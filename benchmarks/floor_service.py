"""The floor of a write through kpchain's stack, for `make bench`: a stand-in service that does
only what any crash-safe write through FastAPI, uvicorn, eth-account, web3 and SQLAlchemy must
do, and nothing else. It is a measuring stick, not kpchain: no API keys, no estimate, no
EIP-712 document, no index, no state checks, no idempotency, no recovery.

Per request (`POST /{code}` with an unsigned call `{"to", "data", "gas"}` for participant
`code`'s authority):

1. the body is validated (pydantic) and the intent recorded (SQLAlchemy ORM, SQLite, commit);
2. under the sender's lock, a nonce is taken from an in-memory counter, the transaction signed
   (eth-account) and sent (`eth_sendRawTransaction` through kpchain's own web3 connection);
3. the receipt is awaited as kpchain awaits it, and the row marked done (commit);
4. the receipt's hash, status and block are returned.

Whatever rate this reaches on a machine bounds what the real service can reach there. Started
by `python -m benchmarks` (benchmarks/phases/floor.py) with KPCHAIN_RPC_URL, KPCHAIN_CHAIN_ID,
KPCHAIN_DATABASE_URL, KPCHAIN_API_PORT, KPCHAIN_API_THREADS and FLOOR_PARTICIPANTS
(comma-separated codes) in its environment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from anyio import to_thread
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, HTTPException
from hexbytes import HexBytes
from pydantic import BaseModel, Field
from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kpchain.chain.connection import connect
from kpchain.devnet.seed import participant_account
from kpchain.store import create_engine, session_factory


class _Base(DeclarativeBase):
    pass


class FloorOperation(_Base):
    """One write: recorded before it is signed, marked done once mined."""

    __tablename__ = "floor_operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(8))
    call: Mapped[str] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(String(66))


class Call(BaseModel):
    to: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    data: str = Field(pattern=r"^0x([0-9a-fA-F]{2})*$")
    gas: int = Field(gt=0)


chain_id = int(os.environ["KPCHAIN_CHAIN_ID"])
w3 = connect(os.environ["KPCHAIN_RPC_URL"], expected_chain_id=chain_id)
engine = create_engine(os.environ["KPCHAIN_DATABASE_URL"])
_Base.metadata.create_all(engine)
sessions = session_factory(engine)
accounts: dict[str, LocalAccount] = {
    code: participant_account(code, "authority")
    for code in os.environ["FLOOR_PARTICIPANTS"].split(",")
}
nonces: dict[str, int] = {
    code: int(w3.eth.get_transaction_count(account.address, "pending"))
    for code, account in accounts.items()
}
sender_locks = {code: threading.Lock() for code in accounts}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The same number of worker threads as the service under test (KPCHAIN_API_THREADS).
    to_thread.current_default_thread_limiter().total_tokens = int(os.environ["KPCHAIN_API_THREADS"])
    yield


app = FastAPI(lifespan=lifespan)


@app.post("/{code}")
def write(code: str, call: Call) -> dict[str, Any]:
    account = accounts.get(code)
    if account is None:
        raise HTTPException(404, f"no key for {code}")
    with sessions() as session:
        operation = FloorOperation(sender=code, state="pending", call=call.model_dump_json())
        session.add(operation)
        session.commit()
    # Signed and sent under the sender's lock, the nonce counted on only once the node took
    # the transaction: a failed send must not leave a gap, which would hold every later
    # transaction of the sender in the node's pool.
    with sender_locks[code]:
        tx: dict[str, Any] = {"to": call.to, "data": call.data, "gas": call.gas, "gasPrice": 0}
        signed = account.sign_transaction(
            {**tx, "value": 0, "nonce": nonces[code], "chainId": chain_id}
        )
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        nonces[code] += 1
    receipt = w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=60, poll_latency=0.05)
    with sessions() as session:
        operation.state, operation.tx_hash = "done", "0x" + tx_hash.hex()
        session.add(operation)
        session.commit()
    return {
        "tx_hash": operation.tx_hash,
        "status": receipt["status"],
        "block": receipt["blockNumber"],
    }


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["KPCHAIN_API_PORT"]),
        log_level="warning",
        access_log=False,
    )
