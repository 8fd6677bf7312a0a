"""Log decoding on hand-built logs: what no well-behaved client puts on chain, but calldata
allows, must not stop the index."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_abi.codec import ABICodec
from eth_abi.decoding import UnsignedIntegerDecoder
from eth_abi.encoding import UnsignedIntegerEncoder
from eth_abi.registry import BaseEquals
from eth_abi.registry import registry as default_registry
from eth_utils.crypto import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.artifacts import load_artifact
from kpchain.indexer import decoding, queries
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
    "(uint32,uint64,uint64,uint32,bytes2,bytes2,bytes32)[]",  # lines
    "uint40",  # issuedAt
    "uint40",  # expiresAt
    "bytes",  # issuingAuthority: a string on the wire, written as raw bytes here
    "bytes32",  # replaces
]
ISSUED_TOPIC = keccak(
    text="CertificateIssued(bytes32,bytes2,bytes2,bytes32,address,bytes2,bytes2,bytes32,bytes32,"
    "bytes32,(uint32,uint64,uint64,uint32,bytes2,bytes2,bytes32)[],uint40,uint40,string,bytes32)"
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
        [(710231, 2**64 - 1, 45_678_900, 3, b"ZA", b"\x00\x00", bytes(32))],
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
        {
            "hsCode": 710231,
            "carats": 2**64 - 1,
            "valueUsdCents": 45_678_900,
            "parcels": 3,
            "origin": "0x5a41",
            "provenance": "0x0000",
            "originZone": "0x" + "00" * 32,
        }
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
    line = cert.lines[0]
    assert (line.origin, line.provenance, line.origin_zone) == ("ZA", None, None)
    assert stored.args["lines"][0]["carats"] == 2**64 - 1


# --- compiled readers against eth-abi ------------------------------------------------------------

CONTRACTS = ("CertificateRegistry", "KPGovernor", "KPSeats", "ValidatorSet")


def _value(param: dict[str, Any], rng: random.Random) -> Any:
    """A random value of ABI type `param` (strings as raw bytes, often not UTF-8)."""
    kind = str(param["type"])
    if kind.endswith("]"):
        element = {**param, "type": kind[: kind.rindex("[")]}
        size = kind[kind.rindex("[") + 1 : -1]
        return [_value(element, rng) for _ in range(int(size) if size else rng.randint(0, 3))]
    if kind == "tuple":
        return tuple(_value(component, rng) for component in param["components"])
    if kind == "address":
        return "0x" + rng.randbytes(20).hex()
    if kind == "bool":
        return rng.random() < 0.5
    if kind in {"string", "bytes"}:
        return rng.randbytes(rng.choice([0, 1, 31, 32, 33, 70]))
    if kind.startswith("bytes"):
        return rng.randbytes(int(kind[len("bytes") :]))
    bits = int(kind.removeprefix("uint") or 256)
    return rng.choice([0, 1, 2**bits - 1, rng.getrandbits(bits)])


def _wire(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_wire(component) for component in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return "bytes" + kind[len("string") :] if kind.startswith("string") else kind


def _random_log(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    topics = ["0x" + keccak(text=_signature(event)).hex()]
    data_params = []
    for param in event["inputs"]:
        if not param.get("indexed"):
            data_params.append(param)
        elif param["type"] in {"string", "bytes"} or param["type"].startswith("tuple"):
            topics.append("0x" + rng.randbytes(32).hex())
        else:
            topics.append("0x" + encode([_wire(param)], [_value(param, rng)]).hex())
    data = encode([_wire(p) for p in data_params], [_value(p, rng) for p in data_params])
    return {
        "topics": topics,
        "data": "0x" + data.hex(),
        "blockNumber": "0x1",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "logIndex": "0x0",
    }


def _signature(event: dict[str, Any]) -> str:
    def canonical(param: dict[str, Any]) -> str:
        kind = str(param["type"])
        if kind.startswith("tuple"):
            inner = ",".join(canonical(c) for c in param["components"])
            return f"({inner}){kind[len('tuple') :]}"
        return kind

    return f"{event['name']}({','.join(canonical(p) for p in event['inputs'])})"


def _altered(log: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """`log` with its data cut short or a few of its bytes (or a topic's) changed: lengths,
    pointers, padding, booleans and addresses out of their ranges."""
    data = bytearray(bytes.fromhex(log["data"][2:]))
    if data and rng.random() < 0.3:
        data = data[: rng.randrange(len(data))]
    elif data:
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.choice([0, 1, 0x20, 0xFF, rng.randrange(256)])
    topics = list(log["topics"])
    if len(topics) > 1 and rng.random() < 0.3:
        which = rng.randrange(1, len(topics))
        topic = bytearray(bytes.fromhex(topics[which][2:]))
        topic[rng.randrange(32)] = rng.randrange(1, 256)
        topics[which] = "0x" + topic.hex()
    return {**log, "topics": topics, "data": "0x" + data.hex()}


def _decoded(decoder: EventDecoder, log: dict[str, Any]) -> dict[str, Any] | None:
    event = decoder.decode(log, block_time=1)
    if event is None:
        return None
    return {column: getattr(event, column) for column in ("name", "cert_no", "args")}


def _plain_eth_abi() -> ABICodec:
    """eth-abi as the service runs it: ape's test plugin replaces the uint decoder of the
    process-wide registry with one that pads short data instead of refusing it."""
    registry = default_registry.copy()
    registry.unregister("uint")
    registry.register(
        BaseEquals("uint"), UnsignedIntegerEncoder, UnsignedIntegerDecoder, label="uint"
    )
    return ABICodec(registry)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_decode_equals_eth_abi_when_logs_valid_or_altered(
    contract: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding, "abi_decode", _plain_eth_abi().decode)
    abi = load_artifact(contract).abi
    compiled, reference = EventDecoder(abi), EventDecoder(abi, compiled=False)
    rng = random.Random(f"decoding {contract}")  # the same logs on every run
    events = [item for item in abi if item["type"] == "event" and not item.get("anonymous")]
    refused = 0
    for event in events:
        for _ in range(40):
            log = _random_log(event, rng)
            assert _decoded(compiled, log) == _decoded(reference, log) is not None
            for _ in range(10):
                altered = _altered(log, rng)
                expected = _decoded(reference, altered)
                refused += expected is None
                assert _decoded(compiled, altered) == expected, (event["name"], altered)
    assert refused  # the alterations did reach the checks
