"""`kpchain consortium`: make a government's keys (`join`), build a Besu QBFT network from the
members' public parts (`init`), admit a member later (`add-member`), keep the permissions in step
with the registry, and call a node's admin listener. The work is done in
`kpchain.consortium.join`, `.generate`, `.admission`, `.permissions` and `.admin`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kpchain.consortium.genesis import CONSORTIUM_CHAIN_ID, DEFAULT_GAS_LIMIT, QbftParameters

_port = click.IntRange(1, 65_535)
_OUTCOMES = {"done": "sent", "would": "would send", "held": "nothing to send", "waiting": "not yet"}


@click.group()
def consortium() -> None:
    """Configure a consortium network of Besu QBFT nodes."""


@consortium.command("join")
@click.argument("code")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for this government's keys and public parts; keys already there are kept.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="IPv4 address or DNS name the other nodes reach this node at.",
)
@click.option("--p2p-port", type=_port, default=30303, show_default=True, help="P2P (TCP, UDP).")
@click.option(
    "--rpc-port",
    type=_port,
    default=8545,
    show_default=True,
    help="HTTP JSON-RPC (ETH, NET, WEB3) for this participant's service.",
)
@click.option(
    "--admin-port",
    type=_port,
    default=8645,
    show_default=True,
    help="Admin listener (WebSocket on 127.0.0.1: ADMIN, QBFT, PERM, TXPOOL).",
)
@click.option(
    "--authority-passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the authority keystore's passphrase; default KPCHAIN_<CODE>_PASSPHRASE.",
)
@click.option(
    "--admin-passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the admin keystore's passphrase; default KPCHAIN_<CODE>_ADMIN_PASSPHRASE.",
)
@click.option(
    "--encryption-passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the encryption key's passphrase; default "
    "KPCHAIN_<CODE>_ENCRYPTION_PASSPHRASE.",
)
def join_command(
    code: str,
    out: Path,
    host: str,
    p2p_port: int,
    rpc_port: int,
    admin_port: int,
    authority_passphrase_file: Path | None,
    admin_passphrase_file: Path | None,
    encryption_passphrase_file: Path | None,
) -> None:
    """Make this government's keys in OUT, on this machine, and print their public parts.

    CODE is the participant's code (BW). The node key, the authority and admin keystores and
    the document encryption key stay in OUT; OUT/public.json, printed here, is what the
    consortium needs and holds no secret. Each encrypted key's passphrase (15 characters or
    more) comes from its environment variable or file, never from the command line.
    """
    from kpchain.consortium.addresses import checked_code
    from kpchain.consortium.join import JoinOptions, JoinPassphrases, join, read_passphrase

    code = checked_code(code)
    passphrases = JoinPassphrases(
        authority=read_passphrase(code, "authority", file=authority_passphrase_file),
        admin=read_passphrase(code, "admin", file=admin_passphrase_file),
        encryption=read_passphrase(code, "encryption", file=encryption_passphrase_file),
    )
    result = join(
        out,
        JoinOptions(
            code=code, host=host, p2p_port=p2p_port, rpc_port=rpc_port, admin_port=admin_port
        ),
        passphrases,
    )
    click.echo(json.dumps(result.member.model_dump(), indent=2))
    if result.member.host.startswith("127.") or result.member.host == "localhost":
        click.echo(
            f"note: only nodes on this machine reach {result.member.host}; give --host the "
            "address the other governments' nodes reach this one at",
            err=True,
        )
    made = ", ".join(result.created) if result.created else "none: every key was kept"
    click.echo(f"keys made now: {made}", err=True)
    click.echo(
        f"wrote {result.public_file}: send it to the consortium. The private keys stay in "
        f"{out} ({result.node_folder} for the node, keys/ for the service).",
        err=True,
    )


@consortium.command("init")
@click.option(
    "--members",
    "member_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A founding member's public.json (from `join`), or a folder of them; repeatable. The "
    "first member's node is the bootnode.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the network into.",
)
@click.option("--deployer", required=True, help="Account that deploys kpchain (allowlisted).")
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
    "--rpc-host",
    default="127.0.0.1",
    show_default=True,
    help="Interface of the HTTP JSON-RPC listener; the admin listener is always 127.0.0.1.",
)
def init(
    member_paths: tuple[Path, ...],
    out: Path,
    deployer: str,
    accounts: tuple[str, ...],
    fund: bool,
    chain_id: int,
    block_period: int,
    request_timeout: int,
    epoch_length: int,
    gas_limit: int,
    rpc_gas_cap: int | None,
    rpc_host: str,
) -> None:
    """Write a QBFT network's genesis, node folders and operator README into OUT, from the
    founding members' public parts only: no private key is read or written."""
    from kpchain.consortium.generate import NetworkOptions, create_network
    from kpchain.consortium.members import read_members

    network = create_network(
        out,
        read_members(member_paths),
        NetworkOptions(
            parameters=QbftParameters(
                chain_id=chain_id,
                block_period=block_period,
                request_timeout=request_timeout,
                epoch_length=epoch_length,
                gas_limit=gas_limit,
            ),
            deployer=deployer,
            accounts=accounts,
            fund=fund,
            rpc_host=rpc_host,
            rpc_gas_cap=rpc_gas_cap,
        ),
    )
    click.echo(
        f"QBFT network, chain id {chain_id}, block gas limit {gas_limit:,}, RPC gas cap "
        f"{network.rpc_gas_cap:,}, {len(network.nodes)} validators:"
    )
    for node in network.nodes:
        click.echo(f"  {node.code}  {node.validator}")
        click.echo(f"      service RPC {network.rpc_url(node)}   admin {node.admin_url}")
        click.echo(f"      {node.enode}")
    if len(network.nodes) < 4:
        click.echo("note: QBFT survives a failed validator only from 4 validators on", err=True)
    click.echo(f"accounts allowlist: {len(network.allowlist)} accounts")
    click.echo(f"wrote {out}, which holds no secret: send it to every member. Each operator")
    click.echo("copies nodes/<CODE>/ into the node/ folder `join` made, beside the node's key.")
    click.echo(f"Start order and next steps: {out / 'README.md'}")


@consortium.command("add-member")
@click.argument("public_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--network",
    "network_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The network folder `init` wrote: add the member's node folder nodes/<CODE>/ and "
    "its node and accounts to every node's files, network.json and README.md.",
)
@click.option(
    "--push",
    "push_url",
    help="This operator's node admin listener, ws://127.0.0.1:PORT: allowlist the member's "
    "node, connect to it and, once it is a peer, vote its validator in.",
)
@click.option("--dry-run", is_flag=True, help="With --push: show the changes, make none.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="With --push: seconds to wait for the connection and for each answer.",
)
def add_member_command(
    public_file: Path,
    network_dir: Path | None,
    push_url: str | None,
    dry_run: bool,
    timeout: float,
) -> None:
    """Admit the member whose public parts are PUBLIC_FILE (its `join` output) to a running
    network: what the governance proposal needs, the member's node files, and this operator's
    node changes (printed, or made with --push)."""
    from kpchain.consortium.admission import admission_calls, admit_at_node
    from kpchain.consortium.members import read_member

    member = read_member(public_file)
    code = member.code
    click.echo(f"{code}: validator {member.validator}, admin {member.admin}")
    click.echo(f"    authority {member.authority}, encryption key {member.encryption_public_key}")
    click.echo(f"    {member.enode}")
    click.echo("governance proposals (POST /v1/governance/proposals, by a member's admin):")
    click.echo(f"  admit          participant {code}, admin {member.admin}")
    click.echo(f"  add_validator  participant {code}, validator {member.validator}")
    if network_dir is not None:
        from kpchain.consortium.generate import add_member, load_network
        from kpchain.consortium.nodes import Node

        network, added = add_member(load_network(network_dir), member)
        folder = network.node_folder(Node.of(member))
        verb = "added to" if added else "already in"
        click.echo(f"{code} {verb} {network_dir}: send {folder} to {code} (no secret in it)")
    if push_url is None:
        click.echo("on each validator node's machine, once the proposal has passed:")
        click.echo(
            f"  kpchain consortium add-member {public_file} --push ws://127.0.0.1:<admin port>"
        )
        click.echo("  or by hand:")
        for method, params in admission_calls(member):
            shown = " ".join(_shown(param) for param in params)
            click.echo(f"  kpchain consortium call ws://127.0.0.1:<admin port> {method} {shown}")
        return
    admission = admit_at_node(push_url, member, dry_run=dry_run, timeout=timeout)
    for step in admission.steps:
        click.echo(f"{admission.node}: {step.method}: {_OUTCOMES[step.outcome]}: {step.note}")
    if admission.waiting:
        click.echo(f"run this again once {code}'s node is a peer", err=True)


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
    from kpchain.chain.admin import AdminClient

    with AdminClient(admin_url, timeout=timeout) as node:
        result = node.call(method, [_param(value) for value in params])
    click.echo(json.dumps(result, indent=2))


def _param(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _shown(param: Any) -> str:
    """`param` as `kpchain consortium call` reads it back: JSON, quoted for the shell when it
    is a list."""
    if isinstance(param, str):
        return param
    text = json.dumps(param)
    return f"'{text}'" if isinstance(param, list) else text
