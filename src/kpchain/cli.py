"""The `kpchain` command."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kpchain.consortium.commands import consortium
from kpchain.contracts.founding import GovernanceSettings
from kpchain.errors import KpchainError
from kpchain.vocabulary import RejectionReasonLabel, Role, WithdrawalReasonLabel

if TYPE_CHECKING:
    from kpchain.verification.checks import Verification


class _Group(click.Group):
    """Turns kpchain errors into one clear line and exit status 1, instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KpchainError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc


@click.group(cls=_Group)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """kpchain: digital Kimberley Process certificates on a consortium chain."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


@main.command("compile")
@click.option("--project", type=click.Path(path_type=Path), default=Path("."), show_default=True)
def compile_command(project: Path) -> None:
    """Compile contracts/ with py-solc-x and refresh src/kpchain/artifacts."""
    from kpchain.compile import compile_contracts, write_artifacts

    artifacts = compile_contracts(project.resolve())
    write_artifacts(artifacts)
    click.echo(f"compiled {', '.join(sorted(artifacts))}")


def governance_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The founders and the governance settings of `kpchain deploy` (and `ape run deploy`)."""
    defaults = GovernanceSettings()
    options = [
        click.option(
            "--founders",
            "founders_file",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="YAML or JSON file of the founding members: CODE: {admin: '0x…'} each "
            "(optional status and zones: their founding state), or the network.json of "
            "`kpchain consortium init` (its members, and its nodes' validators).",
        ),
        click.option(
            "--voting-delay",
            type=click.IntRange(min=0),
            default=defaults.voting_delay,
            show_default=True,
            help="Seconds between a proposal and the start of its vote.",
        ),
        click.option(
            "--voting-period",
            type=click.IntRange(min=1),
            default=defaults.voting_period,
            show_default=True,
            help="Seconds a vote lasts.",
        ),
        click.option(
            "--timelock-delay",
            type=click.IntRange(min=0),
            default=defaults.timelock_delay,
            show_default=True,
            help="Seconds between queueing a passed proposal and executing it.",
        ),
        click.option(
            "--quorum",
            type=click.IntRange(min=2),
            help="Approvals a proposal needs; default a majority of the Active founders.",
        ),
        click.option(
            "--emergency-threshold-bps",
            type=click.IntRange(min=5001, max=10_000),
            default=defaults.emergency_threshold_bps,
            show_default=True,
            help="Share of the seats (basis points) whose approvals suspend at once.",
        ),
        click.option(
            "--validator",
            "validators",
            multiple=True,
            help="A genesis validator address, for the ValidatorSet (repeat for each); "
            "default the validators of a network.json given as --founders.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command("deploy")
@click.option("--rpc-url", help="JSON-RPC endpoint; default KPCHAIN_RPC_URL.")
@click.option(
    "--chain-id", type=int, help="Chain id the node must serve; default KPCHAIN_CHAIN_ID."
)
@click.option("--network", help="Network name for <network>.json; default KPCHAIN_NETWORK.")
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Encrypted JSON keystore of the deployer; default KPCHAIN_KEYSTORE.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the keystore passphrase; default KPCHAIN_KEYSTORE_PASSPHRASE(_FILE).",
)
@governance_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for <network>.json; default KPCHAIN_DEPLOYMENTS_DIR (deployments/).",
)
@click.option(
    "--confirmations",
    type=click.IntRange(min=0),
    help="Blocks each step's block must be below the head before the next (chains that can "
    "reorg); default KPCHAIN_CONFIRMATIONS (0: instant finality, as on QBFT).",
)
def deploy_command(
    rpc_url: str | None,
    chain_id: int | None,
    network: str | None,
    keystore: Path | None,
    passphrase_file: Path | None,
    founders_file: Path,
    voting_delay: int,
    voting_period: int,
    timelock_delay: int,
    quorum: int | None,
    emergency_threshold_bps: int,
    validators: tuple[str, ...],
    out: Path | None,
    confirmations: int | None,
) -> None:
    """Deploy the registry and its governance, admit the founders, hand every role over to the
    governance, and write deployments/<network>.json."""
    from kpchain.chain.connection import connect
    from kpchain.chain.transactions import TransactionSender
    from kpchain.config import get_settings
    from kpchain.deploy import deploy, read_founders, read_validators
    from kpchain.errors import ConfigError
    from kpchain.signing.keystore import KeystoreSigner

    settings = get_settings()
    keystore = keystore or settings.keystore
    if keystore is None:
        raise ConfigError("no deployer keystore: give --keystore FILE or set KPCHAIN_KEYSTORE")
    founders = read_founders(founders_file)
    chain_id = chain_id if chain_id is not None else settings.chain_id
    url = rpc_url or settings.rpc_url
    w3 = connect(url, expected_chain_id=chain_id)
    signer = KeystoreSigner.open(
        keystore,
        # An explicit --passphrase-file is the operator's choice for this run.
        passphrase=None if passphrase_file else settings.keystore_passphrase,
        passphrase_file=passphrase_file or settings.keystore_passphrase_file,
        development=settings.development,
    )
    deployment = deploy(
        TransactionSender(w3, signer, chain_id=chain_id),
        founders=founders,
        governance=GovernanceSettings(
            voting_delay=voting_delay,
            voting_period=voting_period,
            timelock_delay=timelock_delay,
            quorum=quorum,
            emergency_threshold_bps=emergency_threshold_bps,
        ),
        validators=validators or read_validators(founders_file),
        network=network or settings.network,
        expected_chain_id=chain_id,
        confirmations=settings.confirmations if confirmations is None else confirmations,
    )
    path = deployment.write(out or settings.deployments_dir)
    click.echo(f"CertificateRegistry {deployment.address}")
    click.echo(f"KPGovernor {deployment.governor} ({len(founders)} founders)")
    click.echo(f"block {deployment.block} (chain {deployment.chain_id})")
    click.echo(f"wrote {path}")


@main.group()
def keys() -> None:
    """Create and inspect signing keys."""


@keys.command("new-keystore")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keystore file to create; never overwritten.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the passphrase; default KPCHAIN_KEYSTORE_PASSPHRASE(_FILE).",
)
def new_keystore(out: Path, passphrase_file: Path | None) -> None:
    """Create an encrypted keystore holding a fresh key; prints its address."""
    from kpchain.config import get_settings
    from kpchain.signing.keystore import create_keystore, resolve_passphrase

    settings = get_settings()
    passphrase = resolve_passphrase(
        passphrase=None if passphrase_file else settings.keystore_passphrase,
        passphrase_file=passphrase_file or settings.keystore_passphrase_file,
    )
    click.echo(create_keystore(out, passphrase=passphrase))


@keys.command("create")
@click.option("--participant", help="Participant code the key acts for (not for governors).")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="clerk/auditor read; officer signs and submits; admin proposes and votes for its "
    "participant; governor reads the registry (no key governs).",
)
@click.option("--label", help="A note to recognise the key by (who holds it).")
def keys_create(participant: str | None, role: str, label: str | None) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from kpchain.audit.trail import record_command
    from kpchain.config import get_settings
    from kpchain.service.keys import create_key
    from kpchain.store import create_engine, migrate, session_factory

    engine = create_engine(get_settings().database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        issued = create_key(session, participant=participant, role=role, label=label)
        session.flush()
        record_command(  # the audit trail's, committed with the key
            session.connection(),
            "keys create",
            key_id=issued.principal.key_id,
            participant=participant,
            role=role,
            label=label,
        )
        session.commit()
    engine.dispose()
    click.echo(issued.token)
    scope = issued.principal.participant or "the registry"
    click.echo(f"{role} key {issued.principal.key_id} for {scope}; store it now", err=True)


@keys.command("list")
def keys_list() -> None:
    """List API keys (ids and scopes; secrets are never stored)."""
    from kpchain.config import get_settings
    from kpchain.service.keys import list_keys
    from kpchain.store import create_engine, migrate, session_factory

    engine = create_engine(get_settings().database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        for key in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            who = key.participant or "--"
            click.echo(f"{key.id}  {who}  {key.role:<8}  {state}  {key.label or ''}".rstrip())
    engine.dispose()


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key by its id (the part after `kp_`)."""
    from kpchain.audit.trail import record_command
    from kpchain.config import get_settings
    from kpchain.service.keys import revoke_key
    from kpchain.store import create_engine, migrate, session_factory

    engine = create_engine(get_settings().database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        revoked = revoke_key(session, key_id)
        if revoked:
            session.flush()
            # The audit trail's, committed with the revocation.
            record_command(session.connection(), "keys revoke", key_id=key_id)
        session.commit()
    engine.dispose()
    if not revoked:
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@main.command("serve")
@click.option("--host", help="Listen address; default KPCHAIN_API_HOST (127.0.0.1).")
@click.option("--port", type=int, help="Listen port; default KPCHAIN_API_PORT (8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the authority service (API, index, reconciler) with uvicorn."""
    import uvicorn

    from kpchain.app import create_app
    from kpchain.config import get_settings

    settings = get_settings()
    # Only the proxies named are believed about the client's address (the audit trail records
    # it) and scheme; uvicorn would otherwise believe any peer on 127.0.0.1.
    proxies = [
        address.strip() for address in settings.trusted_proxies.split(",") if address.strip()
    ]
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        access_log=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


@main.group()
def audit() -> None:
    """The audit trail: every request that changed or tried to change anything."""


@audit.command("purge")
@click.option(
    "--days",
    type=int,
    help="Keep this many days (at least five years); default KPCHAIN_AUDIT_RETENTION_DAYS.",
)
def audit_purge(days: int | None) -> None:
    """Delete the audit records older than the retention (the service also does at start-up)."""
    from kpchain.audit.trail import AuditTrail, check_retention
    from kpchain.config import get_settings
    from kpchain.store import create_engine, migrate

    settings = get_settings()
    try:
        retention = check_retention(settings.audit_retention_days if days is None else days)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--days") from None
    engine = create_engine(settings.database_url)
    migrate(engine)
    try:
        purged = AuditTrail(engine).purge(retention_days=retention)
    finally:
        engine.dispose()
    click.echo(f"purged {purged} audit records older than {retention} days")


@audit.command("export")
@click.option("--from", "start", help="ISO date or datetime (UTC), included.")
@click.option("--to", "end", help="ISO date (that day included) or datetime (excluded).")
@click.option("--participant", help="Only this participant's records; default every record.")
def audit_export(start: str | None, end: str | None, participant: str | None) -> None:
    """Print the audit trail as CSV (every participant's, and the records of no key)."""
    from kpchain.audit.queries import records_csv, time_range
    from kpchain.config import get_settings
    from kpchain.errors import InvalidRequestError
    from kpchain.store import create_engine, migrate, session_factory

    try:
        bounds = time_range(start, end)
    except InvalidRequestError as exc:
        raise click.UsageError(exc.message) from None
    engine = create_engine(get_settings().database_url)
    migrate(engine)
    try:
        with session_factory(engine)() as session:
            click.echo(records_csv(session, participant=participant, bounds=bounds), nl=False)
    finally:
        engine.dispose()


@main.group()
def index() -> None:
    """Follow the chain into the SQL index, or rebuild the index from the chain."""


@index.command("run")
def index_run() -> None:
    """Follow the registry's events into the index until interrupted (Ctrl-C)."""
    import threading

    from kpchain.runtime import index_runtime

    runtime = index_runtime()
    stop = threading.Event()
    click.echo(f"indexing {runtime.registry} into {runtime.database}; Ctrl-C stops")
    try:
        runtime.indexer.run(stop, poll_interval=runtime.poll_interval)
    except KeyboardInterrupt:
        stop.set()
    finally:
        runtime.owner.release()
    click.echo(f"stopped at block {runtime.indexer.head}")


@index.command("rebuild")
def index_rebuild() -> None:
    """Drop the index and rebuild it from the chain (service tables are kept)."""
    from kpchain.runtime import index_runtime

    runtime = index_runtime()
    bar: Any
    try:
        with click.progressbar(length=1, label="rebuilding the index", show_pos=True) as bar:

            def progress(done: int, target: int) -> None:
                bar.length = max(target - runtime.start_block, 1)
                bar.update(done - runtime.start_block - bar.pos)

            runtime.indexer.rebuild(progress=progress)
    finally:
        runtime.owner.release()
    click.echo(f"index rebuilt to block {runtime.indexer.head}")


@main.group()
@click.option("--api-url", envvar="KPCHAIN_API_URL", help="Default KPCHAIN_API_URL or devnet.json.")
@click.option("--api-key", envvar="KPCHAIN_API_KEY", help="Default KPCHAIN_API_KEY.")
@click.pass_context
def cert(ctx: click.Context, api_url: str | None, api_key: str | None) -> None:
    """Certificate operations through the authority service's API."""
    ctx.obj = _ServiceClient(ctx, api_url=api_url, api_key=api_key)


class _ServiceClient:
    """The `cert` commands' client of the service, opened when a command first uses it: so
    that `--help` needs neither a key nor a running service."""

    def __init__(self, ctx: click.Context, *, api_url: str | None, api_key: str | None) -> None:
        self._ctx = ctx
        self._api_url = api_url
        self._api_key = api_key
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            from kpchain.client import KpchainClient

            if not self._api_key:
                raise click.UsageError("give --api-key or set KPCHAIN_API_KEY (see devnet.json)")
            url = self._api_url or _devnet_api_url() or "http://127.0.0.1:8000"
            self._client = self._ctx.with_resource(KpchainClient(url, self._api_key))
        return getattr(self._client, name)


_idempotency = click.option(
    "--idempotency-key", help="Reuse to retry safely; default: a fresh key per command."
)


@cert.command("issue")
@click.argument("document", type=click.File("r"))
@_idempotency
@click.pass_obj
def cert_issue(client: Any, document: Any, idempotency_key: str | None) -> None:
    """Sign and issue the certificate document in DOCUMENT (JSON; `-` for stdin)."""
    _print(client.issue(json.load(document), idempotency_key=idempotency_key))


@cert.command("ship")
@click.argument("cert_no")
@click.option("--seal-ref", help="Seal or container reference (hashed on chain).")
@_idempotency
@click.pass_obj
def cert_ship(client: Any, cert_no: str, seal_ref: str | None, idempotency_key: str | None) -> None:
    """Mark CERT_NO shipped: the advance notice to the importer."""
    _print(client.ship(cert_no, seal_ref, idempotency_key=idempotency_key))


@cert.command("receive")
@click.argument("cert_no")
@click.option("--parcels", type=int, required=True)
@click.option("--carats", required=True, help="Carats received, e.g. 1234.56.")
@click.option("--received-at", required=True, help="Date of receipt, YYYY-MM-DD.")
@_idempotency
@click.pass_obj
def cert_receive(
    client: Any,
    cert_no: str,
    parcels: int,
    carats: str,
    received_at: str,
    idempotency_key: str | None,
) -> None:
    """Confirm receipt of CERT_NO (the KP import confirmation)."""
    _print(
        client.receive(
            cert_no,
            parcels=parcels,
            carats=carats,
            received_at=received_at,
            idempotency_key=idempotency_key,
        )
    )


@cert.command("reject")
@click.argument("cert_no")
@click.option(
    "--reason",
    required=True,
    type=click.Choice([reason.value for reason in RejectionReasonLabel]),
)
@click.option("--note")
@_idempotency
@click.pass_obj
def cert_reject(
    client: Any, cert_no: str, reason: str, note: str | None, idempotency_key: str | None
) -> None:
    """Reject the shipment of CERT_NO."""
    _print(client.reject(cert_no, reason=reason, note=note, idempotency_key=idempotency_key))


@cert.command("cancel")
@click.argument("cert_no")
@click.option("--reason")
@_idempotency
@click.pass_obj
def cert_cancel(client: Any, cert_no: str, reason: str | None, idempotency_key: str | None) -> None:
    """Cancel CERT_NO (not yet shipped)."""
    _print(client.cancel(cert_no, reason=reason, idempotency_key=idempotency_key))


@cert.command("withdraw")
@click.argument("cert_no")
@click.option(
    "--reason",
    required=True,
    type=click.Choice([reason.value for reason in WithdrawalReasonLabel]),
)
@click.option("--note")
@_idempotency
@click.pass_obj
def cert_withdraw(
    client: Any, cert_no: str, reason: str, note: str | None, idempotency_key: str | None
) -> None:
    """Withdraw the shipment of CERT_NO, its importer no longer Active (suspended, withdrawn)."""
    _print(client.withdraw(cert_no, reason=reason, note=note, idempotency_key=idempotency_key))


@cert.command("show")
@click.argument("cert_no")
@click.option("--document", "with_document", is_flag=True, help="Show the signed document.")
@click.pass_obj
def cert_show(client: Any, cert_no: str, with_document: bool) -> None:
    """Show the certificate view of CERT_NO (or its signed document)."""
    _print(client.document(cert_no) if with_document else client.certificate(cert_no))


@main.group()
@click.option("--api-url", envvar="KPCHAIN_API_URL", help="Default KPCHAIN_API_URL or devnet.json.")
@click.option("--api-key", envvar="KPCHAIN_API_KEY", help="Default KPCHAIN_API_KEY.")
@click.pass_context
def exchange(ctx: click.Context, api_url: str | None, api_key: str | None) -> None:
    """The private document exchange with other participants' services, through the API."""
    ctx.obj = _ServiceClient(ctx, api_url=api_url, api_key=api_key)


@exchange.command("resend")
@click.argument("cert_no")
@click.pass_obj
def exchange_resend(client: Any, cert_no: str) -> None:
    """Queue the delivery of CERT_NO's document to its importer again (an officer's key of the
    exporter)."""
    _print(client.resend(cert_no))


@exchange.command("status")
@click.argument("cert_no")
@click.pass_obj
def exchange_status(client: Any, cert_no: str) -> None:
    """Show whether CERT_NO's document has reached the importer's service."""
    _print(client.delivery(cert_no))


@exchange.command("endpoint")
@click.argument("participant")
@click.option("--url", help="Base URL other services deliver to; default the service's own.")
@click.option("--rotate-key", is_flag=True, help="Make and register a new encryption key.")
@click.option("--show", is_flag=True, help="Only show the registered endpoint and key history.")
@_idempotency
@click.pass_obj
def exchange_endpoint(
    client: Any,
    participant: str,
    url: str | None,
    rotate_key: bool,
    show: bool,
    idempotency_key: str | None,
) -> None:
    """Register PARTICIPANT's service endpoint and encryption key on chain (its admin's key),
    or --show them."""
    if show:
        _print(client.endpoint(participant))
        return
    _print(
        client.set_endpoint(
            participant, url=url, rotate_key=rotate_key, idempotency_key=idempotency_key
        )
    )


@exchange.command("import-key")
@click.argument("participant")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--passphrase-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding KEY_FILE's passphrase.",
)
def exchange_import_key(participant: str, key_file: Path, passphrase_file: Path) -> None:
    """Keep PARTICIPANT's encryption key from KEY_FILE (the encryption-key.pem of `kpchain
    consortium join`) in this service's database, under KPCHAIN_EXCHANGE_PASSPHRASE; register
    it next with `kpchain exchange endpoint PARTICIPANT`. Prints the public key."""
    from kpchain.config import get_settings
    from kpchain.exchange.keys import KeyRing, exchange_passphrase
    from kpchain.store import create_engine, migrate, session_factory

    settings = get_settings()
    passphrase = exchange_passphrase(
        passphrase=settings.exchange_passphrase,
        passphrase_file=settings.exchange_passphrase_file,
        development=settings.development,
    )
    engine = create_engine(settings.database_url)
    migrate(engine)
    try:
        ring = KeyRing(session_factory(engine), passphrase=passphrase)
        public_key = ring.import_pem(
            participant,
            key_file.read_text(),
            passphrase=passphrase_file.read_text().rstrip("\r\n"),
        )
    except ValueError as exc:
        raise click.ClickException(f"cannot import {key_file}: {exc}") from None
    finally:
        engine.dispose()
    click.echo(public_key)


@main.group()
@click.option("--api-url", envvar="KPCHAIN_API_URL", help="Default KPCHAIN_API_URL or devnet.json.")
@click.option("--api-key", envvar="KPCHAIN_API_KEY", help="Default KPCHAIN_API_KEY.")
@click.pass_context
def authorities(ctx: click.Context, api_url: str | None, api_key: str | None) -> None:
    """A participant's authority keys (the keys that sign its certificates), added and revoked
    on chain by its admin through the API: an API key of role admin for the participant, whose
    service hosts the participant's admin key. Each prints the participant once mined."""
    ctx.obj = _ServiceClient(ctx, api_url=api_url, api_key=api_key)


@authorities.command("add")
@click.argument("participant")
@click.argument("account")
@_idempotency
@click.pass_obj
def authorities_add(
    client: Any, participant: str, account: str, idempotency_key: str | None
) -> None:
    """Make ACCOUNT (0x…) an authority of PARTICIPANT."""
    _print(client.add_authority(participant, account, idempotency_key=idempotency_key))


@authorities.command("revoke")
@click.argument("participant")
@click.argument("account")
@_idempotency
@click.pass_obj
def authorities_revoke(
    client: Any, participant: str, account: str, idempotency_key: str | None
) -> None:
    """Revoke ACCOUNT (0x…) as an authority of PARTICIPANT: a leaked or retired key signs no
    new certificate (those it signed stay valid)."""
    _print(client.revoke_authority(participant, account, idempotency_key=idempotency_key))


def _print(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


def _devnet_api_url() -> str | None:
    path = Path(".kpchain/devnet.json")
    try:
        return str(json.loads(path.read_text())["api_url"])
    except (OSError, ValueError, KeyError):
        return None


@main.command("verify")
@click.argument("file", type=click.File("r"))
@click.option("--rpc-url", help="JSON-RPC endpoint of a node; default KPCHAIN_RPC_URL.")
@click.option(
    "--chain-id", type=int, help="Chain id the node must serve; default KPCHAIN_CHAIN_ID."
)
@click.option(
    "--registry",
    "registry_address",
    help="CertificateRegistry address; default KPCHAIN_REGISTRY_ADDRESS or the deployments file.",
)
@click.option(
    "--from-block",
    type=click.IntRange(min=0),
    help="First block to read events from; default the deployment's block (or 0).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify_command(
    file: Any,
    rpc_url: str | None,
    chain_id: int | None,
    registry_address: str | None,
    from_block: int | None,
    as_json: bool,
) -> None:
    """Verify the signed certificate document in FILE against the chain, without the service.

    FILE is the JSON of GET /v1/certificates/{cert_no}/document (`-` for stdin). Its hash is
    recomputed, its signature recovered, the signer's authority at the issue block and the
    certificate's status read from the node. Exits 1 when the certificate is not genuine.
    """
    from kpchain.chain.connection import connect
    from kpchain.config import get_settings
    from kpchain.contracts.registry import Registry
    from kpchain.runtime import registry_location
    from kpchain.verification.chain import verify_on_chain

    try:
        signed = json.load(file)
    except ValueError as exc:
        raise click.ClickException(f"{file.name} is not JSON: {exc}") from exc
    if not isinstance(signed, dict):
        raise click.ClickException(f"{file.name} is not a signed certificate document")
    settings = get_settings()
    if chain_id is not None:
        settings = settings.model_copy(update={"chain_id": chain_id})
    if registry_address is not None:
        settings = settings.model_copy(update={"registry_address": registry_address})
    address, deployment_block = registry_location(settings)
    w3 = connect(rpc_url or settings.rpc_url, expected_chain_id=settings.chain_id)
    report = verify_on_chain(
        Registry(w3, address),
        signed,
        chain_id=settings.chain_id,
        from_block=deployment_block if from_block is None else from_block,
    )
    if as_json:
        _print(report.as_dict())
    else:
        for line in _verification_lines(report):
            click.echo(line)
    if not report.genuine:
        raise click.exceptions.Exit(1)


def _verification_lines(report: Verification) -> list[str]:
    verdict = "GENUINE" if report.genuine else "NOT GENUINE"
    lines = [f"{report.cert_no}: {verdict}"]
    lines += [f"  {'✓' if c.passed else '✗'} {c.name}: {c.message}" for c in report.checks]
    if report.found:
        lines.append(
            f"status {report.status}; {report.exporting_participant} -> "
            f"{report.importing_participant}; origin {report.origin}; issued {report.issued_at}; "
            f"expires {report.expires_at}"
        )
    if report.problem:
        lines.append(f"failed: {report.problem}")
    if report.advice:
        lines.append(f"advice: {report.advice}")
    if report.note:
        lines.append(f"note: {report.note}")
    return lines


@main.group()
def devnet() -> None:
    """Run a local devnet: anvil with the consortium profile, deployed and seeded."""


_project_option = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project root; the devnet's files go to PROJECT/.kpchain.",
)


@devnet.command("up")
@_project_option
@click.option("--port", type=int, default=8545, show_default=True, help="JSON-RPC port.")
@click.option("--api-port", type=int, default=8000, show_default=True, help="Service port.")
@click.option("--no-service", is_flag=True, help="Only the chain: no service, no API keys.")
@click.option("--no-demo", is_flag=True, help="Do not issue the demo certificates.")
@click.option(
    "--sovereign",
    is_flag=True,
    help="BW, AE, IN, EU, RU and ZA each run a service of their own (ports from --api-port "
    "on) and exchange the documents; one more service hosts the other participants.",
)
def devnet_up(
    project: Path, port: int, api_port: int, no_service: bool, no_demo: bool, sovereign: bool
) -> None:
    """Start anvil, deploy, seed, start the service(s), issue demo certificates, write
    devnet.json."""
    from kpchain.devnet.devnet import DevnetPaths, up

    net = up(
        project,
        port=port,
        api_port=api_port,
        with_service=not no_service,
        demo=not no_demo,
        sovereign=sovereign,
    )
    paths = DevnetPaths.of(project)
    state = "started" if net.started else "already running, reused"
    click.echo(f"devnet {state}: {net.rpc_url} (chain id {net.chain_id}, anvil pid {net.pid})")
    origin = "deployed now" if net.deployed else "from the persisted chain state"
    click.echo(f"contract   {net.contract} (ParticipantRegistry + CertificateRegistry, {origin})")
    click.echo(
        f"governance {net.governor} (KPGovernor: proposals the participants' admins vote on; "
        "no account holds a role)"
    )
    click.echo("participants (development keys, see kpchain.devnet.seed):")
    for p in net.participants:
        click.echo(f"  {p.code}  {p.status.label:<9}  authority {p.authority}")
    click.echo(
        f"wrote {paths.config_file} (API keys of every participant, its admin key included, and "
        "the read-only governor key)"
    )
    if net.services:
        bw = net.api_keys.get("BW", {}).get("officer", "<BW officer key from devnet.json>")
        ae = net.api_keys.get("AE", {}).get("officer", "<AE officer key from devnet.json>")
        bw_url, ae_url = net.api_urls.get("BW", net.api_url), net.api_urls.get("AE", net.api_url)
        click.echo("")
        for running in net.services:
            hosts = " ".join(running.codes)
            click.echo(
                f"service    {running.url} (pid {running.pid}) hosts {hosts}; "
                f"log {running.log_file}"
            )
        year = datetime.now(UTC).year
        demo_no = f"BW-{year}-000001"
        click.echo(f"API docs   {bw_url}/docs")
        click.echo(f"dashboard  {ae_url}/dashboard (log in with AE's officer key: {ae})")
        click.echo(f"verify     {bw_url}/verify/{demo_no} (public)")
        click.echo(f"health     {bw_url}/readyz (metrics: set KPCHAIN_METRICS_KEY)")
        click.echo(f"demo       {net.demo_certificates} certificates issued through the API")
        click.echo("")
        told = "AE's service receives the document and" if bw_url != ae_url else "AE is told and"
        click.echo(f"try it (BW exports to AE; {told} confirms):")
        click.echo(f'  curl -s -H "Authorization: Bearer {bw}" {bw_url}/v1/certificates')
        click.echo(f'  curl -sN -H "Authorization: Bearer {ae}" "{ae_url}/v1/events?follow=false"')
        click.echo(
            f'  curl -s -o {demo_no}.pdf -H "Authorization: Bearer {ae}" '
            f"{ae_url}/v1/certificates/{demo_no}/pdf"
        )
        click.echo(
            f'  curl -s -H "Authorization: Bearer {ae}" "{ae_url}/v1/statistics?year={year}"'
        )
        click.echo(f"  KPCHAIN_API_KEY={bw} kpchain cert show {demo_no}")
    click.echo("stop it with: kpchain devnet down" + _project_flag(project))


@devnet.command("down")
@_project_option
def devnet_down(project: Path) -> None:
    """Stop the service and anvil that `kpchain devnet up` started (state and data are kept)."""
    from kpchain.devnet.devnet import down

    click.echo("devnet stopped" if down(project) else "devnet is not running")


@devnet.command("status")
@_project_option
def devnet_status(project: Path) -> None:
    """Say whether the devnet runs, its block number, contract and participant count."""
    from kpchain.devnet.devnet import status

    found = status(project)
    if not found.running:
        hint = "kpchain devnet up" + _project_flag(project)
        click.echo(f"devnet is not running; start it with: {hint}")
        return
    click.echo(f"devnet running: {found.rpc_url} (anvil pid {found.pid})")
    click.echo(f"block      {found.block_number if found.block_number is not None else 'unknown'}")
    click.echo(f"contract   {found.contract or 'none deployed'}")
    if found.participant_count is not None:
        click.echo(f"participants {found.participant_count}")
    if not found.services:
        click.echo("service    not running")
    for name, url in found.services:
        click.echo(f"service    {url} ({name})")


def _project_flag(project: Path) -> str:
    return "" if project == Path(".") else f" --project {project}"


@main.group()
def toolchain() -> None:
    """Set up the offline compiler toolchain."""


@toolchain.command("install-solc")
@click.option("--project", type=click.Path(path_type=Path), default=Path("."), show_default=True)
def install_solc(project: Path) -> None:
    """Put solc (native, or the solc-js adapter) where py-solc-x and ape-solidity look."""
    from kpchain.compile import CompilerConfig, install_solc_adapter

    root = project.resolve()
    target = install_solc_adapter(root, CompilerConfig.from_ape_config(root).version)
    click.echo(f"solc ready at {target}")


main.add_command(consortium)
