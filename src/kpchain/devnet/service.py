"""The authority services of the devnet: their signers files, their API keys, the processes
that `kpchain devnet up` starts, and the demo certificates issued through their APIs.

Two layouts (`plan`):

- hosted (the default): one service hosts every demo participant and its admin, as a KP-wide
  platform would run for participants without a system of their own; its files sit in
  ``<project>/.kpchain`` itself;
- sovereign (``--sovereign``): BW, AE, IN, EU, RU and ZA each run a service of their own, with
  its own database, keys and port (BW's at the API port, the next ones after it), and one more
  service hosts the other demo participants; each service's files sit in
  ``<project>/.kpchain/services/<BW|AE|…|hosted>``. Every service registers its participants'
  endpoints on chain, so an exporter's service delivers each signed document to the importer's.

A service's files:

- ``signers.yaml``: its participants' devnet authority and admin keys (``dev: BW``);
- ``kpchain.db``: the SQLite store (index, API keys, operations, documents); it is started
  afresh whenever the contract is deployed afresh, so it never indexes another deployment;
- ``service.pid`` / ``service.url`` / ``service.log``: the uvicorn process, where it listens,
  and its output.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from kpchain.client import ApiError, KpchainClient
from kpchain.devnet import launcher
from kpchain.devnet.processes import cmdline, is_alive, wait_exit
from kpchain.errors import AuthenticationError, ConfigError
from kpchain.service.keys import authenticate, create_key
from kpchain.store import WRITE, create_engine, migrate, session_factory
from kpchain.vocabulary import StepName

logger = logging.getLogger(__name__)

SERVICE_PORT = 8000
PARTICIPANT_ROLES = ("officer", "clerk", "auditor", "admin")
SOVEREIGN_PARTICIPANTS = ("BW", "AE", "IN", "EU", "RU", "ZA")
"""The demo participants that run a service of their own in the sovereign layout, BW first (its
service is the devnet's ``api_url``)."""
HOSTED = "hosted"
"""The name of the service that hosts the participants without a service of their own."""


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


@dataclass(frozen=True)
class ServiceGroup:
    """One of the devnet's services and the participants it hosts."""

    name: str  # a participant's code, or HOSTED
    codes: tuple[str, ...]
    files: ServiceFiles
    port: int


@dataclass(frozen=True)
class RunningService:
    """A started service: who it hosts, its process and its URL."""

    name: str
    codes: tuple[str, ...]
    pid: int
    url: str
    log_file: Path


def plan(
    directory: Path, codes: list[str], *, api_port: int, sovereign: bool
) -> list[ServiceGroup]:
    """The services of a devnet whose files are under `directory` (see the module docstring).

    Args:
        directory: the devnet's ``.kpchain`` folder.
        codes: the demo participants, in the devnet's order.
        api_port: the port of the first service (BW's, in the sovereign layout).
        sovereign: one service per `SOVEREIGN_PARTICIPANTS` member, and one for the rest.
    """
    if not sovereign:
        return [ServiceGroup(HOSTED, tuple(codes), ServiceFiles(directory), api_port)]
    own = [code for code in SOVEREIGN_PARTICIPANTS if code in codes]
    rest = tuple(code for code in codes if code not in own)
    groups = [
        ServiceGroup(code, (code,), ServiceFiles(directory / "services" / code), api_port + n)
        for n, code in enumerate(own)
    ]
    if rest:
        files = ServiceFiles(directory / "services" / HOSTED)
        groups.append(ServiceGroup(HOSTED, rest, files, api_port + len(own)))
    return groups


def every_layout(directory: Path) -> list[ServiceFiles]:
    """The files of every service a devnet under `directory` may have started, in either
    layout (to stop them all, or the ones a change of layout left behind)."""
    services = directory / "services"
    found = (
        sorted(path for path in services.iterdir() if path.is_dir()) if services.is_dir() else []
    )
    return [ServiceFiles(directory), *(ServiceFiles(path) for path in found)]


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
    files: ServiceFiles,
    codes: list[str],
    previous: dict[str, Any] | None,
    *,
    governor: bool = True,
) -> tuple[str | None, dict[str, dict[str, str]]]:
    """The (read-only) governor key, when `governor` asks for one, and each participant's
    officer, clerk, auditor and admin keys.

    Keys that `previous` (the last devnet.json) lists and the store still accepts are kept, so
    a restarted devnet keeps the keys its users copied; the rest are created.
    """
    engine = create_engine(files.database_url)
    migrate(engine)
    old_participants = (previous or {}).get("participants", {})
    try:
        with session_factory(engine)() as session:
            # Keys are read, then created: a write from the start (see `revoke_key`).
            session.connection(execution_options=WRITE)

            def key(token: str | None, participant: str | None, role: str) -> str:
                if token:
                    try:
                        found = authenticate(session, token)
                        if (found.participant, found.role) == (participant, role):
                            return token
                    except AuthenticationError:
                        pass
                return create_key(session, participant=participant, role=role, label="devnet").token

            governor_key = None
            if governor:
                previous_governor = (previous or {}).get("governor", {}).get("api_key")
                governor_key = key(previous_governor, None, "governor")
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
    return governor_key, participants


def start(groups: list[ServiceGroup], *, rpc_url: str, deployment: Path) -> list[RunningService]:
    """Starts ``kpchain serve`` in the background for each of `groups`, all at once; returns
    them once every one is ready. A service already running for the devnet is reused, on its
    own port.

    Raises:
        ConfigError: a service did not become ready (its log says why); the ones this call
            started are stopped again.
    """
    spawned: list[tuple[ServiceGroup, subprocess.Popen[bytes] | None, str]] = []
    try:
        for group in groups:
            running = running_pid(group.files)
            if running is not None and group.files.url_file.exists():
                spawned.append((group, None, group.files.url_file.read_text().strip()))
            else:
                launched = launch(group.files, group.port, rpc_url=rpc_url, deployment=deployment)
                spawned.append((group, *launched))
        started = []
        for group, process, url in spawned:
            pid = wait_ready(group.files, process, url) if process else running_pid(group.files)
            assert pid is not None  # reused: running_pid found it a moment ago
            started.append(RunningService(group.name, group.codes, pid, url, group.files.log_file))
        return started
    except BaseException:
        for group, process, _url in spawned:
            if process is not None:
                stop(group.files)
        raise


def launch(
    files: ServiceFiles,
    port: int,
    *,
    rpc_url: str,
    deployment: Path,
    environment: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Starts ``kpchain serve`` in the background with `files` (its SQLite store, signers file,
    pid, url and log files) on `port`, with the devnet's settings (see `launcher.spawn`);
    returns the process and its URL without waiting (see `wait_ready`). The devnet's and the
    benchmarks' services start here.

    Args:
        files: the service's files (the signers file must exist).
        port: its port on 127.0.0.1.
        rpc_url: the node it talks to.
        deployment: the deployments file naming the contracts.
        environment: settings over the devnet's (``KPCHAIN_*``), e.g. another database.
    """
    files.directory.mkdir(parents=True, exist_ok=True)
    url = launcher.local_url(port)
    env = {
        **os.environ,
        "KPCHAIN_RPC_URL": rpc_url,
        "KPCHAIN_CHAIN_ID": "2021",
        "KPCHAIN_NETWORK": "kp-devnet",
        "KPCHAIN_DEPLOYMENT_FILE": str(deployment.resolve()),
        "KPCHAIN_DATABASE_URL": files.database_url,
        "KPCHAIN_SIGNERS_FILE": str(files.signers.resolve()),
        "KPCHAIN_DEVELOPMENT": "true",
        "KPCHAIN_PUBLIC_URL": url,
        # The devnet's services talk plain http on loopback, and retry a delivery within
        # seconds (not minutes) when another service is still starting.
        "KPCHAIN_EXCHANGE_ALLOW_HTTP": "true",
        "KPCHAIN_EXCHANGE_MAX_BACKOFF": "5",
        **(environment or {}),
    }
    # Outlives `kpchain devnet up`; `down` stops it by its pid file.
    server = launcher.spawn(env, port=port, log_file=files.log_file, detach=True)
    files.pid_file.write_text(f"{server.pid}\n")
    files.url_file.write_text(f"{server.url}\n")
    return server.process, server.url


def wait_ready(files: ServiceFiles, process: subprocess.Popen[bytes], url: str) -> int:
    """Waits until the service `launch` started answers ``/readyz``; returns its pid.

    Raises:
        ConfigError: it exited (its pid and url files are removed), or did not become ready
            within `launcher.READY_TIMEOUT`; the message quotes the end of its log.
    """
    try:
        pid = launcher.ServerProcess(process, url, files.log_file).wait_ready()
    except ConfigError:
        if process.poll() is not None:
            files.pid_file.unlink(missing_ok=True)
            files.url_file.unlink(missing_ok=True)
        raise
    logger.info("service ready at %s (pid %s)", url, pid)
    return pid


def register_endpoints(url: str, keys: dict[str, dict[str, str]], codes: tuple[str, ...]) -> None:
    """Registers, through each participant's admin key, the service at `url` as the endpoint
    of `codes` (with a document encryption key the service makes): where other services
    deliver their documents. A registration that changes nothing sends nothing."""
    for code in codes:
        with KpchainClient(url, keys[code]["admin"]) as admin:
            admin.set_endpoint(code, url=url)


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


_BEFORE = {
    "ship": {"issued"},
    "cancel": {"issued", "shipped"},
    "receive": {"shipped"},
    "reject": {"shipped"},
}
"""The statuses from which a demo step is still to be taken."""


def _status(client: KpchainClient, cert_no: str) -> str | None:
    """`cert_no`'s status at `client`'s service, or None when it has no such certificate."""
    try:
        return str(client.certificate(cert_no)["status"])
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def _wait_shipped(importer: KpchainClient, cert_no: str, *, timeout: float = 60.0) -> None:
    """Waits until the importer's service has indexed `cert_no` as shipped (or past it)."""
    deadline = time.monotonic() + timeout
    while True:
        if _status(importer, cert_no) not in (None, "issued"):
            return
        if time.monotonic() > deadline:
            raise ConfigError(f"the importer's service did not see {cert_no} shipped in {timeout}s")
        time.sleep(0.2)


def _shipping_day(importer: KpchainClient, cert_no: str) -> date:
    """The UTC day `cert_no` was shipped on, which the demo dates its receipt by: a receipt
    dated by the clock could be a day before the shipment when seeding crosses midnight, and
    would change between two runs of one Idempotency-Key."""
    shipped = importer.certificate(cert_no)["steps"][StepName.SHIPPED]["at"]
    return datetime.fromisoformat(shipped).astimezone(UTC).date()


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


def issue_demo_certificates(urls: Mapping[str, str], keys: dict[str, dict[str, str]]) -> int:
    """Puts a few certificates in each state through the API, as the authorities would: each
    participant at the service `urls` names for it (the importer confirms at its own, once its
    index has the shipment).

    A step the certificate has already taken (as the service that takes it reads the chain)
    is skipped, so running this again (another `up`, on another day, or with services whose
    databases are new) changes nothing and an interrupted run is finished; every request also
    has a fixed Idempotency-Key, so a retried one is never done twice. Returns how many
    certificates exist afterwards.
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
        exporting, importing = doc["exporting_participant"], doc["importing_participant"]
        exporter = KpchainClient(urls[exporting], keys[exporting]["officer"])
        importer = KpchainClient(urls[importing], keys[importing]["officer"])
        with exporter, importer:
            if _status(exporter, cert_no) is None:
                exporter.issue(doc, idempotency_key=f"demo:{cert_no}:issue")
            for step in steps:
                key = f"demo:{cert_no}:{step}"
                by_importer = step in ("receive", "reject")
                if by_importer:
                    _wait_shipped(importer, cert_no)
                status = _status(importer if by_importer else exporter, cert_no)
                if status not in _BEFORE[step]:
                    continue  # taken already
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
                        received_at=_shipping_day(importer, cert_no).isoformat(),
                        idempotency_key=key,
                    )
                elif step == "reject":
                    importer.reject(
                        cert_no, reason="seal_broken", note="seal found broken", idempotency_key=key
                    )
    return len(plan)
