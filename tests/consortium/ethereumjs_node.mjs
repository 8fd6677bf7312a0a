// One node of the tests' Clique network (tests/consortium/support_network.py): ethereumjs's own
// command line (@ethereumjs/client 0.10.5, arguments as given to this script), after the changes
// below. Without them a three-node Clique network of that client cannot run kpchain: every one
// is a failure seen here, quoted in the comment that goes with its fix.
//
// 1. A sealed or received block goes to every peer. ethereumjs sends it whole to sqrt(peers) of
//    them (one of two) and only its hash to the others, and a node that is not syncing ignores
//    hashes, so the third node never heard of the block and stalled.
// 2. A block that does not extend the node's head is not dropped. When its parent is known (a
//    competing block of the same height, sealed out of turn) it is stored, and the blockchain
//    keeps the heavier branch canonical (Clique's fork choice, the only reorg path here). When
//    its parent is unknown (a missed block, or a branch the node lacks) the blocks from a
//    little below the head up to it are fetched from the peer that sent it. ethereumjs
//    otherwise catches up only through its sync loop, which chooses peers by the total
//    difficulty they announced on connecting, so a node that fell behind later never caught
//    up ("Miner: We have too recently signed, waiting for next block", for ever, on every node).
// 3. A node sends its head block to every peer that connects, so nodes that sealed competing
//    blocks before they met (at start, or one that sealed alone) settle on the heavier branch
//    at once, by 2.
// 4. Transactions run in blocks not sealed yet. ethereumjs runs a transaction (in
//    eth_estimateGas, and in the miner while it fills a block) in a header that has no Clique
//    seal yet (empty extraData), and its Clique format check refused that header: "extraData
//    must be 97 bytes on non-epoch transition blocks, received 0 bytes" for every estimate and
//    every transaction. The format check is skipped for headers with no extraData at all; a
//    block without a seal is still refused where its signer is checked (none recovers).
// 5. Contract code runs. ethereumjs's EVM refuses to interpret code on a Clique chain unless it
//    was given `cliqueSigner` (how COINBASE finds a block's sealer), which the client never
//    gives it: "Must include cliqueSigner function if clique/poa is being used for consensus
//    type" for every contract creation and call. It gets the block package's `cliqueSigner`.
// 6. Zero gas price, as on the production network (Besu with --min-gas-price=0 on every node):
//    eth_gasPrice answers the next base fee alone (0 here; ethereumjs adds a 1 wei priority fee
//    floor), and a node takes a transaction at price 0 from its peers too (ethereumjs takes one
//    below 0.1 gwei only from its own JSON-RPC).
// 7. A transaction that would pay its sealer a priority fee is refused with a clear message.
//    ethereumjs pays the fees of the transactions it packs into a block to the signer of the
//    unsealed block (nobody: the zero address) and, when it runs the sealed block, to the real
//    signer, so such a block fails its own state root check on every node ("invalid block
//    stateRoot") and the chain stops there.
// 8. The miner seals a block only on a parent it has run, and not before its time. Two chain
//    updates close together leave a second timer behind (ethereumjs clears the pending timer
//    before an await, then sets a new one), which fires right after the next block arrives:
//    the miner then sealed a child with its parent's timestamp ("invalid timestamp", the block
//    dropped, and with it the transactions it carried), or built on a parent the node had not
//    run yet, which packed transactions already mined (so the node refused its own block: "the
//    tx doesn't have the correct nonce") or threw "State trie does not contain state root",
//    uncaught, which shut the whole node down. An early timer is set again for the time the
//    block is due; a parent not run yet is waited for; a failed assembly is logged and tried
//    again at the next block instead of ending the process.
// 9. A receipt is saved only for a block the node has stored. The miner saved the receipts of
//    a block it sealed before storing it, so eth_getTransactionReceipt failed ("value for 0x...
//    not found in DB") until the block was stored, and pointed for ever at a block that lost
//    to a competing one (ethereumjs then answers null although the transaction is mined in the
//    winning block). The node saves the receipts again when it runs the block, as it runs
//    every block of its canonical chain.
// 10. Calls against the latest state, and log queries, wait until the node has run its newest
//    block. ethereumjs answers "latest" with the newest block it has stored, which it may not
//    have run yet: eth_call and eth_estimateGas failed now and then with "State trie does not
//    contain state root" right after a block arrived, and eth_getLogs answered [] for a block
//    whose receipts did not exist yet (an indexer then passed its events by for good).
//    eth_getTransactionCount reads the same state (its failure was not seen; a deploy waiting
//    for confirmations asks it right after a reorg, when the newest block may not be run yet).
// 11. The miner drops from its pool the transactions whose nonce the state shows used, and
//    no transaction leaves a pool otherwise. ethereumjs takes transactions out of its pool
//    only for blocks it sealed itself (even when that block then loses to a competing one,
//    so that nobody mines them any more) or fetched while syncing, never for blocks peers
//    announce; and its miner skips every transaction of an account whose lowest pooled nonce
//    is not the account's next one. So an account's transactions were mined only by the node
//    that sealed its previous one ("selected txs=0, skipped byNonce=9" on the others), and
//    not at all while that node was down.
// 12. A block is run on its parent's state after the block the node was running lost to a
//    competing one. The node runs its blocks one after the other, each on the state the one
//    before left, and lets new blocks in while it runs one. When a heavier block of the same
//    height came in then (the in-turn signer's, while the node ran an out-of-turn block of its
//    own or of a peer), the node ran the winner next on the loser's state, unaware of the
//    switch: with a transaction both blocks carried, "the tx doesn't have the correct nonce.
//    account has nonce of: 5 tx has nonce of: 4" on two nodes at once, each of which then
//    stopped following the chain for good, and the network stopped sealing. A block that does
//    not follow the one run before it is run as after a reorg: on its parent's state.
//
// The launcher also takes an option of its own, which it removes before ethereumjs reads the
// command line: `--sealOnlyWithTxs` keeps the miner from sealing while the pool is empty. A
// signer cut off from the others seals one block at most (Clique), and the tests need the
// transaction they send it in that block: without the option it sealed an empty one as soon
// as it started, now and then before the transaction reached it.
import {
  BlockHeader,
  cliqueSigner,
  createBlockFromBytesArray,
} from '@ethereumjs/block';
import { Blockchain } from '@ethereumjs/blockchain';
import { EVM } from '@ethereumjs/evm';
import { Address, bigIntToHex, bytesToHex, hexToBytes } from '@ethereumjs/util';
import { ReceiptsManager } from '@ethereumjs/client/dist/esm/src/execution/receipt.js';
import { Miner } from '@ethereumjs/client/dist/esm/src/miner/miner.js';
import { Eth } from '@ethereumjs/client/dist/esm/src/rpc/modules/eth.js';
import { TxPool } from '@ethereumjs/client/dist/esm/src/service/txpool.js';
import { FullSynchronizer } from '@ethereumjs/client/dist/esm/src/sync/fullsync.js';
import { Event } from '@ethereumjs/client/dist/esm/src/types.js';

const CATCH_UP_DEPTH = 32n; // blocks below the head fetched again, so that a short fork is crossed

const SEAL_ONLY_WITH_TXS = process.argv.includes('--sealOnlyWithTxs');
process.argv = process.argv.filter((arg) => arg !== '--sealOnlyWithTxs');

async function known(sync, block) {
  try {
    await sync.chain.blockchain.getBlock(block.hash());
    return true;
  } catch {
    return false;
  }
}

// 2. Fetches the blocks from a little below the head up to `number` from `peer`, and stores those
// the node lacks; the blockchain makes the heavier branch canonical.
async function catchUp(sync, peer, number) {
  if (sync.fetcher || sync.catchingUp || !peer.idle || peer.eth === undefined) return;
  sync.catchingUp = true;
  peer.idle = false;
  try {
    const height = sync.chain.blocks.height;
    const first = height > CATCH_UP_DEPTH ? height - CATCH_UP_DEPTH + 1n : 1n;
    const max = Number(number - first + 1n);
    const headers = (await peer.eth.getBlockHeaders({ block: first, max }))?.[1] ?? [];
    if (headers.length === 0) return;
    const hashes = headers.map((header) => header.hash());
    const bodies = (await peer.eth.getBlockBodies({ hashes }))?.[1] ?? [];
    const blocks = [];
    for (const [i, [txs, uncles, withdrawals]] of bodies.entries()) {
      const values = [headers[i].raw(), txs, uncles];
      if (withdrawals !== undefined) values.push(withdrawals);
      const block = createBlockFromBytesArray(values, { common: headers[i].common });
      if (!(await known(sync, block))) blocks.push(block);
    }
    if (blocks.length > 0) {
      await sync.chain.putBlocks(blocks);
      const range = `${blocks[0].header.number}..${blocks.at(-1).header.number}`;
      sync.config.logger?.info(`Caught up blocks=${range} from peer=${peer.id.slice(0, 8)}`);
    }
  } catch (error) {
    sync.config.logger?.warn(`Catching up from peer=${peer.id.slice(0, 8)} failed: ${error}`);
  } finally {
    peer.idle = true;
    sync.catchingUp = false;
  }
}

// 1. and 2.
FullSynchronizer.prototype.handleNewBlock = async function (block, peer) {
  if (peer) this.addToKnownByPeer(block.hash(), peer);
  if (await known(this, block)) return;
  const number = block.header.number;
  if (number > this.chain.blocks.height + 1n) {
    if (peer) await catchUp(this, peer, number);
    return;
  }
  try {
    await this.chain.blockchain.validateHeader(block.header);
  } catch (error) {
    const hash = bytesToHex(block.hash());
    this.config.logger?.debug(`Block ${number} ${hash} does not attach: ${error}`);
    if (peer) await catchUp(this, peer, number);
    return;
  }
  await this.sendNewBlock(block, this.pool.peers);
  await this.chain.putBlocks([block]);
  if (!this.config.syncTargetHeight || number > this.config.syncTargetHeight) {
    this.config.syncTargetHeight = number;
  }
};

// 3.
const open = FullSynchronizer.prototype.open;
FullSynchronizer.prototype.open = async function () {
  this.config.events.on(Event.POOL_PEER_ADDED, (peer) => {
    void this.sendNewBlock(this.chain.blocks.latest, [peer]);
  });
  return open.call(this);
};

// 4.
const checkFormat = BlockHeader.prototype._consensusFormatValidation;
BlockHeader.prototype._consensusFormatValidation = function () {
  if (this.extraData.length === 0) return;
  return checkFormat.call(this);
};

// 5.
const runInterpreter = EVM.prototype.runInterpreter;
EVM.prototype.runInterpreter = function (message, opts) {
  this._optsCached.cliqueSigner ??= cliqueSigner;
  return runInterpreter.call(this, message, opts);
};

// 6.
Eth.prototype.gasPrice = async function () {
  const latest = await this._chain.getCanonicalHeadHeader();
  return bigIntToHex(latest.calcNextBaseFee());
};

// 6. and 7.
const validate = TxPool.prototype.validate;
TxPool.prototype.validate = async function (tx, _isLocalTransaction = false) {
  const { maxFee, tip } = this.txGasPrice(tx);
  const fee = tip < maxFee ? tip : maxFee; // per gas, over this network's base fee of 0
  if (fee !== 0n) {
    throw new Error(
      `this test network takes transactions at gas price 0 only (this one pays ${fee} wei ` +
        'per gas): ethereumjs seals blocks that pay priority fees with a wrong state root',
    );
  }
  return validate.call(this, tx, true);
};

// 8.
const assembleBlock = Miner.prototype.assembleBlock;
Miner.prototype.assembleBlock = async function () {
  const parent = this.service.chain.blocks.latest;
  // A block's timestamp is the second it is sealed in, rounded: valid from half a second before.
  const due = Number(parent.header.timestamp) * 1000 + this.period - 500;
  if (Date.now() < due) return this.queueNextAssembly(due - Date.now());
  const run = await this.service.chain.blockchain.getIteratorHead('vm');
  if (bytesToHex(run.hash()) !== bytesToHex(parent.hash())) return this.queueNextAssembly(100);
  if (SEAL_ONLY_WITH_TXS && this.service.txPool.pool.size === 0) return this.queueNextAssembly(100);
  try {
    return await assembleBlock.call(this);
  } catch (error) {
    this.assembling = false;
    this.config.logger?.warn(`Miner: assembling a block failed, waiting for the next: ${error}`);
  }
};

// 9.
const saveReceipts = ReceiptsManager.prototype.saveReceipts;
ReceiptsManager.prototype.saveReceipts = async function (block, receipts) {
  try {
    await this.chain.blockchain.getBlock(block.hash());
  } catch {
    return; // not stored yet: the miner's own block, saved again once the node runs it
  }
  return saveReceipts.call(this, block, receipts);
};

// 10.
async function latestBlockRun(eth) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { stateRoot } = eth._chain.blocks.latest.header;
    if (await eth._vm.stateManager.hasStateRoot(stateRoot)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
const STATEFUL = [
  'call', 'estimateGas', 'getBalance', 'getCode', 'getStorageAt', 'getProof', 'getTransactionCount',
];
for (const name of [...STATEFUL, 'getLogs']) {
  const method = Eth.prototype[name];
  Eth.prototype[name] = async function (params) {
    await latestBlockRun(this);
    return method.call(this, params);
  };
}

// 11.
TxPool.prototype.removeNewBlockTxs = function () {};
const txsByPriceAndNonce = TxPool.prototype.txsByPriceAndNonce;
TxPool.prototype.txsByPriceAndNonce = async function (vm, options) {
  for (const [address, pooled] of [...this.pool]) {
    const account = await vm.stateManager.getAccount(new Address(hexToBytes(`0x${address}`)));
    const next = account?.nonce ?? 0n;
    for (const { tx, hash } of pooled) {
      if (tx.nonce < next) this.removeByHash(hash, tx);
    }
  }
  return txsByPriceAndNonce.call(this, vm, options);
};

// 12. ethereumjs's iterator tells its callback of a reorg only when the block it hands over does
// not follow the one it handed over before and whose run it kept; a block whose run it dropped,
// because a competing block replaced it meanwhile, goes unsaid, though the callback ran it.
const iterator = Blockchain.prototype.iterator;
Blockchain.prototype.iterator = function (name, onBlock, maxBlocks, releaseLockOnCallback) {
  let ran; // the block the callback ran last, kept by the iterator or not
  const run = async (block, reorg) => {
    const parent = bytesToHex(block.header.parentHash);
    const follows = ran === undefined || bytesToHex(ran.hash()) === parent;
    await onBlock(block, reorg || !follows);
    ran = block;
  };
  return iterator.call(this, name, run, maxBlocks, releaseLockOnCallback);
};

// ethereumjs's command line, which reads this script's arguments (process.argv[2:]).
await import('@ethereumjs/client/dist/esm/bin/cli.js');
