"""Gas of every registry operation against its storage floor: `make gas` (a benchmark, not a test).

Starts its own anvil (chain id 2021, zero gas price and base fee), deploys with
kpchain.deploy.deploy (Botswana, the UAE and India as founding members, each with one authority:
the devnet's development keys), runs every operation once, reads `gasUsed` from the receipts,
prints a table and writes benchmarks/gas.json.

The registry's governance operations (`set_max_validity`, `admit_participant`) are measured on a
registry of their own governed by an account, as the contract tests deploy it: what the registry
itself charges. In a deployment they run inside a governance decision, whose own steps are the
`propose`, `vote`, `queue` and `execute` rows (the execution of the admission of the EU, through
the timelock and the seats, which keep its seat as checkpoints).

The floor of an operation is what it cannot avoid paying in our storage design:

    floor = 21,000 (transaction) + 22,100 per new storage slot + 5,000 per updated slot
            + calldata gas (4 per zero byte, 16 per non-zero byte of the transaction input)

(22,100 = 20,000 to set a zero slot + 2,100 cold access; 5,000 = 2,900 to change a non-zero slot
+ 2,100 cold access.) Slots, from contracts/CertificateRegistry.sol, ParticipantRegistry.sol and
OpenZeppelin's EnumerableSet:

- issue: the certificate's record is one new slot (`_certificates[certNo]`, a packed
  CertificateRecord); batches of N write N new slots in one transaction, so the per-certificate
  floor is (21,000 + N x 22,100 + calldata) / N.
- ship, receive (confirmReceipt), reject, cancel, withdraw (withdrawShipment): one updated slot
  (the record's status).
- ship and receive in batches of N (`ship_multicall_N`, `receive_multicall_N`): one authority's N
  calls in one `multicall` transaction (OpenZeppelin Multicall, as the service coalesces
  concurrent requests), N updated slots, so the per-operation floor is
  (21,000 + N x 5,000 + calldata) / N.
- set max validity: one updated slot (`_maxValidity`).
- admit participant: `_participants[code]` is one new slot (Participant packs into one word);
  `_codes.push(code)` writes the array element (bytes2 elements pack 16 to a slot, so the element
  slot is new for every 16th participant and updated otherwise) and the array length (new for the
  first participant, updated otherwise). The measured admission is the third one (EU, index 2):
  1 new + 2 updated slots.
- add authority: `_authorityParticipant[account]` is one new slot; EnumerableSet.add pushes onto
  `_values` (a new element slot, and the length slot: new for a participant's first authority,
  updated otherwise) and sets `_positions[account]` (a new slot). The measured addition is the
  EU's first authority: 4 new slots.
- propose: the Governor's proposal record (one new slot: proposer, start and duration pack
  together) and the KPGovernor's tally and terms (one new slot).
- vote: the voter's `_voted` flag (new) and the tally (updated).
- queue: the timelock's operation timestamp and the governor's timelock id (new), the proposal's
  eta (new: the record's second slot).
- execute (the admission): the proposal's executed flag and the timelock's operation (updated),
  the admission's registry slots (as admit participant), and the seats' (new): the admin's
  participant, and a checkpoint (array length and element) each of the admin's seat, the
  participant's seat, and the seat count (the count's array exists already: its length and
  element are updated).

Everything is deterministic (fixed keys, fixed genesis time and document dates, RFC 6979
signatures), so the figures repeat exactly from run to run and benchmarks/gas.json only changes
when the contracts or the toolchain do.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from kpchain.artifacts import load_artifact
from kpchain.certificates.typed_data import ZERO32, ZERO_CODE, Certificate, Line, typed_data
from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.contracts.encoding import cert_number, participant_code
from kpchain.contracts.enums import Support
from kpchain.contracts.founding import Founder
from kpchain.contracts.registry import Confirmation, Registry
from kpchain.deploy import DEPLOYED_CONTRACT, GOVERNOR_CONTRACT, SEATS_CONTRACT, deploy
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.devnet.seed import DEVNET_GOVERNANCE, governor_account, participant_account, registry
from kpchain.signing.local import LocalSigner

OUTPUT = Path(__file__).resolve().parents[1] / "benchmarks" / "gas.json"

TX_GAS = 21_000
NEW_SLOT = 22_100
UPDATED_SLOT = 5_000
# EIP-7825 on anvil's default (newest) hardfork: no transaction may ask for more gas.
TX_GAS_CAP = 16_777_216

DAY = 86_400
GENESIS = 1_795_737_600  # 2026-11-27T00:00:00Z: the chain's clock starts here on every run
ISSUED_AT = GENESIS
EXPIRES_AT = GENESIS + 60 * DAY
BATCH_SIZES = (1, 10, 100)
MULTICALL_SIZES = (10, 100)
FOUNDERS = ("BW", "AE", "IN")

TARGETS = {
    # 75,000 until issue read the registry's maximum validity: one cold slot, 2,100 gas, that no
    # slot issue reads already had room for (see CertificateRegistry._maxValidity).
    "issue": 77_000,
    "issue_batch_100_per_certificate": 50_000,
    "ship": 40_000,
    "receive": 40_000,
    "reject": 40_000,
    "cancel": 40_000,
    "withdraw": 40_000,
}
REFERENCES = {
    "eas_attest": {
        "gas": 345_000,
        "what": "Ethereum Attestation Service attest(), one attestation (approximate)",
    },
    "oz_erc721_mint": {
        "gas": 68_800,
        "what": "OpenZeppelin ERC-721 _mint of one token (approximate)",
    },
    "bare_hash_stamp": {
        "gas": 45_100,
        "what": "a contract storing one bytes32 hash in a new slot (approximate)",
    },
}


@dataclass(frozen=True)
class Measurement:
    """One operation's gas and its floor."""

    gas: int
    floor: int
    calldata_gas: int
    target: int | None

    def to_json(self) -> dict[str, int | None]:
        return {
            "gas": self.gas,
            "floor": self.floor,
            "target": self.target,
            "calldata_gas": self.calldata_gas,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with AnvilNode(extra_args=("--timestamp", str(GENESIS))) as node:
        results = measure(node.rpc_url)
        hardfork = _hardfork(node.rpc_url)
    write(results)
    print_table(results, markdown=args.markdown)
    for batch, per_item, what in (
        ("issue_batch_100", "issue_batch_100_per_certificate", "issueBatch of 100"),
        ("ship_multicall_100", "ship_multicall_100_per_operation", "multicall of 100 ships"),
        (
            "receive_multicall_100",
            "receive_multicall_100_per_operation",
            "multicall of 100 receipts",
        ),
    ):
        share = results[batch].gas / TX_GAS_CAP
        fit = TX_GAS_CAP // results[per_item].gas
        print(
            f"{what} uses {share:.0%} of the {TX_GAS_CAP:,} gas a transaction may use on the"
            f" newest hardfork (EIP-7825): about {fit:,} fit in one transaction"
        )
    print(f"anvil hardfork: {hardfork}; wrote {OUTPUT} in {time.monotonic() - started:.1f}s")
    # A benchmark reports; it does not fail the build. "OVER" in the table is the signal.
    return 0


def measure(rpc_url: str) -> dict[str, Measurement]:
    """Deploys, sets up BW and AE, runs each operation once; results in gas.json's key order."""
    w3 = connect(rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    deployer = _sender(w3, governor_account())
    founders = [Founder(code, participant_account(code, "admin").address) for code in FOUNDERS]
    deployment = deploy(
        deployer,
        founders=founders,
        governance=DEVNET_GOVERNANCE,
        network="gas-benchmark",
        expected_chain_id=DEVNET_CHAIN_ID,
    )
    contract = registry(w3, deployment.address)
    calls = contract.functions
    for code in FOUNDERS:
        _add_authority(_sender(w3, participant_account(code, "admin")), contract, code)
    bw = _sender(w3, participant_account("BW", "authority"))
    ae = _sender(w3, participant_account("AE", "authority"))
    results: dict[str, Measurement] = {}

    # Issue one certificate, then batches of 1, 10 and 100.
    single = _certificate("BW-2026-000123")
    receipt = bw.transact(
        calls.issue(single.to_abi(), bw.signer.address, _sign(bw, single, deployment.address))
    )
    results["issue"] = _measured("issue", w3, receipt, new=1)
    batches: dict[int, list[Certificate]] = {}
    for size in BATCH_SIZES:
        certs = [_certificate(f"BW-2026-{size:03d}{i:03d}") for i in range(size)]
        signatures = [_sign(bw, cert, deployment.address) for cert in certs]
        receipt = bw.transact(
            calls.issueBatch([c.to_abi() for c in certs], bw.signer.address, signatures)
        )
        total = _measured(f"issue_batch_{size}", w3, receipt, new=size)
        results[f"issue_batch_{size}"] = total
        name = f"issue_batch_{size}_per_certificate"
        results[name] = _per_item(name, total, size)
        batches[size] = certs

    # The lifecycle: ship and receive the single certificate; reject and cancel batch ones.
    seal_ref = keccak(text="seal GDO-0001234, container MSKU 1234567")
    receipt = bw.transact(calls.ship(single.certNo, seal_ref))
    results["ship"] = _measured("ship", w3, receipt, updated=1)
    # Received on the day of issue: the registry refuses a receipt dated after the block's time.
    confirmation = (3, 123_456, ISSUED_AT, keccak(text="AE import confirmation 0042"))
    receipt = ae.transact(calls.confirmReceipt(single.certNo, confirmation))
    results["receive"] = _measured("receive", w3, receipt, updated=1)
    results.update(_multicalls(w3, deployment.address, bw, ae, seal_ref, confirmation))
    to_reject, to_cancel = batches[10][0], batches[10][1]
    bw.transact(calls.ship(to_reject.certNo, seal_ref))
    receipt = ae.transact(calls.reject(to_reject.certNo, 0))  # RejectionReason.Discrepancy
    results["reject"] = _measured("reject", w3, receipt, updated=1)
    receipt = bw.transact(calls.cancel(to_cancel.certNo))
    results["cancel"] = _measured("cancel", w3, receipt, updated=1)

    # Governance: the admission of the EU, decided by BW and IN (AE abstains).
    results.update(_govern_admission(w3, deployment.contracts))

    # A shipment to AE, then AE suspended: BW withdraws it (the last step, as AE stays suspended).
    to_withdraw = batches[10][2]
    bw.transact(calls.ship(to_withdraw.certNo, seal_ref))
    seats = w3.eth.contract(
        address=Web3.to_checksum_address(deployment.contracts[SEATS_CONTRACT]),
        abi=load_artifact(SEATS_CONTRACT).abi,
    )
    _decide(w3, deployment.contracts, seats.functions.setParticipantStatus(b"AE", 2), "AE out")
    returned = 0  # WithdrawalReason.Returned
    receipt = bw.transact(calls.withdrawShipment(to_withdraw.certNo, returned))
    results["withdraw"] = _measured("withdraw", w3, receipt, updated=1)

    results.update(_registry_governance(w3, deployer))
    return {name: results[name] for name in _KEY_ORDER}


def _multicalls(
    w3: Web3,
    address: str,
    bw: TransactionSender,
    ae: TransactionSender,
    seal_ref: bytes,
    confirmation: tuple[int, int, int, bytes],
) -> dict[str, Measurement]:
    """Ships (BW) and receives (AE) fresh certificates in batches of 10 and 100, each batch one
    multicall, built by the service's own binding (`Registry.multicall`)."""
    binding = Registry(w3, address)
    receipt_of = Confirmation(*confirmation)
    results: dict[str, Measurement] = {}
    for size in MULTICALL_SIZES:
        # 14-character numbers, as the single operations' (calldata is part of the floor).
        numbers = [f"BW-2027-{size:03d}{i:03d}" for i in range(size)]
        certs = [_certificate(number) for number in numbers]
        signatures = [_sign(bw, cert, address) for cert in certs]
        bw.transact(binding.issue_batch(certs, bw.signer.address, signatures))
        ships = binding.multicall([binding.ship(number, seal_ref) for number in numbers])
        results.update(_batch_rows(f"ship_multicall_{size}", w3, bw.transact(ships), size))
        receipts = binding.multicall(
            [binding.confirm_receipt(number, receipt_of) for number in numbers]
        )
        results.update(_batch_rows(f"receive_multicall_{size}", w3, ae.transact(receipts), size))
    return results


def _batch_rows(name: str, w3: Web3, receipt: TxReceipt, size: int) -> dict[str, Measurement]:
    """A multicall of `size` one-slot updates: its total and per-operation rows."""
    total = _measured(name, w3, receipt, updated=size)
    per_operation = f"{name}_per_operation"
    return {name: total, per_operation: _per_item(per_operation, total, size)}


def _registry_governance(w3: Web3, account: TransactionSender) -> dict[str, Measurement]:
    """set_max_validity and admit_participant as the registry charges them: on a registry of
    its own governed by `account` (two participants admitted first, as in the deployment)."""
    artifact = load_artifact(DEPLOYED_CONTRACT)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    address = account.transact(factory.constructor(account.address))["contractAddress"]
    assert address is not None
    calls = w3.eth.contract(address=address, abi=artifact.abi).functions
    for code in ("BW", "AE"):
        account.transact(calls.admitParticipant(participant_code(code), _stranger(code)))
    results: dict[str, Measurement] = {}
    receipt = account.transact(calls.setMaxValidity(90 * DAY))
    results["set_max_validity"] = _measured("set_max_validity", w3, receipt, updated=1)
    eu_index = len(calls.participantCodes().call())
    eu_admin = _sender(w3, participant_account("EU", "admin"))
    receipt = account.transact(calls.admitParticipant(b"EU", eu_admin.signer.address))
    new, updated = _admission_slots(index=eu_index)
    results["admit_participant"] = _measured(
        "admit_participant", w3, receipt, new=new, updated=updated
    )
    first = not calls.authoritiesOf(b"EU").call()
    eu_authority = participant_account("EU", "authority").address
    add = eu_admin.transact(calls.addAuthority(b"EU", eu_authority))
    new, updated = _authority_slots(first=first)
    results["add_authority"] = _measured("add_authority", w3, add, new=new, updated=updated)
    return results


def _govern_admission(w3: Web3, contracts: dict[str, str]) -> dict[str, Measurement]:
    """The propose, vote, queue and execute rows: the admission of the EU by BW and IN."""
    seats = w3.eth.contract(
        address=Web3.to_checksum_address(contracts[SEATS_CONTRACT]),
        abi=load_artifact(SEATS_CONTRACT).abi,
    )
    action = seats.functions.admitParticipant(b"EU", participant_account("EU", "admin").address)
    steps = _decide(w3, contracts, action, "Admit the European Union")
    eu_index = 3  # after the three founders
    new, updated = _admission_slots(index=eu_index)
    return {
        "propose": _measured("propose", w3, steps["propose"], new=2),
        "vote": _measured("vote", w3, steps["vote"], new=1, updated=1),
        "queue": _measured("queue", w3, steps["queue"], new=3),
        "execute": _measured("execute", w3, steps["execute"], new=new + 7, updated=updated + 4),
    }


def _decide(
    w3: Web3, contracts: dict[str, str], action: Any, description: str
) -> dict[str, TxReceipt]:
    """Proposes `action` as BW, approved by BW and IN; queues and executes it, moving anvil's
    clock past the vote and the timelock. Returns each step's receipt (the last vote's)."""
    governor = _governor(w3, contracts)
    functions = governor.functions
    target = [action.address]
    data = [bytes.fromhex(action._encode_transaction_data()[2:])]
    digest = keccak(text=description)
    bw, india = (_sender(w3, participant_account(code, "admin")) for code in ("BW", "IN"))
    _later(w3, 1)  # a proposer needs its seat a second before it proposes
    receipts = {"propose": bw.transact(functions.propose(target, [0], data, description))}
    proposal = functions.hashProposal(target, [0], data, digest).call()
    _later(w3, DEVNET_GOVERNANCE.voting_delay + 1)
    bw.transact(functions.castVote(proposal, int(Support.APPROVE)))
    receipts["vote"] = india.transact(functions.castVote(proposal, int(Support.APPROVE)))
    _later(w3, DEVNET_GOVERNANCE.voting_period + 1)
    receipts["queue"] = bw.transact(functions.queue(target, [0], data, digest))
    _later(w3, DEVNET_GOVERNANCE.timelock_delay + 1)
    receipts["execute"] = bw.transact(functions.execute(target, [0], data, digest))
    return receipts


def _governor(w3: Web3, contracts: dict[str, str]) -> Contract:
    return w3.eth.contract(
        address=Web3.to_checksum_address(contracts[GOVERNOR_CONTRACT]),
        abi=load_artifact(GOVERNOR_CONTRACT).abi,
    )


def _later(w3: Web3, seconds: int) -> None:
    """Moves anvil's clock `seconds` on and mines a block there."""
    for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
        w3.provider.make_request(method, params)  # type: ignore[arg-type]


def _stranger(code: str) -> str:
    """An admin account for `code` on the registry of its own (one no key is known for)."""
    return Web3.to_checksum_address(keccak(text=f"gas benchmark admin of {code}")[-20:])


_KEY_ORDER = (
    "issue",
    "issue_batch_1",
    "issue_batch_1_per_certificate",
    "issue_batch_10",
    "issue_batch_10_per_certificate",
    "issue_batch_100",
    "issue_batch_100_per_certificate",
    "ship",
    "ship_multicall_10",
    "ship_multicall_10_per_operation",
    "ship_multicall_100",
    "ship_multicall_100_per_operation",
    "receive",
    "receive_multicall_10",
    "receive_multicall_10_per_operation",
    "receive_multicall_100",
    "receive_multicall_100_per_operation",
    "reject",
    "cancel",
    "withdraw",
    "set_max_validity",
    "admit_participant",
    "add_authority",
    "propose",
    "vote",
    "queue",
    "execute",
)


def write(results: dict[str, Measurement]) -> None:
    """Writes benchmarks/gas.json: the operations in a fixed order, then the references."""
    content: dict[str, Any] = {name: m.to_json() for name, m in results.items()}
    content["references"] = REFERENCES
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(content, indent=2) + "\n")


def print_table(results: dict[str, Measurement], *, markdown: bool = False) -> None:
    """Prints operation, gas, floor, overhead over the floor, target and verdict."""
    header = ("operation", "gas", "floor", "over floor", "target", "vs target")
    rows = [header]
    for name, m in results.items():
        overhead = m.gas - m.floor
        verdict = "-" if m.target is None else ("ok" if m.gas <= m.target else "OVER")
        rows.append(
            (
                name,
                f"{m.gas:,}",
                f"{m.floor:,}",
                f"{overhead:+,} ({overhead / m.floor:+.0%})",
                "-" if m.target is None else f"{m.target:,}",
                verdict,
            )
        )
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
        for row in rows[1:]:
            print(f"| `{row[0]}` | " + " | ".join(row[1:]) + " |")
    else:
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for number, row in enumerate(rows):
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            print("  ".join(cells).rstrip())
            if number == 0:
                print("  ".join("-" * w for w in widths))
    print("references: " + ", ".join(f"{k} ~{v['gas']:,}" for k, v in REFERENCES.items()))


# --- helpers ---------------------------------------------------------------------------------


def _hardfork(rpc_url: str) -> str:
    info: Any = connect(rpc_url).provider.make_request("anvil_nodeInfo", [])  # type: ignore[arg-type]
    return str(info.get("result", {}).get("hardFork", "unknown"))


def _sender(w3: Web3, account: Any) -> TransactionSender:
    return TransactionSender(w3, LocalSigner(account), chain_id=DEVNET_CHAIN_ID)


def _add_authority(admin: TransactionSender, contract: Contract, code: str) -> None:
    authority = participant_account(code, "authority").address
    admin.transact(contract.functions.addAuthority(participant_code(code), authority))


def _certificate(number: str) -> Certificate:
    """A realistic BW -> AE certificate: one line of 1,234.56 ct of gem-quality rough."""
    return Certificate(
        certNo=cert_number(number),
        exportingParticipant=b"BW",
        importingParticipant=b"AE",
        origin=b"BW",
        provenance=ZERO_CODE,
        originZone=ZERO32,
        exporterHash=keccak(text=f"salt-{number}|Okavango Diamond Company|Gaborone|EXP-0042"),
        importerHash=keccak(text=f"salt-{number}|Dubai Rough Trading DMCC|Dubai|DMCC-7781"),
        lines=(Line(hsCode=710231, carats=123_456, valueUsdCents=45_678_900, parcels=3),),
        issuedAt=ISSUED_AT,
        expiresAt=EXPIRES_AT,
        issuingAuthority="Government Diamond Office",
    )


def _sign(sender: TransactionSender, cert: Certificate, registry_address: str) -> bytes:
    """The authority's EIP-712 signature over the document, as the service will make it."""
    message = typed_data(cert, chain_id=DEVNET_CHAIN_ID, verifying_contract=registry_address)
    return sender.signer.sign_typed_data(message)


def _admission_slots(index: int) -> tuple[int, int]:
    """(new, updated) slots of admitting the participant at `index` of `_codes`."""
    element_new = index % 16 == 0  # bytes2 elements pack 16 to a slot
    length_new = index == 0
    new = 1 + element_new + length_new  # + the Participant record
    return new, 3 - new


def _authority_slots(*, first: bool) -> tuple[int, int]:
    """(new, updated) slots of adding an authority: reverse mapping, set element, set position
    (new) and the set's length (new for a participant's first authority)."""
    return (4, 0) if first else (3, 1)


def _calldata_gas(w3: Web3, tx_hash: HexBytes) -> int:
    data = bytes(w3.eth.get_transaction(tx_hash)["input"])
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def _measured(
    name: str, w3: Web3, receipt: TxReceipt, *, new: int = 0, updated: int = 0
) -> Measurement:
    calldata = _calldata_gas(w3, receipt["transactionHash"])
    floor = TX_GAS + new * NEW_SLOT + updated * UPDATED_SLOT + calldata
    return Measurement(
        gas=receipt["gasUsed"], floor=floor, calldata_gas=calldata, target=TARGETS.get(name)
    )


def _per_item(name: str, total: Measurement, size: int) -> Measurement:
    """The share of one item (a certificate, an operation) of a batch of `size`."""
    return Measurement(
        gas=round(total.gas / size),
        floor=round(total.floor / size),
        calldata_gas=round(total.calldata_gas / size),
        target=TARGETS.get(name),
    )


if __name__ == "__main__":
    sys.exit(main())
