"""`ape run deploy --network ethereum:<network>:<provider>`: deploy kpchain's registry with ape.

The same deploy code and options as `kpchain deploy` (kpchain.deploy.deploy), signed by ape's
account: the registry and its governance, the founding members of `--founders`, and the
hand-over after which the deployer holds no role:

    ape run deploy --network ethereum:local:foundry --founders founders.yaml
    ape run deploy --network ethereum:kp-devnet:node --account TEST::0 --founders founders.yaml
    KPCHAIN_RPC_URL=https://… ape run deploy --network ethereum:kp-consortium:node \\
        --account deployer --founders founders.yaml --quorum 3 --validator 0x… --validator 0x…

On a chain that can reorg (Clique), `--confirmations N` (default: KPCHAIN_CONFIRMATIONS, 0)
makes each step wait until its block is N blocks deep, and the file record the block canonical
then.

The account comes from `--account` (an alias of `ape accounts`, or TEST::<n>), else from
`KPCHAIN_APE_ACCOUNT`, else, on local networks only, ape's first test account. The expected
chain id is the one ape-config.yaml gives the network, and the deployments file is named after
the network: `deployments/<network>.json`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from ape import accounts
from ape.cli import ConnectedProviderCommand, account_option, network_option
from web3.middleware import ExtraDataToPOAMiddleware

from kpchain.chain.transactions import TransactionSender
from kpchain.cli import governance_options
from kpchain.config import get_settings
from kpchain.contracts.founding import GovernanceSettings
from kpchain.deploy import deploy, read_founders, read_validators
from kpchain.errors import KpchainError
from kpchain.signing.ape_signer import ApeSigner
from kpchain.signing.keystore import is_development_address

ACCOUNT_ENV = "KPCHAIN_APE_ACCOUNT"


@click.command(cls=ConnectedProviderCommand, short_help="Deploy the kpchain registry")
@network_option()
@account_option(prompt=False)
@governance_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for <network>.json; default: KPCHAIN_DEPLOYMENTS_DIR or deployments/.",
)
@click.option(
    "--confirmations",
    type=click.IntRange(min=0),
    help="Blocks each step's block must be below the head before the next (chains that can "
    "reorg); default: KPCHAIN_CONFIRMATIONS (0: instant finality, as on QBFT).",
)
def cli(
    provider: Any,
    network: Any,
    account: Any,
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
    governance, write deployments/<network>.json."""
    settings = get_settings()
    account = account or _default_account(network)
    if not network.is_dev and is_development_address(account.address) and not settings.development:
        raise click.ClickException(
            f"{account.address} is a well-known development account whose key is public; use "
            "your own account on this network, or set KPCHAIN_DEVELOPMENT=true on a devnet"
        )
    w3 = provider.web3
    if ExtraDataToPOAMiddleware not in w3.middleware_onion:
        # Besu QBFT blocks carry more than 32 bytes of extraData; harmless elsewhere.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    chain_id = int(network.chain_id)
    signer = ApeSigner(account, ecosystem=network.ecosystem)
    sender = TransactionSender(w3, signer, chain_id=chain_id)
    try:
        deployment = deploy(
            sender,
            founders=read_founders(founders_file),
            governance=GovernanceSettings(
                voting_delay=voting_delay,
                voting_period=voting_period,
                timelock_delay=timelock_delay,
                quorum=quorum,
                emergency_threshold_bps=emergency_threshold_bps,
            ),
            validators=validators or read_validators(founders_file),
            network=network.name,
            expected_chain_id=chain_id,
            confirmations=settings.confirmations if confirmations is None else confirmations,
        )
    except KpchainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    path = deployment.write(out or settings.deployments_dir)
    click.echo(
        f"deployed CertificateRegistry at {deployment.address} in block {deployment.block} "
        f"and KPGovernor at {deployment.governor} on {network.name} (chain "
        f"{deployment.chain_id}); wrote {path}"
    )


def _default_account(network: Any) -> Any:
    alias = os.environ.get(ACCOUNT_ENV)
    if alias:
        return accounts.load(alias)
    if network.is_local:
        return accounts.test_accounts[0]
    raise click.UsageError(
        f"choose the deployer with --account ALIAS (or {ACCOUNT_ENV}); "
        f"only local networks default to a test account, and this is {network.name}"
    )
