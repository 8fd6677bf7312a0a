"""A signer whose key stays in a remote signing service speaking Web3Signer's eth1 JSON-RPC.

Web3Signer (ConsenSys) in `eth1` mode holds keys in a vault, an HSM or encrypted files and signs
over JSON-RPC; kpchain never sees the key. The calls, as Web3Signer implements them:

- ``eth_accounts`` -> the addresses it can sign for;
- ``eth_signTransaction`` with ``[{from, to, gas, gasPrice | maxFeePerGas + maxPriorityFeePerGas,
  nonce, value, data}]`` (0x-quantities; ``to`` absent for a contract creation) -> the raw signed
  transaction as 0x-hex. Web3Signer requires the nonce and signs for the chain id it was started
  with (``--chain-id``), ignoring any ``chainId`` in the request; kpchain sends it anyway, for
  signers that read it;
- ``eth_signTypedData`` with ``[address, typedData]`` -> the 65-byte signature as 0x-hex.
  Web3Signer reads both parameters as strings (the typed data goes to web3j's
  `StructuredDataEncoder(String)`), so the typed data travels as a JSON string, not an object.

A signer is trusted with the key, not with the result: every signed transaction is decoded and
must be exactly the transaction asked for (sender, nonce, chain id, recipient, data, value, gas,
price), and every typed-data signature must recover to the signer's address. A misconfigured
chain id, a signer holding another key, or one that hashes typed data differently is caught
here, before anything reaches the chain.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTransaction
from eth_account.messages import encode_typed_data
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import (
    is_checksum_address,
    is_checksum_formatted_address,
    is_hex_address,
    to_checksum_address,
)
from hexbytes import HexBytes

from kpchain.chain.connection import redact_url
from kpchain.errors import SigningError, SigningReason
from kpchain.signing.devkeys import refuse_development_key

logger = logging.getLogger(__name__)

# Web3Signer's SIGNING_FROM_IS_NOT_AN_UNLOCKED_ACCOUNT: "No unlocked account matches the Sender".
_NOT_UNLOCKED = "no unlocked account"
_MAX_SERVER_MESSAGE = 300  # characters of a server's error message kept in ours
_LEGACY_PRICING = ("gasPrice",)
_EIP1559_PRICING = ("maxFeePerGas", "maxPriorityFeePerGas")


class RemoteSigner:
    """Signs through a Web3Signer-compatible JSON-RPC endpoint; implements `Signer`.

    Constructing one checks, with ``eth_accounts``, that the endpoint can sign for `address`.
    The HTTP connection is kept open; `close` it (or use the signer as a context manager) when
    done.

    Args:
        url: the signer's JSON-RPC endpoint, e.g. ``https://signer.ae.example:9000``.
            Credentials in it (``user:pass@``) are sent as HTTP basic auth and never shown;
            tokens belong in `headers`, not in the query string (httpx logs request URLs).
        address: the account to sign as.
        timeout: seconds to wait for each answer.
        headers: extra HTTP headers on every request (an ``Authorization`` token); never shown.
        development: allow a well-known development address.

    Raises:
        SigningError: `address` is not an address or is a development address outside
            development mode, the endpoint cannot be reached or answers an error, or it does not
            hold `address`. `detail["reason"]` says which: ``unavailable`` (worth retrying),
            ``rpc_error``, ``http_error``, ``not_held``, ``misbehaving`` (an answer that is not
            what was asked for) or ``invalid_request``.
    """

    def __init__(
        self,
        url: str,
        address: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        development: bool = False,
    ) -> None:
        self.url = redact_url(url)
        self._endpoint, auth = self._parse_endpoint(url)
        self._address = self._parse_address(address)
        self.timeout = timeout
        refuse_development_key(
            self._address,
            holder=f"remote signer {self.url}",
            development=development,
            detail={"url": self.url},
        )
        self._ids = itertools.count(1)
        self._client = httpx.Client(timeout=timeout, headers=dict(headers or {}), auth=auth)
        try:
            self._check_holds_address()
        except BaseException:
            self._client.close()
            raise
        logger.info("remote signer %s holds %s", self.url, self._address)

    def _parse_endpoint(self, url: str) -> tuple[httpx.URL, httpx.BasicAuth | None]:
        """The URL to post to, and the basic auth its credentials become: httpx logs every
        request's URL, so credentials must not stay in it."""
        try:
            endpoint = httpx.URL(url)
        except httpx.InvalidURL:
            endpoint = httpx.URL()
        if endpoint.scheme not in ("http", "https") or not endpoint.host:
            raise SigningError(
                f"remote signer URL {self.url} is not an http(s) URL",
                detail={"url": self.url, "reason": SigningReason.INVALID_REQUEST},
            )
        auth = httpx.BasicAuth(endpoint.username, endpoint.password) if endpoint.userinfo else None
        return endpoint.copy_with(username=None, password=None), auth

    def _parse_address(self, address: str) -> str:
        # A mixed-case address carries an EIP-55 checksum: a wrong one is a typo, not a choice.
        mistyped = is_checksum_formatted_address(address) and not is_checksum_address(address)
        if not is_hex_address(address) or mistyped:
            reason = "has a wrong EIP-55 checksum" if mistyped else "is not an Ethereum address"
            raise SigningError(
                f"remote signer {self.url}: {address!r} {reason}",
                detail={"url": self.url, "reason": SigningReason.INVALID_REQUEST},
            )
        return str(to_checksum_address(address))

    @property
    def address(self) -> str:
        """The checksummed address this signer signs as."""
        return self._address

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        """The raw signed transaction for a web3 transaction dict, signed by the remote signer.

        `transaction` must carry `nonce`, `gas`, `chainId` and either `gasPrice` or both EIP-1559
        fees; `from`, when present, must be this signer's address.

        Raises:
            SigningError: the transaction cannot be expressed to the signer, the signer is
                unavailable or refuses, or its answer is not this transaction signed by this
                signer's address.
        """
        expected = self._expected_transaction(transaction)
        params = {key: _json_value(value) for key, value in expected.items() if key != "chainId"}
        params["from"] = self._address
        params["chainId"] = hex(expected["chainId"])
        if expected["to"] is None:
            del params["to"]  # Web3Signer: no `to` means a contract creation
        result = self._call("eth_signTransaction", [params])
        raw = self._decode_hex_result("eth_signTransaction", result)
        self._verify_transaction(raw, expected)
        logger.debug("remote signer %s signed nonce %s", self.url, expected["nonce"])
        return raw

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """The 65-byte (r, s, v) signature over EIP-712 `typed_data`, v being 27 or 28.

        Raises:
            SigningError: the typed data is malformed, the signer is unavailable or refuses,
                or the signature does not recover to this signer's address.
        """
        try:
            signable = encode_typed_data(full_message=typed_data)
            payload = json.dumps(typed_data, default=_json_default, separators=(",", ":"))
        except Exception as exc:  # eth-account raises a variety of errors for bad typed data
            raise SigningError(
                f"cannot sign typed data through {self.url}: the typed data is malformed "
                f"({type(exc).__name__})",
                detail={"url": self.url, "reason": SigningReason.INVALID_REQUEST},
            ) from None
        result = self._call("eth_signTypedData", [self._address, payload])
        signature = self._decode_hex_result("eth_signTypedData", result)
        if len(signature) != 65:
            raise self._misbehaving(
                f"answered eth_signTypedData with {len(signature)} bytes, not a 65-byte signature"
            )
        v = signature[64]
        if v in (0, 1):  # some signers return the recovery id itself; the contract wants 27/28
            signature = signature[:64] + bytes([v + 27])
        elif v not in (27, 28):
            raise self._misbehaving(f"answered eth_signTypedData with v = {v}")
        try:
            recovered = str(Account.recover_message(signable, signature=signature))
        except Exception:
            raise self._misbehaving(
                "answered eth_signTypedData with an invalid signature"
            ) from None
        if recovered != self._address:
            raise self._misbehaving(
                f"answered eth_signTypedData with a signature that recovers to {recovered}, not "
                f"{self._address}; it signs with another key or hashes the typed data otherwise "
                "(not as EIP-712)"
            )
        return signature

    def close(self) -> None:
        """Closes the HTTP connection."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteSigner({self._address}, url={self.url!r})"

    # --- JSON-RPC ------------------------------------------------------------------------------

    def _check_holds_address(self) -> None:
        accounts = self._call("eth_accounts", [])
        if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            raise self._misbehaving("answered eth_accounts with something other than addresses")
        if self._address.lower() not in {account.lower() for account in accounts}:
            raise SigningError(
                f"remote signer {self.url} does not hold {self._address} (it holds "
                f"{len(accounts)} other account(s)); check the address in the signers file and "
                "the keys loaded into the signer",
                detail={
                    "url": self.url,
                    "address": self._address,
                    "accounts": accounts,
                    "reason": SigningReason.NOT_HELD,
                },
            )

    def _call(self, method: str, params: list[Any]) -> Any:
        """The `result` of JSON-RPC `method`, or a SigningError naming the URL and the method
        (never the request: it may carry whatever the caller signs)."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
        detail = {"url": self.url, "method": method}
        try:
            response = self._client.post(self._endpoint, json=body)
        except httpx.TimeoutException:
            raise SigningError(
                f"remote signer {self.url} did not answer {method} within {self.timeout:g}s",
                detail={**detail, "reason": SigningReason.UNAVAILABLE},
            ) from None
        except httpx.HTTPError as exc:
            # The exception's text may quote the URL (and its query): only its type shows.
            raise SigningError(
                f"cannot reach remote signer {self.url} ({type(exc).__name__}); check that it "
                "runs and that the URL in the signers file is right",
                detail={**detail, "reason": SigningReason.UNAVAILABLE},
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        error = answer.get("error") if isinstance(answer, dict) else None
        if error is not None:
            # Web3Signer answers JSON-RPC errors with HTTP 400 or 500 as well: the error body,
            # when there is one, says more than the status.
            raise self._rpc_error(method, error)
        if response.status_code != 200:
            hint = (
                "; check the credentials (headers) in the signers file"
                if response.status_code in (401, 403)
                else ""
            )
            raise SigningError(
                f"remote signer {self.url} answered {method} with HTTP {response.status_code}"
                + hint,
                detail={
                    **detail,
                    "status": response.status_code,
                    "reason": SigningReason.UNAVAILABLE
                    if response.status_code >= 500
                    else SigningReason.HTTP_ERROR,
                },
            )
        if not isinstance(answer, dict) or "result" not in answer:
            raise self._misbehaving(f"answered {method} with something other than JSON-RPC")
        if answer.get("id") != request_id:
            raise self._misbehaving(f"answered {method} with the id of another request")
        return answer["result"]

    def _rpc_error(self, method: str, error: Any) -> SigningError:
        if isinstance(error, dict):
            code = error.get("code")
            message = str(error.get("message", ""))[:_MAX_SERVER_MESSAGE]
        else:
            code, message = None, str(error)[:_MAX_SERVER_MESSAGE]
        hint = ""
        if _NOT_UNLOCKED in message.lower():
            hint = f"; the signer no longer holds {self._address}"
        return SigningError(
            f"remote signer {self.url} refused {method}: {message} (JSON-RPC error {code}){hint}",
            detail={
                "url": self.url,
                "method": method,
                "rpc_code": code,
                "rpc_message": message,
                "reason": SigningReason.RPC_ERROR,
            },
        )

    def _decode_hex_result(self, method: str, result: Any) -> bytes:
        if isinstance(result, str) and result.startswith(("0x", "0X")):
            try:
                return bytes.fromhex(result[2:])
            except ValueError:
                pass
        raise self._misbehaving(f"answered {method} with something other than 0x-hex data")

    def _misbehaving(self, what: str) -> SigningError:
        return SigningError(
            f"remote signer {self.url} {what}; refusing its answer",
            detail={"url": self.url, "address": self._address, "reason": SigningReason.MISBEHAVING},
        )

    # --- transactions --------------------------------------------------------------------------

    def _expected_transaction(self, transaction: Mapping[str, Any]) -> dict[str, Any]:
        """The transaction's fields in canonical form (ints, checksummed `to` or None, bytes
        `data`), which both the request and the check of the answer are made from."""

        def invalid(why: str) -> SigningError:
            return SigningError(
                f"cannot sign through remote signer {self.url}: {why}",
                detail={"url": self.url, "reason": SigningReason.INVALID_REQUEST},
            )

        sender = transaction.get("from")
        if sender is not None and str(sender).lower() != self._address.lower():
            raise invalid(f"the transaction is from {sender}, but this signer is {self._address}")
        for key in ("nonce", "gas", "chainId"):
            if transaction.get(key) is None:
                # Web3Signer would sign without gas (90,000) or refuse without a nonce, and the
                # chain id is what the answer is checked against.
                raise invalid(f"the transaction has no {key}")
        if transaction.get("accessList"):
            raise invalid("Web3Signer's eth_signTransaction cannot carry an access list")
        legacy = transaction.get("gasPrice") is not None
        eip1559 = any(transaction.get(key) is not None for key in _EIP1559_PRICING)
        if legacy == eip1559:
            raise invalid("give either gasPrice or maxFeePerGas and maxPriorityFeePerGas")
        if eip1559 and any(transaction.get(key) is None for key in _EIP1559_PRICING):
            raise invalid("an EIP-1559 transaction needs maxFeePerGas and maxPriorityFeePerGas")
        kind = 0 if legacy else 2
        if transaction.get("type") not in (None, kind, hex(kind)):
            raise invalid(f"transaction type {transaction['type']} is not supported")
        unknown = set(transaction) - {
            "from", "to", "gas", "nonce", "chainId", "value", "data", "input", "type",
            "accessList", *_LEGACY_PRICING, *_EIP1559_PRICING,
        }  # fmt: skip
        if unknown:
            raise invalid(f"unsupported transaction fields {sorted(unknown)}")
        to = transaction.get("to")
        if to in (None, "", b""):
            to = None
        elif isinstance(to, str) and is_hex_address(to):
            to = str(to_checksum_address(to))
        else:
            raise invalid(f"'to' is not an address: {to!r}")
        data = transaction.get("data", transaction.get("input"))
        try:
            fields: dict[str, Any] = {
                "to": to,
                "data": _to_bytes(data),
                "value": _to_int(transaction.get("value", 0)),
                "nonce": _to_int(transaction["nonce"]),
                "gas": _to_int(transaction["gas"]),
                "chainId": _to_int(transaction["chainId"]),
            }
            for key in _LEGACY_PRICING if legacy else _EIP1559_PRICING:
                fields[key] = _to_int(transaction[key])
        except (TypeError, ValueError) as exc:
            raise invalid(str(exc)) from None
        return fields

    def _verify_transaction(self, raw: bytes, expected: Mapping[str, Any]) -> None:
        try:
            decoded = _decode_transaction(raw)
            sender = str(Account.recover_transaction(raw))
        except Exception:
            raise self._misbehaving(
                "answered eth_signTransaction with something that is not a signed transaction"
            ) from None
        differences = [
            f"{key} {_show(decoded.get(key))} instead of {_show(value)}"
            for key, value in expected.items()
            if decoded.get(key) != value
        ]
        pricing = _LEGACY_PRICING if "gasPrice" in expected else _EIP1559_PRICING
        if set(pricing) - set(decoded):
            differences.append("another transaction type")
        if differences:
            hint = (
                "; check the chain id the signer was started with (Web3Signer's --chain-id)"
                if decoded.get("chainId") != expected["chainId"]
                else ""
            )
            changes = ", ".join(differences)
            raise self._misbehaving(f"signed another transaction than asked for: {changes}{hint}")
        if sender != self._address:
            raise self._misbehaving(
                f"signed the transaction as {sender}, not as {self._address}; it signs with "
                "another key"
            )


def _decode_transaction(raw: bytes) -> dict[str, Any]:
    """The fields of a signed legacy (EIP-155) or EIP-1559 transaction, in canonical form."""
    if raw and raw[0] >= 0xC0:  # an RLP list: a legacy transaction
        fields = dict(LegacyTransaction.from_bytes(raw).as_dict())
        v = int(fields.pop("v"))
        # EIP-155: v = 35 + 2 * chainId + parity; 27/28 means no chain id, replayable anywhere.
        fields["chainId"] = (v - 35) // 2 if v >= 35 else None
    else:
        fields = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
        if fields.get("type") != 2 or fields.get("accessList"):
            raise ValueError("not an EIP-1559 transaction without access list")
        fields.pop("v", None)
    to = bytes(fields["to"])
    fields["to"] = str(to_checksum_address(to)) if to else None
    fields["data"] = bytes(fields["data"])
    return fields


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    number = int(value, 16) if isinstance(value, str) else value
    if number < 0:
        raise ValueError(f"expected a non-negative integer, got {number}")
    return number


def _to_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        return bytes.fromhex(value[2:])
    raise TypeError(f"expected bytes or 0x-hex data, got {type(value).__name__}")


def _json_value(value: Any) -> str | None:
    """A canonical field as JSON-RPC carries it: quantities and data as 0x-hex."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return hex(value)


def _json_default(value: Any) -> Any:
    """JSON for typed-data values json cannot encode: bytes as 0x-hex, as EIP-712 JSON has them."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    raise TypeError(f"cannot encode {type(value).__name__} in typed data")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex() if len(value) <= 8 else f"<{len(value)} bytes>"
    return str(value)
