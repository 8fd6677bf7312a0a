"""A stand-in for the account-allowlist part of Besu's PERM JSON-RPC API, for the push tests.

Besu is a Java node that cannot run in this test environment, so `kpchain consortium
permissions --push` is tested against this small real HTTP server (stdlib wsgiref, in a thread on
127.0.0.1), which answers the three methods the way Besu documents them and its source
implements them (AccountLocalConfigPermissioningController, RpcErrorType):

- `perm_getAccountsAllowlist` [] -> the allowlist, as Besu keeps it: lower-case;
- `perm_addAccountsToAllowlist` [[addresses]] -> "Success"; Besu lower-cases the input, then
  refuses an empty list, an invalid address (not 0x and 20 bytes), a duplicate in the request, or
  an address already on the list, each with code -32000 and its message;
- `perm_removeAccountsFromAllowlist` [[addresses]] -> "Success"; the same checks, and an address
  not on the list is refused;
- all three answer "Account allowlist has not been enabled" when the node runs without
  `permissions-accounts-config-file-enabled`; other methods, -32601 "Method not found".
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

NOT_ENABLED = "Account allowlist has not been enabled"
EMPTY = "Request contains an empty list of accounts"
INVALID = "Request contains an invalid account"
DUPLICATED = "Request contains duplicate accounts"
EXISTING = "Cannot add an existing account to allowlist"
ABSENT = "Cannot remove an absent account from allowlist"
_ACCOUNT = re.compile(r"0x[0-9a-f]{40}")


class _RefusedError(Exception):
    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


@dataclass
class FakeBesuPermissions:
    """A node's accounts allowlist behind Besu's PERM methods.

    Attributes:
        allowlist: the accounts the node allows, lower-case as Besu keeps them.
        enabled: whether account allowlisting is on.
        requests: every (method, params) received, in order.
    """

    allowlist: list[str] = field(default_factory=list)
    enabled: bool = True
    requests: list[tuple[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.allowlist = [account.lower() for account in self.allowlist]
        self._server: WSGIServer = make_server("127.0.0.1", 0, self._app, handler_class=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @contextmanager
    def running(self) -> Iterator[FakeBesuPermissions]:
        """Serves until the block ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()

    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    def _app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(size))
        method, params = request["method"], request.get("params") or []
        self.requests.append((method, params))
        try:
            reply: dict[str, Any] = {"result": self._answer(method, params)}
        except _RefusedError as refused:
            reply = {"error": refused.error}
        body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), **reply}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    def _answer(self, method: str, params: list[Any]) -> Any:
        if method not in {
            "perm_getAccountsAllowlist",
            "perm_addAccountsToAllowlist",
            "perm_removeAccountsFromAllowlist",
        }:
            raise _RefusedError("Method not found", code=-32601)
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
