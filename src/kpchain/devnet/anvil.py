"""Run anvil with a consortium-like profile: own chain id, zero gas price and base fee.

That is how kpchain's production chain (Besu with QBFT, `--min-gas-price=0`, `zeroBaseFee`)
looks to a client, so what works here works there over plain JSON-RPC.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kpchain.errors import ChainUnavailableError, ToolchainError

logger = logging.getLogger(__name__)

DEVNET_CHAIN_ID = 2021
_NPM_BINARY = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")


def find_anvil(project_root: Path | None = None) -> Path:
    """`KPCHAIN_ANVIL`, else the npm package's binary under `project_root`, else `anvil` on PATH."""
    explicit = os.environ.get("KPCHAIN_ANVIL")
    if explicit:
        return Path(explicit)
    for root in (project_root, Path.cwd(), Path(__file__).resolve().parents[3]):
        if root is not None and (root / _NPM_BINARY).exists():
            return root / _NPM_BINARY
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ToolchainError("anvil not found: run `npm ci` (package @foundry-rs/anvil-linux-amd64)")


# Ports handed out come from below Linux's ephemeral range (32768-60999 by default): a port the
# kernel gave (port 0) is one it may hand to the next outgoing connection too, and a server
# starting a moment later on it then fails with "address already in use" (seen in the tests).
_PORTS = range(20_000, 32_768)
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port(host: str = "127.0.0.1", *, count: int = 1) -> int:
    """A TCP port nothing listens on right now, never handed out before by this process (two
    servers given ports one after the other must not get the same one); with `count`, the
    first of that many consecutive such ports (the sovereign devnet's services)."""
    with _handed_out_lock:
        for _ in range(1000):
            first = random.randrange(_PORTS.start, _PORTS.stop - count + 1)
            block = range(first, first + count)
            if any(port in _handed_out or not _bindable(host, port) for port in block):
                continue
            _handed_out.update(block)
            return first
    raise ToolchainError(f"no free TCP port on {host} in {_PORTS.start}-{_PORTS.stop - 1}")


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class AnvilNode:
    """An anvil process on 127.0.0.1 with the consortium profile.

    Args:
        port: TCP port for JSON-RPC.
        chain_id: the chain id to serve.
        state_file: where chain state is loaded from and dumped to, so it survives restarts.
        log_file: where anvil's output goes (discarded when None).
    """

    port: int = field(default_factory=free_port)
    chain_id: int = DEVNET_CHAIN_ID
    state_file: Path | None = None
    log_file: Path | None = None
    host: str = "127.0.0.1"
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self, anvil: Path) -> list[str]:
        args = [
            str(anvil),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--gas-price", "0",
            "--base-fee", "0",
            "--disable-min-priority-fee",
        ]  # fmt: skip
        if "--prune-history" not in self.extra_args:
            # Past its in-memory window anvil writes each block's state under
            # ~/.foundry/anvil/tmp and never removes it, not even on SIGTERM: a long devnet or
            # a benchmark filled the disk that way. Nothing here reads state that old. (anvil
            # refuses the flag beside --prune-history, which keeps no old state at all.)
            args += ["--max-persisted-states", "0"]
        if self.state_file is not None:
            # Loaded at start, dumped on exit and every few seconds, so a crash loses little.
            args += ["--state", str(self.state_file), "--state-interval", "5"]
        return args + list(self.extra_args)

    def start(self, *, timeout: float = 30.0, detach: bool = False) -> AnvilNode:
        """Starts anvil and returns once it answers JSON-RPC."""
        anvil = find_anvil()
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.command(anvil),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,  # a devnet outlives the command that started it
            )
        finally:
            if not isinstance(out, int):
                out.close()  # the child holds its own copy of the descriptor
        wait_for_rpc(self.rpc_url, timeout=timeout, process=self.process)
        logger.info("anvil (chain %s) listening on %s", self.chain_id, self.rpc_url)
        return self

    def stop(self, *, timeout: float = 15.0) -> None:
        """Stops anvil gracefully (it dumps its state on SIGTERM)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_rpc(
    rpc_url: str, *, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> int:
    """Polls `eth_chainId` until the node answers; returns the chain id."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ChainUnavailableError(f"the node at {rpc_url} exited with {process.returncode}")
        try:
            return rpc_chain_id(rpc_url)
        except (OSError, urllib.error.URLError, ValueError):
            if time.monotonic() > deadline:
                raise ChainUnavailableError(
                    f"no JSON-RPC answer from {rpc_url} within {timeout:.0f}s"
                ) from None
            time.sleep(0.05)


def rpc_chain_id(rpc_url: str) -> int:
    """One `eth_chainId` call over plain HTTP."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(
        rpc_url, data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return int(json.loads(response.read())["result"], 16)
