"""The certificate lifecycle as a state machine, against a pure-Python model of the registry.

Hypothesis drives random sequences of issue, issueBatch, ship, confirmReceipt (now and then dated
in the future, or late: dated before an expiry and sent after it), reject, cancel,
withdrawShipment, replacement of cancelled and rejected certificates, time passing (past expiries
too), governance changing participants' status, the maximum validity and the receipt grace period,
admins revoking and adding authorities, and all of these called by the wrong accounts. For every
call the model predicts success or the exact custom error with its arguments, the chain must agree
(a predicted success is sent as a transaction, a predicted revert is dry run with eth_call: see
Node), and after every step every certificate, participant, the maximum validity and the grace
period on chain must read as the model says. Each example starts from the admitted registry of
conftest.py: the machine takes a chain snapshot when it starts and restores it when it ends.

Next to it, fixed sequences of what the machine checks:
`test_confirm_receipt_reverts_when_expired_and_reject_closes_the_shipment` (issue, ship, time
passes beyond the expiry and its grace period, receipt is refused as expired, rejection still
closes the shipment) and
`test_withdraw_shipment_closes_shipment_when_importer_suspended_in_transit` (issue, ship, the
importer is suspended: a second shipment to it is refused, so is its receipt, and the exporter
withdraws the first).
"""

from __future__ import annotations

from ast import literal_eval
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ape.exceptions import ContractLogicError
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from hexbytes import HexBytes
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.exceptions import ContractCustomError

from kpchain.certificates.typed_data import ZERO32, Certificate
from kpchain.contracts.encoding import cert_number
from kpchain.contracts.enums import (
    CertificateStatus,
    ParticipantStatus,
    RejectionReason,
    WithdrawalReason,
)

from support import emitted, event, reverts

BW, AE, EU, CF = b"BW", b"AE", b"EU", b"CF"
PARTICIPANTS = (BW, AE, EU)  # admitted by the `admitted` fixture
NOT_ADMITTED = CF
UNKNOWN_NUMBER = cert_number("BW-2026-NEVER-ISSUED")

HOUR = 3_600
DAY = 86_400
# No prediction is made closer than this to an expiry: a transaction's block time can run a few
# seconds past the time read before it (anvil's clock follows the wall clock).
EXPIRY_MARGIN = 10 * 60
# Bounds the certificates an example creates, so that the invariant's reads stay cheap.
MAX_CERTIFICATES = 10
# Maximum validities governance sets: some below the certificates' horizons (1 hour to 30 days).
MAX_VALIDITIES = (6 * HOUR, 3 * DAY, 20 * DAY, 180 * DAY)
# Receipt grace periods governance sets: none, shorter than the time rule's steps, the default.
GRACE_PERIODS = (0, DAY, 30 * DAY)
MAX_ISSUE_DATE_LEAD = 14 * HOUR


# A predicted revert: the custom error's name and its arguments in ABI order.
Revert = tuple[str, tuple[Any, ...]]


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------


@dataclass
class CertificateModel:
    """What the registry should hold for one certificate."""

    cert: Certificate
    doc_hash: bytes
    status: CertificateStatus  # as stored: never EXPIRED
    replaced: bool = False

    @property
    def exporting(self) -> bytes:
        return self.cert.exportingParticipant

    @property
    def importing(self) -> bytes:
        return self.cert.importingParticipant

    def status_at(self, now: int) -> CertificateStatus:
        """The status `certificateStatus` reports at block time `now`."""
        live = self.status in (CertificateStatus.ISSUED, CertificateStatus.SHIPPED)
        return CertificateStatus.EXPIRED if live and now > self.cert.expiresAt else self.status


@dataclass
class RegistryModel:
    """The registry's rules over plain Python state; each `predict_*` mirrors the contract's
    checks in the contract's order and returns the revert it expects, or None for success."""

    governor: str
    governor_role: bytes
    admins: dict[bytes, str]  # participant -> admin address
    participants: dict[bytes, ParticipantStatus]
    authorities: dict[str, bytes]  # authority address -> the participant it acts for
    max_validity: int  # seconds
    receipt_grace_period: int  # seconds
    certificates: dict[bytes, CertificateModel] = field(default_factory=dict)

    def status_of(self, code: bytes) -> ParticipantStatus:
        return self.participants.get(code, ParticipantStatus.NONE)

    def authorities_of(self, code: bytes) -> set[str]:
        return {account for account, acting in self.authorities.items() if acting == code}

    # Participants ------------------------------------------------------------------------------

    def predict_set_status(
        self, sender: str, code: bytes, status: ParticipantStatus
    ) -> Revert | None:
        if sender != self.governor:
            return ("AccessControlUnauthorizedAccount", (sender, self.governor_role))
        if self.status_of(code) == ParticipantStatus.NONE:
            return ("ParticipantNotFound", (code,))
        if status in (ParticipantStatus.NONE, self.status_of(code)):
            return ("ParticipantStatusUnchanged", (code, status))
        return None

    def _predict_admin(self, sender: str, code: bytes) -> Revert | None:
        if self.status_of(code) == ParticipantStatus.NONE:
            return ("ParticipantNotFound", (code,))
        if self.admins[code] != sender:
            return ("ParticipantAdminUnauthorized", (sender, code))
        return None

    def predict_set_grace_period(self, sender: str, seconds: int) -> Revert | None:
        if sender != self.governor:
            return ("AccessControlUnauthorizedAccount", (sender, self.governor_role))
        return None

    def predict_set_max_validity(self, sender: str, seconds: int) -> Revert | None:
        if sender != self.governor:
            return ("AccessControlUnauthorizedAccount", (sender, self.governor_role))
        if seconds == 0:
            return ("MaxValidityInvalid", (seconds,))
        return None

    def predict_add_authority(self, sender: str, code: bytes, account: str) -> Revert | None:
        if revert := self._predict_admin(sender, code):
            return revert
        if (current := self.authorities.get(account)) is not None:
            return ("AuthorityAlreadyRegistered", (account, current))
        return None

    def predict_revoke_authority(self, sender: str, code: bytes, account: str) -> Revert | None:
        if revert := self._predict_admin(sender, code):
            return revert
        if self.authorities.get(account) != code:
            return ("AuthorityNotRegistered", (account, code))
        return None

    # Certificates ------------------------------------------------------------------------------

    def _predict_actor(self, sender: str, participant: bytes) -> Revert | None:
        """An authority of an Active `participant` (starting or completing trade, cancel)."""
        if revert := self._predict_authority(sender, participant):
            return revert
        if self.status_of(participant) != ParticipantStatus.ACTIVE:
            return ("ParticipantNotActive", (participant,))
        return None

    def _predict_authority(self, sender: str, participant: bytes) -> Revert | None:
        """An authority of `participant`, whatever its standing (closing a shipment)."""
        if self.authorities.get(sender) != participant:
            return ("UnauthorizedAuthority", (sender, participant))
        return None

    def predict_issue(self, sender: str, certs: list[Certificate], now: int) -> Revert | None:
        """`issue` (one certificate) or `issueBatch`, with `sender` as the signer."""
        exporting = certs[0].exportingParticipant
        if revert := self._predict_actor(sender, exporting):
            return revert
        issued: set[bytes] = set()
        for cert in certs:
            number, importing = cert.certNo, cert.importingParticipant
            if cert.exportingParticipant != exporting:
                return ("UnauthorizedAuthority", (sender, cert.exportingParticipant))
            if number in self.certificates or number in issued:
                return ("CertificateAlreadyExists", (number,))
            if importing == exporting:
                return ("ParticipantsIdentical", (importing,))
            if self.status_of(importing) != ParticipantStatus.ACTIVE:
                return ("ParticipantNotActive", (importing,))
            if cert.expiresAt <= now or cert.issuedAt > cert.expiresAt:
                return ("CertificateDatesInvalid", (cert.issuedAt, cert.expiresAt))
            if cert.issuedAt > now + MAX_ISSUE_DATE_LEAD:
                return ("CertificateIssueDateInFuture", (number, cert.issuedAt))
            if (validity := cert.expiresAt - cert.issuedAt) > self.max_validity:
                return ("CertificateValidityTooLong", (number, validity, self.max_validity))
            if cert.replaces != ZERO32 and (revert := self._predict_replacement(cert, exporting)):
                return revert
            issued.add(number)
        return None

    def _predict_replacement(self, cert: Certificate, exporting: bytes) -> Revert | None:
        old = self.certificates.get(cert.replaces)
        if old is None:
            return ("CertificateNotFound", (cert.replaces,))
        closed = old.status in (CertificateStatus.CANCELLED, CertificateStatus.REJECTED)
        if not closed or old.exporting != exporting or old.replaced:
            return ("ReplacementInvalid", (cert.certNo, cert.replaces))
        return None

    def _predict_transition(
        self,
        sender: str,
        number: bytes,
        *,
        importer_acts: bool,
        required: CertificateStatus,
        unexpired_at: int | None = None,
        closes: bool = False,
    ) -> Revert | None:
        record = self.certificates.get(number)
        if record is None:
            return ("CertificateNotFound", (number,))
        actor = record.importing if importer_acts else record.exporting
        check = self._predict_authority if closes else self._predict_actor
        if revert := check(sender, actor):
            return revert
        if record.status != required:
            return ("CertificateStatusInvalid", (number, record.status, required))
        if unexpired_at is not None and unexpired_at > record.cert.expiresAt:
            return ("CertificateExpired", (number, record.cert.expiresAt))
        return None

    def predict_ship(self, sender: str, number: bytes, now: int) -> Revert | None:
        revert = self._predict_transition(
            sender,
            number,
            importer_acts=False,
            required=CertificateStatus.ISSUED,
            unexpired_at=now,
        )
        importing = self.certificates[number].importing if revert is None else b""
        if revert is None and self.status_of(importing) != ParticipantStatus.ACTIVE:
            return ("ParticipantNotActive", (importing,))
        return revert

    def predict_confirm(
        self, sender: str, number: bytes, confirmation: tuple[int, int, int, bytes], now: int
    ) -> Revert | None:
        parcels, carats, received_at, _ = confirmation
        revert = self._predict_transition(
            sender, number, importer_acts=True, required=CertificateStatus.SHIPPED
        )
        if revert is None and (parcels == 0 or carats == 0):
            return ("ConfirmationInvalid", (number,))
        if revert is None and received_at > now:
            return ("ReceiptDateInFuture", (number, received_at))
        if revert is None:
            expires_at = self.certificates[number].cert.expiresAt
            late_allowed = (
                received_at <= expires_at and now <= expires_at + self.receipt_grace_period
            )
            if now > expires_at and not late_allowed:
                return ("CertificateExpired", (number, expires_at))
        return revert

    def predict_reject(self, sender: str, number: bytes) -> Revert | None:
        return self._predict_transition(
            sender, number, importer_acts=True, required=CertificateStatus.SHIPPED, closes=True
        )

    def predict_withdraw(self, sender: str, number: bytes) -> Revert | None:
        revert = self._predict_transition(
            sender, number, importer_acts=False, required=CertificateStatus.SHIPPED, closes=True
        )
        importing = self.certificates[number].importing if revert is None else b""
        if revert is None and self.status_of(importing) == ParticipantStatus.ACTIVE:
            return ("ImporterStillActive", (number, importing))
        return revert

    def predict_cancel(self, sender: str, number: bytes) -> Revert | None:
        return self._predict_transition(
            sender, number, importer_acts=False, required=CertificateStatus.ISSUED
        )


# ----------------------------------------------------------------------------------------------
# The chain, as the machine talks to it
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What the machine gets from the test's fixtures."""

    registry: Any
    chain: Any
    governor: Any
    admins: dict[bytes, Any]
    authorities: dict[bytes, Any]  # each participant's authority as conftest.py admits it
    spare_accounts: tuple[Any, ...]  # no role at first; admins may make them authorities
    stranger: Any
    make_certificate: Callable[..., Certificate]
    doc_hash: Callable[[Certificate], bytes]
    sign: Callable[[Certificate, Any], bytes]

    @property
    def everyone(self) -> list[Any]:
        return [
            self.governor,
            *self.admins.values(),
            *self.authorities.values(),
            *self.spare_accounts,
            self.stranger,
        ]

    @property
    def authority_candidates(self) -> list[Any]:
        return [*self.authorities.values(), *self.spare_accounts]


class Node:
    """Reads and dry runs through web3, next to ape's transactions.

    A step makes dozens of reads and ape spends 20 to 70 ms on each, most of it outside the node;
    web3 sends them as one JSON-RPC batch to anvil (eth-tester takes no batches: one by one).
    A call the model expects to revert is run as an eth_call, which runs the same code with the
    same sender: ape-foundry would fetch and print a full call trace for a reverted transaction
    (0.2 s each), and does not decode the custom error of a reverted eth_call itself.
    """

    def __init__(self, registry: Any, chain: Any) -> None:
        self.registry = registry
        self.chain = chain
        self.web3 = chain.provider.web3
        abi = [item.model_dump(mode="json", by_alias=True) for item in registry.contract_type.abi]
        self.contract = self.web3.eth.contract(address=registry.address, abi=abi)
        self.batches = chain.provider.name != "test"  # anvil: yes; eth-tester: no

    def read(self, *calls: tuple[str, tuple[Any, ...]]) -> list[Any]:
        """The results of view calls given as (function name, arguments)."""
        functions = [self.contract.get_function_by_name(name)(*args) for name, args in calls]
        if not self.batches:
            return [function.call() for function in functions]
        with self.web3.batch_requests() as batch:
            for function in functions:
                batch.add(function)
            return list(batch.execute())

    def revert_of(self, method: str, args: tuple[Any, ...], sender: Any) -> Revert | None:
        """The custom error calling `method` as `sender` reverts with; None if it would not."""
        call = {
            "from": sender.address,
            "to": self.registry.address,
            "data": HexBytes(getattr(self.registry, method).encode_input(*args)).to_0x_hex(),
        }
        try:
            self.web3.eth.call(call)
        except ContractCustomError as err:  # anvil: web3 hands over the revert data
            data = HexBytes(str(err.data))
        except TransactionFailed as err:  # eth-tester: the revert data as a bytes literal
            data = HexBytes(literal_eval(str(err).split("execution reverted: ")[-1]))
        else:
            return None
        error = self.chain.provider.network.ecosystem.decode_custom_error(
            data, self.registry.address
        )
        assert error is not None, f"{method} reverted with data the ABI does not know: {data!r}"
        return _as_revert(error)


def _as_revert(error: ContractLogicError) -> Revert:
    return (type(error).__name__, tuple(getattr(error, "inputs", {}).values()))


def _draw_mostly(
    data: st.DataObject, likely: Sequence[Any], anything: Sequence[Any], label: str
) -> Any:
    """Four times in five one of `likely` (when there is one), else any of `anything`."""
    if likely and data.draw(st.integers(0, 4), f"{label}: unlikely?") < 4:
        return data.draw(st.sampled_from(likely), label)
    return data.draw(st.sampled_from(anything), label)


# ----------------------------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------------------------


class LifecycleMachine(RuleBasedStateMachine):
    """Random operations on the registry, each checked against RegistryModel's prediction."""

    setup: ClassVar[Setup]  # set by the test that runs the machine

    def __init__(self) -> None:
        super().__init__()
        s = self.setup
        self.registry = s.registry
        self.chain = s.chain
        self.node = Node(s.registry, s.chain)
        # py-evm names a snapshot by the head block's hash: mine a block of our own first, or the
        # snapshot could be one of ape's isolation snapshots, which restoring ours would drop.
        s.chain.mine()
        self.snapshot = s.chain.snapshot()
        self.model = RegistryModel(
            governor=s.governor.address,
            governor_role=bytes(s.registry.GOVERNOR_ROLE()),
            admins={code: admin.address for code, admin in s.admins.items()},
            participants=dict.fromkeys(PARTICIPANTS, ParticipantStatus.ACTIVE),
            authorities={authority.address: code for code, authority in s.authorities.items()},
            max_validity=int(s.registry.maxValidity()),
            receipt_grace_period=int(s.registry.receiptGracePeriod()),
        )
        self.serial = 0

    def teardown(self) -> None:
        # Restoring brings the clock back too (py-evm and anvil alike). Setting it back by hand as
        # chain.isolate() does would make py-evm mine a block no later than its parent.
        self.chain.restore(self.snapshot)

    # Helpers -----------------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.chain.pending_timestamp)

    def perform(
        self, expected: Revert | None, method: str, args: tuple[Any, ...], sender: Any
    ) -> Any:
        """Checks the model's prediction on chain: a predicted success is sent as a transaction
        and its receipt returned; a predicted revert is dry run (see Node) and None returned."""
        if expected is not None:
            actual = self.node.revert_of(method, args, sender)
            assert actual is not None, f"model predicted {expected}, {method} would succeed"
            assert actual == expected, f"model predicted {expected}, {method} reverts {actual}"
            return None
        try:
            return getattr(self.registry, method)(*args, sender=sender)
        except ContractLogicError as err:
            message = f"model predicted success, {method} reverted {_as_revert(err)}"
            raise AssertionError(message) from err

    def assert_events(self, receipt: Any, *names: str) -> None:
        assert [log.event_name for log in receipt.events] == list(names)

    def next_number(self, exporting: bytes) -> bytes:
        self.serial += 1
        return cert_number(f"{exporting.decode()}-2026-{self.serial:06d}")

    def draw_actor(self, data: st.DataObject, participant: bytes) -> Any:
        """Mostly a current authority of `participant`; any account at all otherwise."""
        own = [
            account
            for account in self.setup.authority_candidates
            if self.model.authorities.get(account.address) == participant
        ]
        return _draw_mostly(data, own, self.setup.everyone, "actor")

    def draw_certificate(
        self, data: st.DataObject, preferred: CertificateStatus, *, unreplaced: bool = False
    ) -> bytes:
        """Mostly a certificate in the `preferred` stored status (and not replaced yet, when
        `unreplaced`); any known one, or an unknown number, otherwise."""
        known = sorted(self.model.certificates)
        fitting = [
            number
            for number in known
            if self.model.certificates[number].status == preferred
            and not (unreplaced and self.model.certificates[number].replaced)
        ]
        return _draw_mostly(data, fitting, [*known, UNKNOWN_NUMBER], "certificate")

    def build(
        self,
        data: st.DataObject,
        exporting: bytes,
        *,
        number: bytes | None = None,
        replaces: bytes = ZERO32,
    ) -> Certificate:
        others = [code for code in PARTICIPANTS if code != exporting]
        importing = _draw_mostly(data, others, (*PARTICIPANTS, NOT_ADMITTED), "importer")
        horizon = data.draw(st.integers(1, 30 * 24), "expiry horizon (hours)") * HOUR
        now = self.now()
        number = number or self.next_number(exporting)
        return replace(
            self.setup.make_certificate(number.rstrip(b"\0").decode()),
            certNo=number,
            exportingParticipant=exporting,
            importingParticipant=importing,
            origin=exporting,
            issuedAt=now,
            expiresAt=now + horizon,
            replaces=replaces,
        )

    def issue_certificates(self, certs: list[Certificate], actor: Any, *, batch: bool) -> None:
        expected = self.model.predict_issue(actor.address, certs, self.now())
        signatures = [self.setup.sign(cert, actor) for cert in certs]
        abi = [cert.to_abi() for cert in certs]
        receipt = (
            self.perform(expected, "issueBatch", (abi, actor.address, signatures), actor)
            if batch
            else self.perform(expected, "issue", (abi[0], actor.address, signatures[0]), actor)
        )
        if receipt is None:
            return
        self.assert_events(receipt, *["CertificateIssued"] * len(certs))
        for cert in certs:
            if cert.replaces != ZERO32:
                self.model.certificates[cert.replaces].replaced = True
            self.model.certificates[cert.certNo] = CertificateModel(
                cert=cert,
                doc_hash=self.setup.doc_hash(cert),
                status=CertificateStatus.ISSUED,
            )

    def any_in(self, status: CertificateStatus) -> bool:
        """Whether a certificate is in stored `status`: the rule acting on such certificates
        runs only then, and reaches the others (and unknown numbers) one time in five."""
        return any(c.status == status for c in self.model.certificates.values())

    def any_replaceable(self) -> bool:
        return any(
            c.status in (CertificateStatus.CANCELLED, CertificateStatus.REJECTED) and not c.replaced
            for c in self.model.certificates.values()
        )

    def room_for(self, count: int) -> bool:
        return len(self.model.certificates) + count <= MAX_CERTIFICATES

    def exporting_of(self, number: bytes) -> bytes:
        record = self.model.certificates.get(number)
        return record.exporting if record else BW

    def importing_of(self, number: bytes) -> bytes:
        record = self.model.certificates.get(number)
        return record.importing if record else AE

    # Rules: issuing ----------------------------------------------------------------------------

    @initialize(data=st.data())
    def issue_opening_batch(self, data: st.DataObject) -> None:
        """Every example starts with a few certificates, so that the lifecycle rules have some
        to work on even when Hypothesis's swarm testing switches the issuing rules off."""
        exporting = data.draw(st.sampled_from(PARTICIPANTS), "exporter")
        size = data.draw(st.integers(1, 3), "batch size")
        certs = [self.build(data, exporting) for _ in range(size)]
        self.issue_certificates(certs, self.setup.authorities[exporting], batch=True)

    @precondition(lambda self: self.room_for(1))
    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        exporting = data.draw(st.sampled_from(PARTICIPANTS), "exporter")
        actor = self.draw_actor(data, exporting)
        # Now and then under a number already used (by this exporter: the prefix must match).
        used = [n for n, c in sorted(self.model.certificates.items()) if c.exporting == exporting]
        number = (
            data.draw(st.sampled_from(used), "used number")
            if used and data.draw(st.integers(0, 5), "reuse a number?") == 5
            else None
        )
        self.issue_certificates([self.build(data, exporting, number=number)], actor, batch=False)

    @precondition(lambda self: self.room_for(3))
    @rule(data=st.data(), size=st.integers(1, 3))
    def issue_batch(self, data: st.DataObject, size: int) -> None:
        exporting = data.draw(st.sampled_from(PARTICIPANTS), "exporter")
        actor = self.draw_actor(data, exporting)
        certs = [self.build(data, exporting) for _ in range(size)]
        self.issue_certificates(certs, actor, batch=True)

    @precondition(lambda self: self.room_for(1) and self.any_replaceable())
    @rule(data=st.data())
    def issue_replacement(self, data: st.DataObject) -> None:
        closed = data.draw(
            st.sampled_from((CertificateStatus.CANCELLED, CertificateStatus.REJECTED)), "replace a"
        )
        replaces = self.draw_certificate(data, closed, unreplaced=True)
        old = self.model.certificates.get(replaces)
        same = [old.exporting] if old else []
        exporting = _draw_mostly(data, same, PARTICIPANTS, "exporter")
        actor = self.draw_actor(data, exporting)
        cert = self.build(data, exporting, replaces=replaces)
        self.issue_certificates([cert], actor, batch=False)

    # Rules: the lifecycle ----------------------------------------------------------------------

    @precondition(lambda self: self.any_in(CertificateStatus.ISSUED))
    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        number = self.draw_certificate(data, CertificateStatus.ISSUED)
        actor = self.draw_actor(data, self.exporting_of(number))
        expected = self.model.predict_ship(actor.address, number, self.now())
        seal = keccak(text=f"seal of {number!r}")
        if (receipt := self.perform(expected, "ship", (number, seal), actor)) is not None:
            self.assert_events(receipt, "CertificateShipped")
            self.model.certificates[number].status = CertificateStatus.SHIPPED

    @precondition(lambda self: self.any_in(CertificateStatus.ISSUED))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        number = self.draw_certificate(data, CertificateStatus.ISSUED)
        actor = self.draw_actor(data, self.exporting_of(number))
        expected = self.model.predict_cancel(actor.address, number)
        if (receipt := self.perform(expected, "cancel", (number,), actor)) is not None:
            self.assert_events(receipt, "CertificateCancelled")
            self.model.certificates[number].status = CertificateStatus.CANCELLED

    @precondition(lambda self: self.any_in(CertificateStatus.SHIPPED))
    @rule(data=st.data(), parcels=st.integers(1, 9), carats=st.integers(1, 10**6))
    def confirm_receipt(self, data: st.DataObject, parcels: int, carats: int) -> None:
        number = self.draw_certificate(data, CertificateStatus.SHIPPED)
        actor = self.draw_actor(data, self.importing_of(number))
        if data.draw(st.integers(0, 9), "an empty confirmation?") == 9:
            parcels, carats = data.draw(st.sampled_from(((0, carats), (parcels, 0))), "empty")
        now = self.now()
        # Mostly dated now; now and then clearly after the block's time (see EXPIRY_MARGIN), or,
        # once expired, on the day it expired (a late confirmation: the grace period's case).
        ahead = data.draw(st.sampled_from((0, 0, 0, 0, EXPIRY_MARGIN, DAY)), "dated ahead by")
        received_at = now + ahead
        record = self.model.certificates.get(number)
        if record is not None and now > record.cert.expiresAt and data.draw(st.booleans(), "late"):
            received_at = record.cert.expiresAt - HOUR
        confirmation = (parcels, carats, received_at, keccak(text=f"confirmation of {number!r}"))
        expected = self.model.predict_confirm(actor.address, number, confirmation, now)
        if (
            receipt := self.perform(expected, "confirmReceipt", (number, confirmation), actor)
        ) is not None:
            self.assert_events(receipt, "CertificateReceived")
            self.model.certificates[number].status = CertificateStatus.RECEIVED

    @precondition(lambda self: self.any_in(CertificateStatus.SHIPPED))
    @rule(data=st.data(), reason=st.sampled_from(RejectionReason))
    def reject(self, data: st.DataObject, reason: RejectionReason) -> None:
        number = self.draw_certificate(data, CertificateStatus.SHIPPED)
        actor = self.draw_actor(data, self.importing_of(number))
        expected = self.model.predict_reject(actor.address, number)
        if (receipt := self.perform(expected, "reject", (number, reason), actor)) is not None:
            self.assert_events(receipt, "CertificateRejected")
            self.model.certificates[number].status = CertificateStatus.REJECTED

    @precondition(lambda self: self.any_in(CertificateStatus.SHIPPED))
    @rule(data=st.data(), reason=st.sampled_from(WithdrawalReason))
    def withdraw_shipment(self, data: st.DataObject, reason: WithdrawalReason) -> None:
        number = self.draw_certificate(data, CertificateStatus.SHIPPED)
        actor = self.draw_actor(data, self.exporting_of(number))
        expected = self.model.predict_withdraw(actor.address, number)
        if (
            receipt := self.perform(expected, "withdrawShipment", (number, reason), actor)
        ) is not None:
            self.assert_events(receipt, "ShipmentWithdrawn")
            self.model.certificates[number].status = CertificateStatus.CANCELLED

    # Rules: time -------------------------------------------------------------------------------

    @rule(data=st.data())
    def time_passes(self, data: st.DataObject) -> None:
        now = self.now()
        live = sorted(
            c.cert.expiresAt
            for c in self.model.certificates.values()
            if c.status_at(now) in (CertificateStatus.ISSUED, CertificateStatus.SHIPPED)
        )
        if live and data.draw(st.booleans(), "just past a live certificate's expiry?"):
            expiry = data.draw(st.sampled_from(live), "expiry")
            target = expiry + data.draw(st.integers(EXPIRY_MARGIN, 2 * DAY), "seconds past it")
        else:
            seconds = st.one_of(st.integers(60, DAY), st.integers(DAY, 45 * DAY))
            target = now + data.draw(seconds, "seconds")
        # Step over expiries (and the ends of their grace periods) we would land next to, so that
        # every later prediction is clear-cut.
        grace = self.model.receipt_grace_period
        while close := [
            edge
            for c in self.model.certificates.values()
            for edge in (c.cert.expiresAt, c.cert.expiresAt + grace)
            if abs(edge - target) < EXPIRY_MARGIN
        ]:
            target = max(close) + EXPIRY_MARGIN
        self.chain.mine(timestamp=target)

    # Rule: governance and participant admins -------------------------------------------------
    # One rule for the four, so that Hypothesis spends most steps on certificates.

    @rule(
        data=st.data(),
        change=st.sampled_from(("status", "revoke", "add", "max_validity", "grace_period")),
    )
    def participants_change(self, data: st.DataObject, change: str) -> None:
        s = self.setup
        if change == "grace_period":
            sender = _draw_mostly(data, [s.governor], s.everyone, "sender")
            self.set_grace_period(sender, data.draw(st.sampled_from(GRACE_PERIODS), "grace"))
            return
        if change == "max_validity":
            sender = _draw_mostly(data, [s.governor], s.everyone, "sender")
            seconds = _draw_mostly(data, MAX_VALIDITIES, [0, *MAX_VALIDITIES], "max validity")
            self.set_max_validity(sender, seconds)
            return
        code = _draw_mostly(data, PARTICIPANTS, [NOT_ADMITTED], "participant")
        if change == "status":
            sender = _draw_mostly(data, [s.governor], s.everyone, "sender")
            # Mostly a real change, and mostly back to Active for a participant out of trade.
            current = self.model.status_of(code)
            changes = (
                [ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN]
                if current == ParticipantStatus.ACTIVE
                else [ParticipantStatus.ACTIVE]
            )
            status = _draw_mostly(data, changes, list(ParticipantStatus), "status")
            self.set_participant_status(sender, code, status)
            return
        admin = [s.admins[code]] if code in s.admins else []
        sender = _draw_mostly(data, admin, s.everyone, "sender")
        candidates = [account.address for account in s.authority_candidates]
        if change == "revoke":
            holding = sorted(self.model.authorities_of(code))
            self.revoke_authority(sender, code, _draw_mostly(data, holding, candidates, "account"))
        else:
            free = [account for account in candidates if account not in self.model.authorities]
            self.add_authority(sender, code, _draw_mostly(data, free, candidates, "account"))

    def set_participant_status(self, sender: Any, code: bytes, status: ParticipantStatus) -> None:
        expected = self.model.predict_set_status(sender.address, code, status)
        if (
            receipt := self.perform(expected, "setParticipantStatus", (code, status), sender)
        ) is not None:
            self.assert_events(receipt, "ParticipantStatusChanged")
            self.model.participants[code] = status

    def set_max_validity(self, sender: Any, seconds: int) -> None:
        expected = self.model.predict_set_max_validity(sender.address, seconds)
        if (receipt := self.perform(expected, "setMaxValidity", (seconds,), sender)) is not None:
            self.assert_events(receipt, "MaxValiditySet")
            self.model.max_validity = seconds

    def set_grace_period(self, sender: Any, seconds: int) -> None:
        expected = self.model.predict_set_grace_period(sender.address, seconds)
        if (
            receipt := self.perform(expected, "setReceiptGracePeriod", (seconds,), sender)
        ) is not None:
            self.assert_events(receipt, "ReceiptGracePeriodSet")
            self.model.receipt_grace_period = seconds

    def revoke_authority(self, sender: Any, code: bytes, account: str) -> None:
        expected = self.model.predict_revoke_authority(sender.address, code, account)
        if (
            receipt := self.perform(expected, "revokeAuthority", (code, account), sender)
        ) is not None:
            self.assert_events(receipt, "AuthorityRevoked")
            del self.model.authorities[account]

    def add_authority(self, sender: Any, code: bytes, account: str) -> None:
        expected = self.model.predict_add_authority(sender.address, code, account)
        if (receipt := self.perform(expected, "addAuthority", (code, account), sender)) is not None:
            self.assert_events(receipt, "AuthorityAdded")
            self.model.authorities[account] = code

    # Invariant ---------------------------------------------------------------------------------

    @invariant()
    def chain_matches_model(self) -> None:
        now = self.now()
        certificates = list(self.model.certificates.items())
        codes = (*PARTICIPANTS, NOT_ADMITTED)
        results = iter(
            self.node.read(
                *[
                    call
                    for number, expected in certificates
                    for call in (
                        ("certificateStatus", (number,)),
                        ("certificate", (number,)),
                        ("matchesDocument", (number, expected.doc_hash)),
                    )
                ],
                *[
                    call
                    for code in codes
                    for call in (("participantStatus", (code,)), ("authoritiesOf", (code,)))
                ],
                ("maxValidity", ()),
                ("receiptGracePeriod", ()),
            )
        )
        for number, expected in certificates:
            status, record, matches = next(results), next(results), next(results)
            assert status == expected.status_at(now), number
            assert tuple(record) == (
                expected.exporting,
                expected.importing,
                expected.status,
                expected.replaced,
                expected.cert.expiresAt,
                expected.doc_hash[:21],
            ), number
            assert matches is True, number
        for code in codes:
            status, authorities = next(results), next(results)
            assert status == self.model.status_of(code), code
            assert set(authorities) == self.model.authorities_of(code), code
        assert next(results) == self.model.max_validity
        assert next(results) == self.model.receipt_grace_period


def _settings(provider_name: str) -> settings:
    # py-evm runs transactions and calls several times slower than anvil: fewer examples there.
    fast = provider_name == "foundry"
    return settings(
        max_examples=25 if fast else 10,
        stateful_step_count=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def test_lifecycle_matches_model_under_random_operations(
    admitted: Any,
    chain: Any,
    accounts: Any,
    governor: Any,
    bw_admin: Any,
    bw_authority: Any,
    ae_admin: Any,
    ae_authority: Any,
    eu_admin: Any,
    eu_authority: Any,
    stranger: Any,
    make_certificate: Callable[..., Certificate],
    doc_hash: Callable[[Certificate], bytes],
    sign: Callable[[Certificate, Any], bytes],
) -> None:
    class Machine(LifecycleMachine):
        setup = Setup(
            registry=admitted,
            chain=chain,
            governor=governor,
            admins={BW: bw_admin, AE: ae_admin, EU: eu_admin},
            authorities={BW: bw_authority, AE: ae_authority, EU: eu_authority},
            spare_accounts=(accounts[8], accounts[9], accounts[10]),
            stranger=stranger,
            make_certificate=make_certificate,
            doc_hash=doc_hash,
            sign=sign,
        )

    run_state_machine_as_test(Machine, settings=_settings(chain.provider.name))


# ----------------------------------------------------------------------------------------------
# The concrete example
# ----------------------------------------------------------------------------------------------


def test_confirm_receipt_reverts_when_expired_and_reject_closes_the_shipment(
    admitted: Any, chain: Any, shipped: Certificate, ae_authority: Any
) -> None:
    chain.mine(timestamp=shipped.expiresAt + 30 * DAY + HOUR)  # past the grace period too
    assert admitted.certificateStatus(shipped.certNo) == CertificateStatus.EXPIRED

    confirmation = (3, 123_456, shipped.expiresAt, keccak(text="AE confirmation"))
    with reverts(admitted.CertificateExpired, certNo=shipped.certNo, expiresAt=shipped.expiresAt):
        admitted.confirmReceipt(shipped.certNo, confirmation, sender=ae_authority)

    receipt = admitted.reject(shipped.certNo, RejectionReason.EXPIRED, sender=ae_authority)

    assert admitted.certificateStatus(shipped.certNo) == CertificateStatus.REJECTED
    assert emitted(receipt) == [
        event(
            admitted.CertificateRejected,
            certNo=shipped.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=ae_authority.address,
            reason=RejectionReason.EXPIRED,
        )
    ]


def test_withdraw_shipment_closes_shipment_when_importer_suspended_in_transit(
    admitted: Any,
    chain: Any,
    governor: Any,
    issue: Callable[..., Any],
    make_certificate: Callable[..., Certificate],
    bw_authority: Any,
    ae_authority: Any,
) -> None:
    in_transit, waiting = make_certificate("BW-2026-000001"), make_certificate("BW-2026-000002")
    issue(in_transit)
    issue(waiting)
    admitted.ship(in_transit.certNo, keccak(text="seal"), sender=bw_authority)
    admitted.setParticipantStatus(AE, ParticipantStatus.SUSPENDED, sender=governor)

    with reverts(admitted.ParticipantNotActive, code=AE):
        admitted.ship(waiting.certNo, keccak(text="seal"), sender=bw_authority)
    now = int(chain.pending_timestamp)
    confirmation = (3, 123_456, now - now % DAY, keccak(text="AE confirmation"))
    with reverts(admitted.ParticipantNotActive, code=AE):
        admitted.confirmReceipt(in_transit.certNo, confirmation, sender=ae_authority)

    receipt = admitted.withdrawShipment(
        in_transit.certNo, WithdrawalReason.RETURNED, sender=bw_authority
    )

    assert admitted.certificateStatus(in_transit.certNo) == CertificateStatus.CANCELLED
    assert admitted.certificateStatus(waiting.certNo) == CertificateStatus.ISSUED
    assert emitted(receipt) == [
        event(
            admitted.ShipmentWithdrawn,
            certNo=in_transit.certNo,
            exportingParticipant=BW,
            importingParticipant=AE,
            authority=bw_authority.address,
            reason=WithdrawalReason.RETURNED,
        )
    ]
