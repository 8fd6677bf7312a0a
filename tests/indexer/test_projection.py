"""What the index makes of each registry event: certificates through their lifecycle (withdrawal
in transit included), participants, zones and the authority key history, every column checked
against the chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker
from web3.types import TxReceipt

from kpchain.certificates.typed_data import Line, document_hash
from kpchain.contracts.encoding import zone_id
from kpchain.contracts.enums import ParticipantStatus, RejectionReason, WithdrawalReason
from kpchain.devnet.anvil import DEVNET_CHAIN_ID
from kpchain.devnet.seed import DEMO_PARTICIPANTS, participant_account
from kpchain.indexer import Indexer, queries
from kpchain.indexer.tables import Authority, Certificate, Event, Participant
from kpchain.store import Base
from support_chain import Devnet

pytestmark = pytest.mark.anvil


def _columns(row: Base | queries.CertificateRead | Row[Any]) -> dict[str, Any]:
    if isinstance(row, queries.CertificateRead):
        return row.columns
    if isinstance(row, Row):  # a certificate's line, as `queries.certificate` reads them
        return dict(row._mapping)
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _step(devnet: Devnet, receipt: TxReceipt) -> tuple[int, str, int]:
    """(block, tx hash, block time) of a mined transaction, as the index writes them."""
    block = receipt["blockNumber"]
    return block, receipt["transactionHash"].to_0x_hex(), int(devnet.block(block)["timestamp"])


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _doc_hash(devnet: Devnet, cert: Any) -> str:
    return _hex(document_hash(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=devnet.address))


def test_sync_indexes_every_column_when_certificate_issued_shipped_received(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    lines = (
        Line(hsCode=710210, carats=10_000, valueUsdCents=2_000_000, parcels=1),
        Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3, origin=b"ZA"),
    )
    cert = devnet.certificate("BW-2026-000001", lines=lines)
    received_at = cert.issuedAt  # the day of issue: a receipt is never dated after the block
    issued = _step(devnet, devnet.issue(cert))
    shipped = _step(devnet, devnet.ship("BW-2026-000001", seal="seal BW-0001"))
    received = _step(
        devnet,
        devnet.receive(
            "BW-2026-000001",
            parcels=4,
            carats=133_400,
            received_at=received_at,
            confirmation="AE confirmation 1",
        ),
    )

    make_indexer().sync()

    bw = participant_account("BW", "authority").address
    ae = participant_account("AE", "authority").address
    with sessions() as session:
        row = queries.certificate(session, "BW-2026-000001")
        assert row is not None
        assert _columns(row) == {
            "cert_no": "BW-2026-000001",
            "exporting": "BW",
            "importing": "AE",
            "origin": "BW",
            "provenance": None,
            "origin_zone": None,
            "exporter_hash": _hex(cert.exporterHash),
            "importer_hash": _hex(cert.importerHash),
            "issued_at": cert.issuedAt,
            "expires_at": cert.expiresAt,
            "issuing_authority": "Authority of BW",
            "replaces": None,
            "doc_hash": _doc_hash(devnet, cert),
            "signer": bw,
            "status": "received",
            "carats_hundredths": 133_456,
            "value_cents": 47_678_900,
            "parcels": 4,
            "issued_block": issued[0],
            "issued_tx": issued[1],
            "issued_time": issued[2],
            "shipped_block": shipped[0],
            "shipped_tx": shipped[1],
            "shipped_time": shipped[2],
            "shipped_authority": bw,
            "seal_ref_hash": _hex(keccak(text="seal BW-0001")),
            "received_block": received[0],
            "received_tx": received[1],
            "received_time": received[2],
            "received_authority": ae,
            "received_parcels": 4,
            "received_carats_hundredths": 133_400,
            "received_at": received_at,
            "confirmation_hash": _hex(keccak(text="AE confirmation 1")),
            "discrepancy": True,  # 1334.00 carats confirmed, 1334.56 certified
            "rejected_block": None,
            "rejected_tx": None,
            "rejected_time": None,
            "rejected_authority": None,
            "rejection_reason": None,
            "cancelled_block": None,
            "cancelled_tx": None,
            "cancelled_time": None,
            "cancelled_authority": None,
            "withdrawal_reason": None,
        }
        assert [_columns(line) for line in row.lines] == [
            {
                "cert_no": "BW-2026-000001",
                "position": 0,
                "hs_code": 710210,
                "carats_hundredths": 10_000,
                "value_cents": 2_000_000,
                "parcels": 1,
                "origin": None,  # the certificate's
                "provenance": None,
                "origin_zone": None,
            },
            {
                "cert_no": "BW-2026-000001",
                "position": 1,
                "hs_code": 710231,
                "carats_hundredths": 123_456,
                "value_cents": 45_678_900,
                "parcels": 3,
                "origin": "ZA",
                "provenance": None,
                "origin_zone": None,
            },
        ]
        events = session.scalars(
            select(Event).where(Event.cert_no == "BW-2026-000001").order_by(Event.id)
        ).all()
    assert [(e.name, e.block_number, e.tx_hash, e.block_time) for e in events] == [
        ("CertificateIssued", *issued),
        ("CertificateShipped", *shipped),
        ("CertificateReceived", *received),
    ]
    keys = {"certNo", "exportingParticipant", "importingParticipant"}
    assert {(e.exporting, e.importing, e.participant) for e in events} == {("BW", "AE", None)}
    assert events[2].args == {
        "certNo": _hex(cert.certNo),
        "exportingParticipant": "0x4257",
        "importingParticipant": "0x4145",
        "authority": ae,
        "confirmation": {
            "parcels": 4,
            "carats": 133_400,
            "receivedAt": received_at,
            "confirmationHash": _hex(keccak(text="AE confirmation 1")),
        },
    }
    assert events[0].args.keys() - keys == {
        "docHash",
        "signer",
        "origin",
        "provenance",
        "originZone",
        "exporterHash",
        "importerHash",
        "lines",
        "issuedAt",
        "expiresAt",
        "issuingAuthority",
        "replaces",
    }
    assert events[0].args["lines"][1] == {
        "hsCode": 710231,
        "carats": 123_456,
        "valueUsdCents": 45_678_900,
        "parcels": 3,
        "origin": _hex(b"ZA"),
        "provenance": "0x0000",
        "originZone": _hex(bytes(32)),
    }


def test_sync_indexes_zone_and_rejection_when_restricted_origin_rejected(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    cert = devnet.certificate("CF-2026-000001", exporting="CF", importing="EU", zone="CF:Carnot")
    devnet.issue(cert)
    shipped = _step(devnet, devnet.ship("CF-2026-000001", exporting="CF"))
    rejected = _step(
        devnet,
        devnet.reject("CF-2026-000001", importing="EU", reason=RejectionReason.SEAL_BROKEN),
    )

    make_indexer().sync()

    with sessions() as session:
        row = queries.certificate(session, "CF-2026-000001")
    assert row is not None
    eu = participant_account("EU", "authority").address
    assert (row.origin, row.origin_zone, row.provenance) == ("CF", _hex(zone_id("CF:Carnot")), None)
    assert (row.status, row.seal_ref_hash, row.shipped_block) == ("rejected", None, shipped[0])
    assert (row.rejected_block, row.rejected_tx, row.rejected_time) == rejected
    assert (row.rejected_authority, row.rejection_reason) == (eu, "seal_broken")
    assert row.received_block is None
    assert row.signer == participant_account("CF", "authority").address


def test_sync_indexes_cancellation_and_replacement_when_mixed_origin_replaced(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    first = devnet.certificate(
        "AE-2026-000001", exporting="AE", importing="IN", origin="MIXED", provenance="BW"
    )
    devnet.issue(first)
    cancelled = _step(devnet, devnet.cancel("AE-2026-000001", exporting="AE"))
    devnet.issue(
        devnet.certificate(
            "AE-2026-000002", exporting="AE", importing="IN", replaces="AE-2026-000001"
        )
    )

    make_indexer().sync()

    with sessions() as session:
        old = queries.certificate(session, "AE-2026-000001")
        new = queries.certificate(session, "AE-2026-000002")
        successor = queries.replaced_by(session, "AE-2026-000001")
    assert old is not None
    assert new is not None
    assert (old.origin, old.provenance, old.status) == ("MIXED", "BW", "cancelled")
    ae = participant_account("AE", "authority").address
    assert (old.cancelled_block, old.cancelled_tx, old.cancelled_time) == cancelled
    assert old.cancelled_authority == ae
    assert old.shipped_block is None
    assert (new.replaces, new.status, successor) == ("AE-2026-000001", "issued", "AE-2026-000002")


def test_sync_indexes_each_lines_own_origin_when_lines_differ_in_origin(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    line = Line(hsCode=710231, carats=100, valueUsdCents=5_000, parcels=1)
    lines = (
        line,
        replace(line, provenance=b"BE"),  # mixed, last exported from BE
        replace(line, origin=b"CF", originZone=zone_id("CF:Carnot")),  # restricted to zones
    )
    devnet.issue(devnet.certificate("BW-2026-000001", lines=lines))

    make_indexer().sync()

    with sessions() as session:
        row = queries.certificate(session, "BW-2026-000001")
    assert row is not None
    assert row.origin == "BW"
    assert [(line.origin, line.provenance, line.origin_zone) for line in row.lines] == [
        (None, None, None),
        ("MIXED", "BE", None),
        ("CF", None, _hex(zone_id("CF:Carnot"))),
    ]


def test_sync_links_replacement_both_ways_when_rejected_certificate_replaced(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    devnet.issue(devnet.certificate("BW-2026-000001"))
    devnet.ship("BW-2026-000001")
    devnet.reject("BW-2026-000001", importing="AE", reason=RejectionReason.DISCREPANCY)
    devnet.issue(devnet.certificate("BW-2026-000002", replaces="BW-2026-000001"))

    make_indexer().sync()

    with sessions() as session:
        old = queries.certificate(session, "BW-2026-000001")
        new = queries.certificate(session, "BW-2026-000002")
        links = queries.replacements(session, ["BW-2026-000001", "BW-2026-000002"])
        successor = queries.replaced_by(session, "BW-2026-000001")
    assert old is not None
    assert new is not None
    assert (old.status, new.replaces, new.status) == ("rejected", "BW-2026-000001", "issued")
    assert successor == "BW-2026-000002"
    assert links == {"BW-2026-000001": "BW-2026-000002"}


def test_sync_indexes_withdrawal_when_importer_suspended_in_transit(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    devnet.issue(devnet.certificate("BW-2026-000001"))
    shipped = _step(devnet, devnet.ship("BW-2026-000001"))
    devnet.set_status("AE", ParticipantStatus.SUSPENDED)
    withdrawn = _step(devnet, devnet.withdraw("BW-2026-000001", reason=WithdrawalReason.SEIZED))

    make_indexer().sync()

    with sessions() as session:
        row = queries.certificate(session, "BW-2026-000001")
        event = session.scalars(select(Event).where(Event.name == "ShipmentWithdrawn")).one()
    assert row is not None
    bw = participant_account("BW", "authority").address
    assert (row.status, row.shipped_block, row.withdrawal_reason) == (
        "cancelled",
        shipped[0],
        "seized",
    )
    assert (row.cancelled_block, row.cancelled_tx, row.cancelled_time) == withdrawn
    assert row.cancelled_authority == bw
    assert (row.received_block, row.rejected_block, row.rejection_reason) == (None, None, None)
    assert (event.cert_no, event.exporting, event.importing) == ("BW-2026-000001", "BW", "AE")
    assert event.args == {
        "certNo": _hex(row.cert_no.encode().ljust(32, b"\0")),
        "exportingParticipant": "0x4257",
        "importingParticipant": "0x4145",
        "authority": bw,
        "reason": int(WithdrawalReason.SEIZED),
    }


def test_sync_indexes_each_certificate_when_batch_issued_in_one_transaction(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    certs = [devnet.certificate(f"BW-2026-B{n:05}") for n in range(5)]
    receipt = devnet.issue_batch(certs)

    make_indexer().sync()

    with sessions() as session:
        rows = session.scalars(select(Certificate).order_by(Certificate.cert_no)).all()
        events = session.scalars(select(Event).where(Event.cert_no.is_not(None))).all()
    tx = receipt["transactionHash"].to_0x_hex()
    assert [(r.cert_no, r.issued_tx, r.doc_hash) for r in rows] == [
        (f"BW-2026-B{n:05}", tx, _doc_hash(devnet, certs[n])) for n in range(5)
    ]
    assert len({e.log_index for e in events}) == 5


def test_sync_indexes_demo_participants_zones_and_authorities_when_seeded(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    make_indexer().sync()

    with sessions() as session:
        rows = {p.code: p for p in queries.participants(session)}
    assert list(rows) == [p.code for p in DEMO_PARTICIPANTS]  # admission order
    for demo in DEMO_PARTICIPANTS:
        row = rows[demo.code]
        admitted = row.admitted_block
        assert (row.status, row.admin, row.origin_restricted) == (
            demo.status.label,
            participant_account(demo.code, "admin").address,
            demo.origin_restricted,
        )
        assert row.admitted_time == int(devnet.block(admitted)["timestamp"])
        assert [z.zone_id for z in row.zones] == sorted(_hex(zone_id(z)) for z in demo.zones)
        (term,) = row.authorities
        # The admin adds it once the deploy (founders, then governance) is done.
        assert term.added_block > devnet.deployment.block > 0
        assert term.added_block > admitted
        added = int(devnet.block(term.added_block)["timestamp"])
        assert _columns(term) | {"id": None, "added_tx": None} == {
            "id": None,
            "address": participant_account(demo.code, "authority").address,
            "participant": demo.code,
            "added_block": term.added_block,
            "added_time": added,
            "added_tx": None,
            "added_by": row.admin,
            "revoked_block": None,
            "revoked_time": None,
            "revoked_tx": None,
            "revoked_by": None,
        }
        assert term.added_tx.startswith("0x")


def test_sync_follows_participant_changes_when_status_admin_and_zones_change(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer()
    indexer.sync()
    new_admin = Account.create().address
    devnet.set_status("BW", ParticipantStatus.SUSPENDED)
    devnet.set_status("VE", ParticipantStatus.ACTIVE)
    devnet.set_zone("CF", "CF:Carnot", allowed=False)
    devnet.set_zone("CF", "CF:Bozoum", allowed=True)
    devnet.set_admin("IN", new_admin)

    indexer.sync()

    with sessions() as session:
        bw, ve, cf, india = (
            queries.participant(session, code) for code in ("BW", "VE", "CF", "IN")
        )
        assert queries.participant(session, "XX") is None
    assert bw is not None
    assert ve is not None
    assert cf is not None
    assert india is not None
    assert (bw.status, ve.status, india.admin) == ("suspended", "active", new_admin)
    assert sorted(z.zone_id for z in cf.zones) == sorted(
        _hex(zone_id(name)) for name in ("CF:Berberati", "CF:Bozoum")
    )


def test_sync_keeps_each_authority_term_when_revoked_and_added_again(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    account = Account.create().address
    admin = participant_account("BW", "admin").address
    added = _step(devnet, devnet.add_authority("BW", account))
    revoked = _step(devnet, devnet.revoke_authority("BW", account))
    again = _step(devnet, devnet.add_authority("BW", account))

    make_indexer().sync()

    with sessions() as session:
        history = queries.authority_history(session, account.lower())
        bw = queries.participant(session, "BW")
    assert [
        (t.participant, t.added_block, t.added_tx, t.added_time, t.added_by) for t in history
    ] == [("BW", *added, admin), ("BW", *again, admin)]
    assert [(t.revoked_block, t.revoked_tx, t.revoked_time, t.revoked_by) for t in history] == [
        (*revoked, admin),
        (None, None, None, None),
    ]
    assert bw is not None
    assert [t.address for t in bw.authorities] == [
        participant_account("BW", "authority").address,
        account,
        account,
    ]


def test_sync_stores_every_registry_event_when_seeded(
    devnet: Devnet, make_indexer: Callable[..., Indexer], sessions: sessionmaker[Session]
) -> None:
    make_indexer().sync()

    logs = devnet.w3.eth.get_logs({"address": devnet.address, "fromBlock": 0, "toBlock": "latest"})
    with sessions() as session:
        events = session.scalars(select(Event).order_by(Event.id)).all()
        authorities = session.scalars(select(Authority)).all()
        participants = session.scalars(select(Participant)).all()
    assert [(e.block_hash, e.log_index, e.tx_hash) for e in events] == [
        (log["blockHash"].to_0x_hex(), log["logIndex"], log["transactionHash"].to_0x_hex())
        for log in logs
    ]
    assert {e.name for e in events} == {
        "RoleGranted",
        "RoleRevoked",  # the deployer renounced its roles at the hand-over
        "MaxValiditySet",
        "ReceiptGracePeriodSet",
        "ParticipantAdmitted",
        "AuthorityAdded",
        "OriginRestrictionChanged",
        "OriginZoneChanged",
        "ParticipantStatusChanged",
    }
    assert (len(authorities), len(participants)) == (12, 12)
