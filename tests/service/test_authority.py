"""AuthorityService's own checks, made before any transaction: the service's maximum validity
(KPCHAIN_MAX_VALIDITY_DAYS, through the runtime the service builds) and the dates a receipt may
carry (from the shipping day to today, the chain's day when its clock is ahead), at their
boundaries, against anvil and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpers.documents import document
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import ReceiveRequest, ShipRequest
from kpchain.errors import InvalidRequestError
from kpchain.runtime import Runtime, build_runtime
from kpchain.service.keys import Principal
from support_api import service_settings
from support_chain import Devnet

BW_OFFICER = Principal(key_id="test-bw", participant="BW", role="officer")
AE_OFFICER = Principal(key_id="test-ae", participant="AE", role="officer")


@pytest.fixture
def strict_runtime(tmp_path: Path, anvil: Any, chain: Devnet, sqlite_url: str) -> Iterator[Runtime]:
    """The service core with KPCHAIN_MAX_VALIDITY_DAYS=10 (no background threads)."""
    settings = service_settings(tmp_path, anvil.rpc_url, chain, sqlite_url, max_validity_days=10)
    built = build_runtime(settings)
    try:
        yield built
    finally:
        built.stop()


def _document(cert_no: str, *, days: int) -> CertificateDocument:
    return CertificateDocument.model_validate(document(cert_no, days=days))


def _refusal(error: pytest.ExceptionInfo[InvalidRequestError]) -> tuple[str, dict[str, Any]]:
    return error.value.code, dict(error.value.detail)


def test_issue_refuses_document_valid_one_day_longer_than_setting(
    strict_runtime: Runtime, chain: Devnet
) -> None:
    sent = chain.w3.eth.get_transaction_count(chain.sender("BW").signer.address)
    too_long = _document("BW-2026-000801", days=10)  # 11 calendar days

    with pytest.raises(InvalidRequestError) as refused:
        strict_runtime.authority.issue(BW_OFFICER, too_long, idempotency_key="validity-1")

    code, detail = _refusal(refused)
    assert code == "certificate_validity_too_long"
    assert (detail["validity_days"], detail["max_validity_days"]) == (11, 10)
    assert chain.w3.eth.get_transaction_count(chain.sender("BW").signer.address) == sent
    issued = strict_runtime.authority.issue(
        BW_OFFICER, _document("BW-2026-000802", days=9), idempotency_key="validity-2"
    ).model_dump(mode="json")
    assert issued["status"] == "issued"


def test_receive_refuses_receipt_dated_day_before_shipping_and_day_after_chains_today(
    runtime: Runtime, chain: Devnet
) -> None:
    authority = runtime.authority
    authority.issue(BW_OFFICER, _document("BW-2026-000811", days=60), idempotency_key="i")
    shipped = authority.ship(
        BW_OFFICER, "BW-2026-000811", ShipRequest(), idempotency_key="s"
    ).model_dump(mode="json")
    shipped_on = datetime.fromisoformat(shipped["steps"]["shipped"]["at"]).date()
    # The chain's clock ten days ahead of the host's: "today" is then the day of its last block,
    # which stays put while the refused receipts mine nothing (no midnight can move it).
    chain.rpc("evm_increaseTime", 10 * 86_400)
    chain.mine()
    runtime.indexer.sync()
    today = datetime.fromtimestamp(chain.now(), UTC).date()
    assert datetime.fromtimestamp(authority.now(), UTC).date() == today

    def receive(day: Any, key: str) -> dict[str, Any]:
        request = ReceiveRequest(parcels=3, carats="1234.56", received_at=day)
        received = authority.receive(AE_OFFICER, "BW-2026-000811", request, idempotency_key=key)
        return received.model_dump(mode="json")

    with pytest.raises(InvalidRequestError) as early:
        receive(shipped_on - timedelta(days=1), "r-early")
    with pytest.raises(InvalidRequestError) as late:
        receive(today + timedelta(days=1), "r-late")

    assert _refusal(early)[0] == "receipt_date_before_shipping"
    assert _refusal(late) == (
        "receipt_date_in_future",
        {
            "cert_no": "BW-2026-000811",
            "received_at": (today + timedelta(days=1)).isoformat(),
            "today": today.isoformat(),
        },
    )
    received = receive(shipped_on, "r-ok")
    assert received["confirmation"]["received_at"] == shipped_on.isoformat()
