"""A stand-in for a Besu node's admin listener (its WebSocket JSON-RPC service) answering the
allowlist part of the PERM API, the peers of the ADMIN API and QBFT's validator votes, for the
push and admission tests.

Besu is a Java node that cannot run in this test environment, so `kpchain consortium
permissions --push`, `add-member --push` and `kpchain consortium call` are tested against this
small real WebSocket server (the `websockets` package, in a thread), which behaves the way Besu
documents it and its source implements it (WebSocketService, WebSocketMessageHandler,
JsonRpcExecutor, AccountLocalConfigPermissioningController, NodeLocalConfigPermissioningController,
AdminAddPeer, AdminPeers, the Qbft* methods, RpcErrorType):

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
- `perm_getNodesAllowlist` [] -> the enode URLs; `perm_addNodesToAllowlist` [[enodes]] ->
  "Success", refusing an empty list, an invalid enode, a duplicate, or one on the list already;
- `admin_peers` [] -> the connected peers (`id`: 0x and the node's public key, `enode`, ...);
  `admin_addPeer` [enode] -> true, refused for a node not on the nodes allowlist ("Cannot add a
  non-permitted node as a peer"); it does not connect: a test says when a peer is connected
  (`connect`);
- `qbft_getValidatorsByBlockNumber` [block] -> the validators, lower-case;
  `qbft_proposeValidatorVote` [address, add] -> true; `qbft_getPendingVotes` [] -> {address:
  add}; `qbft_discardValidatorVote` [address] -> true;
- each method answers -32604 "Method not enabled" when its API (PERM, ADMIN, QBFT) is not in
  the listener's `rpc-ws-api`; the allowlist methods answer "Account allowlist has not been
  enabled" or "Node allowlist has not been enabled" when the node runs without that allowlist;
  other methods, -32601 "Method not found".
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
NODES_NOT_ENABLED = "Node allowlist has not been enabled"
NODES_EMPTY = "Request contains an empty list of nodes"
NODES_INVALID = "Request contains an invalid node"
NODES_DUPLICATED = "Request contains duplicate nodes"
NODES_EXISTING = "Cannot add an existing node to allowlist"
NOT_PERMITTED_PEER = "Cannot add a non-permitted node as a peer"
METHOD_NOT_ENABLED = "Method not enabled"
EMPTY = "Request contains an empty list of accounts"
INVALID = "Request contains an invalid account"
DUPLICATED = "Request contains duplicate accounts"
EXISTING = "Cannot add an existing account to allowlist"
ABSENT = "Cannot remove an absent account from allowlist"
_ACCOUNT = re.compile(r"0x[0-9a-f]{40}")
_ENODE = re.compile(r"enode://(?P<id>[0-9a-f]{128})@[^:/]+:[0-9]+")
_ACCOUNT_METHODS = {
    "perm_getAccountsAllowlist",
    "perm_addAccountsToAllowlist",
    "perm_removeAccountsFromAllowlist",
}
_NODE_METHODS = {"perm_getNodesAllowlist", "perm_addNodesToAllowlist"}
_ADMIN_METHODS = {"admin_peers", "admin_addPeer"}
_QBFT_METHODS = {
    "qbft_getValidatorsByBlockNumber",
    "qbft_proposeValidatorVote",
    "qbft_getPendingVotes",
    "qbft_discardValidatorVote",
}


class _RefusedError(Exception):
    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message}


@dataclass
class FakeBesu:
    """A node's allowlists, peers and validator votes behind Besu's admin methods, on its
    admin listener.

    Attributes:
        allowlist: the accounts the node allows, lower-case as Besu keeps them.
        enabled: whether account allowlisting is on.
        nodes_allowlist: the enode URLs of the nodes it allows.
        nodes_enabled: whether node allowlisting is on.
        peers: the public keys (128 hex digits) of the nodes connected to it.
        added_peers: the enodes `admin_addPeer` was asked to connect to.
        validators: the validators at the latest block, lower-case.
        pending_votes: this node's pending validator votes, lower-case address -> add.
        apis: the APIs the listener serves (`rpc-ws-api`).
        host_allowlist: the hosts a handshake's Host header may name (`host-allowlist`).
        host: the interface it listens on (`rpc-ws-host`).
        port: the port it listens on (`rpc-ws-port`); 0 for any free one.
        requests: every (method, params) received, in order.
        hosts_seen: the Host header of every handshake.
    """

    allowlist: list[str] = field(default_factory=list)
    enabled: bool = True
    nodes_allowlist: list[str] = field(default_factory=list)
    nodes_enabled: bool = True
    peers: list[str] = field(default_factory=list)
    added_peers: list[str] = field(default_factory=list)
    validators: list[str] = field(default_factory=list)
    pending_votes: dict[str, bool] = field(default_factory=dict)
    apis: Sequence[str] = ("ADMIN", "QBFT", "PERM", "TXPOOL")
    host_allowlist: Sequence[str] = ("localhost", "127.0.0.1")
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, Any]] = field(default_factory=list)
    hosts_seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.allowlist = [account.lower() for account in self.allowlist]
        self.validators = [validator.lower() for validator in self.validators]
        self._server: Server = serve(
            self._serve, self.host, self.port, process_request=self._check_host
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def for_node(cls, folder: Path) -> FakeBesu:
        """The admin listener Besu would start in the node folder `folder`: where its
        `config.toml` says, serving its `rpc-ws-api`, with the allowlists of its permissions
        file."""
        config = tomllib.loads((folder / "config.toml").read_text())
        if config.get("rpc-ws-enabled") is not True:
            raise ValueError(f"{folder}/config.toml does not enable the WebSocket listener")
        permissions_file = folder / config["permissions-accounts-config-file"]
        permissions = tomllib.loads(permissions_file.read_text())
        return cls(
            allowlist=list(permissions["accounts-allowlist"]),
            enabled=config.get("permissions-accounts-config-file-enabled") is True,
            nodes_allowlist=list(permissions["nodes-allowlist"]),
            nodes_enabled=config.get("permissions-nodes-config-file-enabled") is True,
            apis=tuple(config["rpc-ws-api"]),
            host_allowlist=tuple(config["host-allowlist"]),
            host=config["rpc-ws-host"],
            port=config["rpc-ws-port"],
        )

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @contextmanager
    def running(self) -> Iterator[FakeBesu]:
        """Serves until the block ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._thread.join()

    def methods(self) -> list[str]:
        return [method for method, _ in self.requests]

    def connect(self, enode: str) -> None:
        """The node at `enode` has connected: it is a peer from now on."""
        match = _ENODE.fullmatch(enode)
        assert match is not None, enode
        self.peers.append(match["id"])

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
        apis = {"perm": "PERM", "admin": "ADMIN", "qbft": "QBFT"}
        known = _ACCOUNT_METHODS | _NODE_METHODS | _ADMIN_METHODS | _QBFT_METHODS
        if method not in known:
            raise _RefusedError("Method not found", code=-32601)
        if apis[method.split("_", 1)[0]] not in self.apis:
            raise _RefusedError(METHOD_NOT_ENABLED, code=-32604)
        if method in _NODE_METHODS:
            return self._nodes(method, params)
        if method in _ADMIN_METHODS:
            return self._admin(method, params)
        if method in _QBFT_METHODS:
            return self._qbft(method, params)
        return self._accounts(method, params)

    def _accounts(self, method: str, params: list[Any]) -> Any:
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

    def _nodes(self, method: str, params: list[Any]) -> Any:
        if not self.nodes_enabled:
            raise _RefusedError(NODES_NOT_ENABLED)
        if method == "perm_getNodesAllowlist":
            return list(self.nodes_allowlist)
        enodes = [str(enode) for enode in params[0]]
        if not enodes:
            raise _RefusedError(NODES_EMPTY)
        if not all(_ENODE.fullmatch(enode) for enode in enodes):
            raise _RefusedError(NODES_INVALID)
        if len(set(enodes)) != len(enodes):
            raise _RefusedError(NODES_DUPLICATED)
        if any(enode in self.nodes_allowlist for enode in enodes):
            raise _RefusedError(NODES_EXISTING)
        self.nodes_allowlist.extend(enodes)
        return "Success"

    def _admin(self, method: str, params: list[Any]) -> Any:
        if method == "admin_peers":
            return [
                {
                    "version": "0x5",
                    "name": "besu/v25.10.0/linux-x86_64/openjdk-java-21",
                    "caps": ["eth/68", "istanbul/100"],
                    "network": {"localAddress": "127.0.0.1:30303", "remoteAddress": "10.0.0.9:4"},
                    "port": "0x765f",
                    "id": "0x" + node_id,
                    "protocols": {},
                    "enode": f"enode://{node_id}@10.0.0.9:30303",
                }
                for node_id in self.peers
            ]
        (enode,) = params
        if self.nodes_enabled and enode not in self.nodes_allowlist:
            raise _RefusedError(NOT_PERMITTED_PEER)
        self.added_peers.append(enode)
        return True

    def _qbft(self, method: str, params: list[Any]) -> Any:
        if method == "qbft_getValidatorsByBlockNumber":
            return list(self.validators)
        if method == "qbft_getPendingVotes":
            return dict(self.pending_votes)
        address = str(params[0]).lower()
        if not _ACCOUNT.fullmatch(address):
            raise _RefusedError("Invalid params", code=-32602)
        if method == "qbft_proposeValidatorVote":
            self.pending_votes[address] = bool(params[1])
        else:
            self.pending_votes.pop(address, None)
        return True
