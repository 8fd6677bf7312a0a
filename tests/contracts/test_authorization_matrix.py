"""Who may call what: every state-changing function of the registry, called by every kind of actor.

MATRIX below is the documentation. Each cell is the outcome of one call: OK, or the name of the
custom error the registry reverts with. A test per cell sets up what the function needs (an issued
certificate for `ship`, a shipped one for `confirmReceipt`, a shipped one whose importer AE is
then suspended for `withdrawShipment` ...), puts the actor in its state, makes the call as the
actor, and checks the state change and the event, or the exact revert and its arguments. For
`issue` and `issueBatch` the actor signs the documents too.

Every cell is tested twice: the call sent directly, and the same call sent as the one call of a
`multicall` (OpenZeppelin Multicall). A call in a batch keeps its sender, so the outcome must be
the same: a batch can do nothing its sender could not do directly, governance included.

The actors (MATRIX columns), with BW exporting to AE throughout:

- governor: the KP Chair/Secretariat account (GOVERNOR_ROLE and DEFAULT_ADMIN_ROLE).
- admin: BW's participant admin (not an authority).
- exporter: BW's authority, the exporting authority.
- importer: AE's authority, the importing authority.
- third: the EU's authority, party to nothing here.
- revoked: an account BW's admin made a BW authority and then revoked.
- suspended: the authority of the participant the function acts for, while governance has
  suspended that participant: AE's authority with AE suspended for the importer's functions
  (confirmReceipt, reject), BW's authority with BW suspended for every other function.
- stranger: an account with no role at all.

Starting or completing trade (issue, ship, confirmReceipt) and cancel need the acting participant
Active; closing a shipment in transit (reject, withdrawShipment) needs only its authority.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_utils import keccak

from kpchain.certificates.typed_data import Certificate
from kpchain.contracts.encoding import zone_id
from kpchain.contracts.enums import (
    CertificateStatus,
    ParticipantStatus,
    RejectionReason,
    WithdrawalReason,
)

from support import emitted, event, issued_event, reverts

BW, AE, EU, CF = b"BW", b"AE", b"EU", b"CF"

OK = "allowed"
GOV = "AccessControlUnauthorizedAccount"  # OpenZeppelin's: the caller lacks GOVERNOR_ROLE
ADM = "ParticipantAdminUnauthorized"  # the caller is not the participant's admin
UNA = "UnauthorizedAuthority"  # the caller is not an authority of the acting participant
INA = "ParticipantNotActive"  # the caller's participant is not Active

ACTORS = ("governor", "admin", "exporter", "importer", "third", "revoked", "suspended", "stranger")

# fmt: off
MATRIX: dict[str, tuple[str, ...]] = {
    #                        governor admin  exporter importer third  revoked suspended stranger
    "admitParticipant":     (OK,      GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "setParticipantStatus": (OK,      GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "setParticipantAdmin":  (OK,      GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "setOriginRestriction": (OK,      GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "setOriginZone":        (OK,      GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "addAuthority":         (ADM,     OK,    ADM,     ADM,     ADM,   ADM,    ADM,      ADM),
    "revokeAuthority":      (ADM,     OK,    ADM,     ADM,     ADM,   ADM,    ADM,      ADM),
    "issue":                (UNA,     UNA,   OK,      UNA,     UNA,   UNA,    INA,      UNA),
    "issueBatch":           (UNA,     UNA,   OK,      UNA,     UNA,   UNA,    INA,      UNA),
    "ship":                 (UNA,     UNA,   OK,      UNA,     UNA,   UNA,    INA,      UNA),
    "confirmReceipt":       (UNA,     UNA,   UNA,     OK,      UNA,   UNA,    INA,      UNA),
    "reject":               (UNA,     UNA,   UNA,     OK,      UNA,   UNA,    OK,       UNA),
    "cancel":               (UNA,     UNA,   OK,      UNA,     UNA,   UNA,    INA,      UNA),
    "withdrawShipment":     (UNA,     UNA,   OK,      UNA,     UNA,   UNA,    OK,       UNA),
    "setMaxValidity":       (OK,      GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "setReceiptGracePeriod": (OK,     GOV,   GOV,     GOV,     GOV,   GOV,    GOV,      GOV),
    "setServiceEndpoint":   (ADM,     OK,    ADM,     ADM,     ADM,   ADM,    ADM,      ADM),
}
# fmt: on

# State-changing functions the registry inherits from OpenZeppelin AccessControl unchanged; their
# authorisation (DEFAULT_ADMIN_ROLE, or the caller's own role) is OpenZeppelin's, tested there.
OPENZEPPELIN_FUNCTIONS = {"grantRole", "revokeRole", "renounceRole"}
# OpenZeppelin Multicall's `multicall`: anyone may call it, and each call in it is authorised as
# its own; every cell of MATRIX is tested through it (ROUTES).
BATCHING_FUNCTIONS = {"multicall"}

# How a cell's call is sent: directly, or as the one call of a multicall.
ROUTES = ("direct", "multicall")

# The importer acts in these; the exporter (BW) in every other certificate function.
IMPORTER_FUNCTIONS = {"confirmReceipt", "reject"}


SEAL = keccak(text="seal and container BW-2026-000123")
# Received 2026-11-27 00:00 UTC: in the past, as the registry requires of a receipt's date.
CONFIRMATION = (3, 123_456, 1_795_737_600, keccak(text="AE confirmation of BW-2026-000123"))
REJECTION_REASON = RejectionReason.SEAL_BROKEN
WITHDRAWAL_REASON = WithdrawalReason.RETURNED
MAX_VALIDITY = 90 * 86_400
RECEIPT_GRACE_PERIOD = 10 * 86_400
ZONE = zone_id("BW:Jwaneng")
ENDPOINT_URL = "https://kp.bw.example"
ENCRYPTION_KEY = keccak(text="BW document encryption key")


@dataclass
class World:
    """The admitted registry, the accounts the actors use and the certificate helpers."""

    registry: Any
    governor: Any
    bw_admin: Any
    bw_authority: Any
    ae_authority: Any
    eu_authority: Any
    former_bw_authority: Any
    newcomer: Any
    stranger: Any
    make_certificate: Callable[..., Certificate]
    doc_hash: Callable[[Certificate], bytes]
    sign: Callable[[Certificate, Any], bytes]

    def issue(self, cert: Certificate, actor: Any) -> Any:
        """Issues `cert` with `actor` as both sender and signer."""
        return self.registry.issue(cert.to_abi(), actor, self.sign(cert, actor), sender=actor)

    def send(self, function: str, arguments: tuple[Any, ...], actor: Any, route: str) -> Any:
        """Calls `function` with `arguments` as `actor`, directly or inside a multicall."""
        method = getattr(self.registry, function)
        if route == "direct":
            return method(*arguments, sender=actor)
        return self.registry.multicall([method.encode_input(*arguments)], sender=actor)

    def issued(self) -> Certificate:
        cert = self.make_certificate()
        self.issue(cert, self.bw_authority)
        return cert

    def shipped(self) -> Certificate:
        cert = self.issued()
        self.registry.ship(cert.certNo, SEAL, sender=self.bw_authority)
        return cert

    def stranded(self) -> Certificate:
        """Shipped to AE, then AE suspended: a shipment BW may withdraw."""
        cert = self.shipped()
        self.registry.setParticipantStatus(AE, ParticipantStatus.SUSPENDED, sender=self.governor)
        return cert


@pytest.fixture
def world(
    admitted: Any,
    accounts: Any,
    governor: Any,
    bw_admin: Any,
    bw_authority: Any,
    ae_authority: Any,
    eu_authority: Any,
    stranger: Any,
    make_certificate: Callable[..., Certificate],
    doc_hash: Callable[[Certificate], bytes],
    sign: Callable[[Certificate, Any], bytes],
) -> World:
    return World(
        registry=admitted,
        governor=governor,
        bw_admin=bw_admin,
        bw_authority=bw_authority,
        ae_authority=ae_authority,
        eu_authority=eu_authority,
        former_bw_authority=accounts[8],
        newcomer=accounts[9],
        stranger=stranger,
        make_certificate=make_certificate,
        doc_hash=doc_hash,
        sign=sign,
    )


# ----------------------------------------------------------------------------------------------
# The actors: each puts the world in its state and returns the account that calls
# ----------------------------------------------------------------------------------------------


def _acting_participant(function: str) -> bytes:
    return AE if function in IMPORTER_FUNCTIONS else BW


def _revoked_authority(w: World, function: str) -> Any:
    w.registry.addAuthority(BW, w.former_bw_authority, sender=w.bw_admin)
    w.registry.revokeAuthority(BW, w.former_bw_authority, sender=w.bw_admin)
    return w.former_bw_authority


def _suspended_authority(w: World, function: str) -> Any:
    code = _acting_participant(function)
    w.registry.setParticipantStatus(code, ParticipantStatus.SUSPENDED, sender=w.governor)
    return w.ae_authority if code == AE else w.bw_authority


ACTOR_SETUP: dict[str, Callable[[World, str], Any]] = {
    "governor": lambda w, _: w.governor,
    "admin": lambda w, _: w.bw_admin,
    "exporter": lambda w, _: w.bw_authority,
    "importer": lambda w, _: w.ae_authority,
    "third": lambda w, _: w.eu_authority,
    "revoked": _revoked_authority,
    "suspended": _suspended_authority,
    "stranger": lambda w, _: w.stranger,
}


# ----------------------------------------------------------------------------------------------
# The functions: what each needs before the call, the call, and what a successful call changes
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """How to exercise one function: `prepare` builds its precondition and returns the call's
    subject, `arguments` gives the call's arguments for the subject and the actor, `verify`
    checks the state change and the event."""

    prepare: Callable[[World], Any]
    arguments: Callable[[World, Any, Any], tuple[Any, ...]]
    verify: Callable[[World, Any, Any, Any], None]


def _nothing(w: World) -> None:
    return None


def _verify_admitted(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.participantStatus(CF) == ParticipantStatus.ACTIVE
    assert w.registry.participant(CF).admin == w.newcomer.address
    assert emitted(receipt) == [
        event(w.registry.ParticipantAdmitted, code=CF, admin=w.newcomer.address)
    ]


def _verify_status_set(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.participantStatus(EU) == ParticipantStatus.SUSPENDED
    assert emitted(receipt) == [
        event(
            w.registry.ParticipantStatusChanged,
            code=EU,
            previous=ParticipantStatus.ACTIVE,
            status=ParticipantStatus.SUSPENDED,
        )
    ]


def _verify_admin_set(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.participant(BW).admin == w.newcomer.address
    assert emitted(receipt) == [
        event(
            w.registry.ParticipantAdminChanged,
            code=BW,
            previous=w.bw_admin.address,
            admin=w.newcomer.address,
        )
    ]


def _verify_origin_restricted(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.participant(BW).originRestricted is True
    assert emitted(receipt) == [
        event(w.registry.OriginRestrictionChanged, code=BW, restricted=True)
    ]


def _verify_zone_allowed(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.isOriginZone(BW, ZONE) is True
    assert emitted(receipt) == [
        event(w.registry.OriginZoneChanged, code=BW, zone=ZONE, allowed=True)
    ]


def _verify_authority_added(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.isAuthority(BW, w.newcomer) is True
    assert emitted(receipt) == [
        event(
            w.registry.AuthorityAdded,
            participant=BW,
            account=w.newcomer.address,
            admin=actor.address,
        )
    ]


def _verify_authority_revoked(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.isAuthority(BW, w.bw_authority) is False
    assert emitted(receipt) == [
        event(
            w.registry.AuthorityRevoked,
            participant=BW,
            account=w.bw_authority.address,
            admin=actor.address,
        )
    ]


def _verify_max_validity_set(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.maxValidity() == MAX_VALIDITY
    assert emitted(receipt) == [event(w.registry.MaxValiditySet, maxValidity=MAX_VALIDITY)]


def _verify_grace_period_set(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.receiptGracePeriod() == RECEIPT_GRACE_PERIOD
    assert emitted(receipt) == [
        event(w.registry.ReceiptGracePeriodSet, receiptGracePeriod=RECEIPT_GRACE_PERIOD)
    ]


def _verify_endpoint_set(w: World, subject: Any, actor: Any, receipt: Any) -> None:
    assert w.registry.serviceEndpoint(BW) == (ENDPOINT_URL, ENCRYPTION_KEY)
    assert emitted(receipt) == [
        event(
            w.registry.ServiceEndpointSet,
            code=BW,
            url=ENDPOINT_URL,
            encryptionKey=ENCRYPTION_KEY,
        )
    ]


def _verify_issued(w: World, certs: list[Certificate], actor: Any, receipt: Any) -> None:
    for cert in certs:
        assert w.registry.certificateStatus(cert.certNo) == CertificateStatus.ISSUED
        assert w.registry.matchesDocument(cert.certNo, w.doc_hash(cert)) is True
    assert emitted(receipt) == [
        issued_event(w.registry, cert, w.doc_hash(cert), actor) for cert in certs
    ]


def _issue_one(w: World, certs: list[Certificate], actor: Any) -> tuple[Any, ...]:
    return (certs[0].to_abi(), actor, w.sign(certs[0], actor))


def _issue_batch(w: World, certs: list[Certificate], actor: Any) -> tuple[Any, ...]:
    signatures = [w.sign(cert, actor) for cert in certs]
    return ([cert.to_abi() for cert in certs], actor, signatures)


def _verify_transition(
    status: CertificateStatus, event_name: str, **arguments: Any
) -> Callable[[World, Certificate, Any, Any], None]:
    """Checks that the certificate reads `status` and that the receipt holds its one event: the
    certificate's number and participants, the acting authority and `arguments`."""

    def verify(w: World, cert: Certificate, actor: Any, receipt: Any) -> None:
        assert w.registry.certificateStatus(cert.certNo) == status
        assert emitted(receipt) == [
            event(
                getattr(w.registry, event_name),
                certNo=cert.certNo,
                exportingParticipant=BW,
                importingParticipant=AE,
                authority=actor.address,
                **arguments,
            )
        ]

    return verify


OPERATIONS: dict[str, Operation] = {
    "admitParticipant": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (CF, w.newcomer),
        verify=_verify_admitted,
    ),
    "setParticipantStatus": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (EU, ParticipantStatus.SUSPENDED),
        verify=_verify_status_set,
    ),
    "setParticipantAdmin": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (BW, w.newcomer),
        verify=_verify_admin_set,
    ),
    "setOriginRestriction": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (BW, True),
        verify=_verify_origin_restricted,
    ),
    "setOriginZone": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (BW, ZONE, True),
        verify=_verify_zone_allowed,
    ),
    "addAuthority": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (BW, w.newcomer),
        verify=_verify_authority_added,
    ),
    "revokeAuthority": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (BW, w.bw_authority),
        verify=_verify_authority_revoked,
    ),
    "issue": Operation(
        prepare=lambda w: [w.make_certificate()],
        arguments=_issue_one,
        verify=_verify_issued,
    ),
    "issueBatch": Operation(
        prepare=lambda w: [w.make_certificate(f"BW-2026-00012{i}") for i in range(3)],
        arguments=_issue_batch,
        verify=_verify_issued,
    ),
    "ship": Operation(
        prepare=World.issued,
        arguments=lambda w, cert, actor: (cert.certNo, SEAL),
        verify=_verify_transition(CertificateStatus.SHIPPED, "CertificateShipped", sealRef=SEAL),
    ),
    "confirmReceipt": Operation(
        prepare=World.shipped,
        arguments=lambda w, cert, actor: (cert.certNo, CONFIRMATION),
        verify=_verify_transition(
            CertificateStatus.RECEIVED, "CertificateReceived", confirmation=list(CONFIRMATION)
        ),
    ),
    "reject": Operation(
        prepare=World.shipped,
        arguments=lambda w, cert, actor: (cert.certNo, REJECTION_REASON),
        verify=_verify_transition(
            CertificateStatus.REJECTED, "CertificateRejected", reason=REJECTION_REASON
        ),
    ),
    "cancel": Operation(
        prepare=World.issued,
        arguments=lambda w, cert, actor: (cert.certNo,),
        verify=_verify_transition(CertificateStatus.CANCELLED, "CertificateCancelled"),
    ),
    "withdrawShipment": Operation(
        prepare=World.stranded,
        arguments=lambda w, cert, actor: (cert.certNo, WITHDRAWAL_REASON),
        verify=_verify_transition(
            CertificateStatus.CANCELLED, "ShipmentWithdrawn", reason=WITHDRAWAL_REASON
        ),
    ),
    "setMaxValidity": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (MAX_VALIDITY,),
        verify=_verify_max_validity_set,
    ),
    "setReceiptGracePeriod": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (RECEIPT_GRACE_PERIOD,),
        verify=_verify_grace_period_set,
    ),
    "setServiceEndpoint": Operation(
        prepare=_nothing,
        arguments=lambda w, _, actor: (BW, ENDPOINT_URL, ENCRYPTION_KEY),
        verify=_verify_endpoint_set,
    ),
}


def _expected_inputs(w: World, function: str, error: str, actor: Any) -> dict[str, Any]:
    """The arguments `error` carries when `actor` is refused `function`."""
    if error == GOV:
        return {"account": actor.address, "neededRole": w.registry.GOVERNOR_ROLE()}
    if error == ADM:
        return {"account": actor.address, "participant": BW}
    if error == UNA:
        return {"account": actor.address, "participant": _acting_participant(function)}
    if error == INA:
        return {"code": _acting_participant(function)}
    raise AssertionError(f"no expected arguments written for {error}")


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------

CELLS = [
    (function, actor, outcome, route)
    for function, row in MATRIX.items()
    for actor, outcome in zip(ACTORS, row, strict=True)
    for route in ROUTES
]
ALLOWED_CELLS = [(f, a, route) for f, a, outcome, route in CELLS if outcome == OK]
DENIED_CELLS = [(f, a, outcome, route) for f, a, outcome, route in CELLS if outcome != OK]


@pytest.mark.parametrize(
    ("function", "actor_name", "route"),
    ALLOWED_CELLS,
    ids=[f"{f}-by-{a}-{route}" for f, a, route in ALLOWED_CELLS],
)
def test_call_succeeds_when_caller_is_authorised(
    world: World, function: str, actor_name: str, route: str
) -> None:
    operation = OPERATIONS[function]
    subject = operation.prepare(world)
    actor = ACTOR_SETUP[actor_name](world, function)

    receipt = world.send(function, operation.arguments(world, subject, actor), actor, route)

    operation.verify(world, subject, actor, receipt)


@pytest.mark.parametrize(
    ("function", "actor_name", "error", "route"),
    DENIED_CELLS,
    ids=[f"{f}-by-{a}-{route}" for f, a, _, route in DENIED_CELLS],
)
def test_call_reverts_when_caller_is_not_authorised(
    world: World, function: str, actor_name: str, error: str, route: str
) -> None:
    operation = OPERATIONS[function]
    subject = operation.prepare(world)
    actor = ACTOR_SETUP[actor_name](world, function)
    expected = getattr(world.registry, error)
    arguments = operation.arguments(world, subject, actor)

    with reverts(expected, **_expected_inputs(world, function, error, actor)):
        world.send(function, arguments, actor, route)


def test_matrix_covers_every_state_changing_function(registry: Any) -> None:
    state_changing = {
        abi.name
        for abi in registry.contract_type.mutable_methods
        if abi.name not in OPENZEPPELIN_FUNCTIONS | BATCHING_FUNCTIONS
    }

    assert state_changing == set(MATRIX) == set(OPERATIONS)
