"""The `kpchain` command."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kpchain.errors import KpchainError


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
@click.option("--governor", help="Account given the governance roles; default: the deployer.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for <network>.json; default KPCHAIN_DEPLOYMENTS_DIR (deployments/).",
)
def deploy_command(
    rpc_url: str | None,
    chain_id: int | None,
    network: str | None,
    keystore: Path | None,
    passphrase_file: Path | None,
    governor: str | None,
    out: Path | None,
) -> None:
    """Deploy the registry, grant the governance roles and write deployments/<network>.json."""
    from kpchain.chain.connection import connect
    from kpchain.chain.transactions import TransactionSender
    from kpchain.config import get_settings
    from kpchain.deploy import deploy
    from kpchain.errors import ConfigError
    from kpchain.signing.keystore import KeystoreSigner

    settings = get_settings()
    keystore = keystore or settings.keystore
    if keystore is None:
        raise ConfigError("no deployer keystore: give --keystore FILE or set KPCHAIN_KEYSTORE")
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
        governor=governor or signer.address,
        network=network or settings.network,
        expected_chain_id=chain_id,
    )
    path = deployment.write(out or settings.deployments_dir)
    click.echo(f"CertificateRegistry {deployment.address}")
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
def devnet_up(project: Path, port: int) -> None:
    """Start anvil, deploy, seed the demo participants and write .kpchain/devnet.json."""
    from kpchain.devnet.devnet import DevnetPaths, up

    net = up(project, port=port)
    paths = DevnetPaths.of(project)
    state = "started" if net.started else "already running, reused"
    click.echo(f"devnet {state}: {net.rpc_url} (chain id {net.chain_id}, anvil pid {net.pid})")
    origin = "deployed now" if net.deployed else "from the persisted chain state"
    click.echo(f"contract   {net.contract} (ParticipantRegistry + CertificateRegistry, {origin})")
    click.echo(f"governor   {net.governor}")
    click.echo("participants (development keys, see kpchain.devnet.seed):")
    for p in net.participants:
        click.echo(f"  {p.code}  {p.status.label:<9}  admin {p.admin}  authority {p.authority}")
    click.echo(f"wrote {paths.config_file}")
    click.echo("stop it with: kpchain devnet down" + _project_flag(project))


@devnet.command("down")
@_project_option
def devnet_down(project: Path) -> None:
    """Stop the anvil that `kpchain devnet up` started (its state is kept)."""
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
