"""A stand-in for a Besu node's admin listener (its WebSocket JSON-RPC service) answering the
account-allowlist part of the PERM API, for the push tests.

Besu is a Java node that cannot run in this test environment, so `kpchain consortium
permissions --push` and `kpchain consortium call` are tested against this small real WebSocket
server (the `websockets` package, in a thread), which behaves the way Besu documents it and its
source implements it (WebSocketService, WebSocketMessageHandler, JsonRpcExecutor,
AccountLocalConfigPermissioningController, RpcErrorType):

- it listens where the node's `config.toml` says (`rpc-ws-host`, `rpc-ws-port`; `for_node`),
  and refuses the handshake with HTTP 403 when the Host header's host is not in
  `host-allowlist`;
- it reads one JSON-RPC request from each text or binary message and answers in a text message;
- `perm_getAccountsAllowlist` [] -> the allowlist, as Besu keeps it: lower-case;
- `perm_addAccountsToAllowlist` [[addresses]] -> "Success"; Besu lower-cases the input, then
  refuses an empty list, an invalid address (not 0x and 20 bytes), a duplicate in the request, or
  an address already on the list, each with code -32000 and its message;
- `perm_removeAccountsFromAllowlist` [[addresses]] -> "Success"; the same checks, and an address
  not on the list is refused;
- all three answer -32604 "Method not enabled" when PERM is not in the listener's `rpc-ws-api`,
  and "Account allowlist has not been enabled" when the node runs without
  `permissions-accounts-config-file-enabled`; other methods, -32601 "Method not found".
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

NOT_ENABLED = "Account allowlist has not been enabled"
METHOD_NOT_ENABLED = "Method not enabled"
EMPTY = "Request contains an empty list of accounts"
INVALID = "Request contains an invalid account"
DUPLICATED = "Request contains duplicate accounts"
EXISTING = "Cannot add an existing account to allowlist"
ABSENT = "Cannot remove an absent account from allowlist"
_ACCOUNT = re.compile(r"0x[0-9a-f]{40}")
_PERM_METHODS = {
    "perm_getAccountsAllowlist",
    "perm_addAccountsToAllowlist",
    "perm_removeAccountsFromAllowlist",
}


class _RefusedError(Exception):
    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message}


@dataclass
class FakeBesuPermissions:
    """A node's accounts allowlist behind Besu's PERM methods, on its admin listener.

    Attributes:
        allowlist: the accounts the node allows, lower-case as Besu keeps them.
        enabled: whether account allowlisting is on.
        apis: the APIs the listener serves (`rpc-ws-api`).
        host_allowlist: the hosts a handshake's Host header may name (`host-allowlist`).
        host: the interface it listens on (`rpc-ws-host`).
        port: the port it listens on (`rpc-ws-port`); 0 for any free one.
        requests: every (method, params) received, in order.
        hosts_seen: the Host header of every handshake.
    """

    allowlist: list[str] = field(default_factory=list)
    enabled: bool = True
    apis: Sequence[str] = ("ADMIN", "QBFT", "PERM", "TXPOOL")
    host_allowlist: Sequence[str] = ("localhost", "127.0.0.1")
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, Any]] = field(default_factory=list)
    hosts_seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.allowlist = [account.lower() for account in self.allowlist]
        self._server: Server = serve(
            self._serve, self.host, self.port, process_request=self._check_host
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def for_node(cls, folder: Path) -> FakeBesuPermissions:
        """The admin listener Besu would start in the node folder `folder`: where its
        `config.toml` says, serving its `rpc-ws-api`, with the accounts of its permissions file."""
        config = tomllib.loads((folder / "config.toml").read_text())
        if config.get("rpc-ws-enabled") is not True:
            raise ValueError(f"{folder}/config.toml does not enable the WebSocket listener")
        permissions_file = folder / config["permissions-accounts-config-file"]
        permissions = tomllib.loads(permissions_file.read_text())
        return cls(
            allowlist=list(permissions["accounts-allowlist"]),
            enabled=config.get("permissions-accounts-config-file-enabled") is True,
            apis=tuple(config["rpc-ws-api"]),
            host_allowlist=tuple(config["host-allowlist"]),
            host=config["rpc-ws-host"],
            port=config["rpc-ws-port"],
        )

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @contextmanager
    def running(self) -> Iterator[FakeBesuPermissions]:
        """Serves until the block ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._thread.join()

    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    def _check_host(self, connection: ServerConnection, request: Request) -> Response | None:
        host_header = request.headers.get("Host", "")
        self.hosts_seen.append(host_header)
        host = host_header.rsplit(":", 1)[0] if ":" in host_header else host_header
        if "*" in self.host_allowlist or host.lower() in (h.lower() for h in self.host_allowlist):
            return None
        return connection.respond(HTTPStatus.FORBIDDEN, '{"message":"Host not authorized."}')

    def _serve(self, connection: ServerConnection) -> None:
        for message in connection:
            request = json.loads(message)
            method, params = request["method"], request.get("params") or []
            self.requests.append((method, params))
            try:
                reply: dict[str, Any] = {"result": self._answer(method, params)}
            except _RefusedError as refused:
                reply = {"error": refused.error}
            connection.send(json.dumps({"jsonrpc": "2.0", "id": request.get("id"), **reply}))

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method not in _PERM_METHODS:
            raise _RefusedError("Method not found", code=-32601)
        if "PERM" not in self.apis:
            raise _RefusedError(METHOD_NOT_ENABLED, code=-32604)
        if not self.enabled:
            raise _RefusedError(NOT_ENABLED)
        if method == "perm_getAccountsAllowlist":
            return list(self.allowlist)
        accounts = [str(account).lower() for account in params[0]]
        if not accounts:
            raise _RefusedError(EMPTY)
        if not all(_ACCOUNT.fullmatch(account) for account in accounts):
            raise _RefusedError(INVALID)
        if len(set(accounts)) != len(accounts):
            raise _RefusedError(DUPLICATED)
        if method == "perm_addAccountsToAllowlist":
            if any(account in self.allowlist for account in accounts):
                raise _RefusedError(EXISTING)
            self.allowlist.extend(accounts)
        else:
            if not all(account in self.allowlist for account in accounts):
                raise _RefusedError(ABSENT)
            self.allowlist = [account for account in self.allowlist if account not in accounts]
        return "Success"
