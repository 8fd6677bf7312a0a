"""JSON-RPC to a Besu node's admin listener: its WebSocket JSON-RPC service, bound to 127.0.0.1,
which alone serves the ADMIN, QBFT, PERM and TXPOOL APIs (see `kpchain.consortium.nodes`).

web3.py wraps none of the PERM and QBFT methods, and its synchronous WebSocket provider is the
legacy one, so this is a small client of its own over the `websockets` package: one connection
per use, one request at a time, each answer matched to its request by id.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from kpchain.chain.connection import redact_url
from kpchain.errors import ChainError, ChainUnavailableError, ConfigError

ADMIN_SCHEMES = ("ws", "wss")
# Besu's "Method not enabled" (RpcErrorType.METHOD_NOT_ENABLED): a method of an API the listener
# does not serve.
METHOD_NOT_ENABLED = -32604


class AdminClient:
    """A connection to a node's admin listener.

    Use as a context manager: it connects on entry and closes on exit.

    Args:
        url: the admin listener, ``ws://127.0.0.1:<rpc-ws-port>`` (network.json's admin_url).
        timeout: seconds to wait for the connection and for each answer.

    Raises:
        ConfigError: `url` is not a ws:// or wss:// URL (on creation).
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.name = redact_url(url)
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ADMIN_SCHEMES:
            raise ConfigError(
                f"{self.name} is not a node's admin listener: the admin APIs (PERM, QBFT, "
                "ADMIN) are served over WebSocket on the node's machine only; give its ws:// URL "
                "(network.json's admin_url, ws://127.0.0.1:<rpc-ws-port>), not the HTTP "
                "JSON-RPC listener the service uses",
                detail={"node": self.name},
            )
        self._url = url
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._connection: ClientConnection | None = None

    def __enter__(self) -> AdminClient:
        try:
            # No proxy (the listener is on the loopback interface, and what is sent to it is
            # for the node alone) and no keepalive pings: a connection lasts a few requests.
            self._connection = connect(
                self._url, open_timeout=self._timeout, proxy=None, ping_interval=None
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise ChainError(
                f"{self.name} refused the WebSocket connection (HTTP {status}); is this the "
                "node's rpc-ws-port, and is the host you connect by in its host-allowlist?",
                detail={"node": self.name, "status": status},
            ) from None
        except (InvalidHandshake, InvalidURI) as exc:
            raise ChainError(
                f"{self.name} is not a WebSocket JSON-RPC listener: {type(exc).__name__}; is "
                "this the node's rpc-ws-port?",
                detail={"node": self.name},
            ) from None
        except OSError as exc:  # refused, unreachable, or TimeoutError
            raise self._unavailable(exc) from None
        return self

    def __exit__(self, *_: object) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def call(self, method: str, params: list[Any]) -> Any:
        """The result of `method` with `params`.

        Raises:
            ChainUnavailableError: the connection broke, or no answer came in time.
            ChainError: the node refused the request, or did not answer in JSON-RPC.
        """
        if self._connection is None:
            raise RuntimeError("AdminClient.call outside its `with` block")
        request_id = next(self._ids)
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            self._connection.send(json.dumps(request))
            message = self._connection.recv(timeout=self._timeout)
        except (ConnectionClosed, OSError) as exc:  # OSError includes TimeoutError
            raise self._unavailable(exc) from None
        try:
            answer = json.loads(message)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("id") != request_id:
            raise ChainError(
                f"{self.name} did not answer {method} in JSON-RPC",
                detail={"node": self.name, "method": method},
            )
        error = answer.get("error")
        if error is not None:
            reason = error.get("message") if isinstance(error, dict) else error
            code = error.get("code") if isinstance(error, dict) else None
            api = method.split("_", 1)[0].upper()
            hint = f"; the listener needs {api} in rpc-ws-api" if code == METHOD_NOT_ENABLED else ""
            raise ChainError(
                f"{self.name} refused {method}: {reason}{hint}",
                detail={"node": self.name, "method": method, "error": error},
            )
        return answer.get("result")

    def _unavailable(self, exc: BaseException) -> ChainUnavailableError:
        return ChainUnavailableError(
            f"cannot reach the admin listener at {self.name}: {type(exc).__name__}; run this on "
            "the node's machine, with the node running (rpc-ws-enabled)",
            detail={"node": self.name},
        )
