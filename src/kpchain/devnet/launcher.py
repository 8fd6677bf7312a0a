"""The one launcher of a local HTTP service: ``kpchain serve`` (or another server, such as the
benchmarks' stand-in) started in the background on a port of 127.0.0.1 with exactly the
environment it is given, its output appended to a log file, then waited for until its
``/readyz`` answers 200.

The devnet (`kpchain.devnet.service`), the benchmarks and the tests start their services with
`spawn` and `ServerProcess.wait_ready`; what differs between them is only the environment they
pass (the devnet's settings, or a test's `Settings`), where the log goes and whether the process
outlives its starter.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from kpchain.errors import ConfigError

READY_TIMEOUT = 90.0
"""Seconds a starting service has to answer /readyz, unless told otherwise (several start at once
on two cores)."""

SERVE: tuple[str, ...] = (sys.executable, "-m", "kpchain", "serve")
"""The command of the authority service, in this interpreter."""

LOG_LINES = 40
"""How many of the log's last lines a failed start quotes."""


def local_url(port: int) -> str:
    """The URL of a service listening on `port` of 127.0.0.1."""
    return f"http://127.0.0.1:{port}"


def log_tail(log_file: Path, lines: int = LOG_LINES) -> str:
    """The last `lines` lines of `log_file`, or "(no log)" when it cannot be read."""
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ServerProcess:
    """A server `spawn` started: its process, its URL and the log its output goes to.

    Attributes:
        process: the child process.
        url: where it listens (``http://127.0.0.1:<port>``).
        log_file: the file its stdout and stderr are appended to.
        name: how error messages call it ("the service").
    """

    process: subprocess.Popen[bytes]
    url: str
    log_file: Path
    name: str = "the service"

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, *, timeout: float = READY_TIMEOUT) -> int:
        """Waits until the server answers ``/readyz`` with 200; returns its pid.

        Raises:
            ConfigError: it exited first, or did not become ready within `timeout` seconds; the
                message quotes the end of its log, which says why. The process is left as it is
                (the caller decides whether to stop it).
        """
        deadline = time.monotonic() + timeout
        while True:
            status = self.process.poll()
            if status is not None:
                raise self._failed(
                    f"{self.name} exited with status {status} before it was ready at {self.url}",
                    status=status,
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self.pid
            except httpx.TransportError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise self._failed(
                    f"{self.name} at {self.url} did not become ready within {timeout:.0f}s"
                )
            time.sleep(0.1)

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after `timeout` seconds; returns once
        the process has exited."""
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL, so no shutdown code runs (as in a crash or an OOM kill); returns once the
        process has exited."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = LOG_LINES) -> str:
        """The last `lines` lines of its log."""
        return log_tail(self.log_file, lines)

    def _failed(self, message: str, *, status: int | None = None) -> ConfigError:
        return ConfigError(
            f"{message}; the end of its log {self.log_file}:\n{self.log_tail()}",
            detail={"url": self.url, "log_file": str(self.log_file), "status": status},
        )


def spawn(
    environment: Mapping[str, str],
    *,
    port: int,
    log_file: Path,
    command: Sequence[str] = SERVE,
    cwd: Path | None = None,
    detach: bool = False,
    name: str = "the service",
) -> ServerProcess:
    """Starts `command` in the background, listening on `port` of 127.0.0.1; returns without
    waiting (see `ServerProcess.wait_ready`).

    Args:
        environment: the process's whole environment (no variable of this process is added),
            except KPCHAIN_API_HOST and KPCHAIN_API_PORT, which `port` sets.
        port: the port it listens on.
        log_file: its stdout and stderr are appended there (its folder is created).
        command: the server to run; ``kpchain serve`` in this interpreter by default.
        cwd: its working directory; this process's by default.
        detach: start it in a session of its own, so that it outlives its starter and a Ctrl-C
            in the starter's terminal (the devnet's services, which `kpchain devnet down`
            stops).
        name: how error messages call it.
    """
    env = {**environment, "KPCHAIN_API_HOST": "127.0.0.1", "KPCHAIN_API_PORT": str(port)}
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
    return ServerProcess(process, local_url(port), log_file, name)
