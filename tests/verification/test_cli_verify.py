"""`kpchain verify FILE` against anvil, without the service: a signed document file checked
against the registry's views and events, each way it can fail said exactly, exit status 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account

from helpers.documents import document
from kpchain.certificates.conversions import new_salt, to_contract
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.typed_data import document_hash, typed_data
from kpchain.certificates.views import CertificateDocumentView
from kpchain.chain.connection import connect
from kpchain.cli import main
from kpchain.contracts.enums import RejectionReason
from kpchain.devnet.anvil import DEVNET_CHAIN_ID, AnvilNode
from kpchain.devnet.seed import participant_account
from kpchain.signing import LocalSigner
from support_chain import DAY, Devnet


@dataclass
class Net:
    devnet: Devnet
    rpc_url: str


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    """One seeded chain for the module: every test issues certificates of its own."""
    with AnvilNode(chain_id=DEVNET_CHAIN_ID) as node:
        w3 = connect(node.rpc_url, expected_chain_id=node.chain_id)
        yield Net(Devnet.deploy_and_seed(w3), node.rpc_url)


@pytest.fixture
def env(net: Net, tmp_path: Path, clean_settings: None) -> dict[str, str]:
    """The settings `kpchain verify` reads: the node and the registry, no service, no database."""
    return {
        "KPCHAIN_RPC_URL": net.rpc_url,
        "KPCHAIN_CHAIN_ID": str(DEVNET_CHAIN_ID),
        "KPCHAIN_REGISTRY_ADDRESS": net.devnet.address,
        "KPCHAIN_DEPLOYMENT_FILE": str(tmp_path / "none.json"),
    }


def _signed(
    net: Net, cert_no: str, *, days: int = 60, signer: Any = None, issue: bool = True
) -> dict[str, Any]:
    """A signed document file (the JSON of GET …/document) of a certificate BW issues to AE on
    chain; signed by `signer` instead of BW's authority when given."""
    chain = net.devnet
    parsed = CertificateDocument.model_validate(document(cert_no, days=days))
    exporter_salt, importer_salt = new_salt(), new_salt()
    certificate = to_contract(parsed, exporter_salt=exporter_salt, importer_salt=importer_salt)
    if issue:
        chain.issue(certificate)
    account = signer or participant_account("BW", "authority")
    data = typed_data(certificate, chain_id=DEVNET_CHAIN_ID, verifying_contract=chain.address)
    view = CertificateDocumentView(
        document=parsed,
        doc_hash=document_hash(
            certificate, chain_id=DEVNET_CHAIN_ID, verifying_contract=chain.address
        ),
        signature=LocalSigner(account).sign_typed_data(data),
        signer=account.address,
        exporter_salt=exporter_salt,
        importer_salt=importer_salt,
    )
    return view.model_dump(mode="json")


def _verify(tmp_path: Path, env: dict[str, str], signed: Any, *options: str) -> Any:
    path = tmp_path / "certificate.json"
    path.write_text(signed if isinstance(signed, str) else json.dumps(signed))
    runner = CliRunner(mix_stderr=False)
    return runner.invoke(main, ["verify", str(path), *options], env=env, catch_exceptions=False)


def _line(output: str, check: str) -> str:
    """The output line of `check` (with its ✓ or ✗)."""
    return next(line.strip() for line in output.splitlines() if f" {check}: " in line)


def test_verify_command_says_genuine_and_exits_0_when_document_is_the_issued_one(
    tmp_path: Path, env: dict[str, str], net: Net
) -> None:
    signed = _signed(net, "BW-2026-000401")

    result = _verify(tmp_path, env, signed)
    as_json = _verify(tmp_path, env, signed, "--json")

    assert result.exit_code == 0, result.output + result.stderr
    lines = result.output.splitlines()
    assert lines[0] == "BW-2026-000401: GENUINE"
    for check in ("exists", "document_hash", "signature", "authority", "status"):
        assert _line(result.output, check).startswith(f"✓ {check}: ")
    assert _line(result.output, "document_hash") == (
        f"✓ document_hash: The document's hash {signed['doc_hash']} is the one recorded on the "
        "chain at issue."
    )
    assert "status issued; BW -> AE; origin BW" in result.output
    assert as_json.exit_code == 0
    report = json.loads(as_json.output)
    assert report["genuine"] is True
    assert report["doc_hash_checked"] is True
    assert report["signer"] == participant_account("BW", "authority").address


def test_verify_command_fails_document_hash_when_document_was_altered(
    tmp_path: Path, env: dict[str, str], net: Net
) -> None:
    signed = _signed(net, "BW-2026-000402")
    signed["document"]["lines"][0]["carats"] = "1234.57"  # one hundredth of a carat more
    unreadable = _signed(net, "BW-2026-000403")
    unreadable["document"]["lines"][0]["carats"] = "a lot"

    altered = _verify(tmp_path, env, signed)
    broken = _verify(tmp_path, env, unreadable)

    assert altered.exit_code == 1
    assert altered.output.splitlines()[0] == "BW-2026-000402: NOT GENUINE"
    line = _line(altered.output, "document_hash")
    assert line.startswith("✗ document_hash: The document's hash 0x")
    assert f"differs from the one recorded on the chain ({signed['doc_hash']})" in line
    assert "failed: The document's hash" in altered.output
    assert "advice: The document is not the one that was issued" in altered.output
    # The signature was made over the original document, so it no longer recovers to BW's key.
    assert _line(altered.output, "signature").startswith("✗ signature:")
    assert broken.exit_code == 1
    assert _line(broken.output, "document_hash").startswith(
        "✗ document_hash: The document cannot be hashed: lines.0.carats:"
    )


def test_verify_command_fails_signature_when_signed_by_a_stranger(
    tmp_path: Path, env: dict[str, str], net: Net
) -> None:
    stranger = Account.create()
    signed = _signed(net, "BW-2026-000404", signer=stranger)

    result = _verify(tmp_path, env, signed)

    assert result.exit_code == 1
    assert _line(result.output, "document_hash").startswith("✓")
    authority = participant_account("BW", "authority").address
    assert _line(result.output, "signature") == (
        f"✗ signature: The signature recovers to {stranger.address}, not to {authority}, the "
        "key recorded on the chain as having validated the certificate."
    )
    assert _line(result.output, "authority") == (
        f"✗ authority: The signing key {stranger.address} has never been an authority of any "
        "participant."
    )


def test_verify_command_fails_authority_when_key_was_revoked_before_the_issue(
    tmp_path: Path, env: dict[str, str], net: Net
) -> None:
    chain = net.devnet
    revoked_key = Account.create()
    chain.add_authority("BW", revoked_key.address)
    revocation = chain.revoke_authority("BW", revoked_key.address)
    signed = _signed(net, "BW-2026-000405", signer=revoked_key)
    issued_block = chain.head

    result = _verify(tmp_path, env, signed)

    assert result.exit_code == 1
    block = revocation["blockNumber"]
    on = datetime.fromtimestamp(chain.block(block)["timestamp"], UTC).date().isoformat()
    assert _line(result.output, "authority") == (
        f"✗ authority: The signing key {revoked_key.address} was revoked as an authority of BW "
        f"at block {block} ({on}), before the certificate was issued at block {issued_block}."
    )


def test_verify_command_fails_status_when_expired_cancelled_or_rejected(
    tmp_path: Path, env: dict[str, str], net: Net
) -> None:
    chain = net.devnet
    cancelled = _signed(net, "BW-2026-000406")
    chain.cancel("BW-2026-000406")
    rejected = _signed(net, "BW-2026-000407")
    chain.ship("BW-2026-000407")
    chain.reject("BW-2026-000407", reason=RejectionReason.DISCREPANCY)
    expiring = _signed(net, "BW-2026-000408", days=1)
    chain.ship("BW-2026-000408")
    chain.rpc("evm_increaseTime", 3 * DAY)
    chain.rpc("evm_mine")

    files = {"cancelled": cancelled, "rejected": rejected, "expired": expiring}

    results = {name: _verify(tmp_path, env, signed) for name, signed in files.items()}

    for result in results.values():
        assert result.exit_code == 1
        assert _line(result.output, "document_hash").startswith("✓")
        assert _line(result.output, "authority").startswith("✓")
    expiry = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert _line(results["expired"].output, "status") == (
        f"✗ status: The certificate expired on {expiry}."
    )
    assert _line(results["cancelled"].output, "status") == (
        "✗ status: The certificate was cancelled by its exporting authority."
    )
    assert _line(results["rejected"].output, "status") == (
        "✗ status: The certificate was rejected by the importing authority (discrepancy)."
    )


def test_verify_command_fails_exists_when_certificate_was_never_issued(
    tmp_path: Path, env: dict[str, str], net: Net
) -> None:
    signed = _signed(net, "BW-2026-000409", issue=False)

    result = _verify(tmp_path, env, signed)

    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  ✗ exists: No certificate numbered BW-2026-000409 exists on the chain.",
        "failed: No certificate numbered BW-2026-000409 exists on the chain.",
        "advice: Check that the number was read correctly; if it was, hold the shipment, ask "
        "the exporting authority (BW) to confirm the certificate, and report a suspected "
        "forgery to your KP authority.",
    ]


def test_verify_command_refuses_a_file_that_is_not_a_signed_document(
    tmp_path: Path, env: dict[str, str]
) -> None:
    not_json = _verify(tmp_path, env, "{not json")
    no_document = _verify(tmp_path, env, {"doc_hash": "0x" + "00" * 32})

    assert not_json.exit_code == 1
    assert "certificate.json is not JSON" in not_json.stderr
    assert no_document.exit_code == 1
    assert "document_file_invalid: not a signed certificate document" in no_document.stderr
