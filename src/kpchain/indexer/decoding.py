"""Raw `eth_getLogs` entries -> `Event` rows, for every event of the registry's ABI.

Decoding is done here, not by web3's contract events, for two reasons: the index must never
stall on a value web3 refuses (a string that is not valid UTF-8 is legal calldata, so strings
are decoded as bytes and repaired), and the output must be plain JSON (see `Event.args`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address

from kpchain.indexer.tables import Event

logger = logging.getLogger(__name__)

MIXED_ORIGIN = "MIXED"
"""How the index writes the origin of a mixed-origin certificate (0x0000 on chain)."""


@dataclass(frozen=True)
class _Param:
    name: str
    abi: dict[str, Any]  # the ABI input, components included


@dataclass(frozen=True)
class _EventSpec:
    name: str
    indexed: tuple[_Param, ...]
    data: tuple[_Param, ...]
    data_types: tuple[str, ...]  # ABI types to decode `data` with (strings read as bytes)


class EventDecoder:
    """Decodes the logs of one contract ABI.

    Args:
        abi: the contract's ABI; each of its events is recognised by its topic 0.
    """

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._specs: dict[str, _EventSpec] = {}
        for item in abi:
            if item["type"] != "event" or item.get("anonymous"):
                continue
            inputs = [_Param(str(p["name"]), p) for p in item["inputs"]]
            data = tuple(p for p in inputs if not p.abi.get("indexed"))
            topic = "0x" + bytes(event_abi_to_log_topic(cast(Any, item))).hex()
            self._specs[topic] = _EventSpec(
                name=str(item["name"]),
                indexed=tuple(p for p in inputs if p.abi.get("indexed")),
                data=data,
                data_types=tuple(_wire_type(p.abi) for p in data),
            )

    def decode(self, log: dict[str, Any], *, block_time: int) -> Event | None:
        """The `Event` row of raw log `log` (hex strings, as the node sends it), or None for a
        log this ABI does not declare or that cannot be decoded (logged, never raised: one
        odd log must not stop the index)."""
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
        return Event(
            block_number=int(log["blockNumber"], 16),
            block_hash=str(log["blockHash"]).lower(),
            block_time=block_time,
            tx_hash=str(log["transactionHash"]).lower(),
            log_index=int(log["logIndex"], 16),
            name=spec.name,
            cert_no=text_of(args["certNo"]) if "certNo" in args else None,
            exporting=_optional_code(args.get("exportingParticipant")),
            importing=_optional_code(args.get("importingParticipant")),
            participant=_optional_code(args.get("code", args.get("participant"))),
            args=args,
        )

    def _args(self, spec: _EventSpec, topics: list[str], data: bytes) -> dict[str, Any]:
        if len(topics) != len(spec.indexed):
            raise ValueError(f"expected {len(spec.indexed)} indexed topics, got {len(topics)}")
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


def text_of(hex_value: str) -> str:
    """The ASCII text of a left-aligned, zero-padded bytesN given as 0x-hex ("BW-2026-1")."""
    return _clean(_bytes(hex_value).rstrip(b"\x00").decode("ascii", errors="replace"))


def code_of(hex_value: str) -> str | None:
    """A participant code from its bytes2 0x-hex, or None for 0x0000 (no participant)."""
    raw = _bytes(hex_value)
    return None if not any(raw) else text_of(hex_value)


def _optional_code(value: Any) -> str | None:
    return code_of(value) if isinstance(value, str) else None


def _bytes(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value.removeprefix("0x"))


def _clean(text: str) -> str:
    # PostgreSQL refuses NUL in text and JSON; a string argument is arbitrary calldata.
    return text.replace("\x00", "\ufffd")


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
