"""Gas of every registry operation against its storage floor: `make gas` (a benchmark, not a test).

Starts its own anvil (chain id 2021, zero gas price and base fee), deploys with
kpchain.deploy.deploy, admits Botswana and the UAE with one authority each (the devnet's
development keys), runs every operation once, reads `gasUsed` from the receipts, prints a table
and writes benchmarks/gas.json.

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

from kpchain.certificates.typed_data import (
    MIXED_ORIGIN,
    ZERO32,
    Certificate,
    Line,
    cert_number,
    participant_code,
    typed_data,
)
from kpchain.chain.connection import connect
from kpchain.chain.transactions import TransactionSender
from kpchain.deploy import deploy
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.devnet.seed import governor_account, participant_account, registry
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
    batch = results["issue_batch_100"].gas
    fit = TX_GAS_CAP // results["issue_batch_100_per_certificate"].gas
    print(
        f"issueBatch of 100 uses {batch / TX_GAS_CAP:.0%} of the {TX_GAS_CAP:,} gas a transaction"
        f" may use on the newest hardfork (EIP-7825): about {fit} certificates fit in one batch"
    )
    print(f"anvil hardfork: {hardfork}; wrote {OUTPUT} in {time.monotonic() - started:.1f}s")
    # A benchmark reports; it does not fail the build. "OVER" in the table is the signal.
    return 0


def measure(rpc_url: str) -> dict[str, Measurement]:
    """Deploys, sets up BW and AE, runs each operation once; results in gas.json's key order."""
    w3 = connect(rpc_url, expected_chain_id=DEVNET_CHAIN_ID)
    governor = _sender(w3, governor_account())
    deployment = deploy(
        governor,
        governor=governor.signer.address,
        network="gas-benchmark",
        expected_chain_id=DEVNET_CHAIN_ID,
    )
    contract = registry(w3, deployment.address)
    calls = contract.functions

    for code in ("BW", "AE"):
        _admit(governor, contract, code)
    bw = _sender(w3, participant_account("BW", "authority"))
    ae = _sender(w3, participant_account("AE", "authority"))
    results: dict[str, Measurement] = {}

    # Admission and key management: the EU (the third participant) and its first authority.
    eu_admin = _sender(w3, participant_account("EU", "admin"))
    eu_index = len(calls.participantCodes().call())
    admit = governor.transact(calls.admitParticipant(b"EU", eu_admin.signer.address))
    eu_authority = participant_account("EU", "authority").address
    eu_first_authority = not calls.authoritiesOf(b"EU").call()
    add = eu_admin.transact(calls.addAuthority(b"EU", eu_authority))

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
        results[f"issue_batch_{size}_per_certificate"] = _per_certificate(total, size)
        batches[size] = certs

    # The lifecycle: ship and receive the single certificate; reject and cancel batch ones.
    seal_ref = keccak(text="seal GDO-0001234, container MSKU 1234567")
    receipt = bw.transact(calls.ship(single.certNo, seal_ref))
    results["ship"] = _measured("ship", w3, receipt, updated=1)
    # Received on the day of issue: the registry refuses a receipt dated after the block's time.
    confirmation = (3, 123_456, ISSUED_AT, keccak(text="AE import confirmation 0042"))
    receipt = ae.transact(calls.confirmReceipt(single.certNo, confirmation))
    results["receive"] = _measured("receive", w3, receipt, updated=1)
    to_reject, to_cancel = batches[10][0], batches[10][1]
    bw.transact(calls.ship(to_reject.certNo, seal_ref))
    receipt = ae.transact(calls.reject(to_reject.certNo, 0))  # RejectionReason.Discrepancy
    results["reject"] = _measured("reject", w3, receipt, updated=1)
    receipt = bw.transact(calls.cancel(to_cancel.certNo))
    results["cancel"] = _measured("cancel", w3, receipt, updated=1)

    # Governance: shorten the maximum validity (after the issues above: it applies to later ones).
    receipt = governor.transact(calls.setMaxValidity(90 * DAY))
    results["set_max_validity"] = _measured("set_max_validity", w3, receipt, updated=1)

    # A shipment to AE, then AE suspended: BW withdraws it (the last step, as AE stays suspended).
    to_withdraw = batches[10][2]
    bw.transact(calls.ship(to_withdraw.certNo, seal_ref))
    governor.transact(calls.setParticipantStatus(b"AE", 2))  # ParticipantStatus.Suspended
    returned = 0  # WithdrawalReason.Returned
    receipt = bw.transact(calls.withdrawShipment(to_withdraw.certNo, returned))
    results["withdraw"] = _measured("withdraw", w3, receipt, updated=1)

    new, updated = _admission_slots(index=eu_index)
    results["admit_participant"] = _measured(
        "admit_participant", w3, admit, new=new, updated=updated
    )
    new, updated = _authority_slots(first=eu_first_authority)
    results["add_authority"] = _measured("add_authority", w3, add, new=new, updated=updated)
    return {name: results[name] for name in _KEY_ORDER}


_KEY_ORDER = (
    "issue",
    "issue_batch_1",
    "issue_batch_1_per_certificate",
    "issue_batch_10",
    "issue_batch_10_per_certificate",
    "issue_batch_100",
    "issue_batch_100_per_certificate",
    "ship",
    "receive",
    "reject",
    "cancel",
    "withdraw",
    "set_max_validity",
    "admit_participant",
    "add_authority",
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


def _admit(governor: TransactionSender, contract: Contract, code: str) -> None:
    admin = _sender(governor.w3, participant_account(code, "admin"))
    raw = participant_code(code)
    governor.transact(contract.functions.admitParticipant(raw, admin.signer.address))
    authority = participant_account(code, "authority").address
    admin.transact(contract.functions.addAuthority(raw, authority))


def _certificate(number: str) -> Certificate:
    """A realistic BW -> AE certificate: one line of 1,234.56 ct of gem-quality rough."""
    return Certificate(
        certNo=cert_number(number),
        exportingParticipant=b"BW",
        importingParticipant=b"AE",
        origin=b"BW",
        provenance=MIXED_ORIGIN,
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


def _per_certificate(total: Measurement, size: int) -> Measurement:
    name = f"issue_batch_{size}_per_certificate"
    return Measurement(
        gas=round(total.gas / size),
        floor=round(total.floor / size),
        calldata_gas=round(total.calldata_gas / size),
        target=TARGETS.get(name),
    )


if __name__ == "__main__":
    sys.exit(main())
