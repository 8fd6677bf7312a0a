"""The local devnet behind `kpchain devnet up|down|status`.

`up` starts anvil in the background with the consortium profile (chain id 2021, zero gas price
and base fee, transactions mined at once and an empty block every `BLOCK_PERIOD` seconds),
deploys the registry and its governance with `kpchain.deploy.deploy` (the demo
participants as founding members, with the short `DEVNET_GOVERNANCE` periods), seeds their
authorities and writes `devnet.json`. Everything lives under ``<project>/.kpchain/``:

- ``anvil.pid``: the pid of the anvil that `up` started (removed by `down`);
- ``anvil.log``: anvil's output;
- ``anvil-state.json``: the chain state (anvil ``--state``), dumped on exit and every few
  seconds, and loaded by the next `up`, so the chain survives `down` and `up`;
- ``deployments/kp-devnet.json``: the deployment record (the registry's and the governance's
  addresses), kept here rather than in the repository's ``deployments/`` so that folder only
  holds real networks; the service reads it;
- ``devnet.json``: what clients need to use the devnet (DESIGN.md section 6, a contract):
  ``api_url``, ``rpc_url``, ``chain_id``, ``contracts``, ``governor`` and ``participants``,
  with the API keys of every participant (officer, clerk, auditor, admin: the admin key casts
  the participant's vote in governance) and the ``governor`` key, now a read-only key (no key
  governs: see `kpchain.governance`);
- the authority service's files (``signers.yaml``, ``kpchain.db``, ``service.pid``,
  ``service.log``): see `kpchain.devnet.service`. `up` starts the service after seeding and
  issues the demo certificates through its API; `down` stops it before anvil.

When ``devnet.json`` names a registry that has code on the running chain (the state survived a
restart) and the deployment record's governor has code too, `up` deploys nothing. Seeding runs
on every `up` but only adds the authorities the chain does not have yet, so it sends nothing on a
complete chain and finishes an interrupted seeding.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from web3 import Web3

from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.deploy import DEPLOYED_CONTRACT, INTERFACES, Deployment, deploy
from kpchain.devnet import service
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.devnet.processes import cmdline, is_alive, wait_exit
from kpchain.devnet.seed import (
    DEVNET_GOVERNANCE,
    SeededParticipant,
    founders,
    governor_account,
    registry,
    seed,
)
from kpchain.errors import ChainError, ConfigError, DeploymentError
from kpchain.signing.local import LocalSigner

logger = logging.getLogger(__name__)

DEVNET_NETWORK = "kp-devnet"
DEFAULT_PORT = 8545
HOST = "127.0.0.1"
API_URL = "http://127.0.0.1:8000"
"""Where the authority service listens on the devnet by default."""
BLOCK_PERIOD = 2
"""Seconds between the devnet's blocks when nothing is sent: transactions are still mined at
once (automine), and anvil seals an empty block this often, as the consortium's QBFT network
does (`blockperiodseconds`), so the chain's clock moves without traffic: a vote's period ends,
a timelock passes (the governor judges both by the latest block's time)."""


@dataclass(frozen=True)
class DevnetPaths:
    """The files of a project's devnet, under ``<project>/.kpchain``."""

    directory: Path

    @classmethod
    def of(cls, project: Path) -> DevnetPaths:
        """The devnet files of the project rooted at `project`."""
        return cls(project / ".kpchain")

    @property
    def pid_file(self) -> Path:
        """The pid of the anvil `up` started."""
        return self.directory / "anvil.pid"

    @property
    def log_file(self) -> Path:
        """anvil's output."""
        return self.directory / "anvil.log"

    @property
    def state_file(self) -> Path:
        """The chain state anvil loads at start and dumps on exit (``--state``)."""
        return self.directory / "anvil-state.json"

    @property
    def config_file(self) -> Path:
        """``devnet.json``: what clients need to use the devnet."""
        return self.directory / "devnet.json"

    @property
    def deployments_dir(self) -> Path:
        """Where the devnet's deployment record goes (not the repository's ``deployments/``)."""
        return self.directory / "deployments"

    @property
    def deployment_file(self) -> Path:
        """The devnet's deployment record, ``kp-devnet.json``."""
        return self.deployments_dir / f"{DEVNET_NETWORK}.json"


@dataclass(frozen=True)
class Devnet:
    """A running, deployed and seeded devnet, as `up` leaves it."""

    rpc_url: str
    chain_id: int
    contract: str  # the registry's address (both interfaces)
    governor: str  # the KPGovernor's address
    participants: tuple[SeededParticipant, ...]
    pid: int
    started: bool  # True: this `up` started anvil; False: it was running already
    deployed: bool  # True: this `up` deployed the contract; False: it survived in the state
    governor_api_key: str | None = None
    api_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> role -> key
    services: tuple[service.RunningService, ...] = ()
    demo_certificates: int = 0

    @property
    def api_url(self) -> str:
        """BW's service (the only one, when one service hosts everybody)."""
        return self.api_urls.get("BW", API_URL)

    @property
    def api_urls(self) -> dict[str, str]:
        """Each participant's service."""
        return {code: running.url for running in self.services for code in running.codes}

    @property
    def service_pid(self) -> int | None:
        """The pid of BW's service, while one runs."""
        return next((s.pid for s in self.services if "BW" in s.codes), None)

    def to_json(self) -> dict[str, Any]:
        """The content of ``devnet.json``, in the shape DESIGN.md sections 6 and 8 fix."""
        urls = self.api_urls
        return {
            "api_url": self.api_url,
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "contracts": {name: self.contract for name in INTERFACES},
            "governor": {"api_key": self.governor_api_key},
            "participants": {
                p.code: {
                    "status": p.status.label,
                    "authority": p.authority,
                    "api_url": urls.get(p.code),
                    "api_keys": self.api_keys.get(p.code, {}),
                }
                for p in self.participants
            },
        }


@dataclass(frozen=True)
class DevnetStatus:
    """What `status` found: the fields past `running` are None when unknown."""

    running: bool
    pid: int | None = None
    rpc_url: str | None = None
    block_number: int | None = None
    contract: str | None = None  # set only when the contract has code on the running chain
    participant_count: int | None = None
    service_url: str | None = None  # set while the devnet's (BW's) service runs
    services: tuple[tuple[str, str], ...] = ()  # (name, url) of every running service


def up(
    project: Path,
    *,
    port: int = DEFAULT_PORT,
    api_port: int = service.SERVICE_PORT,
    with_service: bool = True,
    demo: bool = True,
    sovereign: bool = False,
    timeout: float = 30.0,
) -> Devnet:
    """Starts (or reuses) the devnet of `project`, deploys and seeds it, writes ``devnet.json``.

    Args:
        project: the project root; the devnet's files go to ``project/.kpchain``.
        port: the JSON-RPC port for a new anvil (a running devnet keeps its own port).
        api_port: the port of the authority service (BW's, and the next ones for the other
            services of the sovereign layout).
        with_service: also start the authority services with API keys for every participant.
        demo: issue the demo certificates through the services (once; later `up`s find them).
        sovereign: BW, AE, IN, EU, RU and ZA each run a service of their own and exchange the
            documents (see `kpchain.devnet.service`); otherwise one service hosts everybody.
        timeout: seconds to wait for anvil to answer.

    Raises:
        ConfigError: `port` is taken by something other than this project's devnet.
        ToolchainError: anvil cannot be found.
        ChainError: anvil did not start, or deploying or seeding failed; an anvil this call
            started is stopped again.
    """
    paths = DevnetPaths.of(project)
    paths.directory.mkdir(parents=True, exist_ok=True)
    pid = _running_pid(paths)
    started = pid is None
    if pid is None:
        pid = _start_node(paths, port=port, timeout=timeout)
        rpc_url = _rpc_url(port)
    else:
        rpc_url = _rpc_url(_node_port(pid) or port)
        logger.info("devnet already running (pid %s) at %s; reusing it", pid, rpc_url)
    try:
        previous = _read_config(paths)
        devnet = _deploy_and_seed(paths, rpc_url=rpc_url, pid=pid, started=started)
        if with_service:
            devnet = _start_services(
                paths, devnet, previous=previous, api_port=api_port, demo=demo, sovereign=sovereign
            )
    except BaseException:
        if started:
            down(project)
        raise
    _write_json(paths.config_file, devnet.to_json())
    logger.info("wrote %s", paths.config_file)
    return devnet


def down(project: Path, *, timeout: float = 15.0) -> bool:
    """Stops the anvil that `up` started for `project`, letting it dump its state.

    Idempotent: returns False when no devnet was running (a stale pid file is removed).

    Raises:
        ChainError: anvil did not exit, even after SIGKILL.
    """
    paths = DevnetPaths.of(project)
    stopped = [service.stop(files) for files in service.every_layout(paths.directory)]
    service_stopped = any(stopped)
    pid = _running_pid(paths)
    if pid is None:
        return service_stopped
    # SIGTERM, not SIGKILL: anvil dumps its state to --state on a graceful exit.
    os.kill(pid, signal.SIGTERM)
    if not wait_exit(pid, timeout=timeout):
        logger.warning("anvil (pid %s) ignored SIGTERM for %.0fs; killing it", pid, timeout)
        os.kill(pid, signal.SIGKILL)
        if not wait_exit(pid, timeout=5.0):
            raise ChainError(f"anvil (pid {pid}) does not exit; stop it by hand")
    paths.pid_file.unlink(missing_ok=True)
    logger.info("stopped anvil (pid %s)", pid)
    return True


def status(project: Path) -> DevnetStatus:
    """Whether `project`'s devnet runs, and what its chain holds."""
    paths = DevnetPaths.of(project)
    pid = _running_pid(paths)
    if pid is None:
        return DevnetStatus(running=False)
    rpc_url = _rpc_url(_node_port(pid) or DEFAULT_PORT)
    try:
        w3 = connect(rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    except ChainError as exc:
        logger.warning("anvil (pid %s) runs but does not answer: %s", pid, exc.message)
        return DevnetStatus(running=True, pid=pid, rpc_url=rpc_url)
    contract = _persisted_contract(paths, w3)
    count = None
    if contract is not None:
        count = len(registry(w3, contract).functions.participantCodes().call())
    return DevnetStatus(
        running=True,
        pid=pid,
        rpc_url=rpc_url,
        block_number=w3.eth.block_number,
        contract=contract,
        participant_count=count,
        service_url=_bw_service_url(paths),
        services=_running_services(paths),
    )


# --- internal -----------------------------------------------------------------------------------


def _start_node(paths: DevnetPaths, *, port: int, timeout: float) -> int:
    if _port_in_use(port):
        raise ConfigError(
            f"port {port} on {HOST} is in use by something other than this project's devnet; "
            "stop it, or pass another --port",
            detail={"port": port},
        )
    node = AnvilNode(
        port=port,
        chain_id=DEVNET_CHAIN_ID,
        state_file=paths.state_file,
        log_file=paths.log_file,
        host=HOST,
        extra_args=("--block-time", str(BLOCK_PERIOD), "--mixed-mining"),
    )
    node.start(timeout=timeout, detach=True)
    assert node.process is not None  # start() sets it
    pid = node.process.pid
    paths.pid_file.write_text(f"{pid}\n")
    logger.info("started anvil (pid %s) with state %s", pid, paths.state_file)
    return pid


def _deploy_and_seed(paths: DevnetPaths, *, rpc_url: str, pid: int, started: bool) -> Devnet:
    w3 = connect(rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)
    persisted = _persisted_deployment(paths, w3)
    deployed = persisted is None
    if persisted is None:
        deployment = deploy(
            deployer,
            founders=founders(),
            governance=DEVNET_GOVERNANCE,
            network=DEVNET_NETWORK,
            expected_chain_id=DEVNET_CHAIN_ID,
        )
        deployment.write(paths.deployments_dir)
    else:
        deployment = persisted
        logger.info(
            "the registry at %s survived in the chain state; not deploying", deployment.address
        )
    participants = seed(w3, deployment.address, chain_id=DEVNET_CHAIN_ID)
    return Devnet(
        rpc_url=rpc_url,
        chain_id=DEVNET_CHAIN_ID,
        contract=deployment.address,
        governor=deployment.governor,
        participants=tuple(participants),
        pid=pid,
        started=started,
        deployed=deployed,
    )


def _start_services(
    paths: DevnetPaths,
    devnet: Devnet,
    *,
    previous: dict[str, Any] | None,
    api_port: int,
    demo: bool,
    sovereign: bool,
) -> Devnet:
    codes = [p.code for p in devnet.participants]
    groups = service.plan(paths.directory, codes, api_port=api_port, sovereign=sovereign)
    wanted = {group.files.directory for group in groups}
    for files in service.every_layout(paths.directory):
        if devnet.deployed or files.directory not in wanted:
            service.stop(files)  # it served the previous deployment, or the other layout
    if devnet.deployed:
        previous = None
    keys: dict[str, dict[str, str]] = {}
    governor_key = None
    for group in groups:
        if devnet.deployed:
            service.reset_database(group.files)
        group.files.directory.mkdir(parents=True, exist_ok=True)
        service.write_signers(group.files, list(group.codes))
        # devnet.json has one (read-only) governor key: BW's service's, as its api_url is.
        hosts_bw = "BW" in group.codes
        group_governor, group_keys = service.api_keys(
            group.files, list(group.codes), previous, governor=hosts_bw
        )
        keys.update(group_keys)
        governor_key = group_governor if hosts_bw else governor_key
    running = service.start(groups, rpc_url=devnet.rpc_url, deployment=paths.deployment_file)
    devnet = replace(devnet, governor_api_key=governor_key, api_keys=keys, services=tuple(running))
    if sovereign:
        for started in running:
            service.register_endpoints(started.url, keys, started.codes)
    count = service.issue_demo_certificates(devnet.api_urls, keys) if demo else 0
    return replace(devnet, demo_certificates=count)


def _running_services(paths: DevnetPaths) -> tuple[tuple[str, str], ...]:
    found = []
    for files in service.every_layout(paths.directory):
        url = service.running_url(files)
        if url is not None:
            name = files.directory.name if files.directory != paths.directory else service.HOSTED
            found.append((name, url))
    return tuple(found)


def _bw_service_url(paths: DevnetPaths) -> str | None:
    running = dict(_running_services(paths))
    return running.get("BW") or running.get(service.HOSTED)


def _read_config(paths: DevnetPaths) -> dict[str, Any] | None:
    try:
        content = json.loads(paths.config_file.read_text())
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _persisted_contract(paths: DevnetPaths, w3: Web3) -> str | None:
    """The registry address devnet.json names, if it has code on the chain behind `w3`."""
    if not paths.config_file.exists():
        return None
    try:
        address = json.loads(paths.config_file.read_text())["contracts"][DEPLOYED_CONTRACT]
        checksummed = Web3.to_checksum_address(address)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeploymentError(
            f"{paths.config_file} is unreadable ({exc}); delete it to deploy afresh"
        ) from exc
    if not w3.eth.get_code(checksummed):
        logger.info("%s names %s, which has no code on this chain", paths.config_file, address)
        return None
    return str(checksummed)


def _persisted_deployment(paths: DevnetPaths, w3: Web3) -> Deployment | None:
    """The deployment record, when devnet.json's registry and the record's governor both have
    code on the chain behind `w3` (a chain from before the governance is deployed afresh)."""
    contract = _persisted_contract(paths, w3)
    if contract is None or not paths.deployment_file.exists():
        return None
    deployment = Deployment.read(paths.deployment_file)
    governor = deployment.governor_address
    if deployment.address != contract or governor is None:
        logger.info("%s records no governance of %s", paths.deployment_file, contract)
        return None
    if not w3.eth.get_code(Web3.to_checksum_address(governor)):
        logger.info("the governor %s has no code on this chain", governor)
        return None
    return deployment


def _write_json(path: Path, content: dict[str, Any]) -> None:
    """Writes `path` atomically, so a reader never sees half a file."""
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(content, indent=2) + "\n")
    partial.replace(path)


def _rpc_url(port: int) -> str:
    return f"http://{HOST}:{port}"


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def _running_pid(paths: DevnetPaths) -> int | None:
    """The pid in the pid file when it is a live anvil; removes a stale pid file."""
    try:
        pid = int(paths.pid_file.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        pid = None
    if pid is not None and is_alive(pid) and "anvil" in " ".join(cmdline(pid)):
        return pid
    # The pid is gone, or was reused by another program: the devnet is not running.
    logger.info("removing stale pid file %s", paths.pid_file)
    paths.pid_file.unlink(missing_ok=True)
    return None


def _node_port(pid: int) -> int | None:
    """The --port anvil `pid` was started with."""
    args = cmdline(pid)
    for flag, value in itertools.pairwise(args):
        if flag == "--port" and value.isdigit():
            return int(value)
    return None
