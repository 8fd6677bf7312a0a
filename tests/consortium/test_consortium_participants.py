"""Participants and their accounts from the seeded registry on a real anvil (with the
deployments file, when there is one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support_consortium import write_deployments_file

from kpchain.config import Settings
from kpchain.consortium.participants import open_registry, read_registry
from kpchain.devnet.anvil import AnvilNode
from kpchain.devnet.seed import DEMO_PARTICIPANTS, governor_account, participant_account
from kpchain.errors import ChainIdMismatchError, ConfigError
from support_chain import Devnet


def test_read_registry_gives_every_admitted_participant_with_status_and_accounts(
    seeded: Devnet,
) -> None:
    participants = read_registry(seeded.w3, seeded.address)

    assert list(participants) == [p.code for p in DEMO_PARTICIPANTS]
    for demo in DEMO_PARTICIPANTS:
        participant = participants[demo.code]
        assert participant.status == demo.status
        assert participant.admin == participant_account(demo.code, "admin").address
        assert participant.authorities == (participant_account(demo.code, "authority").address,)


@pytest.mark.usefixtures("clean_settings")
def test_open_registry_takes_the_given_address_without_a_deployments_file(
    seeded: Devnet, anvil: AnvilNode, tmp_path: Path
) -> None:
    settings = Settings(deployment_file=tmp_path / "none.json")

    source = open_registry(anvil.rpc_url, settings, registry_address=seeded.address.lower())

    assert source.address == seeded.address
    assert source.deployment is None


@pytest.mark.usefixtures("clean_settings")
def test_open_registry_reads_address_deployer_and_governor_from_deployments_file(
    seeded: Devnet, anvil: AnvilNode, tmp_path: Path
) -> None:
    settings = Settings(deployment_file=write_deployments_file(tmp_path, seeded.address))

    source = open_registry(anvil.rpc_url, settings)

    assert source.address == seeded.address
    assert source.deployment is not None
    assert source.deployment.deployer == governor_account().address


@pytest.mark.usefixtures("clean_settings")
def test_open_registry_refuses_a_node_of_another_chain_than_the_deployments_file(
    seeded: Devnet, anvil: AnvilNode, tmp_path: Path
) -> None:
    deployments = write_deployments_file(tmp_path, seeded.address, chain_id=7102)
    settings = Settings(deployment_file=deployments)

    with pytest.raises(ChainIdMismatchError):
        open_registry(anvil.rpc_url, settings)


@pytest.mark.parametrize(
    ("registry_address", "problem"),
    [(None, "no registry address"), (governor_account().address, "no contract at")],
    ids=["none", "no-code"],
)
@pytest.mark.usefixtures("clean_settings")
def test_open_registry_without_a_registry_raises_config_error(
    anvil: AnvilNode, tmp_path: Path, registry_address: str | None, problem: str
) -> None:
    settings = Settings(deployment_file=tmp_path / "none.json")

    with pytest.raises(ConfigError, match=problem):
        open_registry(anvil.rpc_url, settings, registry_address=registry_address)
