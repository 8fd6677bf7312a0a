"""Decode revert data into kpchain errors named after the contract's custom error."""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from kpchain.artifacts import artifact_names, load_artifact
from kpchain.errors import ChainError, ContractRevertError, TransactionFailedError

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return str(param["type"])


@cache
def _custom_errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Selector -> (name, argument names, argument types), from every committed artifact."""
    errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in artifact_names():
        for item in load_artifact(name).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(param) for param in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            errors[selector] = (item["name"], [p["name"] for p in item["inputs"]], types)
    return errors


def decode_revert(data: bytes) -> ChainError:
    """The kpchain error for revert `data` (custom error, Error(string), Panic or empty)."""
    selector, payload = data[:4], data[4:]
    if selector in _custom_errors():
        name, arg_names, arg_types = _custom_errors()[selector]
        values = [
            # eth-abi decodes addresses in lower case; kpchain shows them checksummed.
            to_checksum_address(value) if abi_type == "address" else value
            for abi_type, value in zip(arg_types, abi_decode(arg_types, payload), strict=True)
        ]
        return ContractRevertError(name, dict(zip(arg_names, values, strict=True)))
    if selector == _ERROR_STRING:
        (reason,) = abi_decode(["string"], payload)
        return TransactionFailedError(f"reverted: {reason}", detail={"reason": reason})
    if selector == _PANIC:
        (code,) = abi_decode(["uint256"], payload)
        return TransactionFailedError(f"panicked with code {code:#x}", detail={"panic": code})
    if not data:
        return TransactionFailedError("reverted without a reason (out of gas, or no contract?)")
    return TransactionFailedError(
        f"reverted with unknown data 0x{data.hex()}", detail={"data": "0x" + data.hex()}
    )
