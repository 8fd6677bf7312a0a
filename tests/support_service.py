"""A real ``python -m kpchain serve`` process a test can SIGKILL and start again (started by the
devnet's launcher, `kpchain.devnet.launcher`), and a TCP forwarder in front of the node that a
test can cut (the node "goes away" without losing its state or its transaction pool); and what
the tests look at in the chain and the store."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from kpchain.config import Settings
from kpchain.contracts.encoding import cert_number
from kpchain.devnet import launcher
from kpchain.devnet.anvil import free_port
from kpchain.errors import ConfigError
from kpchain.service.tables import Operation
from support_chain import Devnet


def environment(settings: Settings) -> dict[str, str]:
    """The KPCHAIN_* variables that make ``kpchain serve`` read `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KPCHAIN_")}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is not None:
            env[f"KPCHAIN_{name.upper()}"] = str(value)
    return env


class ServiceProcess:
    """``python -m kpchain serve`` with `settings`, started by the devnet's launcher on a fresh
    free port at every `start`, or always on `port` (a service whose address other services keep,
    as a registered endpoint); it can be stopped, killed and started again.

    Its output goes to ``service-<n>.log`` in `log_dir` (the n-th start), which a failed start
    quotes.
    """

    def __init__(self, settings: Settings, log_dir: Path, *, port: int | None = None) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.server: launcher.ServerProcess | None = None
        self.fixed_port = port
        self.port = port or 0
        self.starts = 0

    @property
    def url(self) -> str:
        return launcher.local_url(self.port)

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"service-{self.starts}.log"

    def start(self, *, timeout: float = 30.0) -> ServiceProcess:
        """Starts the service and returns once its /readyz answers 200; fails the test (quoting
        the end of the log) if it exits first or is not ready within `timeout` seconds."""
        assert self.server is None, "already running"
        self.starts += 1
        self.port = self.fixed_port or free_port()
        server = launcher.spawn(
            environment(self.settings), port=self.port, log_file=self.log_file, cwd=self.log_dir
        )
        try:
            server.wait_ready(timeout=timeout)
        except ConfigError as exc:
            server.kill()
            raise AssertionError(exc.message) from None
        self.server = server
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.server is not None:
            self.server.kill()
            self.server = None

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after `timeout`."""
        if self.server is not None:
            self.server.stop(timeout=timeout)
            self.server = None

    def log_tail(self, lines: int = 40) -> str:
        return launcher.log_tail(self.log_file, lines)

    def client(self, token: str, **kwargs: Any) -> httpx.Client:
        """An HTTP client of the service authenticating with `token`."""
        kwargs.setdefault("timeout", 60)
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )


class NodeProxy:
    """Forwards TCP connections from its own port to the node's. `cut` closes every open
    connection and refuses new ones (the node is unreachable, its state intact); `restore`
    forwards again."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._acceptor = threading.Thread(target=self._accept, name="node-proxy", daemon=True)
        self._acceptor.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        _close(self._listener)
        self._acceptor.join(5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            if self._cut.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


# --- looking at the chain and the store ----------------------------------------------------------


def operation(sessions: sessionmaker[Session], idempotency_key: str) -> Operation | None:
    """The operation recorded under `idempotency_key` (any actor), as stored right now."""
    with sessions() as session:
        return session.scalar(select(Operation).where(Operation.idempotency_key == idempotency_key))


def in_pool(chain: Devnet, tx_hash: str) -> bool:
    """Whether `tx_hash` waits in the node's transaction pool."""
    pool = chain.rpc("txpool_content")
    hashes = {
        str(tx["hash"]).lower()
        for section in ("pending", "queued")
        for by_nonce in pool[section].values()
        for tx in by_nonce.values()
    }
    return tx_hash.lower() in hashes


def sent_count(chain: Devnet, account: str) -> int:
    """How many transactions of `account` were mined (its nonce on the latest block)."""
    return int(chain.w3.eth.get_transaction_count(Web3.to_checksum_address(account), "latest"))


def issued_events(chain: Devnet, cert_no: str) -> int:
    """How many CertificateIssued events the registry emitted for `cert_no`, on chain."""
    logs = chain.contract.events.CertificateIssued().get_logs(from_block=0)
    return sum(1 for log in logs if log["args"]["certNo"] == cert_number(cert_no))
