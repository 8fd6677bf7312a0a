"""`kpchain consortium`: generate a Besu QBFT network, and keep its permissions in step with the
registry. The work is done in `kpchain.consortium.generate` and `.permissions`."""

from __future__ import annotations

from pathlib import Path

import click

from kpchain.consortium.genesis import CONSORTIUM_CHAIN_ID, FREE_GAS_LIMIT, QbftParameters
from kpchain.consortium.participants import Participant
from kpchain.errors import ConfigError

_port = click.IntRange(1, 65_535)


@click.group()
def consortium() -> None:
    """Configure a consortium network of Besu QBFT nodes."""


@consortium.command("init")
@click.option(
    "--validators",
    required=True,
    help="Participant codes that each run a validator node, comma-separated: BW,RU,EU,AE,IN.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the network into; node keys already there are kept.",
)
@click.option(
    "--participants",
    "participants_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="YAML or JSON file of participants and their accounts (before a registry exists).",
)
@click.option("--rpc-url", help="Read the participants from the registry on this node instead.")
@click.option("--registry", help="With --rpc-url: the registry; default: settings/deployments.")
@click.option("--deployer", required=True, help="Account that deploys kpchain (allowlisted).")
@click.option("--governor", help="The registry's governor, if not the deployer (allowlisted).")
@click.option("--account", "accounts", multiple=True, help="Another account to allowlist.")
@click.option("--fund", is_flag=True, help="Give the deployer a balance at genesis.")
@click.option(
    "--chain-id",
    type=click.IntRange(min=1),
    default=CONSORTIUM_CHAIN_ID,
    show_default=True,
    help="Chain id of the new network (ape-config.yaml's kp-consortium).",
)
@click.option(
    "--block-period",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Seconds between blocks.",
)
@click.option(
    "--request-timeout",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Seconds a round waits for its block before a round change.",
)
@click.option(
    "--epoch-length",
    type=click.IntRange(min=1),
    default=30_000,
    show_default=True,
    help="Blocks between epochs, where pending validator votes are dropped.",
)
@click.option(
    "--gas-limit",
    type=click.IntRange(min=21_000),
    default=FREE_GAS_LIMIT,
    help="Block gas limit; default Besu's free-gas 0x1fffffffffffff.",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="Where peers reach the nodes: HOST for all, CODE=HOST for one (repeatable); "
    "default 127.0.0.1.",
)
@click.option(
    "--p2p-port-base", type=_port, default=30303, show_default=True, help="Node i: port + i."
)
@click.option(
    "--rpc-port-base", type=_port, default=8545, show_default=True, help="Node i: port + i."
)
@click.option("--rpc-host", default="127.0.0.1", show_default=True, help="JSON-RPC interface.")
def init(
    validators: str,
    out: Path,
    participants_file: Path | None,
    rpc_url: str | None,
    registry: str | None,
    deployer: str,
    governor: str | None,
    accounts: tuple[str, ...],
    fund: bool,
    chain_id: int,
    block_period: int,
    request_timeout: int,
    epoch_length: int,
    gas_limit: int,
    hosts: tuple[str, ...],
    p2p_port_base: int,
    rpc_port_base: int,
    rpc_host: str,
) -> None:
    """Write a QBFT network's genesis, node folders and operator README into OUT."""
    from kpchain.consortium.generate import NetworkOptions, create_network

    participants = _participants(participants_file, rpc_url, registry)
    host, per_node = _hosts(hosts)
    network = create_network(
        out,
        participants,
        NetworkOptions(
            validators=[code.strip() for code in validators.split(",") if code.strip()],
            parameters=QbftParameters(
                chain_id=chain_id,
                block_period=block_period,
                request_timeout=request_timeout,
                epoch_length=epoch_length,
                gas_limit=gas_limit,
            ),
            deployer=deployer,
            governor=governor,
            accounts=accounts,
            fund=fund,
            host=host,
            hosts=per_node,
            p2p_port_base=p2p_port_base,
            rpc_port_base=rpc_port_base,
            rpc_host=rpc_host,
        ),
    )
    click.echo(f"QBFT network, chain id {chain_id}, {len(network.nodes)} validators:")
    for node in network.nodes:
        kept = "new key" if node.code in network.created_keys else "key kept"
        click.echo(f"  {node.code}  {node.validator}  {network.rpc_url(node)}  ({kept})")
        click.echo(f"      {node.enode}")
    if len(network.nodes) < 4:
        click.echo("note: QBFT survives a failed validator only from 4 validators on", err=True)
    click.echo(f"accounts allowlist: {len(network.allowlist)} accounts")
    click.echo(f"wrote {out}; each nodes/<CODE>/ holds that node's private key: hand it over")
    click.echo(f"securely. Start order and next steps: {out / 'README.md'}")


@consortium.command("permissions")
@click.option("--rpc-url", help="A node of the chain with the registry; default KPCHAIN_RPC_URL.")
@click.option("--registry", help="The registry; default KPCHAIN_REGISTRY_ADDRESS or deployments.")
@click.option("--account", "accounts", multiple=True, help="Another account to allowlist.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Permissions file to write the accounts allowlist into (its nodes allowlist is kept).",
)
@click.option("--push", "push_urls", multiple=True, help="JSON-RPC URL of a node to update.")
@click.option("--dry-run", is_flag=True, help="With --push: show the changes, make none.")
def permissions(
    rpc_url: str | None,
    registry: str | None,
    accounts: tuple[str, ...],
    out: Path | None,
    push_urls: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Regenerate the accounts allowlist from the registry; write it, or push it to nodes."""
    from kpchain.config import get_settings
    from kpchain.consortium.participants import open_registry, read_registry
    from kpchain.consortium.permissions import (
        accounts_allowlist,
        push_accounts_allowlist,
        replace_accounts_allowlist,
    )

    settings = get_settings()
    source = open_registry(rpc_url or settings.rpc_url, settings, registry_address=registry)
    deployment = source.deployment
    allowlist = accounts_allowlist(
        read_registry(source.w3, source.address),
        deployer=deployment.deployer if deployment else None,
        governor=deployment.governor if deployment else None,
        accounts=accounts,
    )
    click.echo(f"accounts allowlist from registry {source.address} ({len(allowlist)} accounts):")
    for account in allowlist:
        click.echo(f"  {account.address}  {', '.join(account.reasons)}")
    addresses = [account.address for account in allowlist]
    if out is not None:
        replace_accounts_allowlist(out, addresses)
        click.echo(f"wrote {out}")
    for url in push_urls:
        change = push_accounts_allowlist(url, addresses, dry_run=dry_run)
        verb = ("would add", "would remove") if dry_run else ("added", "removed")
        if not (change.added or change.removed):
            click.echo(f"{change.node}: up to date")
        for name, changed in zip(verb, (change.added, change.removed), strict=True):
            if changed:
                click.echo(f"{change.node}: {name} {', '.join(changed)}")


def _participants(
    participants_file: Path | None, rpc_url: str | None, registry: str | None
) -> dict[str, Participant]:
    """The participants from the file, or from the registry behind `rpc_url`."""
    if (participants_file is None) == (rpc_url is None):
        raise ConfigError(
            "say where the participants come from: --participants FILE, or --rpc-url URL for "
            "the registry (one of them)"
        )
    if participants_file is not None:
        from kpchain.consortium.participants import read_participants_file

        return read_participants_file(participants_file)
    from kpchain.config import get_settings
    from kpchain.consortium.participants import open_registry, read_registry

    assert rpc_url is not None
    source = open_registry(rpc_url, get_settings(), registry_address=registry)
    return read_registry(source.w3, source.address)


def _hosts(given: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The host for every node and the per-node ones, from `--host` values."""
    shared = [value for value in given if "=" not in value]
    if len(shared) > 1:
        raise ConfigError(f"--host HOST names the host of every node: give one, not {shared}")
    per_node = {}
    for value in given:
        if "=" in value:
            code, host = (part.strip() for part in value.split("=", 1))
            per_node[code] = host
    return (shared[0] if shared else "127.0.0.1"), per_node
