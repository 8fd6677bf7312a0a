"""A stand-in for Web3Signer's eth1 JSON-RPC, for the RemoteSigner tests.

Web3Signer itself is a Java service and cannot run in this test environment, so these tests run
against this small server instead: stdlib `http.server` in a thread on 127.0.0.1, signing with
eth-account. It answers the way Web3Signer's source does (core/.../jsonrpc/handlers/
internalresponse/*ResultProvider.java):

- `eth_accounts` -> the held addresses, lower-case;
- `eth_signTransaction` [{from, to?, gas?, gasPrice | maxFeePerGas + maxPriorityFeePerGas, nonce,
  value?, data?}] -> 0x raw transaction; the nonce is required, gas defaults to 90,000, and the
  chain id is the server's own (`--chain-id`), whatever the request says;
- `eth_signTypedData` [address, typed data as a JSON *string*] -> 0x 65-byte signature; an object
  in place of the string fails, as Web3Signer's cast to String does;
- errors as JSON-RPC error objects (code -32000 "No unlocked account matches the Sender" for an
  address it does not hold, -32602 "Invalid params"), with HTTP status 400.

Knobs let a test make it misbehave: sign with another key, tamper with the transaction, answer
garbage, fail over HTTP, hang, or demand credentials.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

NOT_UNLOCKED = {"code": -32000, "message": "No unlocked account matches the Sender"}
INVALID_PARAMS = {"code": -32602, "message": "Invalid params"}
INTERNAL_ERROR = {"code": -32603, "message": "Internal error"}
METHOD_NOT_FOUND = {"code": -32601, "message": "Method not found"}


class RpcError(Exception):
    def __init__(self, error: dict[str, Any], status: int = 400) -> None:
        super().__init__(error["message"])
        self.error = error
        self.status = status


@dataclass
class Received:
    """A request the server got: what the tests inspect."""

    method: str
    params: Any
    headers: dict[str, str]


@dataclass
class FakeWeb3Signer:
    """A Web3Signer-compatible eth1 JSON-RPC server holding `keys`.

    Attributes:
        keys: the accounts it signs for.
        chain_id: the chain id it signs transactions for (Web3Signer's --chain-id).
        impostor: when set, signs everything with this key instead (a lying signer).
        tamper: when set, changes the transaction before signing it.
        answer: when set, returns (HTTP status, raw body) instead of handling the request.
        basic_auth: when set, (user, password) every request must carry.
        hang: when set, requests block until it is set (a signer that does not answer).
    """

    keys: list[LocalAccount]
    chain_id: int = 2021
    impostor: LocalAccount | None = None
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    answer: tuple[int, bytes] | None = None
    basic_auth: tuple[str, str] | None = None
    hang: threading.Event | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, payload = server.handle(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._stopped = False

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeWeb3Signer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving; stopping twice is harmless."""
        if self.hang is not None:
            self.hang.set()
        if self._stopped:
            return
        self._stopped = True
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def calls(self, method: str) -> list[Received]:
        return [request for request in self.received if request.method == method]

    # --- JSON-RPC ------------------------------------------------------------------------------

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.hang is not None:
            self.hang.wait(timeout=30)
        if self.basic_auth is not None:
            token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            if headers.get("Authorization") != f"Basic {token}":
                return 401, b""
        request = json.loads(body)
        self.received.append(Received(request["method"], request.get("params"), headers))
        if self.answer is not None:
            return self.answer
        try:
            result = self._dispatch(request["method"], request.get("params") or [])
        except RpcError as failure:
            reply = {"jsonrpc": "2.0", "id": request.get("id"), "error": failure.error}
            return failure.status, json.dumps(reply).encode()
        reply = {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
        return 200, json.dumps(reply).encode()

    def _dispatch(self, method: str, params: list[Any]) -> Any:
        if method == "eth_accounts":
            return [account.address.lower() for account in self.keys]
        if method == "eth_signTransaction":
            return self._sign_transaction(params)
        if method == "eth_signTypedData":
            return self._sign_typed_data(params)
        raise RpcError(METHOD_NOT_FOUND)

    def _account(self, address: Any) -> LocalAccount:
        for account in self.keys:
            if isinstance(address, str) and account.address.lower() == address.lower():
                return self.impostor or account
        raise RpcError(NOT_UNLOCKED)

    def _sign_transaction(self, params: list[Any]) -> str:
        if len(params) != 1 or not isinstance(params[0], dict) or "from" not in params[0]:
            raise RpcError(INVALID_PARAMS)
        request = params[0]
        if "nonce" not in request:
            raise RpcError(INVALID_PARAMS)  # Web3Signer: "Nonce not present in request"
        account = self._account(request["from"])
        tx: dict[str, Any] = {
            "nonce": int(request["nonce"], 16),
            "gas": int(request.get("gas", "0x15f90"), 16),
            "value": int(request.get("value", "0x0"), 16),
            "data": request.get("data") or request.get("input") or "0x",
            "chainId": self.chain_id,  # its own, as Web3Signer does
        }
        if request.get("to") is not None:
            tx["to"] = request["to"]
        if "maxFeePerGas" in request and "maxPriorityFeePerGas" in request:
            tx["maxFeePerGas"] = int(request["maxFeePerGas"], 16)
            tx["maxPriorityFeePerGas"] = int(request["maxPriorityFeePerGas"], 16)
        else:
            tx["gasPrice"] = int(request.get("gasPrice", "0x0"), 16)
        if self.tamper is not None:
            tx = self.tamper(tx)
        return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()

    def _sign_typed_data(self, params: list[Any]) -> str:
        if len(params) != 2:
            raise RpcError(INVALID_PARAMS)
        address, payload = params
        if not isinstance(payload, str):
            # Web3Signer casts the parameter to String outside its try block: a 500.
            raise RpcError(INTERNAL_ERROR, status=500)
        account = self._account(address)
        signable = encode_typed_data(full_message=json.loads(payload))
        return "0x" + bytes(account.sign_message(signable).signature).hex()


def new_account() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account
