"""ParticipantRegistry's service endpoints: each participant's admin registers where its service
takes documents and the X25519 key to encrypt them to; setting them again rotates the key.
Who may call `setServiceEndpoint` is in test_authorization_matrix.py."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from kpchain.contracts.enums import ParticipantStatus

from support import emitted, event, reverts

BW, AE, ZZ = b"BW", b"AE", b"ZZ"
URL = "https://kp.bw.example"
KEY = keccak(text="BW encryption key 1")
ROTATED = keccak(text="BW encryption key 2")
ZERO32 = bytes(32)


def test_service_endpoint_reads_empty_when_participant_registered_none(admitted: Any) -> None:
    assert admitted.serviceEndpoint(BW) == ("", ZERO32)
    assert admitted.serviceEndpoint(ZZ) == ("", ZERO32)


def test_set_service_endpoint_stores_url_and_key_and_emits_event(
    admitted: Any, bw_admin: Any
) -> None:
    receipt = admitted.setServiceEndpoint(BW, URL, KEY, sender=bw_admin)

    assert admitted.serviceEndpoint(BW) == (URL, KEY)
    assert admitted.serviceEndpoint(AE) == ("", ZERO32)
    assert emitted(receipt) == [
        event(admitted.ServiceEndpointSet, code=BW, url=URL, encryptionKey=KEY)
    ]


def test_set_service_endpoint_replaces_url_and_key_when_set_again(
    admitted: Any, bw_admin: Any
) -> None:
    admitted.setServiceEndpoint(BW, URL, KEY, sender=bw_admin)

    receipt = admitted.setServiceEndpoint(BW, "https://kp2.bw.example", ROTATED, sender=bw_admin)

    assert admitted.serviceEndpoint(BW) == ("https://kp2.bw.example", ROTATED)
    assert emitted(receipt) == [
        event(
            admitted.ServiceEndpointSet,
            code=BW,
            url="https://kp2.bw.example",
            encryptionKey=ROTATED,
        )
    ]


def test_set_service_endpoint_succeeds_when_participant_suspended(
    admitted: Any, governor: Any, bw_admin: Any
) -> None:
    # A suspended participant still receives the documents of shipments already in transit.
    admitted.setParticipantStatus(BW, ParticipantStatus.SUSPENDED, sender=governor)

    admitted.setServiceEndpoint(BW, URL, KEY, sender=bw_admin)

    assert admitted.serviceEndpoint(BW) == (URL, KEY)


def test_set_service_endpoint_accepts_url_of_maximum_length(admitted: Any, bw_admin: Any) -> None:
    longest = admitted.MAX_SERVICE_ENDPOINT_LENGTH()
    url = "https://" + "a" * (longest - len("https://"))

    admitted.setServiceEndpoint(BW, url, KEY, sender=bw_admin)

    assert longest == 256
    assert admitted.serviceEndpoint(BW) == (url, KEY)


def test_set_service_endpoint_reverts_when_url_longer_than_maximum(
    admitted: Any, bw_admin: Any
) -> None:
    url = "https://" + "a" * 249  # 257 bytes

    with reverts(admitted.ServiceEndpointUrlTooLong, participant=BW, length=257):
        admitted.setServiceEndpoint(BW, url, KEY, sender=bw_admin)


def test_set_service_endpoint_reverts_when_url_empty(admitted: Any, bw_admin: Any) -> None:
    with reverts(admitted.ServiceEndpointUrlEmpty, participant=BW):
        admitted.setServiceEndpoint(BW, "", KEY, sender=bw_admin)


def test_set_service_endpoint_reverts_when_key_zero(admitted: Any, bw_admin: Any) -> None:
    with reverts(admitted.EncryptionKeyZero, participant=BW):
        admitted.setServiceEndpoint(BW, URL, ZERO32, sender=bw_admin)


def test_set_service_endpoint_reverts_when_participant_not_found(
    admitted: Any, bw_admin: Any
) -> None:
    with reverts(admitted.ParticipantNotFound, code=ZZ):
        admitted.setServiceEndpoint(ZZ, URL, KEY, sender=bw_admin)


@pytest.mark.parametrize("sender_name", ["ae_admin", "governor", "bw_authority"])
def test_set_service_endpoint_reverts_when_sender_not_participant_admin(
    admitted: Any, request: pytest.FixtureRequest, sender_name: str
) -> None:
    sender = request.getfixturevalue(sender_name)

    with reverts(admitted.ParticipantAdminUnauthorized, account=sender.address, participant=BW):
        admitted.setServiceEndpoint(BW, URL, KEY, sender=sender)

    assert admitted.serviceEndpoint(BW) == ("", ZERO32)


def test_set_service_endpoint_succeeds_for_new_admin_after_governance_replaced_admin(
    admitted: Any, governor: Any, bw_admin: Any, stranger: Any
) -> None:
    admitted.setParticipantAdmin(BW, stranger, sender=governor)

    with reverts(admitted.ParticipantAdminUnauthorized, account=bw_admin.address, participant=BW):
        admitted.setServiceEndpoint(BW, URL, KEY, sender=bw_admin)
    admitted.setServiceEndpoint(BW, URL, KEY, sender=stranger)

    assert admitted.serviceEndpoint(BW) == (URL, KEY)
