"""Settings from the environment (prefix `KPCHAIN_`), read once per process by `get_settings`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

AUDIT_MIN_RETENTION_DAYS = 5 * 365 + 2
"""Five years, whichever days they span (two leap days at most): the audit trail never keeps
its records for less."""
AUDIT_DEFAULT_RETENTION_DAYS = 5 * 365 + 30
"""A little over five years: a record is still there at its fifth anniversary's audit."""


class Settings(BaseSettings):
    """kpchain's configuration; every field can be set as `KPCHAIN_<FIELD>`.

    Attributes:
        rpc_url: the JSON-RPC endpoint of a node of the chain.
        chain_id: the chain id the node must serve; anything else is refused.
        network: the network's name, used for `deployments/<network>.json`.
        deployments_dir: where deployments files are written and read.
        keystore: the encrypted JSON keystore of the account kpchain acts as.
        keystore_passphrase: the keystore's passphrase (`KPCHAIN_KEYSTORE_PASSPHRASE`).
        keystore_passphrase_file: a file holding the passphrase, as mounted secrets are.
        development: allows the well-known development keys; never set it on a real network.
        registry_address: the CertificateRegistry's address; default: from the deployments file.
        governor_address: the KPGovernor's address (the governance of the registry); default:
            from the deployments file. Without one, the governance routes answer 404.
        node_admin_url: this participant's own node's admin listener (``ws://127.0.0.1:…``,
            network.json's admin_url). When set, the service proposes the validator votes the
            consortium decided on (ValidatorSet) to its node (`qbft_proposeValidatorVote`);
            unset (the default), it leaves the node's votes alone.
        deployment_file: the deployments file to read the address and start block from; default
            ``<deployments_dir>/<network>.json``.
        database_url: the service's SQL store (index, API keys, operations): a SQLite file by
            default, PostgreSQL by URL (``postgresql://user:pass@host/db``).
        signers_file: the participants this service hosts and how each one's key is opened (a
            JSON or YAML file; see `kpchain.signing.specs`).
        api_host: the address the service listens on.
        api_port: the port the service listens on.
        confirmations: blocks the indexer stays behind the head; 0 on instant-finality chains
            (QBFT), a few on chains that can reorg (Clique, anvil's reorg tests).
        index_poll_interval: seconds between the indexer's polls of the node.
        receipt_timeout: seconds a write waits for its transaction to be mined before it answers
            503 and leaves the operation to finish in the background.
        reconcile_interval: seconds between the service's passes over unfinished operations.
        coalesce_writes: send the registry calls one account has ready at the same moment as
            one transaction (a `multicall`; see `kpchain.service.batching`). Off, every write
            is a transaction of its own.
        api_threads: worker threads serving blocking requests at once. A write holds one while
            it waits for its block, so chains with a block period want many; where blocks come
            at once (anvil's automine) fewer are faster, since the service is CPU-bound and
            threads only contend for Python's GIL (see `make bench`).
        webhooks_file: participants whose events are also POSTed to a URL of theirs (a JSON or
            YAML file; see `kpchain.service.webhooks`).
        public_url: the address people reach this service at (the printable certificate's QR
            code opens ``<public_url>/verify/<cert_no>``); default ``http://<api_host>:<api_port>``.
        overdue_days: days after shipping without a confirmation of receipt before monitoring
            reports a certificate as overdue.
        outlier_factor: monitoring flags a certificate whose value per carat is above this
            multiple of the median for its origin, or below the median divided by it.
        max_validity_days: the most calendar days (issue and expiry day included) a certificate
            this service issues may be valid on; unset, only the registry's `maxValidity`
            applies, which stays the hard rule: this may only be stricter.
        max_issue_age_days: the most days before today (UTC) a certificate this service issues
            may be dated (`issued_at`): a KP certificate is issued for a shipment about to
            leave, and an older date is a mistake or a back-dated certificate. Replaying a past
            year (the benchmarks) sets it high.
        time_zones: the time zone of each hosted participant whose certificates expire at the
            end of a day other than UTC's, by code (IANA names: ``{"BW": "Africa/Gaborone"}``;
            `KPCHAIN_TIME_ZONES` as JSON); the others are UTC. A document then carries its
            zone's UTC offset on the expiry day (`expiry_utc_offset`), so that every party
            recomputes the same `expiresAt`.
        max_body_bytes: the largest request body the service reads (API and dashboard forms);
            a larger one is refused with 413 before it is parsed.
        max_batch_body_bytes: the same for `POST /v1/certificates/batch`, sized for its 100
            certificates.
        metrics_key: the bearer token `GET /metrics` requires; without one, the service does
            not serve metrics at all (they describe its traffic to anyone who can reach it).
        dashboard_idle_minutes: a dashboard session without a request for this long ends.
        dashboard_session_hours: a dashboard session ends this long after log-in, however busy.
        max_streams_per_key: event streams (`GET /v1/events`) one API key may hold open at once.
        exchange_passphrase: the passphrase the hosted participants' document encryption keys
            are stored under (`KPCHAIN_EXCHANGE_PASSPHRASE`); in development a public default.
        exchange_passphrase_file: a file holding it, as mounted secrets are.
        exchange_allow_http: register and deliver to http:// endpoints; only with
            `development` (documents go over https otherwise).
        exchange_max_backoff: the longest wait, in seconds, between two attempts to deliver a
            document to an importer's service that refused it or did not answer.
        max_envelope_bytes: the largest envelope `POST /v1/exchange/envelopes` reads.
        cjk_font: the font the printable certificate prints Chinese, Japanese and Korean
            characters with (a .ttf, .otf or .ttc file); empty: the one fontconfig or a known
            Debian path finds (fonts-noto-cjk, fonts-wqy-*), if any; ``none``: no CJK font (the
            certificate then says it cannot show them).
        audit_retention_days: how long the audit trail keeps a record; at least five years
            (1827 days; a smaller value is refused). Older records are purged at start-up and
            by `kpchain audit purge`.
        trusted_proxies: the addresses (comma-separated) of the reverse proxies whose
            `X-Forwarded-For` and `X-Forwarded-Proto` are believed (`kpchain serve`); empty (the
            default), the audit trail records the address of the peer itself.
    """

    model_config = SettingsConfigDict(env_prefix="KPCHAIN_", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = 2021
    network: str = "kp-devnet"
    deployments_dir: Path = Path("deployments")
    keystore: Path | None = None
    keystore_passphrase: SecretStr | None = None
    keystore_passphrase_file: Path | None = None
    development: bool = False
    registry_address: str | None = None
    governor_address: str | None = None
    node_admin_url: str | None = None
    deployment_file: Path | None = None
    database_url: str = "sqlite:///.kpchain/kpchain.db"
    signers_file: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    confirmations: int = Field(default=0, ge=0)
    index_poll_interval: float = Field(default=0.5, gt=0)
    receipt_timeout: float = Field(default=60.0, gt=0)
    reconcile_interval: float = Field(default=5.0, gt=0)
    coalesce_writes: bool = True
    webhooks_file: Path | None = None
    api_threads: int = Field(default=40, ge=1, le=1000)
    public_url: str | None = None
    overdue_days: int = Field(default=30, ge=1)
    outlier_factor: float = Field(default=3.0, gt=1)
    max_validity_days: int | None = Field(default=None, ge=1)
    max_issue_age_days: int = Field(default=30, ge=0)
    time_zones: dict[str, str] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=2**20, ge=1024)
    max_batch_body_bytes: int = Field(default=4 * 2**20, ge=1024)
    metrics_key: SecretStr | None = None
    dashboard_idle_minutes: int = Field(default=30, ge=1)
    dashboard_session_hours: int = Field(default=12, ge=1)
    max_streams_per_key: int = Field(default=4, ge=1)
    exchange_passphrase: SecretStr | None = None
    exchange_passphrase_file: Path | None = None
    exchange_allow_http: bool = False
    exchange_max_backoff: float = Field(default=300.0, ge=1)
    max_envelope_bytes: int = Field(default=256 * 2**10, ge=1024)
    cjk_font: str = ""
    audit_retention_days: int = AUDIT_DEFAULT_RETENTION_DAYS
    trusted_proxies: str = ""

    @field_validator("time_zones")
    @classmethod
    def _check_time_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for code, name in value.items():
            check_time_zone(code, name)
        return value

    @field_validator("audit_retention_days")
    @classmethod
    def _keep_five_years(cls, days: int) -> int:
        if days < AUDIT_MIN_RETENTION_DAYS:
            raise ValueError(
                f"the audit trail is kept at least five years: KPCHAIN_AUDIT_RETENTION_DAYS "
                f"must be {AUDIT_MIN_RETENTION_DAYS} or more (default "
                f"{AUDIT_DEFAULT_RETENTION_DAYS}), not {days}"
            )
        return days

    @property
    def base_url(self) -> str:
        """Where people reach this service, without a trailing slash."""
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def deployment_path(self) -> Path:
        """The deployments file this service reads its contract from."""
        return self.deployment_file or self.deployments_dir / f"{self.network}.json"


_CODE = re.compile(r"[A-Z]{2}")
# The offsets a document's expiry may have (kpchain.certificates.fields.UtcOffset), in seconds.
_OFFSETS = range(-10 * 3600, 14 * 3600)


@cache
def _zone_names() -> frozenset[str]:
    # IANA's Area/Location names and UTC: not the database's other files ("localtime",
    # "posixrules", "posix/…"), which name no zone or a copy of one.
    return frozenset(
        name
        for name in available_timezones()
        if name == "UTC" or ("/" in name and not name.startswith(("posix/", "right/")))
    )


def check_time_zone(code: str, name: str) -> ZoneInfo:
    """The zone named `name` for participant `code`, as `Settings.time_zones` takes it.

    Raises:
        ValueError: `code` is not a participant code, `name` is not an IANA time zone, or its
            UTC offset this year leaves -10:00 to +13:59 (the expiry offsets documents take).
    """
    if not _CODE.fullmatch(code):
        raise ValueError(f"time_zones: {code!r} is not a participant code such as BW")
    if name not in _zone_names():
        raise ValueError(
            f"time_zones: {name!r} (for {code}) is not an IANA time zone name such as "
            '"Africa/Gaborone" or "UTC"'
        )
    zone = ZoneInfo(name)
    year = datetime.now().year
    for month in (1, 7):
        offset = datetime(year, month, 1, tzinfo=zone).utcoffset() or timedelta()
        if int(offset.total_seconds()) not in _OFFSETS:
            raise ValueError(
                f"time_zones: {name} (for {code}) is {offset} from UTC; a certificate's expiry "
                "is kept at offsets from -10:00 to +13:59"
            )
    return zone


@cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use.

    Tests that change the environment call `get_settings.cache_clear()`.
    """
    return Settings()
