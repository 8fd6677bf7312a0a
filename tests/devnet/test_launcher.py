"""The one launcher of a local service, against real processes: a few lines of Python serving
/readyz as the environment tells them, started, waited for, stopped and killed."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kpchain.devnet import launcher
from kpchain.devnet.anvil import free_port
from kpchain.errors import ConfigError

# Answers /readyz with READY_STATUS (200 by default) and any other path with its environment.
SERVER = """
import http.server, json, os, sys
print("server starting", flush=True)
if os.environ.get("EXIT_STATUS"):
    print("boom: refusing to start", flush=True)
    sys.exit(int(os.environ["EXIT_STATUS"]))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ready = self.path == "/readyz"
        self.send_response(int(os.environ.get("READY_STATUS", "200")) if ready else 200)
        self.end_headers()
        self.wfile.write(json.dumps({"environment": dict(os.environ), "cwd": os.getcwd()}).encode())
    def log_message(self, *args):
        pass
address = (os.environ["KPCHAIN_API_HOST"], int(os.environ["KPCHAIN_API_PORT"]))
http.server.HTTPServer(address, Handler).serve_forever()
"""
COMMAND = (sys.executable, "-c", SERVER)


@pytest.fixture
def servers() -> Iterator[list[launcher.ServerProcess]]:
    """The servers a test started; killed after it, whatever happened."""
    started: list[launcher.ServerProcess] = []
    yield started
    for server in started:
        server.kill()


def _spawn(
    servers: list[launcher.ServerProcess], tmp_path: Path, **environment: str
) -> launcher.ServerProcess:
    server = launcher.spawn(
        {"PATH": os.environ["PATH"], **environment},
        port=free_port(),
        log_file=tmp_path / "logs" / "server.log",
        command=COMMAND,
        cwd=tmp_path,
    )
    servers.append(server)
    return server


def test_spawned_server_is_ready_with_exactly_the_given_environment_and_port(
    servers: list[launcher.ServerProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPCHAIN_OF_THE_STARTER", "not passed on")
    server = _spawn(servers, tmp_path, KPCHAIN_NETWORK="test-net")

    assert server.wait_ready(timeout=60) == server.pid
    seen = httpx.get(f"{server.url}/anything", timeout=10).json()

    port = server.url.rsplit(":", 1)[1]
    assert server.url == f"http://127.0.0.1:{port}"
    assert seen["environment"]["KPCHAIN_NETWORK"] == "test-net"
    assert seen["environment"]["KPCHAIN_API_HOST"] == "127.0.0.1"
    assert seen["environment"]["KPCHAIN_API_PORT"] == port
    assert "KPCHAIN_OF_THE_STARTER" not in seen["environment"]
    assert Path(seen["cwd"]) == tmp_path
    assert "server starting" in server.log_tail()
    assert os.getsid(server.pid) == os.getsid(os.getpid())  # not detached: a child of ours


def test_stop_ends_the_server_with_sigterm_and_kill_with_sigkill(
    servers: list[launcher.ServerProcess], tmp_path: Path
) -> None:
    stopped = _spawn(servers, tmp_path)
    killed = _spawn(servers, tmp_path)
    stopped.wait_ready(timeout=60)
    killed.wait_ready(timeout=60)

    stopped.stop(timeout=30)
    killed.kill()

    assert stopped.process.returncode == -signal.SIGTERM
    assert killed.process.returncode == -signal.SIGKILL
    stopped.stop()  # an exited server: nothing to do
    killed.kill()


def test_wait_ready_raises_config_error_quoting_the_log_when_server_exits(
    servers: list[launcher.ServerProcess], tmp_path: Path
) -> None:
    server = _spawn(servers, tmp_path, EXIT_STATUS="3")

    with pytest.raises(ConfigError) as caught:
        server.wait_ready(timeout=60)

    message = caught.value.message
    assert message.startswith(
        f"the service exited with status 3 before it was ready at {server.url}"
    )
    assert str(server.log_file) in message
    assert "boom: refusing to start" in message
    assert caught.value.detail == {
        "url": server.url,
        "log_file": str(server.log_file),
        "status": 3,
    }


def test_wait_ready_raises_config_error_when_server_not_ready_within_timeout(
    servers: list[launcher.ServerProcess], tmp_path: Path
) -> None:
    server = _spawn(servers, tmp_path, READY_STATUS="503")

    with pytest.raises(ConfigError, match="did not become ready within 1s") as caught:
        server.wait_ready(timeout=1)

    assert "server starting" in caught.value.message
    assert server.process.poll() is None  # left running: the caller decides


def test_detached_server_runs_in_a_session_of_its_own(
    servers: list[launcher.ServerProcess], tmp_path: Path
) -> None:
    server = launcher.spawn(
        {"PATH": os.environ["PATH"]},
        port=free_port(),
        log_file=tmp_path / "server.log",
        command=COMMAND,
        detach=True,
        name="the detached server",
    )
    servers.append(server)

    server.wait_ready(timeout=60)

    assert os.getsid(server.pid) == server.pid


def test_log_tail_says_no_log_when_the_file_is_missing(tmp_path: Path) -> None:
    assert launcher.log_tail(tmp_path / "absent.log") == "(no log)"
