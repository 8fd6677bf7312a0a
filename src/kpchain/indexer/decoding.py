"""Raw `eth_getLogs` entries -> `Event` rows, for every event of the registry's ABI.

Decoding is done here, not by web3's contract events, for two reasons: the index must never
stall on a value web3 refuses (a string that is not valid UTF-8 is legal calldata, so strings
are decoded as bytes and repaired), and the output must be plain JSON (see `Event.args`).

Each event's layout is compiled once, when the decoder is made, into plain functions that read
the log's bytes and build its JSON arguments directly: eth-abi's general decoder (with the
conversion to JSON after it) cost ~450 us an event, a rebuild's largest cost after the ORM.
The compiled readers check what eth-abi's strict mode checks (data long enough, padding bytes
zero, booleans 0 or 1, integers within their width, pointers past the head and inside the
data), so a log one refuses the other refuses too; tests/indexer/test_decoding.py compares them
on real and altered logs. An ABI type the compiler does not know is decoded by eth-abi.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address

from kpchain.indexer.tables import Event

logger = logging.getLogger(__name__)

_Read = Callable[[bytes, int], Any]
"""Reads one ABI value from `data` at a position: a static value where its head is, a dynamic
one where its tail starts. Returns it as JSON (see `Event.args`); raises ValueError when the
bytes are not a valid encoding."""


@dataclass(frozen=True)
class DecodedEvent:
    """One decoded log: the columns of its `Event` row, without the ORM's per-object cost (a
    rebuild makes tens of thousands). Projections read it as they read an `Event`."""

    block_number: int
    block_hash: str
    block_time: int
    tx_hash: str
    log_index: int
    name: str
    cert_no: str | None
    exporting: str | None
    importing: str | None
    participant: str | None
    args: dict[str, Any]

    def row(self) -> dict[str, Any]:
        """The event's `events` row (without its id, which the database assigns)."""
        return {
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "block_time": self.block_time,
            "tx_hash": self.tx_hash,
            "log_index": self.log_index,
            "name": self.name,
            "cert_no": self.cert_no,
            "exporting": self.exporting,
            "importing": self.importing,
            "participant": self.participant,
            "args": self.args,
        }

    def to_event(self) -> Event:
        """The event as a (transient) ORM `Event`."""
        return Event(**self.row())


@dataclass(frozen=True)
class _Param:
    name: str
    abi: dict[str, Any]  # the ABI input, components included


@dataclass(frozen=True)
class _Type:
    size: int | None  # bytes of its head when static; None when dynamic (a 32-byte pointer)
    read: _Read
    head_words: int  # how eth-abi counts it in a tuple's head when checking pointers


@dataclass(frozen=True)
class _EventSpec:
    name: str
    indexed: tuple[_Param, ...]
    data: tuple[_Param, ...]
    data_types: tuple[str, ...]  # ABI types to decode `data` with (strings read as bytes)
    topic_reads: tuple[_Read | None, ...] | None  # per indexed param; None: keep the topic
    data_read: _Read | None  # reads `data` as a dict by name; None: decode with eth-abi


class EventDecoder:
    """Decodes the logs of one contract ABI.

    Args:
        abi: the contract's ABI; each of its events is recognised by its topic 0.
        compiled: False decodes every event with eth-abi instead of the compiled readers
            (slower, the same results: what the tests compare the readers with).
    """

    def __init__(self, abi: list[dict[str, Any]], *, compiled: bool = True) -> None:
        self._specs: dict[str, _EventSpec] = {}
        for item in abi:
            if item["type"] != "event" or item.get("anonymous"):
                continue
            inputs = [_Param(str(p["name"]), p) for p in item["inputs"]]
            indexed = tuple(p for p in inputs if p.abi.get("indexed"))
            data = tuple(p for p in inputs if not p.abi.get("indexed"))
            topic = "0x" + bytes(event_abi_to_log_topic(cast(Any, item))).hex()
            try:
                if not compiled:
                    raise NotImplementedError("compiled readers not wanted")
                topic_reads: tuple[_Read | None, ...] | None = tuple(
                    None if _is_dynamic(p.abi) else _compile(p.abi).read for p in indexed
                )
                data_read: _Read | None = _compile_tuple(
                    [_compile(p.abi) for p in data], [p.name for p in data]
                ).read
            except NotImplementedError as why:
                logger.debug("%s decoded by eth-abi: %s", item["name"], why)
                topic_reads, data_read = None, None
            self._specs[topic] = _EventSpec(
                name=str(item["name"]),
                indexed=indexed,
                data=data,
                data_types=tuple(_wire_type(p.abi) for p in data),
                topic_reads=topic_reads,
                data_read=data_read,
            )

    def decode(self, log: dict[str, Any], *, block_time: int) -> Event | None:
        """The `Event` row of raw log `log` (hex strings, as the node sends it), or None for a
        log this ABI does not declare or that cannot be decoded (logged, never raised: one
        odd log must not stop the index)."""
        record = self.record(log, block_time=block_time)
        return record.to_event() if record is not None else None

    def record(self, log: dict[str, Any], *, block_time: int) -> DecodedEvent | None:
        """As `decode`, as a `DecodedEvent`."""
        topics: list[str] = [str(topic).lower() for topic in log["topics"]]
        spec = self._specs.get(topics[0]) if topics else None
        if spec is None:
            logger.debug("skipping unknown log %s/%s", log["transactionHash"], log["logIndex"])
            return None
        try:
            args = self._args(spec, topics[1:], _bytes(log["data"]))
        except Exception as exc:
            logger.error(
                "cannot decode %s in tx %s (log %s): %s",
                spec.name,
                log["transactionHash"],
                int(log["logIndex"], 16),
                exc,
            )
            return None
        cert_no = args.get("certNo")
        return DecodedEvent(
            block_number=int(log["blockNumber"], 16),
            block_hash=str(log["blockHash"]).lower(),
            block_time=block_time,
            tx_hash=str(log["transactionHash"]).lower(),
            log_index=int(log["logIndex"], 16),
            name=spec.name,
            cert_no=text_of(cert_no) if cert_no is not None else None,
            exporting=_optional_code(args.get("exportingParticipant")),
            importing=_optional_code(args.get("importingParticipant")),
            participant=_optional_code(args.get("code", args.get("participant"))),
            args=args,
        )

    def _args(self, spec: _EventSpec, topics: list[str], data: bytes) -> dict[str, Any]:
        if len(topics) != len(spec.indexed):
            raise ValueError(f"expected {len(spec.indexed)} indexed topics, got {len(topics)}")
        if spec.topic_reads is None or spec.data_read is None:
            return _abi_args(spec, topics, data)
        args: dict[str, Any] = {}
        for param, read, topic in zip(spec.indexed, spec.topic_reads, topics, strict=True):
            # A dynamic value's topic holds only its keccak256.
            args[param.name] = topic if read is None else read(_bytes(topic), 0)
        args.update(spec.data_read(data, 0))
        return args


def text_of(hex_value: str) -> str:
    """The ASCII text of a left-aligned, zero-padded bytesN given as 0x-hex ("BW-2026-1")."""
    return _clean(_bytes(hex_value).rstrip(b"\x00").decode("ascii", errors="replace"))


def code_of(hex_value: str) -> str | None:
    """A participant code from its bytes2 0x-hex, or None for 0x0000 (no participant)."""
    return _code_of(hex_value.lower())


@functools.lru_cache(maxsize=1024)
def _code_of(hex_value: str) -> str | None:
    # A few hundred codes exist: each event names two or three.
    raw = _bytes(hex_value)
    return None if not any(raw) else text_of(hex_value)


def _optional_code(value: Any) -> str | None:
    return code_of(value) if isinstance(value, str) else None


def _bytes(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value.removeprefix("0x"))


def _clean(text: str) -> str:
    # PostgreSQL refuses NUL in text and JSON; a string argument is arbitrary calldata.
    return text.replace("\x00", "\ufffd")


@functools.lru_cache(maxsize=4096)
def _checksum(raw: bytes) -> str:
    # A keccak each: the same few authorities and signers come back in every event.
    return to_checksum_address(raw)


# --- compiled readers ----------------------------------------------------------------------------


def _word(data: bytes, position: int) -> bytes:
    word = data[position : position + 32]
    if len(word) != 32:
        raise ValueError(f"data too short: no 32 bytes at {position}")
    return word


def _uint256(data: bytes, position: int) -> int:
    return int.from_bytes(_word(data, position), "big")


def _compile(param: dict[str, Any]) -> _Type:
    """The reader of one ABI type (an input or a component, `components` included)."""
    kind = str(param["type"])
    if kind.endswith("]"):
        element = _compile({**param, "type": kind[: kind.rindex("[")]})
        length = kind[kind.rindex("[") + 1 : -1]
        if length:
            size = int(length)
            fixed = _compile_tuple([element] * size, None)
            # eth-abi counts a static fixed array as its length in words, a dynamic one as one
            return _Type(fixed.size, fixed.read, size if fixed.size is not None else 1)
        return _Type(None, _dynamic_array(element), 1)
    if kind == "tuple":
        components = param["components"]
        return _compile_tuple(
            [_compile(component) for component in components],
            [str(component["name"]) for component in components],
        )
    if kind == "address":
        return _Type(32, _read_address, 1)
    if kind == "bool":
        return _Type(32, _read_bool, 1)
    if kind in {"string", "bytes"}:
        return _Type(None, _read_string if kind == "string" else _read_bytes, 1)
    if kind.startswith("bytes"):
        return _Type(32, _fixed_bytes(int(kind[len("bytes") :])), 1)
    if kind.startswith("uint"):
        return _Type(32, _unsigned(int(kind[len("uint") :] or 256)), 1)
    if kind.startswith("int"):
        return _Type(32, _signed(int(kind[len("int") :] or 256)), 1)
    raise NotImplementedError(f"no compiled reader for ABI type {kind}")


def _compile_tuple(members: list[_Type], names: list[str] | None) -> _Type:
    """Head-tail decoding of `members`: as a dict by `names`, or a list when None (a fixed
    array)."""
    static = all(member.size is not None for member in members)
    head_size = sum(member.size if member.size is not None else 32 for member in members)
    # eth-abi checks pointers against a head of one word a member (a fixed array's length)
    # instead of the head's size: the same check here, so both refuse the same logs
    head_words = sum(member.head_words for member in members)
    layout = tuple(members)

    def read(data: bytes, start: int) -> Any:
        end_of_head = start + 32 * head_words
        values = []
        head = start
        for member in layout:
            if member.size is not None:
                values.append(member.read(data, head))
                head += member.size
            else:
                target = start + _uint256(data, head)
                if target < end_of_head or target >= len(data):
                    raise ValueError(f"invalid pointer at {head}")
                values.append(member.read(data, target))
                head += 32
        if names is None:
            return values
        return dict(zip(names, values, strict=True))

    return _Type(head_size if static else None, read, 1)


def _dynamic_array(element: _Type) -> _Read:
    def read(data: bytes, position: int) -> list[Any]:
        length = _uint256(data, position)
        start = position + 32
        # Checked before looping: a length is any uint256.
        if length * (element.size or 32) > len(data) - start:
            raise ValueError(f"array of {length} longer than the data")
        if element.size is not None:
            size = element.size
            return [element.read(data, start + i * size) for i in range(length)]
        end_of_head = start + 32 * length
        values = []
        for i in range(length):
            target = start + _uint256(data, start + 32 * i)
            if target < end_of_head or target >= len(data):
                raise ValueError(f"invalid pointer at {start + 32 * i}")
            values.append(element.read(data, target))
        return values

    return read


def _read_raw(data: bytes, position: int) -> bytes:
    length = _uint256(data, position)
    padded = -(-length // 32) * 32
    content = data[position + 32 : position + 32 + padded]
    if len(content) < padded:
        raise ValueError(f"{padded} bytes of content expected at {position + 32}")
    if any(content[length:]):
        raise ValueError("padding bytes not empty")
    return content[:length]


def _read_bytes(data: bytes, position: int) -> str:
    return "0x" + _read_raw(data, position).hex()


def _read_string(data: bytes, position: int) -> str:
    return _clean(_read_raw(data, position).decode("utf-8", errors="replace"))


def _read_address(data: bytes, position: int) -> str:
    word = _word(data, position)
    if any(word[:12]):
        raise ValueError("padding bytes not empty")
    return _checksum(word[12:])


def _read_bool(data: bytes, position: int) -> bool:
    value = _uint256(data, position)
    if value > 1:
        raise ValueError(f"a boolean must be 0 or 1, got {value}")
    return value == 1


def _fixed_bytes(size: int) -> _Read:
    def read(data: bytes, position: int) -> str:
        word = _word(data, position)
        if any(word[size:]):
            raise ValueError("padding bytes not empty")
        return "0x" + word[:size].hex()

    return read


def _unsigned(bits: int) -> _Read:
    def read(data: bytes, position: int) -> int:
        value = _uint256(data, position)
        if value >> bits:
            raise ValueError(f"uint{bits} out of range")
        return value

    return read


def _signed(bits: int) -> _Read:
    low, high = -(1 << (bits - 1)), 1 << (bits - 1)

    def read(data: bytes, position: int) -> int:
        value = int.from_bytes(_word(data, position), "big", signed=True)
        if not low <= value < high:
            raise ValueError(f"int{bits} out of range")
        return value

    return read


# --- eth-abi, for types the compiler does not know -----------------------------------------------


def _abi_args(spec: _EventSpec, topics: list[str], data: bytes) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for param, topic in zip(spec.indexed, topics, strict=True):
        if _is_dynamic(param.abi):
            args[param.name] = topic  # the topic holds only the value's keccak256
        else:
            (value,) = abi_decode([_wire_type(param.abi)], _bytes(topic))
            args[param.name] = _jsonable(value, param.abi)
    values = abi_decode(list(spec.data_types), data)
    for param, value in zip(spec.data, values, strict=True):
        args[param.name] = _jsonable(value, param.abi)
    return args


def _wire_type(param: dict[str, Any]) -> str:
    """The type to decode with: tuples spelled out, and `string` read as `bytes` (same
    encoding) so that invalid UTF-8 is repaired here instead of failing the decoder."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_wire_type(component) for component in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    if kind.startswith("string"):
        return "bytes" + kind[len("string") :]
    return kind


def _is_dynamic(param: dict[str, Any]) -> bool:
    kind = str(param["type"])
    return kind in {"string", "bytes"} or kind.startswith("tuple") or kind.endswith("]")


def _jsonable(value: Any, param: dict[str, Any]) -> Any:
    """A decoded ABI value as JSON: see `Event.args`."""
    kind = str(param["type"])
    if kind.endswith("]"):
        element = {**param, "type": kind[: kind.rindex("[")]}
        return [_jsonable(item, element) for item in value]
    if kind == "tuple":
        return {
            str(component["name"]): _jsonable(item, component)
            for component, item in zip(param["components"], value, strict=True)
        }
    if kind == "address":
        return to_checksum_address(value)
    if kind == "string":
        return _clean(bytes(value).decode("utf-8", errors="replace"))
    if kind.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value  # int, bool
