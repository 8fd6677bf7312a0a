"""A deployed and seeded registry on anvil, and the operations the index tests perform on it,
each signed and sent as the devnet participant it belongs to (as the service will). Changes of
a participant's standing are governance decisions: `govern` passes a proposal with the demo
admins' approvals, moving anvil's clock past the vote and the timelock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from kpchain.artifacts import load_artifact
from kpchain.certificates.typed_data import ZERO32, ZERO_CODE, Certificate, Line, typed_data
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.encoding import cert_number, participant_code, zone_id
from kpchain.contracts.enums import ParticipantStatus, RejectionReason, WithdrawalReason
from kpchain.deploy import GOVERNOR_CONTRACT, Deployment, deploy
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import (
    DEMO_PARTICIPANTS,
    DEVNET_GOVERNANCE,
    founders,
    governor_account,
    participant_account,
    registry,
    seed,
)
from kpchain.signing import LocalSigner

DAY = 86_400
LINE = Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3)
APPROVE = 1
_DESCRIPTIONS = itertools.count(1)


@dataclass
class Devnet:
    """The registry and its governance on a seeded anvil, with one sender per account."""

    w3: Web3
    address: str
    deploy_block: int
    contract: Contract
    deployment: Deployment
    _senders: dict[str, TransactionSender] = field(default_factory=dict)

    @classmethod
    def deploy_and_seed(cls, w3: Web3) -> Devnet:
        """Deploys as the devnet does: the demo dozen as founders, the devnet's periods."""
        deployer = TransactionSender(w3, LocalSigner(governor_account()), chain_id=DEVNET_CHAIN_ID)
        deployment = deploy(
            deployer,
            founders=founders(),
            governance=DEVNET_GOVERNANCE,
            network="test",
            expected_chain_id=DEVNET_CHAIN_ID,
        )
        seed(w3, deployment.address, chain_id=DEVNET_CHAIN_ID)
        devnet = cls(
            w3,
            deployment.address,
            deployment.block,
            registry(w3, deployment.address),
            deployment,
        )
        devnet._senders["deployer"] = deployer
        # The founders may propose from the second after their seats were taken (the governor
        # counts a proposer's seat at the time before its proposal): as they could on a real
        # chain, where seconds pass before anyone proposes.
        devnet.later(1)
        return devnet

    # --- chain control ---------------------------------------------------------------------------

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        assert "error" not in response, response
        return response["result"]

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot: str) -> None:
        assert self.rpc("evm_revert", snapshot) is True
        # The chain forgot the transactions since the snapshot: so must the nonce counters.
        for sender in self._senders.values():
            sender.nonces.resync()

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def later(self, seconds: int) -> None:
        """Mines a block `seconds` later on anvil's clock (votes and timelocks without waiting)."""
        self.rpc("evm_increaseTime", seconds)
        self.mine()

    @property
    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def block(self, number: int) -> Any:
        return self.w3.eth.get_block(number)

    def now(self) -> int:
        return int(self.block(self.head)["timestamp"])

    # --- senders ---------------------------------------------------------------------------------

    def sender(self, code: str, role: str = "authority") -> TransactionSender:
        key = f"{code}:{role}"
        if key not in self._senders:
            account = participant_account(code, role)  # type: ignore[arg-type]
            self._senders[key] = TransactionSender(
                self.w3, LocalSigner(account), chain_id=DEVNET_CHAIN_ID
            )
        return self._senders[key]

    @property
    def deployer(self) -> TransactionSender:
        """The account that deployed (and holds no role since the hand-over)."""
        return self._senders["deployer"]

    # --- governance ------------------------------------------------------------------------------

    def governance(self, name: str) -> Contract:
        """The deployed governance contract `name` (KPGovernor, KPSeats, KPTimelock …)."""
        address = Web3.to_checksum_address(self.deployment.contracts[name])
        return self.w3.eth.contract(address=address, abi=load_artifact(name).abi)

    @property
    def governor(self) -> Contract:
        return self.governance(GOVERNOR_CONTRACT)

    @property
    def seats(self) -> Contract:
        return self.governance("KPSeats")

    def voters(self, *, excluding: str | None = None) -> list[str]:
        """The quorum of Active demo participants that may vote on a proposal about
        `excluding`."""
        active = [
            p.code
            for p in DEMO_PARTICIPANTS
            if p.code != excluding
            and self.contract.functions.participantStatus(participant_code(p.code)).call()
            == ParticipantStatus.ACTIVE
        ]
        return active[: DEVNET_GOVERNANCE.quorum or 2]

    def govern(self, *calls: ContractFunction, subject: str | None = None) -> TxReceipt:
        """Proposes `calls` (of the seats, the validator set or the governor), has a quorum of
        admins other than `subject`'s approve, and queues and executes it, moving anvil's clock
        past the vote and the timelock; returns the execution's receipt."""
        governor = self.governor.functions
        targets = [call.address for call in calls]
        values = [0] * len(calls)
        calldatas = [bytes.fromhex(call._encode_transaction_data()[2:]) for call in calls]
        description = f"test decision {next(_DESCRIPTIONS)}"
        description_hash = keccak(text=description)
        voters = self.voters(excluding=subject)
        self.sender(voters[0], "admin").transact(
            governor.propose(targets, values, calldatas, description)
        )
        proposal_id = governor.hashProposal(targets, values, calldatas, description_hash).call()
        self.later(DEVNET_GOVERNANCE.voting_delay + 1)
        for code in voters:
            self.sender(code, "admin").transact(governor.castVote(proposal_id, APPROVE))
        self.later(DEVNET_GOVERNANCE.voting_period + 1)
        self.deployer.transact(governor.queue(targets, values, calldatas, description_hash))
        self.later(DEVNET_GOVERNANCE.timelock_delay + 1)
        return self.deployer.transact(
            governor.execute(targets, values, calldatas, description_hash)
        )

    # --- certificates ----------------------------------------------------------------------------

    def certificate(
        self,
        number: str,
        *,
        exporting: str = "BW",
        importing: str = "AE",
        origin: str | None = None,
        provenance: str | None = None,
        zone: str | None = None,
        lines: tuple[Line, ...] = (LINE,),
        expires_in: int = 60 * DAY,
        replaces: str | None = None,
    ) -> Certificate:
        """A certificate document; `origin` defaults to the exporter, "MIXED" means mixed."""
        now = self.now()
        origin = origin or exporting
        return Certificate(
            certNo=cert_number(number),
            exportingParticipant=participant_code(exporting),
            importingParticipant=participant_code(importing),
            origin=ZERO_CODE if origin == "MIXED" else participant_code(origin),
            provenance=participant_code(provenance) if provenance else ZERO_CODE,
            originZone=zone_id(zone) if zone else ZERO32,
            exporterHash=keccak(text=f"exporter of {number}"),
            importerHash=keccak(text=f"importer of {number}"),
            lines=lines,
            issuedAt=now - now % DAY,
            expiresAt=now + expires_in,
            issuingAuthority=f"Authority of {exporting}",
            replaces=cert_number(replaces) if replaces else ZERO32,
        )

    def sign(self, cert: Certificate, code: str) -> bytes:
        signer = LocalSigner(participant_account(code, "authority"))
        data = typed_data(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=self.address)
        return signer.sign_typed_data(data)

    def issue(self, cert: Certificate) -> TxReceipt:
        """Issues `cert`, signed and sent by its exporting participant's authority."""
        code = cert.exportingParticipant.decode()
        sender = self.sender(code)
        call = self.contract.functions.issue(
            cert.to_abi(), sender.signer.address, self.sign(cert, code)
        )
        return sender.transact(call)

    def issue_batch(self, certs: list[Certificate]) -> TxReceipt:
        """Issues `certs` (of one exporting participant) in one transaction."""
        code = certs[0].exportingParticipant.decode()
        sender = self.sender(code)
        call = self.contract.functions.issueBatch(
            [cert.to_abi() for cert in certs],
            sender.signer.address,
            [self.sign(cert, code) for cert in certs],
        )
        return sender.transact(call)

    def ship(self, number: str, *, exporting: str = "BW", seal: str | None = None) -> TxReceipt:
        seal_ref = keccak(text=seal) if seal else ZERO32
        call = self.contract.functions.ship(cert_number(number), seal_ref)
        return self.sender(exporting).transact(call)

    def receive(
        self,
        number: str,
        *,
        importing: str = "AE",
        parcels: int = 3,
        carats: int = 123_450,
        received_at: int | None = None,
        confirmation: str = "confirmation",
    ) -> TxReceipt:
        received = received_at if received_at is not None else self.now() - self.now() % DAY
        call = self.contract.functions.confirmReceipt(
            cert_number(number), (parcels, carats, received, keccak(text=confirmation))
        )
        return self.sender(importing).transact(call)

    def reject(self, number: str, *, importing: str = "AE", reason: RejectionReason) -> TxReceipt:
        call = self.contract.functions.reject(cert_number(number), int(reason))
        return self.sender(importing).transact(call)

    def cancel(self, number: str, *, exporting: str = "BW") -> TxReceipt:
        call = self.contract.functions.cancel(cert_number(number))
        return self.sender(exporting).transact(call)

    def withdraw(
        self, number: str, *, exporting: str = "BW", reason: WithdrawalReason
    ) -> TxReceipt:
        call = self.contract.functions.withdrawShipment(cert_number(number), int(reason))
        return self.sender(exporting).transact(call)

    # --- participants ----------------------------------------------------------------------------

    def add_authority(self, code: str, account: str) -> TxReceipt:
        call = self.contract.functions.addAuthority(participant_code(code), account)
        return self.sender(code, "admin").transact(call)

    def revoke_authority(self, code: str, account: str) -> TxReceipt:
        call = self.contract.functions.revokeAuthority(participant_code(code), account)
        return self.sender(code, "admin").transact(call)

    def set_status(self, code: str, status: ParticipantStatus) -> TxReceipt:
        """Changes `code`'s status by a governance decision."""
        call = self.seats.functions.setParticipantStatus(participant_code(code), int(status))
        return self.govern(call, subject=code)

    def set_zone(self, code: str, zone: str, *, allowed: bool) -> TxReceipt:
        """Allows or disallows a zone of origin `code` by a governance decision."""
        call = self.seats.functions.setOriginZone(participant_code(code), zone_id(zone), allowed)
        return self.govern(call, subject=code)

    def set_admin(self, code: str, admin: str) -> TxReceipt:
        """Replaces `code`'s admin by a governance decision (the sender of its old admin key is
        dropped: it no longer acts for `code`)."""
        call = self.seats.functions.setParticipantAdmin(participant_code(code), admin)
        return self.govern(call, subject=code)
