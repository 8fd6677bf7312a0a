"""ParticipantRegistry, through the CertificateRegistry that inherits it (one deployed contract
serves both interfaces): governance, participant admins, authorities, origin zones and views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ape
import pytest
from eth_utils import keccak

from kpchain.contracts.encoding import zone_id
from kpchain.contracts.enums import ParticipantStatus

from support import emitted, event, reverts

BW, AE, EU, CF, ZZ = b"BW", b"AE", b"EU", b"CF", b"ZZ"
NO_CODE = b"\x00\x00"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = bytes(32)
BERBERATI = zone_id("CF:Berberati")
BANGUI = zone_id("CF:Bangui")


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def zz_admin(accounts: Any) -> Any:
    return accounts[8]


@pytest.fixture(scope="session")
def newcomer(accounts: Any) -> Any:
    """An account that is nobody's authority yet."""
    return accounts[9]


@pytest.fixture(scope="session")
def spare(accounts: Any) -> Any:
    """A second account that is nobody's authority yet."""
    return accounts[10]


@pytest.fixture
def zz(registry: Any, governor: Any, zz_admin: Any) -> Any:
    """A bare registry with ZZ admitted (no authorities); returns the admission receipt."""
    return registry.admitParticipant(ZZ, zz_admin, sender=governor)


@pytest.fixture
def set_status(registry: Any, governor: Any) -> Callable[[bytes, ParticipantStatus], Any]:
    def run(code: bytes, status: ParticipantStatus) -> Any:
        return registry.setParticipantStatus(code, status, sender=governor)

    return run


# ----------------------------------------------------------------------------------------------
# Constructor and roles
# ----------------------------------------------------------------------------------------------


def test_constructor_grants_admin_and_governor_roles_to_governor(
    registry: Any, governor: Any, stranger: Any
) -> None:
    default_admin_role = ZERO32

    assert registry.GOVERNOR_ROLE() == keccak(text="GOVERNOR_ROLE")
    assert registry.hasRole(default_admin_role, governor)
    assert registry.hasRole(registry.GOVERNOR_ROLE(), governor)
    assert not registry.hasRole(registry.GOVERNOR_ROLE(), stranger)


def test_constructor_reverts_when_governor_zero(project: Any, governor: Any) -> None:
    with ape.reverts() as info:
        governor.deploy(project.CertificateRegistry, ZERO_ADDRESS)

    # py-evm decodes the custom error; on anvil ape has no address to find the ABI of a failed
    # deployment by and leaves the revert data (the bare selector here) undecoded.
    selector = "0x" + keccak(text="AccountZero()")[:4].hex()
    error = info.value
    assert type(error).__name__ == "AccountZero" or error.revert_message == selector


def test_admit_participant_succeeds_when_governor_role_granted_to_another_account(
    registry: Any, governor: Any, stranger: Any, zz_admin: Any
) -> None:
    registry.grantRole(registry.GOVERNOR_ROLE(), stranger, sender=governor)

    registry.admitParticipant(ZZ, zz_admin, sender=stranger)

    assert registry.participantStatus(ZZ) == ParticipantStatus.ACTIVE


GOVERNANCE_CALLS = {
    "admitParticipant": lambda registry, sender: registry.admitParticipant(
        ZZ, sender, sender=sender
    ),
    "setParticipantStatus": lambda registry, sender: registry.setParticipantStatus(
        BW, ParticipantStatus.SUSPENDED, sender=sender
    ),
    "setParticipantAdmin": lambda registry, sender: registry.setParticipantAdmin(
        BW, sender, sender=sender
    ),
    "setOriginRestriction": lambda registry, sender: registry.setOriginRestriction(
        BW, True, sender=sender
    ),
    "setOriginZone": lambda registry, sender: registry.setOriginZone(
        BW, BERBERATI, True, sender=sender
    ),
}


@pytest.mark.parametrize("call", GOVERNANCE_CALLS.values(), ids=GOVERNANCE_CALLS.keys())
@pytest.mark.parametrize("sender_name", ["stranger", "bw_admin"])
def test_governance_reverts_when_sender_not_governor(
    admitted: Any, request: pytest.FixtureRequest, call: Any, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)

    with reverts(
        admitted.AccessControlUnauthorizedAccount,
        account=sender.address,
        neededRole=admitted.GOVERNOR_ROLE(),
    ):
        call(admitted, sender)


# ----------------------------------------------------------------------------------------------
# admitParticipant
# ----------------------------------------------------------------------------------------------


def test_admit_participant_stores_active_participant_when_code_new(
    registry: Any, zz: Any, zz_admin: Any
) -> None:
    assert registry.participant(ZZ) == (
        ParticipantStatus.ACTIVE,
        False,
        zz_admin,
        zz.timestamp,
    )
    assert registry.participantStatus(ZZ) == ParticipantStatus.ACTIVE
    assert registry.participantCodes() == [ZZ]
    assert registry.authoritiesOf(ZZ) == []


def test_admit_participant_emits_participant_admitted(
    registry: Any, zz: Any, zz_admin: Any
) -> None:
    assert emitted(zz) == [event(registry.ParticipantAdmitted, code=ZZ, admin=zz_admin.address)]


@pytest.mark.parametrize("code", [b"AZ", b"ZA"])
def test_admit_participant_succeeds_when_code_two_upper_case_letters(
    registry: Any, governor: Any, zz_admin: Any, code: bytes
) -> None:
    registry.admitParticipant(code, zz_admin, sender=governor)

    assert registry.participantStatus(code) == ParticipantStatus.ACTIVE


@pytest.mark.parametrize(
    "code",
    [b"bw", b"bW", b"B1", NO_CODE, b"B\x00", b"@A", b"[A", b"A["],
    ids=[
        "lower",
        "first-lower",
        "second-digit",
        "zero",
        "second-zero",
        "below-A",
        "above-Z",
        "second-above-Z",
    ],
)
def test_admit_participant_reverts_when_code_invalid(
    registry: Any, governor: Any, zz_admin: Any, code: bytes
) -> None:
    with reverts(registry.ParticipantCodeInvalid, code=code):
        registry.admitParticipant(code, zz_admin, sender=governor)


@pytest.mark.parametrize("status", [ParticipantStatus.ACTIVE, ParticipantStatus.WITHDRAWN])
def test_admit_participant_reverts_when_code_already_admitted(
    registry: Any,
    zz: Any,
    governor: Any,
    stranger: Any,
    set_status: Any,
    status: ParticipantStatus,
) -> None:
    if status != ParticipantStatus.ACTIVE:
        set_status(ZZ, status)

    with reverts(registry.ParticipantAlreadyAdmitted, code=ZZ):
        registry.admitParticipant(ZZ, stranger, sender=governor)


def test_admit_participant_reverts_when_admin_zero(registry: Any, governor: Any) -> None:
    with reverts(registry.AccountZero):
        registry.admitParticipant(ZZ, ZERO_ADDRESS, sender=governor)


# ----------------------------------------------------------------------------------------------
# setParticipantStatus
# ----------------------------------------------------------------------------------------------

S = ParticipantStatus
STATUS_PATHS = {
    "suspend": [S.SUSPENDED],
    "reinstate": [S.SUSPENDED, S.ACTIVE],
    "withdraw": [S.WITHDRAWN],
    "readmit": [S.WITHDRAWN, S.ACTIVE],
    "withdraw-suspended": [S.SUSPENDED, S.WITHDRAWN],
    "suspend-withdrawn": [S.WITHDRAWN, S.SUSPENDED],
}


@pytest.mark.parametrize("path", STATUS_PATHS.values(), ids=STATUS_PATHS.keys())
def test_set_participant_status_changes_status_and_emits_event(
    registry: Any, zz: Any, zz_admin: Any, set_status: Any, path: list[ParticipantStatus]
) -> None:
    previous = ParticipantStatus.ACTIVE
    for status in path:
        receipt = set_status(ZZ, status)

        assert emitted(receipt) == [
            event(registry.ParticipantStatusChanged, code=ZZ, previous=previous, status=status)
        ]
        previous = status

    # Only the status changes: admin, restriction and admission time stay.
    assert registry.participant(ZZ) == (path[-1], False, zz_admin, zz.timestamp)
    assert registry.participantStatus(ZZ) == path[-1]


def test_set_participant_status_reverts_when_status_none(
    registry: Any, zz: Any, set_status: Any
) -> None:
    with reverts(registry.ParticipantStatusUnchanged, code=ZZ, status=ParticipantStatus.NONE):
        set_status(ZZ, ParticipantStatus.NONE)


@pytest.mark.parametrize("status", [ParticipantStatus.ACTIVE, ParticipantStatus.SUSPENDED])
def test_set_participant_status_reverts_when_status_unchanged(
    registry: Any, zz: Any, set_status: Any, status: ParticipantStatus
) -> None:
    if status != ParticipantStatus.ACTIVE:
        set_status(ZZ, status)

    with reverts(registry.ParticipantStatusUnchanged, code=ZZ, status=status):
        set_status(ZZ, status)


def test_set_participant_status_reverts_when_participant_not_found(
    registry: Any, set_status: Any
) -> None:
    with reverts(registry.ParticipantNotFound, code=ZZ):
        set_status(ZZ, ParticipantStatus.SUSPENDED)


# ----------------------------------------------------------------------------------------------
# setParticipantAdmin
# ----------------------------------------------------------------------------------------------


def test_set_participant_admin_replaces_admin_and_emits_event(
    admitted: Any, governor: Any, bw_admin: Any, bw_authority: Any, newcomer: Any
) -> None:
    admission_time = admitted.participant(BW).admittedAt

    receipt = admitted.setParticipantAdmin(BW, newcomer, sender=governor)

    assert emitted(receipt) == [
        event(
            admitted.ParticipantAdminChanged,
            code=BW,
            previous=bw_admin.address,
            admin=newcomer.address,
        )
    ]
    assert admitted.participant(BW) == (ParticipantStatus.ACTIVE, False, newcomer, admission_time)
    # Authorities survive a change of admin.
    assert admitted.authoritiesOf(BW) == [bw_authority]


def test_set_participant_admin_moves_authority_management_to_new_admin(
    admitted: Any, governor: Any, bw_admin: Any, newcomer: Any, spare: Any
) -> None:
    admitted.setParticipantAdmin(BW, newcomer, sender=governor)

    admitted.addAuthority(BW, spare, sender=newcomer)
    assert admitted.isAuthority(BW, spare)
    with reverts(admitted.ParticipantAdminUnauthorized, account=bw_admin.address, participant=BW):
        admitted.revokeAuthority(BW, spare, sender=bw_admin)


def test_set_participant_admin_reverts_when_admin_zero(admitted: Any, governor: Any) -> None:
    with reverts(admitted.AccountZero):
        admitted.setParticipantAdmin(BW, ZERO_ADDRESS, sender=governor)


def test_set_participant_admin_reverts_when_participant_not_found(
    registry: Any, governor: Any, newcomer: Any
) -> None:
    with reverts(registry.ParticipantNotFound, code=ZZ):
        registry.setParticipantAdmin(ZZ, newcomer, sender=governor)


# ----------------------------------------------------------------------------------------------
# setOriginRestriction and setOriginZone
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def cf(registry: Any, governor: Any, zz_admin: Any) -> Any:
    """A bare registry with CF admitted (no authorities)."""
    return registry.admitParticipant(CF, zz_admin, sender=governor)


def test_set_origin_restriction_restricts_origin_and_emits_event(
    registry: Any, cf: Any, governor: Any
) -> None:
    receipt = registry.setOriginRestriction(CF, True, sender=governor)

    assert emitted(receipt) == [event(registry.OriginRestrictionChanged, code=CF, restricted=True)]
    assert registry.participant(CF).originRestricted
    assert not registry.isOriginAllowed(CF, BERBERATI)
    assert not registry.isOriginAllowed(CF, ZERO32)


def test_set_origin_restriction_lifts_restriction_and_emits_event(
    registry: Any, cf: Any, governor: Any
) -> None:
    registry.setOriginRestriction(CF, True, sender=governor)

    receipt = registry.setOriginRestriction(CF, False, sender=governor)

    assert emitted(receipt) == [event(registry.OriginRestrictionChanged, code=CF, restricted=False)]
    assert not registry.participant(CF).originRestricted
    assert registry.isOriginAllowed(CF, BERBERATI)
    assert registry.isOriginAllowed(CF, ZERO32)


def test_set_origin_restriction_reverts_when_participant_not_found(
    registry: Any, governor: Any
) -> None:
    with reverts(registry.ParticipantNotFound, code=CF):
        registry.setOriginRestriction(CF, True, sender=governor)


def test_set_origin_zone_allows_zone_and_emits_event(registry: Any, cf: Any, governor: Any) -> None:
    registry.setOriginRestriction(CF, True, sender=governor)

    receipt = registry.setOriginZone(CF, BERBERATI, True, sender=governor)

    assert emitted(receipt) == [
        event(registry.OriginZoneChanged, code=CF, zone=BERBERATI, allowed=True)
    ]
    assert registry.isOriginZone(CF, BERBERATI)
    assert registry.isOriginAllowed(CF, BERBERATI)
    assert not registry.isOriginZone(CF, BANGUI)
    assert not registry.isOriginAllowed(CF, BANGUI)


def test_set_origin_zone_disallows_zone_and_emits_event(
    registry: Any, cf: Any, governor: Any
) -> None:
    registry.setOriginRestriction(CF, True, sender=governor)
    registry.setOriginZone(CF, BERBERATI, True, sender=governor)

    receipt = registry.setOriginZone(CF, BERBERATI, False, sender=governor)

    assert emitted(receipt) == [
        event(registry.OriginZoneChanged, code=CF, zone=BERBERATI, allowed=False)
    ]
    assert not registry.isOriginZone(CF, BERBERATI)
    assert not registry.isOriginAllowed(CF, BERBERATI)


def test_set_origin_zone_reverts_when_zone_zero(registry: Any, cf: Any, governor: Any) -> None:
    with reverts(registry.OriginZoneZero):
        registry.setOriginZone(CF, ZERO32, True, sender=governor)


def test_set_origin_zone_reverts_when_participant_not_found(registry: Any, governor: Any) -> None:
    with reverts(registry.ParticipantNotFound, code=CF):
        registry.setOriginZone(CF, BERBERATI, True, sender=governor)


# ----------------------------------------------------------------------------------------------
# addAuthority
# ----------------------------------------------------------------------------------------------


def test_add_authority_registers_account_and_emits_event(
    admitted: Any, bw_admin: Any, bw_authority: Any, newcomer: Any
) -> None:
    receipt = admitted.addAuthority(BW, newcomer, sender=bw_admin)

    assert emitted(receipt) == [
        event(
            admitted.AuthorityAdded,
            participant=BW,
            account=newcomer.address,
            admin=bw_admin.address,
        )
    ]
    assert admitted.isAuthority(BW, newcomer)
    assert sorted(admitted.authoritiesOf(BW)) == sorted([bw_authority.address, newcomer.address])
    assert admitted.authorityStatus(newcomer) == (BW, ParticipantStatus.ACTIVE)


def test_add_authority_succeeds_when_account_revoked_earlier(
    admitted: Any, bw_admin: Any, ae_admin: Any, bw_authority: Any
) -> None:
    admitted.revokeAuthority(BW, bw_authority, sender=bw_admin)

    admitted.addAuthority(AE, bw_authority, sender=ae_admin)

    assert admitted.isAuthority(AE, bw_authority)
    assert not admitted.isAuthority(BW, bw_authority)
    assert admitted.authorityStatus(bw_authority) == (AE, ParticipantStatus.ACTIVE)


@pytest.mark.parametrize("sender_name", ["governor", "ae_admin"])
def test_add_authority_reverts_when_sender_not_participant_admin(
    admitted: Any, request: pytest.FixtureRequest, newcomer: Any, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)

    with reverts(admitted.ParticipantAdminUnauthorized, account=sender.address, participant=BW):
        admitted.addAuthority(BW, newcomer, sender=sender)


def test_add_authority_reverts_when_participant_not_found(
    registry: Any, zz_admin: Any, newcomer: Any
) -> None:
    with reverts(registry.ParticipantNotFound, code=ZZ):
        registry.addAuthority(ZZ, newcomer, sender=zz_admin)


def test_add_authority_reverts_when_account_zero(admitted: Any, bw_admin: Any) -> None:
    with reverts(admitted.AccountZero):
        admitted.addAuthority(BW, ZERO_ADDRESS, sender=bw_admin)


def test_add_authority_reverts_when_account_already_authority_of_same_participant(
    admitted: Any, bw_admin: Any, bw_authority: Any
) -> None:
    with reverts(admitted.AuthorityAlreadyRegistered, account=bw_authority.address, participant=BW):
        admitted.addAuthority(BW, bw_authority, sender=bw_admin)


def test_add_authority_reverts_when_account_authority_of_another_participant(
    admitted: Any, bw_admin: Any, ae_authority: Any
) -> None:
    # One participant per account: the error names the participant the key acts for.
    with reverts(admitted.AuthorityAlreadyRegistered, account=ae_authority.address, participant=AE):
        admitted.addAuthority(BW, ae_authority, sender=bw_admin)


# ----------------------------------------------------------------------------------------------
# revokeAuthority
# ----------------------------------------------------------------------------------------------


def test_revoke_authority_removes_account_and_emits_event(
    admitted: Any, bw_admin: Any, bw_authority: Any, newcomer: Any
) -> None:
    admitted.addAuthority(BW, newcomer, sender=bw_admin)

    receipt = admitted.revokeAuthority(BW, bw_authority, sender=bw_admin)

    assert emitted(receipt) == [
        event(
            admitted.AuthorityRevoked,
            participant=BW,
            account=bw_authority.address,
            admin=bw_admin.address,
        )
    ]
    assert not admitted.isAuthority(BW, bw_authority)
    assert admitted.authoritiesOf(BW) == [newcomer]
    assert admitted.authorityStatus(bw_authority) == (NO_CODE, ParticipantStatus.NONE)


def test_revoke_authority_succeeds_when_added_again_after_revoke(
    admitted: Any, bw_admin: Any, bw_authority: Any
) -> None:
    admitted.revokeAuthority(BW, bw_authority, sender=bw_admin)

    admitted.addAuthority(BW, bw_authority, sender=bw_admin)

    assert admitted.isAuthority(BW, bw_authority)
    assert admitted.authoritiesOf(BW) == [bw_authority]


@pytest.mark.parametrize("sender_name", ["governor", "ae_admin"])
def test_revoke_authority_reverts_when_sender_not_participant_admin(
    admitted: Any, request: pytest.FixtureRequest, bw_authority: Any, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)

    with reverts(admitted.ParticipantAdminUnauthorized, account=sender.address, participant=BW):
        admitted.revokeAuthority(BW, bw_authority, sender=sender)


def test_revoke_authority_reverts_when_participant_not_found(
    registry: Any, zz_admin: Any, newcomer: Any
) -> None:
    with reverts(registry.ParticipantNotFound, code=ZZ):
        registry.revokeAuthority(ZZ, newcomer, sender=zz_admin)


def test_revoke_authority_reverts_when_account_not_authority(
    admitted: Any, bw_admin: Any, newcomer: Any
) -> None:
    with reverts(admitted.AuthorityNotRegistered, account=newcomer.address, participant=BW):
        admitted.revokeAuthority(BW, newcomer, sender=bw_admin)


def test_revoke_authority_reverts_when_account_authority_of_another_participant(
    admitted: Any, bw_admin: Any, ae_authority: Any
) -> None:
    with reverts(admitted.AuthorityNotRegistered, account=ae_authority.address, participant=BW):
        admitted.revokeAuthority(BW, ae_authority, sender=bw_admin)

    assert admitted.isAuthority(AE, ae_authority)


def test_revoke_authority_reverts_when_revoked_already(
    admitted: Any, bw_admin: Any, bw_authority: Any
) -> None:
    admitted.revokeAuthority(BW, bw_authority, sender=bw_admin)

    with reverts(admitted.AuthorityNotRegistered, account=bw_authority.address, participant=BW):
        admitted.revokeAuthority(BW, bw_authority, sender=bw_admin)


# ----------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------


def test_participant_codes_lists_codes_in_admission_order(
    registry: Any, governor: Any, zz_admin: Any, set_status: Any
) -> None:
    for code in (ZZ, BW, AE, CF):
        registry.admitParticipant(code, zz_admin, sender=governor)
    set_status(BW, ParticipantStatus.WITHDRAWN)

    # Withdrawn participants stay listed: the list is of every code ever admitted.
    assert registry.participantCodes() == [ZZ, BW, AE, CF]


def test_participant_codes_empty_when_none_admitted(registry: Any) -> None:
    assert registry.participantCodes() == []


def test_participant_reads_zero_record_when_never_admitted(registry: Any) -> None:
    assert registry.participant(ZZ) == (ParticipantStatus.NONE, False, ZERO_ADDRESS, 0)
    assert registry.participantStatus(ZZ) == ParticipantStatus.NONE


def test_authorities_of_lists_every_current_authority(
    admitted: Any, bw_admin: Any, bw_authority: Any, newcomer: Any, spare: Any
) -> None:
    admitted.addAuthority(BW, newcomer, sender=bw_admin)
    admitted.addAuthority(BW, spare, sender=bw_admin)
    admitted.revokeAuthority(BW, newcomer, sender=bw_admin)

    assert sorted(admitted.authoritiesOf(BW)) == sorted([bw_authority.address, spare.address])


def test_authorities_of_empty_when_participant_unknown(admitted: Any) -> None:
    assert admitted.authoritiesOf(ZZ) == []


@pytest.mark.parametrize("status", [ParticipantStatus.SUSPENDED, ParticipantStatus.WITHDRAWN])
def test_authority_status_follows_participant_status(
    admitted: Any, governor: Any, bw_authority: Any, status: ParticipantStatus
) -> None:
    admitted.setParticipantStatus(BW, status, sender=governor)

    assert admitted.authorityStatus(bw_authority) == (BW, status)


def test_authority_status_reads_none_when_account_not_authority(
    admitted: Any, stranger: Any
) -> None:
    assert admitted.authorityStatus(stranger) == (NO_CODE, ParticipantStatus.NONE)


def test_is_authority_false_when_account_authority_of_another_participant(
    admitted: Any, bw_authority: Any
) -> None:
    assert admitted.isAuthority(BW, bw_authority)
    assert not admitted.isAuthority(AE, bw_authority)


def test_is_authority_false_when_code_zero_and_account_not_authority(
    admitted: Any, stranger: Any
) -> None:
    # A non-authority maps to code 0x0000 internally; asking for that code must not match it.
    assert not admitted.isAuthority(NO_CODE, stranger)


def test_is_origin_allowed_true_for_any_zone_when_origin_unrestricted(
    admitted: Any,
) -> None:
    assert admitted.isOriginAllowed(BW, ZERO32)
    assert admitted.isOriginAllowed(BW, BERBERATI)
    # An origin that is no participant cannot be restricted.
    assert admitted.isOriginAllowed(ZZ, BERBERATI)


def test_is_origin_zone_false_when_zone_allowed_for_another_origin(
    admitted: Any, governor: Any
) -> None:
    admitted.setOriginZone(AE, BERBERATI, True, sender=governor)

    assert admitted.isOriginZone(AE, BERBERATI)
    assert not admitted.isOriginZone(BW, BERBERATI)


def test_version_reads_semantic_version(registry: Any) -> None:
    assert registry.version() == "1.3.0"
