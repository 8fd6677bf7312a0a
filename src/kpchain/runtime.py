"""Wiring: settings in, a running service core out (node, registry, database, index, hosted
signers, writer), with the background threads that follow the chain and finish operations."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from kpchain.chain.connection import connect, latest_block_time
from kpchain.chain.signer import Signer
from kpchain.chain.transactions import TransactionSender
from kpchain.config import Settings, get_settings
from kpchain.contracts.governance import Governance
from kpchain.contracts.registry import Registry
from kpchain.deploy import GOVERNOR_CONTRACT, SEATS_CONTRACT, VALIDATOR_SET_CONTRACT, Deployment
from kpchain.errors import ChainUnavailableError, ConfigError
from kpchain.exchange.keys import KeyRing, exchange_passphrase
from kpchain.exchange.service import CALLS as EXCHANGE_CALLS
from kpchain.exchange.service import RENDERS as EXCHANGE_RENDERS
from kpchain.exchange.service import ExchangeService
from kpchain.governance.service import (
    GovernanceService,
    governance_calls,
    governance_renderer,
)
from kpchain.governance.validators import ValidatorVoter
from kpchain.indexer.indexer import Indexer
from kpchain.service.authority import CALLS as AUTHORITY_CALLS
from kpchain.service.authority import AuthorityService, index_time, renderer
from kpchain.service.drafts import DraftService
from kpchain.service.operations import Hosting, Renderer, Writer
from kpchain.service.webhooks import WebhookDispatcher, WebhooksConfig
from kpchain.signing.specs import SignersConfig
from kpchain.store import OwnerLock, create_engine, migrate, own, session_factory
from kpchain.verification.chain import ContractSignatures

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running service holds; `start` launches its threads, `stop` ends them."""

    settings: Settings
    w3: Web3
    registry: Registry
    engine: Engine
    sessions: sessionmaker[Session]
    indexer: Indexer
    hosting: Hosting
    writer: Writer
    authority: AuthorityService
    owner: OwnerLock
    exchange: ExchangeService
    drafts: DraftService
    webhooks: WebhookDispatcher | None = None
    governance: GovernanceService | None = None  # None: no governance contracts known
    validator_voter: ValidatorVoter | None = None  # set by KPCHAIN_NODE_ADMIN_URL
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Starts the indexer, the reconciler and the document exchange's outbox. The
        reconciler's first pass finishes what a previous process left unfinished (after a crash
        or a kill), and so does the outbox's."""
        self._stop.clear()
        self._threads = [
            threading.Thread(
                target=self.indexer.run,
                args=(self._stop,),
                kwargs={"poll_interval": self.settings.index_poll_interval},
                name="kpchain-indexer",
                daemon=True,
            ),
            threading.Thread(
                target=self.writer.run_reconciler,
                args=(self._stop,),
                kwargs={"interval": self.settings.reconcile_interval},
                name="kpchain-reconciler",
                daemon=True,
            ),
            threading.Thread(
                target=self.exchange.run,
                args=(self._stop,),
                kwargs={"interval": self.settings.index_poll_interval},
                name="kpchain-exchange",
                daemon=True,
            ),
        ]
        if self.validator_voter is not None:
            self._threads.append(
                threading.Thread(
                    target=self.validator_voter.run,
                    args=(self._stop,),
                    kwargs={"interval": self.settings.reconcile_interval},
                    name="kpchain-validator-votes",
                    daemon=True,
                )
            )
        if self.webhooks is not None:
            self._threads.append(
                threading.Thread(
                    target=self.webhooks.run,
                    args=(self._stop,),
                    kwargs={"interval": self.settings.index_poll_interval},
                    name="kpchain-webhooks",
                    daemon=True,
                )
            )
        for thread in self._threads:
            thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self.owner.release()
        self.engine.dispose()


@dataclass(frozen=True)
class IndexRuntime:
    """What `kpchain index run|rebuild` needs: the indexer and where it reads and writes."""

    indexer: Indexer
    registry: str
    database: str  # the URL without its password, for messages
    start_block: int
    poll_interval: float
    owner: OwnerLock


def index_runtime(settings: Settings | None = None) -> IndexRuntime:
    """The standalone indexer of `settings` (default: the environment's)."""
    settings = settings or get_settings()
    w3, registry, engine, owner, start_block = _core(settings)
    governance = _governance(settings, w3, registry)
    return IndexRuntime(
        indexer=_indexer(
            settings, w3, registry, session_factory(engine), start_block, governance=governance
        ),
        registry=registry.address,
        database=make_url(settings.database_url).render_as_string(hide_password=True),
        start_block=start_block,
        poll_interval=settings.index_poll_interval,
        owner=owner,
    )


def _core(settings: Settings) -> tuple[Web3, Registry, Engine, OwnerLock, int]:
    """The node, the registry, and the database, owned by this process and migrated."""
    address, start_block = registry_location(settings)
    w3 = connect(settings.rpc_url, expected_chain_id=settings.chain_id)
    registry = Registry(w3, address)
    engine = create_engine(settings.database_url)
    owner = own(engine)  # before anything writes: another process may be using it
    try:
        migrate(engine)
    except BaseException:
        owner.release()
        raise
    return w3, registry, engine, owner, start_block


def _indexer(
    settings: Settings,
    w3: Web3,
    registry: Registry,
    sessions: sessionmaker[Session],
    start_block: int,
    *,
    governance: Governance | None,
) -> Indexer:
    contracts: dict[str, str] = {}
    if governance is not None:
        contracts = {
            governance.address: GOVERNOR_CONTRACT,
            governance.seats_address: SEATS_CONTRACT,
            governance.validator_set_address: VALIDATOR_SET_CONTRACT,
        }
    return Indexer(
        w3,
        sessions,
        registry=registry.address,
        start_block=start_block,
        contracts=contracts,
        confirmations=settings.confirmations,
    )


def build_runtime(settings: Settings) -> Runtime:
    """Connects to the node, opens the database (migrating it) and the hosted signers.

    Raises:
        ConfigError: no registry address, or a bad signers file.
        ChainUnavailableError / ChainIdMismatchError: the node is unreachable or wrong.
    """
    w3, registry, engine, owner, start_block = _core(settings)
    try:
        return _runtime(settings, w3, registry, engine, owner, start_block)
    except BaseException:
        owner.release()
        raise


def _runtime(
    settings: Settings,
    w3: Web3,
    registry: Registry,
    engine: Engine,
    owner: OwnerLock,
    start_block: int,
) -> Runtime:
    sessions = session_factory(engine)
    contracts = _governance(settings, w3, registry)
    indexer = _indexer(settings, w3, registry, sessions, start_block, governance=contracts)
    hosting = _hosting(settings, w3)
    calls = {**AUTHORITY_CALLS, **EXCHANGE_CALLS}
    renders: dict[str, Renderer] = dict(EXCHANGE_RENDERS)
    governor_clock = _governor_clock(w3, fallback=lambda: index_time(indexer))
    if contracts is not None:
        governance_kinds = governance_calls(contracts)
        calls.update(governance_kinds)
        renders.update(
            dict.fromkeys(governance_kinds, governance_renderer(contracts, governor_clock))
        )
    writer = Writer(
        sessions=sessions,
        registry=registry,
        hosting=hosting,
        indexer=indexer,
        calls=calls,
        render=renderer(indexer, renders),
        receipt_timeout=settings.receipt_timeout,
        coalesce=settings.coalesce_writes,
    )
    authority = AuthorityService(
        sessions=sessions,
        registry=registry,
        indexer=indexer,
        hosting=hosting,
        writer=writer,
        chain_id=settings.chain_id,
        max_validity_days=settings.max_validity_days,
    )
    governance = None
    if contracts is not None:
        governance = GovernanceService(
            sessions=sessions,
            indexer=indexer,
            governance=contracts,
            hosting=hosting,
            writer=writer,
            now=governor_clock,
        )
    exchange = _exchange(settings, w3, registry, sessions, indexer, hosting, writer)
    webhooks = None
    if settings.webhooks_file is not None:
        webhooks = WebhookDispatcher(sessions, WebhooksConfig.load(settings.webhooks_file))
    return Runtime(
        settings=settings,
        w3=w3,
        registry=registry,
        engine=engine,
        sessions=sessions,
        indexer=indexer,
        hosting=hosting,
        writer=writer,
        authority=authority,
        owner=owner,
        exchange=exchange,
        drafts=DraftService(sessions=sessions, authority=authority, writer=writer),
        webhooks=webhooks,
        governance=governance,
        validator_voter=_validator_voter(settings, sessions, governance),
    )


def _exchange(
    settings: Settings,
    w3: Web3,
    registry: Registry,
    sessions: sessionmaker[Session],
    indexer: Indexer,
    hosting: Hosting,
    writer: Writer,
) -> ExchangeService:
    if settings.exchange_allow_http and not settings.development:
        raise ConfigError(
            "KPCHAIN_EXCHANGE_ALLOW_HTTP sends documents unencrypted in transit: it is for "
            "development only (set KPCHAIN_DEVELOPMENT), production endpoints are https"
        )
    passphrase = exchange_passphrase(
        passphrase=settings.exchange_passphrase,
        passphrase_file=settings.exchange_passphrase_file,
        development=settings.development,
    )
    if passphrase is None:
        logger.warning(
            "no KPCHAIN_EXCHANGE_PASSPHRASE: this service can neither register an encryption "
            "key nor receive documents from other services"
        )
    return ExchangeService(
        sessions=sessions,
        indexer=indexer,
        hosting=hosting,
        writer=writer,
        keys=KeyRing(sessions, passphrase=passphrase),
        chain_id=settings.chain_id,
        registry=registry.address,
        public_url=settings.base_url,
        allow_http=settings.exchange_allow_http,
        max_backoff=settings.exchange_max_backoff,
        contract_signatures=ContractSignatures(w3),
    )


def _governor_clock(w3: Web3, *, fallback: Callable[[], int]) -> Callable[[], int]:
    """The time proposals' states are judged at: the node's latest block's, which the governor
    reads when a vote or an execution is estimated (this host's clock can be a block period
    ahead: a vote it deemed open would be refused by the chain). Without the node, `fallback`
    (the certificate views' clock), so the proposals still read."""

    def now() -> int:
        try:
            return latest_block_time(w3)
        except ChainUnavailableError:
            return fallback()

    return now


def registry_location(settings: Settings) -> tuple[str, int]:
    """The registry's address and the block to index from."""
    deployment_path: Path = settings.deployment_path
    if settings.registry_address is not None:
        start = Deployment.read(deployment_path).block if deployment_path.exists() else 0
        return settings.registry_address, start
    if not deployment_path.exists():
        raise ConfigError(
            f"no registry address: set KPCHAIN_REGISTRY_ADDRESS, or KPCHAIN_DEPLOYMENT_FILE to a "
            f"deployments file (looked for {deployment_path})"
        )
    deployment = Deployment.read(deployment_path)
    if deployment.chain_id != settings.chain_id:
        raise ConfigError(
            f"{deployment_path} is for chain {deployment.chain_id}, but chain "
            f"{settings.chain_id} is configured"
        )
    return deployment.address, deployment.block


def _governance(settings: Settings, w3: Web3, registry: Registry) -> Governance | None:
    """The governance of `registry`: the KPGovernor of KPCHAIN_GOVERNOR_ADDRESS or of the
    deployments file, checked to govern this registry; None when neither names one (a
    deployment from before the governance)."""
    address = settings.governor_address
    path = settings.deployment_path
    if address is None and path.exists():
        address = Deployment.read(path).governor_address
    if address is None:
        logger.warning("no governance contracts known: the /v1/governance routes answer 404")
        return None
    governance = Governance(w3, address)
    if governance.registry_address != registry.address:
        raise ConfigError(
            f"the governor {governance.address} governs the registry "
            f"{governance.registry_address}, not {registry.address}: check "
            "KPCHAIN_GOVERNOR_ADDRESS and the deployments file"
        )
    return governance


def _validator_voter(
    settings: Settings, sessions: sessionmaker[Session], governance: GovernanceService | None
) -> ValidatorVoter | None:
    if settings.node_admin_url is None:
        return None
    if governance is None:
        raise ConfigError(
            "KPCHAIN_NODE_ADMIN_URL is set, but no governance contracts are known: the node's "
            "validator votes follow the governance's ValidatorSet"
        )
    logger.info("validator votes go to the node's admin listener (KPCHAIN_NODE_ADMIN_URL)")
    return ValidatorVoter(sessions, settings.node_admin_url)


def _hosting(settings: Settings, w3: Web3) -> Hosting:
    if settings.signers_file is None:
        logger.warning("no KPCHAIN_SIGNERS_FILE: the service is read-only")
        return Hosting({})
    hosted = SignersConfig.load(settings.signers_file).open_all(development=settings.development)

    def sender(signer: Signer) -> TransactionSender:
        return TransactionSender(
            w3, signer, chain_id=settings.chain_id, receipt_timeout=settings.receipt_timeout
        )

    return Hosting(
        {code: sender(s) for code, s in hosted.participants.items()},
        {code: sender(s) for code, s in hosted.admins.items()},
    )
