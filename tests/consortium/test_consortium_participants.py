"""Participants and their accounts: from a participants file, and from the seeded registry on a
real anvil (with the deployments file, when there is one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address
from support_consortium import write_deployments_file

from kpchain.config import Settings
from kpchain.consortium.participants import open_registry, read_participants_file, read_registry
from kpchain.contracts.enums import ParticipantStatus
from kpchain.devnet.anvil import AnvilNode
from kpchain.devnet.seed import DEMO_PARTICIPANTS, governor_account, participant_account
from kpchain.errors import ChainIdMismatchError, ConfigError
from support_chain import Devnet

ADMIN = "0x00000000000000000000000000000000000000a1"
AUTHORITY = "0x00000000000000000000000000000000000000a2"


# --- participants file -----------------------------------------------------------------------


def test_yaml_file_reads_unquoted_norway_and_unquoted_addresses(tmp_path: Path) -> None:
    # Plain YAML would read NO as false and an unquoted 0x… as a number.
    path = tmp_path / "participants.yaml"
    path.write_text(
        f"NO:\n  admin: {ADMIN}\n  authorities: [{AUTHORITY}]\nEU:\n  authorities: []\n"
    )

    participants = read_participants_file(path)

    assert sorted(participants) == ["EU", "NO"]
    norway = participants["NO"]
    assert norway.admin == to_checksum_address(ADMIN)
    assert norway.authorities == (to_checksum_address(AUTHORITY),)
    assert norway.status == ParticipantStatus.ACTIVE
    assert (participants["EU"].admin, participants["EU"].authorities) == (None, ())


def test_json_file_reads_the_same_shape(tmp_path: Path) -> None:
    path = tmp_path / "participants.json"
    path.write_text(json.dumps({"BW": {"authorities": [AUTHORITY, AUTHORITY.upper()[2:]]}}))

    with pytest.raises(ConfigError, match=r"BW\.authorities\.1"):
        read_participants_file(path)  # the second is missing its 0x

    path.write_text(json.dumps({"BW": {"authorities": [AUTHORITY, AUTHORITY]}}))
    assert read_participants_file(path)["BW"].authorities == (to_checksum_address(AUTHORITY),)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("bw:\n  authorities: []\n", "bw"),
        ("BW:\n  authorities: ['0x12']\n", r"BW\.authorities\.0"),
        ("BW:\n  keys: []\n", r"BW\.keys"),
        ("BW: [unclosed\n", "cannot read participants file"),
        ("- BW\n", "malformed"),
    ],
    ids=["lower-case-code", "short-address", "unknown-field", "not-yaml", "a-list"],
)
def test_malformed_file_raises_config_error_naming_the_entry(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "participants.yaml"
    path.write_text(content)

    with pytest.raises(ConfigError, match=problem):
        read_participants_file(path)


# --- registry --------------------------------------------------------------------------------


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
