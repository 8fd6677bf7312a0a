"""The keep-alive JSON-RPC transport against anvil, and against a small HTTP server on 127.0.0.1
that misbehaves the ways real nodes and proxies do (closing idle connections, answering errors)."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from web3 import Web3

from kpchain.chain.connection import connect
from kpchain.chain.transactions import call_node
from kpchain.chain.transport import KeepAliveHTTPProvider
from kpchain.devnet.anvil import AnvilNode, free_port
from kpchain.errors import ChainUnavailableError


class FakeNode:
    """Answers eth_chainId with 2021, and other methods from `results`; `close_after_response`
    drops the connection after each answer without saying so (as a node's idle timeout does);
    `status` forces an HTTP error."""

    def __init__(self) -> None:
        self.close_after_response = False
        self.status = 200
        self.results: dict[str, Any] = {"eth_chainId": "0x7e5"}
        self.connections: set[tuple[str, int]] = set()
        self.authorization: list[str | None] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless closed

            def do_POST(self) -> None:
                node.connections.add(self.client_address)
                node.authorization.append(self.headers.get("Authorization"))
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if node.status != 200:
                    body = b"upstream unavailable"
                else:
                    result = node.results[request["method"]]
                    body = json.dumps(
                        {"jsonrpc": "2.0", "id": request["id"], "result": result}
                    ).encode()
                self.send_response(node.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if node.close_after_response:
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_node() -> Iterator[FakeNode]:
    node = FakeNode()
    yield node
    node.server.shutdown()


def test_transport_reuses_one_connection_per_thread_when_node_keeps_alive(
    fake_node: FakeNode,
) -> None:
    w3 = Web3(KeepAliveHTTPProvider(f"http://127.0.0.1:{fake_node.port}"))

    assert [w3.eth.chain_id for _ in range(5)] == [2021] * 5

    assert len(fake_node.connections) == 1


def test_transport_sends_again_on_a_new_connection_when_node_closed_the_idle_one(
    fake_node: FakeNode,
) -> None:
    fake_node.close_after_response = True
    w3 = Web3(KeepAliveHTTPProvider(f"http://127.0.0.1:{fake_node.port}"))

    assert [w3.eth.chain_id for _ in range(3)] == [2021] * 3

    assert len(fake_node.connections) == 3


def test_transport_raises_chain_unavailable_when_node_answers_http_error(
    fake_node: FakeNode,
) -> None:
    w3 = Web3(KeepAliveHTTPProvider(f"http://127.0.0.1:{fake_node.port}"))
    fake_node.status = 503

    with pytest.raises(ChainUnavailableError):
        call_node(lambda: w3.eth.chain_id)


def test_transport_sends_basic_auth_when_url_carries_credentials(fake_node: FakeNode) -> None:
    w3 = Web3(KeepAliveHTTPProvider(f"http://kp%40bw:s3cret@127.0.0.1:{fake_node.port}/rpc"))

    assert w3.eth.chain_id == 2021

    expected = base64.b64encode(b"kp@bw:s3cret").decode()
    assert fake_node.authorization == [f"Basic {expected}"]


def test_connect_keeps_credentials_out_of_debug_logs_when_url_carries_them(
    fake_node: FakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://operator:s3cret-token@127.0.0.1:{fake_node.port}/rpc?key=hidden"

    with caplog.at_level(logging.DEBUG):
        w3 = connect(url, expected_chain_id=2021)
        assert w3.eth.chain_id == 2021

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"127.0.0.1:{fake_node.port}/rpc" in logged  # web3 and kpchain did log the URL
    assert "s3cret-token" not in logged
    assert "hidden" not in logged
    assert str(w3.provider) == f"RPC connection http://127.0.0.1:{fake_node.port}/rpc"
    assert (
        fake_node.authorization[-1]
        == "Basic " + base64.b64encode(b"operator:s3cret-token").decode()
    )


def test_transport_serves_concurrent_threads_when_talking_to_anvil(anvil: AnvilNode) -> None:
    w3 = connect(anvil.rpc_url, expected_chain_id=2021)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: w3.eth.chain_id, range(64)))

    assert answers == [2021] * 64


def test_transport_raises_chain_unavailable_when_node_stopped(anvil: AnvilNode) -> None:
    w3 = connect(anvil.rpc_url, expected_chain_id=2021)
    anvil.stop()

    with pytest.raises(ChainUnavailableError):
        call_node(lambda: w3.eth.block_number)


def test_transport_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        KeepAliveHTTPProvider("ws://127.0.0.1:8546")


def test_connect_keeps_credentials_out_of_errors_when_node_unreachable() -> None:
    url = f"http://operator:s3cret-token@127.0.0.1:{free_port()}/rpc?key=hidden"

    with pytest.raises(ChainUnavailableError) as caught:
        connect(url, expected_chain_id=2021, timeout=2)

    shown = f"{caught.value.message} {caught.value.detail}"
    assert "s3cret-token" not in shown
    assert "hidden" not in shown
    assert "127.0.0.1" in shown


def test_connect_reads_poa_blocks_when_extra_data_exceeds_32_bytes(fake_node: FakeNode) -> None:
    # A QBFT/Clique header: 32 bytes of vanity, then validators and seals (here 97 bytes in all),
    # which web3 refuses as a block unless the POA middleware strips it.
    extra = "0x" + "ab" * 97
    fake_node.results["eth_getBlockByNumber"] = {
        "number": "0x5",
        "hash": "0x" + "11" * 32,
        "parentHash": "0x" + "22" * 32,
        "timestamp": "0x6560a2c0",
        "extraData": extra,
        "miner": "0x" + "00" * 20,
        "gasLimit": "0x1c9c380",
        "gasUsed": "0x0",
        "transactions": [],
    }
    w3 = connect(f"http://127.0.0.1:{fake_node.port}", expected_chain_id=2021)

    block = w3.eth.get_block("latest")

    assert block["number"] == 5
    assert bytes(block["proofOfAuthorityData"]).hex() == "ab" * 97
