"""Demo data for the devnet: a dozen real KP participants, their development keys, and seeding.

Every key here is a **development key** derived from a public mnemonic. Anyone can derive them;
they must never hold value or act on a real network.

The demo dozen are the devnet's founding members: `kpchain.deploy.deploy` admits them, with
their founding state (VE suspended, CF's origin restricted to two zones), before it hands the
registry over to the governance, whose short devnet periods are `DEVNET_GOVERNANCE`. Seeding
then adds each participant's authority, signed by the participant's admin key (key rotation
needs no governance). Any later change of standing is a proposal the demo admins vote on.

Key derivation (BIP-32/BIP-44 through eth-account's HD wallet):

- the deployer is ``m/44'/60'/0'/0/0`` of anvil's default mnemonic, that is anvil's first
  pre-funded account ``0xf39F…2266`` (it was the devnet's governor; since the hand-over it holds
  no role at all);
- participant ``XY`` has its keys under ``m/44'/60'/2021'/{n}/{role}`` of the same mnemonic, where
  ``n = 26 * (X - 'A') + (Y - 'A')`` (BW -> 48, EU -> 124) and ``role`` is 0 for the
  participant's admin and 1 for its first authority. Account ``2021'`` (the devnet chain id)
  keeps these keys apart from anvil's pre-funded accounts and from ape's test accounts, and
  deriving ``n`` from the code keeps each participant's keys the same whatever the list holds.

The devnet has a zero gas price, so none of these accounts needs a balance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from kpchain.artifacts import load_artifact
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.encoding import participant_code
from kpchain.contracts.enums import ParticipantStatus
from kpchain.contracts.founding import Founder, GovernanceSettings
from kpchain.deploy import DEPLOYED_CONTRACT
from kpchain.signing import devkeys
from kpchain.signing.devkeys import DEV_MNEMONIC, DevRole
from kpchain.signing.devkeys import GOVERNOR_PATH as GOVERNOR_PATH  # re-exported
from kpchain.signing.devkeys import PARTICIPANT_PATH as PARTICIPANT_PATH  # re-exported
from kpchain.signing.local import LocalSigner

logger = logging.getLogger(__name__)

# The derivation lives in kpchain.signing.devkeys, so that signers recognise these keys (and
# refuse them outside development mode) without importing the devnet.
DEVNET_MNEMONIC = DEV_MNEMONIC
"""anvil's (and Hardhat's) default mnemonic: public, for development only."""

Role = DevRole


@dataclass(frozen=True)
class DemoParticipant:
    """A participant the devnet admits, and how governance leaves it.

    Args:
        code: ISO 3166-1 alpha-2 code ("EU" for the European Union).
        name: the participant's name.
        status: the status it is left in after admission.
        zones: names of its allowed origin zones; non-empty puts its origin under restriction.
    """

    code: str
    name: str
    status: ParticipantStatus = ParticipantStatus.ACTIVE
    zones: tuple[str, ...] = ()

    @property
    def origin_restricted(self) -> bool:
        """Whether certificates of this origin must name one of `zones`."""
        return bool(self.zones)


# Demo standings, not the KP's current ones: CAR exported only from "compliant zones" from 2015
# until its full reinstatement in 2024, and Venezuela stood outside trade from 2008 to 2016.
DEMO_PARTICIPANTS: tuple[DemoParticipant, ...] = (
    DemoParticipant("BW", "Botswana"),
    DemoParticipant("RU", "Russian Federation"),
    DemoParticipant("ZA", "South Africa"),
    DemoParticipant("CA", "Canada"),
    DemoParticipant("AO", "Angola"),
    DemoParticipant("NA", "Namibia"),
    DemoParticipant("AE", "United Arab Emirates"),
    DemoParticipant("IN", "India"),
    DemoParticipant("EU", "European Union"),
    DemoParticipant("US", "United States of America"),
    DemoParticipant("CF", "Central African Republic", zones=("CF:Berberati", "CF:Carnot")),
    DemoParticipant("VE", "Venezuela", status=ParticipantStatus.SUSPENDED),
)


DEVNET_GOVERNANCE = GovernanceSettings(
    voting_delay=0, voting_period=20, timelock_delay=2, quorum=2, emergency_threshold_bps=6666
)
"""The devnet's consensus rules: votes open at once and last 20 seconds, two approvals (and no
objection) pass a proposal, the timelock waits 2 seconds, two thirds of the seats make an
emergency suspension take effect."""


def founders(participants: Iterable[DemoParticipant] = DEMO_PARTICIPANTS) -> list[Founder]:
    """`participants` as founding members: their devnet admin keys and founding state."""
    return [
        Founder(
            code=demo.code,
            admin=participant_account(demo.code, "admin").address,
            status=demo.status,
            zones=demo.zones,
        )
        for demo in participants
    ]


@dataclass(frozen=True)
class SeededParticipant:
    """A demo participant as the chain has it, with its devnet accounts."""

    code: str
    status: ParticipantStatus
    admin: str  # checksummed address of the participant's admin on chain
    authority: str  # checksummed address of the devnet authority key


def governor_account() -> LocalAccount:
    """The devnet's deployer, once its governor (development key: anvil's first account)."""
    return devkeys.governor_account()


def participant_account(code: str, role: Role) -> LocalAccount:
    """The development key of participant `code`'s admin or authority.

    Raises:
        ValueError: `code` is not two upper-case ASCII letters.
    """
    return devkeys.participant_account(code, role)


def registry(w3: Web3, address: str) -> Contract:
    """The deployed CertificateRegistry (and ParticipantRegistry) at `address`."""
    abi = load_artifact(DEPLOYED_CONTRACT).abi
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def seed(
    w3: Web3,
    registry_address: str,
    *,
    chain_id: int,
    participants: Iterable[DemoParticipant] = DEMO_PARTICIPANTS,
) -> list[SeededParticipant]:
    """Gives each admitted participant of `participants` its devnet authority, signed by its admin.

    A participant that has its authority already, or is not admitted, is left as it is, so
    seeding again sends nothing and an interrupted seeding resumes where it stopped. Each admin
    sends through a sender of its own, one transaction after another; on anvil with automine the
    demo dozen take a fraction of a second.

    Args:
        w3: connected to the chain of the registry.
        registry_address: the deployed CertificateRegistry.
        chain_id: the chain's id, to sign for.
        participants: whose authorities to add; the demo dozen by default.

    Returns:
        Each participant as the chain has it afterwards.

    Raises:
        ContractRevertError: the registry refused an operation (an admin key that is not the
            participant's admin on chain: ParticipantAdminUnauthorized).
    """
    contract = registry(w3, registry_address)
    participants = list(participants)
    sent = 0
    for demo in participants:
        code = participant_code(demo.code)
        if contract.functions.participantStatus(code).call() == ParticipantStatus.NONE:
            logger.warning("%s is not a participant of this registry; not seeded", demo.code)
            continue
        authority = participant_account(demo.code, "authority").address
        if contract.functions.isAuthority(code, authority).call():
            logger.debug("%s has its authority already", demo.code)
            continue
        admin = participant_account(demo.code, "admin")
        admin_sender = TransactionSender(w3, LocalSigner(admin), chain_id=chain_id)
        admin_sender.transact(contract.functions.addAuthority(code, authority))
        sent += 1
    logger.info("seeding sent %s transactions", sent)
    return describe(w3, registry_address, participants=participants)


def describe(
    w3: Web3,
    registry_address: str,
    *,
    participants: Iterable[DemoParticipant] = DEMO_PARTICIPANTS,
) -> list[SeededParticipant]:
    """The demo participants as the chain has them now (status and admin), with their
    devnet authority key."""
    contract = registry(w3, registry_address)
    described = []
    for demo in participants:
        record: Any = contract.functions.participant(participant_code(demo.code)).call()
        status, _restricted, admin, _admitted_at = record
        described.append(
            SeededParticipant(
                code=demo.code,
                status=ParticipantStatus(status),
                admin=Web3.to_checksum_address(admin),
                authority=participant_account(demo.code, "authority").address,
            )
        )
    return described
