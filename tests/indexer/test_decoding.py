"""Log decoding on hand-built logs: what no well-behaved client puts on chain, but calldata
allows, must not stop the index."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.artifacts import load_artifact
from kpchain.indexer import queries
from kpchain.indexer.decoding import EventDecoder, code_of, text_of
from kpchain.indexer.projection import project
from kpchain.indexer.tables import Event

ISSUED_DATA = [
    "bytes32",  # docHash
    "address",  # signer
    "bytes2",  # origin
    "bytes2",  # provenance
    "bytes32",  # originZone
    "bytes32",  # exporterHash
    "bytes32",  # importerHash
    "(uint32,uint64,uint64,uint32)[]",  # lines
    "uint40",  # issuedAt
    "uint40",  # expiresAt
    "bytes",  # issuingAuthority: a string on the wire, written as raw bytes here
    "bytes32",  # replaces
]
ISSUED_TOPIC = keccak(
    text="CertificateIssued(bytes32,bytes2,bytes2,bytes32,address,bytes2,bytes2,bytes32,bytes32,"
    "bytes32,(uint32,uint64,uint64,uint32)[],uint40,uint40,string,bytes32)"
)
SIGNER = "0x" + "11" * 20


def _decoder() -> EventDecoder:
    return EventDecoder(load_artifact("CertificateRegistry").abi)


def _issued_log(authority: bytes, *, data: bytes | None = None) -> dict[str, Any]:
    values = [
        b"\x01" * 32,
        SIGNER,
        b"BW",
        b"\x00\x00",
        bytes(32),
        b"\x02" * 32,
        b"\x03" * 32,
        [(710231, 2**64 - 1, 45_678_900, 3)],
        1_800_000_000,
        1_805_000_000,
        authority,
        bytes(32),
    ]
    topics = [ISSUED_TOPIC, b"BW-2026-000001".ljust(32, b"\x00"), encode(["bytes2"], [b"BW"])]
    topics.append(encode(["bytes2"], [b"AE"]))
    return {
        "topics": ["0x" + bytes(topic).hex() for topic in topics],
        "data": "0x" + (data if data is not None else encode(ISSUED_DATA, values)).hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "AB" * 32,
        "transactionHash": "0x" + "CD" * 32,
        "logIndex": "0x2",
    }


def test_decode_repairs_authority_name_when_not_utf8_or_holding_nul() -> None:
    event = _decoder().decode(_issued_log(b"\xffOffice\x00 d\xc3\xa9cor"), block_time=7)

    assert event is not None
    assert event.args["issuingAuthority"] == "\ufffdOffice\ufffd d\u00e9cor"
    assert (event.name, event.cert_no, event.exporting, event.importing) == (
        "CertificateIssued",
        "BW-2026-000001",
        "BW",
        "AE",
    )
    assert (event.block_number, event.block_hash, event.tx_hash, event.log_index) == (
        16,
        "0x" + "ab" * 32,
        "0x" + "cd" * 32,
        2,
    )
    assert event.block_time == 7
    assert event.args["signer"] == "0x1111111111111111111111111111111111111111"
    assert event.args["lines"] == [
        {"hsCode": 710231, "carats": 2**64 - 1, "valueUsdCents": 45_678_900, "parcels": 3}
    ]


def test_decode_returns_none_when_topic_unknown() -> None:
    log = _issued_log(b"Office")
    log["topics"][0] = "0x" + "00" * 32

    assert _decoder().decode(log, block_time=0) is None


def test_decode_returns_none_when_data_truncated() -> None:
    log = _issued_log(b"Office", data=b"\x00" * 40)

    assert _decoder().decode(log, block_time=0) is None


def test_text_of_and_code_of_read_left_aligned_ascii() -> None:
    assert text_of("0x" + b"BW-1".ljust(32, b"\x00").hex()) == "BW-1"
    assert code_of("0x4257") == "BW"
    assert code_of("0x0000") is None


def test_project_stores_clamped_quantity_and_repaired_text_when_event_is_extreme(
    sessions: sessionmaker[Session],
) -> None:
    # uint64 carats above BIGINT's range, a NUL in a string: legal on chain, refused by
    # PostgreSQL as they are. The projection stores what it can; the event keeps the figure.
    event = _decoder().decode(_issued_log(b"Office\x00"), block_time=7)
    assert event is not None

    with sessions.begin() as session:
        session.add(event)
        project(session, event)

    with sessions() as session:
        cert = queries.certificate(session, "BW-2026-000001")
        stored = session.scalars(select(Event)).one()
    assert cert is not None
    assert (cert.carats_hundredths, cert.lines[0].carats_hundredths) == (2**63 - 1, 2**63 - 1)
    assert (cert.issuing_authority, cert.origin, cert.provenance) == ("Office\ufffd", "BW", None)
    assert stored.args["lines"][0]["carats"] == 2**64 - 1
