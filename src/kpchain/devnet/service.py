"""The authority service on the devnet: its signers file, its API keys, the process that
`kpchain devnet up` starts, and the demo certificates it issues through the API.

The devnet's service hosts every demo participant and its admin (one hosted service, as a
KP-wide platform would run for participants without their own system), so each demo admin's
key proposes and votes through it (/v1/governance). Its files, beside the
chain's under ``<project>/.kpchain``:

- ``signers.yaml``: each participant's devnet authority and admin keys (``dev: BW``);
- ``kpchain.db``: the SQLite store (index, API keys, operations, documents); it is started
  afresh whenever the contract is deployed afresh, so it never indexes another deployment;
- ``service.pid`` / ``service.log``: the uvicorn process and its output.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import yaml

from kpchain.client import KpchainClient
from kpchain.devnet.processes import cmdline, is_alive, wait_exit
from kpchain.errors import AuthenticationError, ConfigError
from kpchain.service.keys import authenticate, create_key
from kpchain.store import create_engine, migrate, session_factory

logger = logging.getLogger(__name__)

SERVICE_PORT = 8000
PARTICIPANT_ROLES = ("officer", "clerk", "auditor", "admin")


@dataclass(frozen=True)
class ServiceFiles:
    """The service's files under ``<project>/.kpchain``."""

    directory: Path

    @property
    def signers(self) -> Path:
        return self.directory / "signers.yaml"

    @property
    def database(self) -> Path:
        return self.directory / "kpchain.db"

    @property
    def pid_file(self) -> Path:
        return self.directory / "service.pid"

    @property
    def url_file(self) -> Path:
        return self.directory / "service.url"

    @property
    def log_file(self) -> Path:
        return self.directory / "service.log"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database.resolve()}"


def write_signers(files: ServiceFiles, codes: list[str]) -> None:
    """The signers file: every demo participant's devnet authority and admin keys (no governor
    key: no account governs; the admins' keys vote)."""
    content = {
        "participants": {code: {"dev": code} for code in codes},
        "admins": {code: {"dev": code} for code in codes},
    }
    header = (
        "# Devnet signers: public development keys (kpchain.devnet.seed). Not for production.\n"
    )
    files.signers.write_text(header + yaml.safe_dump(content, sort_keys=False))


def reset_database(files: ServiceFiles) -> None:
    """Removes the store of an earlier deployment (with SQLite's WAL files)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{files.database}{suffix}").unlink(missing_ok=True)


def api_keys(
    files: ServiceFiles, codes: list[str], previous: dict[str, Any] | None
) -> tuple[str, dict[str, dict[str, str]]]:
    """The (read-only) governor key and each participant's officer, clerk, auditor and admin keys.

    Keys that `previous` (the last devnet.json) lists and the store still accepts are kept, so
    a restarted devnet keeps the keys its users copied; the rest are created.
    """
    engine = create_engine(files.database_url)
    migrate(engine)
    old_participants = (previous or {}).get("participants", {})
    try:
        with session_factory(engine)() as session:

            def key(token: str | None, participant: str | None, role: str) -> str:
                if token:
                    try:
                        found = authenticate(session, token)
                        if (found.participant, found.role) == (participant, role):
                            return token
                    except AuthenticationError:
                        pass
                return create_key(session, participant=participant, role=role, label="devnet").token

            governor = key((previous or {}).get("governor", {}).get("api_key"), None, "governor")
            participants = {
                code: {
                    role: key(
                        old_participants.get(code, {}).get("api_keys", {}).get(role), code, role
                    )
                    for role in PARTICIPANT_ROLES
                }
                for code in codes
            }
            session.commit()
    finally:
        engine.dispose()
    return governor, participants


def start(files: ServiceFiles, *, rpc_url: str, deployment: Path, port: int) -> tuple[int, str]:
    """Starts ``kpchain serve`` in the background for the devnet; returns its pid and URL once
    it is ready. A service already running for the devnet is reused, on its own port.

    Raises:
        ConfigError: the service did not become ready (its log says why).
    """
    running = running_pid(files)
    if running is not None and files.url_file.exists():
        return running, files.url_file.read_text().strip()
    env = {
        **os.environ,
        "KPCHAIN_RPC_URL": rpc_url,
        "KPCHAIN_CHAIN_ID": "2021",
        "KPCHAIN_NETWORK": "kp-devnet",
        "KPCHAIN_DEPLOYMENT_FILE": str(deployment.resolve()),
        "KPCHAIN_DATABASE_URL": files.database_url,
        "KPCHAIN_SIGNERS_FILE": str(files.signers.resolve()),
        "KPCHAIN_DEVELOPMENT": "true",
        "KPCHAIN_API_HOST": "127.0.0.1",
        "KPCHAIN_API_PORT": str(port),
    }
    with files.log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kpchain", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives `kpchain devnet up`; `down` stops it
        )
    files.pid_file.write_text(f"{process.pid}\n")
    url = api_url(port)
    files.url_file.write_text(f"{url}\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            files.pid_file.unlink(missing_ok=True)
            raise ConfigError(
                f"the service exited with status {process.returncode}; see {files.log_file}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                logger.info("service ready at %s (pid %s)", url, process.pid)
                return process.pid, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop(files)
    raise ConfigError(f"the service did not become ready within 60s; see {files.log_file}")


def stop(files: ServiceFiles, *, timeout: float = 15.0) -> bool:
    """Stops the service `start` started; False when none was running."""
    pid = running_pid(files)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    if not wait_exit(pid, timeout=timeout):
        os.kill(pid, signal.SIGKILL)
        wait_exit(pid, timeout=5.0)
    files.pid_file.unlink(missing_ok=True)
    files.url_file.unlink(missing_ok=True)
    return True


def running_pid(files: ServiceFiles) -> int | None:
    """The pid of the devnet's running service, or None (a stale pid file is removed)."""
    try:
        pid = int(files.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if is_alive(pid) and "kpchain" in " ".join(cmdline(pid)):
        return pid
    files.pid_file.unlink(missing_ok=True)
    return None


def running_url(files: ServiceFiles) -> str | None:
    """The URL of the devnet's running service, or None."""
    if running_pid(files) is None or not files.url_file.exists():
        return None
    return files.url_file.read_text().strip()


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def demo_document(
    cert_no: str,
    exporting: str,
    importing: str,
    *,
    origin: str | None = None,
    provenance: str | None = None,
    origin_zone: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    days: int = 60,
) -> dict[str, Any]:
    """A valid certificate document (DESIGN.md section 4's JSON) issued today, valid for
    `days`, with made-up exporter and importer: the devnet's demo data, and the documents of
    the benchmark and the tests."""
    today = datetime.now(UTC).date()
    return {
        "cert_no": cert_no,
        "exporting_participant": exporting,
        "importing_participant": importing,
        "origin": origin or exporting,
        "provenance": provenance,
        "origin_zone": origin_zone,
        "exporter": {
            "name": f"{exporting} Diamond Trading Company",
            "address": f"1 Diamond Road, {exporting}",
            "licence": f"{exporting}-EXP-0001",
        },
        "importer": {
            "name": f"{importing} Rough Imports Ltd",
            "address": f"2 Bourse Street, {importing}",
            "licence": f"{importing}-IMP-0042",
        },
        "lines": lines
        or [{"hs_code": "7102.31", "carats": "1234.56", "value_usd": "456789.00", "parcels": 3}],
        "issued_at": today.isoformat(),
        "expires_at": (today + timedelta(days=days)).isoformat(),
        "issuing_authority": f"{exporting} Government Diamond Office",
    }


def issue_demo_certificates(url: str, keys: dict[str, dict[str, str]]) -> int:
    """Puts a few certificates in each state through the API, as the authorities would.

    Every request has a fixed Idempotency-Key, so running this again (another `up`) changes
    nothing. Returns how many certificates exist afterwards.
    """
    today = datetime.now(UTC).date()
    year = today.year
    document = demo_document

    mixed_lines = [
        {"hs_code": "7102.10", "carats": "5000.00", "value_usd": "250000.00", "parcels": 5},
        {"hs_code": "7102.21", "carats": "800.25", "value_usd": "16005.00", "parcels": 1},
    ]
    plan: list[tuple[dict[str, Any], list[str]]] = [
        (document(f"BW-{year}-000001", "BW", "AE"), ["ship"]),
        (document(f"BW-{year}-000002", "BW", "EU"), ["ship", "receive"]),
        (document(f"RU-{year}-000001", "RU", "IN"), ["ship"]),
        (document(f"ZA-{year}-000001", "ZA", "US"), []),
        (document(f"CA-{year}-000001", "CA", "EU"), ["ship", "reject"]),
        (document(f"NA-{year}-000001", "NA", "EU"), ["cancel"]),
        (
            document(
                f"AE-{year}-000001", "AE", "IN", origin="MIXED", provenance="BW", lines=mixed_lines
            ),
            ["ship", "receive"],
        ),
        (document(f"CF-{year}-000001", "CF", "AE", origin_zone="CF:Berberati"), ["ship"]),
    ]
    for doc, steps in plan:
        cert_no = doc["cert_no"]
        exporter = KpchainClient(url, keys[doc["exporting_participant"]]["officer"])
        importer = KpchainClient(url, keys[doc["importing_participant"]]["officer"])
        with exporter, importer:
            exporter.issue(doc, idempotency_key=f"demo:{cert_no}:issue")
            for step in steps:
                key = f"demo:{cert_no}:{step}"
                if step == "ship":
                    exporter.ship(cert_no, f"SEAL-{cert_no}", idempotency_key=key)
                elif step == "cancel":
                    exporter.cancel(cert_no, reason="issued in error", idempotency_key=key)
                elif step == "receive":
                    line = doc["lines"]
                    importer.receive(
                        cert_no,
                        parcels=sum(int(item["parcels"]) for item in line),
                        carats=str(sum(Decimal(item["carats"]) for item in line)),
                        received_at=today.isoformat(),
                        idempotency_key=key,
                    )
                elif step == "reject":
                    importer.reject(
                        cert_no, reason="seal_broken", note="seal found broken", idempotency_key=key
                    )
    return len(plan)
