"""`kpchain consortium`: generate a Besu QBFT network, keep its permissions in step with the
registry, and call a node's admin listener. The work is done in `kpchain.consortium.generate`,
`.permissions` and `.admin`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kpchain.consortium.genesis import CONSORTIUM_CHAIN_ID, DEFAULT_GAS_LIMIT, QbftParameters
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
    default=DEFAULT_GAS_LIMIT,
    show_default=True,
    help="Block gas limit (gas is free: what bounds a block's and a transaction's work).",
)
@click.option(
    "--rpc-gas-cap",
    type=click.IntRange(min=21_000),
    help="Most gas one eth_call or eth_estimateGas may use; default: the block gas limit.",
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
    "--rpc-port-base",
    type=_port,
    default=8545,
    show_default=True,
    help="HTTP JSON-RPC (ETH, NET, WEB3: the service's) of node i: port + i.",
)
@click.option(
    "--admin-port-base",
    type=_port,
    default=8645,
    show_default=True,
    help="Admin listener (WebSocket JSON-RPC on 127.0.0.1: ADMIN, QBFT, PERM, TXPOOL) of node "
    "i: port + i.",
)
@click.option(
    "--rpc-host",
    default="127.0.0.1",
    show_default=True,
    help="Interface of the HTTP JSON-RPC listener; the admin listener is always 127.0.0.1.",
)
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
    rpc_gas_cap: int | None,
    hosts: tuple[str, ...],
    p2p_port_base: int,
    rpc_port_base: int,
    admin_port_base: int,
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
            admin_port_base=admin_port_base,
            rpc_host=rpc_host,
            rpc_gas_cap=rpc_gas_cap,
        ),
    )
    click.echo(
        f"QBFT network, chain id {chain_id}, block gas limit {gas_limit:,}, RPC gas cap "
        f"{network.rpc_gas_cap:,}, {len(network.nodes)} validators:"
    )
    for node in network.nodes:
        kept = "new key" if node.code in network.created_keys else "key kept"
        click.echo(f"  {node.code}  {node.validator}  ({kept})")
        click.echo(f"      service RPC {network.rpc_url(node)}   admin {node.admin_url}")
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
@click.option(
    "--push",
    "push_urls",
    multiple=True,
    help="Admin listener of a node to update: ws://127.0.0.1:PORT (network.json's admin_url), "
    "from the node's machine.",
)
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


@consortium.command("call")
@click.argument("admin_url")
@click.argument("method")
@click.argument("params", nargs=-1)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the connection and for the answer.",
)
def call(admin_url: str, method: str, params: tuple[str, ...], timeout: float) -> None:
    """Call METHOD on a node's admin listener ADMIN_URL (ws://127.0.0.1:PORT) and print the result.

    Each of PARAMS is read as JSON (true, 5, ["enode://…"]), or else taken as a string (latest,
    0x…): `kpchain consortium call ws://127.0.0.1:8645 qbft_proposeValidatorVote 0xNEW… true`.
    """
    from kpchain.consortium.admin import AdminClient

    with AdminClient(admin_url, timeout=timeout) as node:
        result = node.call(method, [_param(value) for value in params])
    click.echo(json.dumps(result, indent=2))


def _param(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


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
