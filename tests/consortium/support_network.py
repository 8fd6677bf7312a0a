"""A proof-of-authority network for the tests: three ethereumjs nodes on 127.0.0.1, each one a
Clique signer, from the npm package `@ethereumjs/client` (package.json).

How it is set up, and why:

- Each node runs ethereumjs's own command line through `ethereumjs_node.mjs` beside this file,
  which fixes what keeps that client from running a multi-node Clique network with contracts
  (block propagation, catching up, contract execution, zero gas price): each fix is explained
  there. Besu with QBFT, the production target, needs none of them.
- The chain is described in ethereumjs's own chain format (``--customChain``), not as a geth
  genesis: ethereumjs's geth-genesis import puts the Merge before any time-activated fork, and
  a post-Merge chain seals no Clique blocks. Its own format lets a Clique chain run the Shanghai
  and Cancun EVM, which the registry needs (its bytecode, compiled for cancun, uses PUSH0 and
  MCOPY).
- Zero gas price and zero base fee, as on the production network: genesis sets the base fee to
  0 and a block gas limit far above what a block here uses keeps it there, and the nodes take
  transactions at price 0 only. No account needs a balance.
- Every node's devp2p key is fixed (derived from the public development mnemonic) and written
  into its data directory before its first start, so every enode is known up front. Nodes start
  one after the other, each dialling those before it: started all at once, each with the others
  as bootnodes, two of them stayed unpeered for good (seen here; ethereumjs does not dial a
  bootnode again). Discovery (discv4, DNS) is off, so they talk to 127.0.0.1 only.
- Every node runs in its own process group, which `stop_node`, `kill_node` and `close` signal:
  nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import rlp  # type: ignore[import-untyped]
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey, Signature
from eth_utils.crypto import keccak

from helpers.polling import wait_until
from kpchain.devnet.anvil import free_port
from kpchain.signing.devkeys import development_account

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).resolve().parent / "ethereumjs_node.mjs"
CHAIN_ID = 7102  # ape-config.yaml's kp-consortium network
CHAIN_NAME = "kpconsortium"  # ethereumjs keeps a node's data under <dataDir>/<chain name>
SIGNER_PATH = "m/44'/60'/7102'/0/{index}"  # the nodes' sealing keys (development keys)
NODE_KEY_PATH = "m/44'/60'/7102'/1/{index}"  # the nodes' devp2p keys, hence their enodes
GAS_LIMIT = 60_000_000  # far above what a block here uses: the base fee stays 0
# Every block-numbered fork up to London from genesis, then Shanghai and Cancun by time, with no
# Merge (Paris) in between, so that Clique keeps sealing.
_BLOCK_FORKS = (
    "chainstart", "homestead", "tangerineWhistle", "spuriousDragon", "byzantium",
    "constantinople", "petersburg", "istanbul", "berlin", "london",
)  # fmt: skip
_TIME_FORKS = ("shanghai", "cancun")
_SEAL = 65  # bytes of signature at the end of a Clique block's extraData
# A Cancun block header's fields, in their RLP order, as JSON-RPC names them.
_HEADER_FIELDS = (
    "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot",
    "logsBloom", "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData",
    "mixHash", "nonce", "baseFeePerGas", "withdrawalsRoot", "blobGasUsed", "excessBlobGas",
    "parentBeaconBlockRoot",
)  # fmt: skip
_QUANTITIES = {
    "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed",
    "excessBlobGas",
}  # fmt: skip

# ethereumjs keeps its devp2p key in a LevelDB in its data directory and makes a random one on
# its first start; this writes a chosen one there first, with the LevelDB package ethereumjs
# itself uses (`level`, installed with it).
_WRITE_NODE_KEY = """
import { Level } from 'level';
const [directory, key] = process.argv.slice(1);
const db = new Level(directory);
await db.put('config:client_key', Uint8Array.from(Buffer.from(key, 'hex')),
             { keyEncoding: 'utf8', valueEncoding: 'view' });
await db.close();
"""


def signer_account(index: int) -> LocalAccount:
    """The sealing key of node `index` (1-based)."""
    return development_account(SIGNER_PATH.format(index=index))


def node_key(index: int) -> bytes:
    """The devp2p private key of node `index`."""
    return bytes(development_account(NODE_KEY_PATH.format(index=index)).key)


def chain_config(signers: Iterable[str], *, chain_id: int, period: int) -> dict[str, Any]:
    """The chain's parameters in ethereumjs's chain format (``--customChain``).

    Clique's genesis extraData: 32 bytes of vanity, the signers' addresses, and 65 zero bytes
    where a block's seal goes.
    """
    addresses = "".join(address.lower().removeprefix("0x") for address in signers)
    return {
        "name": CHAIN_NAME,
        "chainId": chain_id,
        "defaultHardfork": _TIME_FORKS[-1],
        "consensus": {
            "type": "poa",
            "algorithm": "clique",
            "clique": {"period": period, "epoch": 30_000},
        },
        "comment": "kpchain's test consortium: Clique with the Cancun EVM",
        "url": "",
        "genesis": {
            "gasLimit": GAS_LIMIT,
            "difficulty": 1,
            "nonce": "0x0000000000000000",
            "extraData": "0x" + "00" * 32 + addresses + "00" * _SEAL,
            "timestamp": "0x0",
            "baseFeePerGas": 0,
            "excessBlobGas": 0,
        },
        "hardforks": [{"name": name, "block": 0} for name in _BLOCK_FORKS]
        + [{"name": name, "block": None, "timestamp": 0} for name in _TIME_FORKS],
        "bootstrapNodes": [],
    }


def block_signer(block: dict[str, Any]) -> str:
    """The checksummed address that sealed `block` (a JSON-RPC block of this network): Clique's
    seal, the last 65 bytes of extraData, signs the hash of the header without the seal."""
    header = [
        int(block[name], 16) if name in _QUANTITIES else bytes.fromhex(block[name][2:])
        for name in _HEADER_FIELDS
    ]
    assert keccak(rlp.encode(header)) == bytes.fromhex(block["hash"][2:]), "unexpected header"
    extra = header[_HEADER_FIELDS.index("extraData")]
    assert isinstance(extra, bytes)
    header[_HEADER_FIELDS.index("extraData")] = extra[:-_SEAL]
    seal = extra[-_SEAL:]
    r, s = int.from_bytes(seal[:32], "big"), int.from_bytes(seal[32:64], "big")
    signature = Signature(vrs=(seal[64], r, s))
    public_key = signature.recover_public_key_from_msg_hash(keccak(rlp.encode(header)))
    return str(public_key.to_checksum_address())


@dataclass
class CliqueNode:
    """One node: its signer, its ports (kept across restarts, so that its URLs and enode stay the
    same) and its directory (data, key files, log)."""

    index: int
    directory: Path
    rpc_port: int = field(default_factory=free_port)
    p2p_port: int = field(default_factory=free_port)
    listen_port: int = 0  # the p2p port it listens on now: `p2p_port`, or another one alone
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def signer(self) -> LocalAccount:
        return signer_account(self.index)

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def enode(self) -> str:
        """The node's devp2p address, as its peers dial it."""
        public = PrivateKey(node_key(self.index)).public_key.to_bytes().hex()
        return f"enode://{public}@127.0.0.1:{self.p2p_port}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "node.log"

    @property
    def key_file(self) -> Path:
        """The signer's private key, as ethereumjs's ``--unlock`` reads it."""
        return self.directory / "signer.key"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rpc(self, method: str, *params: Any, timeout: float = 10.0) -> Any:
        """One JSON-RPC call; raises on a JSON-RPC error."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = httpx.post(self.rpc_url, json=body, timeout=timeout).json()
        if "error" in answer:
            raise RuntimeError(f"node {self.index}: {method} failed: {answer['error']}")
        return answer["result"]

    def try_rpc(self, method: str, *params: Any) -> Any:
        """`rpc`, or None while the node does not answer."""
        try:
            return self.rpc(method, *params, timeout=2.0)
        except (httpx.HTTPError, ValueError, RuntimeError):
            return None

    @property
    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def block(self, number: int | str = "latest") -> dict[str, Any]:
        tag = hex(number) if isinstance(number, int) else number
        block: dict[str, Any] = self.rpc("eth_getBlockByNumber", tag, False)
        return block

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(node {self.index}: no log)"
        return f"--- node {self.index} log ({self.log_file}) ---\n" + "\n".join(text)


class CliqueNetwork:
    """A Clique network of `size` ethereumjs nodes, one signer each, under `directory`.

    As a context manager: entering starts every node and waits until they are all peered and
    agree on fresh blocks; leaving kills every node process, whatever happened in between.

    Args:
        directory: where the chain files and each node's directory (data, log) go.
        size: how many nodes (and signers).
        period: Clique's block period in seconds.
        chain_id: the chain id.
    """

    def __init__(
        self, directory: Path, *, size: int = 3, period: int = 1, chain_id: int = CHAIN_ID
    ) -> None:
        self.directory = directory
        self.period = period
        self.chain_id = chain_id
        self.nodes = [CliqueNode(i, directory / f"node{i}") for i in range(1, size + 1)]

    def __enter__(self) -> CliqueNetwork:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, *, timeout: float = 90.0) -> CliqueNetwork:
        """Writes the chain files and the nodes' keys, starts the nodes one after the other
        (each with those before it as bootnodes), and waits until every node is peered with
        every other and they agree on two blocks sealed since."""
        self.directory.mkdir(parents=True, exist_ok=True)
        signers = [node.signer.address for node in self.nodes]
        config = chain_config(signers, chain_id=self.chain_id, period=self.period)
        self.chain_file.write_text(json.dumps(config, indent=2))
        self.state_file.write_text("{}")  # nobody needs a balance at gas price 0
        writers = [self._write_keys(node) for node in self.nodes]
        for writer, node in zip(writers, self.nodes, strict=True):
            assert writer.wait(timeout=30) == 0, f"node {node.index}'s key\n{node.log_tail()}"
        for node in self.nodes:
            self._launch(node, peers=True)
            self._wait_until_up(node, timeout=timeout)
        for node in self.nodes:
            self.wait_for_peers(node.index, len(self.nodes) - 1, timeout=timeout)
        self.wait_for_blocks(2, timeout=timeout)
        return self

    def start_node(self, index: int, *, mine: bool = True, timeout: float = 60.0) -> CliqueNode:
        """Starts node `index` again on its data directory, dialling the running nodes, and
        waits until it answers; with `mine` false it follows the others without sealing."""
        node = self.node(index)
        self._launch(node, peers=True, mine=mine)
        self._wait_until_up(node, timeout=timeout)
        return node

    def start_alone(self, index: int, *, timeout: float = 60.0) -> CliqueNode:
        """Starts node `index` again on its data directory cut off from the others: it dials
        nobody, and listens on a port none of them knows, so nobody dials it either. A signer
        alone seals at most one block of its own branch (Clique lets a signer seal only one
        block in any floor(N/2)+1), and only on a block it did not seal; it seals it only once
        it has a transaction to put in it (the launcher's ``--sealOnlyWithTxs``). `start_node`
        later brings it back."""
        node = self.node(index)
        node.listen_port = free_port()
        self._launch(node, peers=False, seal_only_with_txs=True)
        self._wait_until_up(node, timeout=timeout)
        return node

    def stop_node(self, index: int, *, timeout: float = 30.0) -> None:
        """Stops node `index` the way an operator would (SIGINT: ethereumjs finishes the block it
        is running, writes its state and exits), SIGKILL after `timeout` seconds.

        Not SIGKILL straight away: a SIGKILLed ethereumjs can come back with its head pointing at
        a block whose state it never wrote ("State trie does not contain state root", seen here
        once), and it then stops for good at its first attempt to seal a block.
        """
        node = self.node(index)
        if node.process is None:
            return
        if node.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=timeout)
        self.kill_node(index)

    def kill_node(self, index: int) -> None:
        """SIGKILLs node `index`'s process group: the node crashes; its data directory stays."""
        node = self.node(index)
        if node.process is None:
            return
        if node.process.poll() is None:  # not reaped yet: its process group is still its own
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait(timeout=10)
        node.process = None

    def close(self) -> None:
        """Kills every node: nothing outlives the network."""
        for node in self.nodes:
            self.kill_node(node.index)

    def command(
        self,
        node: CliqueNode,
        bootnodes: list[str],
        *,
        mine: bool = True,
        seal_only_with_txs: bool = False,
    ) -> list[str]:
        """The command line of `node`: a signer unless `mine` is false."""
        args = [
            _node_binary(), str(LAUNCHER),
            "--customChain", str(self.chain_file),
            "--customGenesisState", str(self.state_file),
            "--dataDir", str(node.data_dir),
            "--port", str(node.listen_port),
            "--extIP", "127.0.0.1",
            "--rpc", "--rpcAddr", "127.0.0.1", "--rpcPort", str(node.rpc_port),
            "--discDns", "false", "--discV4", "false",
            "--no-logFile",  # its output goes to node.log (see _launch)
        ]  # fmt: skip
        if mine:
            args += ["--mine", "--unlock", str(node.key_file)]
        if seal_only_with_txs:
            args.append("--sealOnlyWithTxs")  # the launcher's own option
        if bootnodes:
            args += ["--bootnodes", ",".join(bootnodes)]
        return args

    # --- looking at the network ------------------------------------------------------------------

    @property
    def chain_file(self) -> Path:
        return self.directory / "chain.json"

    @property
    def state_file(self) -> Path:
        return self.directory / "genesis-state.json"

    def node(self, index: int) -> CliqueNode:
        """Node `index`, counted from 1 as in "node 1"."""
        return self.nodes[index - 1]

    def rpc_url(self, index: int) -> str:
        return self.node(index).rpc_url

    def running(self) -> list[CliqueNode]:
        return [node for node in self.nodes if node.running]

    def logs(self) -> str:
        """Every node's log tail, for failure messages."""
        return "\n".join(node.log_tail() for node in self.nodes)

    def wait_for_peers(self, index: int, count: int, *, timeout: float = 60.0) -> int:
        """Waits until node `index` has at least `count` peers; returns how many it has."""
        node = self.node(index)

        def enough() -> int | None:
            found = node.try_rpc("net_peerCount")
            return int(found, 16) if found is not None and int(found, 16) >= count else None

        return wait_until(
            enough, timeout=timeout, what=f"node {index} to have {count} peer(s)", log=self.logs
        )

    def wait_for_blocks(
        self, blocks: int, *, nodes: Iterable[int] | None = None, timeout: float = 60.0
    ) -> int:
        """Waits until `blocks` more blocks are sealed and every node of `nodes` (default: the
        running ones) has the same block at that height; returns the height."""
        chosen = [self.node(i) for i in nodes] if nodes else self.running()
        target = max(node.head for node in chosen) + blocks
        return self.wait_for_height(target, nodes=[n.index for n in chosen], timeout=timeout)

    def wait_for_height(
        self, height: int, *, nodes: Iterable[int] | None = None, timeout: float = 60.0
    ) -> int:
        """Waits until every node of `nodes` (default: the running ones) has the same block at
        `height`; returns `height`."""
        chosen = [self.node(i) for i in nodes] if nodes else self.running()

        def agreed() -> int | None:
            found = [node.try_rpc("eth_getBlockByNumber", hex(height), False) for node in chosen]
            hashes = {block["hash"] if block else None for block in found}
            return height if len(hashes) == 1 and None not in hashes else None

        names = ", ".join(str(node.index) for node in chosen)
        return wait_until(
            agreed,
            timeout=timeout,
            what=f"nodes {names} to agree on block {height}",
            log=self.logs,
        )

    # --- internals -------------------------------------------------------------------------------

    def _write_keys(self, node: CliqueNode) -> subprocess.Popen[bytes]:
        node.directory.mkdir(parents=True, exist_ok=True)
        node.key_file.write_text(node.signer.key.hex().removeprefix("0x"))
        config_db = node.data_dir / CHAIN_NAME / "config"
        config_db.parent.mkdir(parents=True, exist_ok=True)
        with node.log_file.open("ab") as log:
            return subprocess.Popen(
                [
                    _node_binary(),
                    "--input-type=module",
                    "-e",
                    _WRITE_NODE_KEY,
                    str(config_db),
                    node_key(node.index).hex(),
                ],
                cwd=ROOT,  # where `level` is found
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def _launch(
        self, node: CliqueNode, *, peers: bool, mine: bool = True, seal_only_with_txs: bool = False
    ) -> None:
        assert not node.running, f"node {node.index} is running"
        if peers:
            node.listen_port = node.p2p_port
        others = [other.enode for other in self.nodes if other is not node and other.running]
        command = self.command(
            node, others if peers else [], mine=mine, seal_only_with_txs=seal_only_with_txs
        )
        node.starts += 1
        how = ", ".join(
            ("with peers" if peers else "alone", "sealing" if mine else "not sealing")
            + (("only blocks with transactions",) if seal_only_with_txs else ())
        )
        with node.log_file.open("ab") as log:
            log.write(f"=== start {node.starts} ({how}) ===\n".encode())
            log.flush()
            node.process = subprocess.Popen(
                command,
                cwd=node.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: see kill_node
            )

    def _wait_until_up(self, node: CliqueNode, *, timeout: float) -> None:
        def up() -> bool:
            if node.process is not None and node.process.poll() is not None:
                code = node.process.returncode
                raise AssertionError(f"node {node.index} exited with {code}\n{node.log_tail()}")
            return node.try_rpc("eth_chainId") is not None

        wait_until(up, timeout=timeout, what=f"node {node.index} to answer", log=node.log_tail)


def _node_binary() -> str:
    found = shutil.which("node")
    assert found is not None, "Node.js (node) is not on PATH"
    return found
