"""The Writer's states against anvil and SQLite, driven in-process (no background threads): what
fails fails once and for good, and a retry gets the first answer, never a second transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eth_typing import HexStr
from sqlalchemy.orm import Session, sessionmaker

from helpers.documents import document
from helpers.polling import wait_until
from kpchain.api.errors import status_of
from kpchain.certificates.document import CertificateDocument
from kpchain.certificates.requests import ShipRequest
from kpchain.devnet.seed import participant_account
from kpchain.errors import ConflictError, ContractRevertError, KpchainError, error_record
from kpchain.runtime import Runtime
from kpchain.service.keys import Principal
from support_chain import Devnet
from support_service import in_pool, operation, sent_count

pytestmark = pytest.mark.anvil

BW_OFFICER = Principal(key_id="test", participant="BW", role="officer")
BW_AUTHORITY = participant_account("BW", "authority").address
CERT = "BW-2026-000301"


def _issue(runtime: Runtime, cert_no: str = CERT, key: str = "issue", **fields: Any) -> Any:
    body = CertificateDocument.model_validate(document(cert_no, **fields))
    return runtime.authority.issue(BW_OFFICER, body, idempotency_key=key).model_dump(mode="json")


def _ship(runtime: Runtime, key: str, seal: str, cert_no: str = CERT) -> Any:
    return runtime.authority.ship(
        BW_OFFICER, cert_no, ShipRequest(seal_ref=seal), idempotency_key=key
    ).model_dump(mode="json")


class _SignedTogether:
    """Wraps a signer: its first `count` transaction signatures wait for one another."""

    def __init__(self, inner: Any, count: int) -> None:
        self._inner = inner
        self._barrier = threading.Barrier(count, timeout=30)
        self._left = count

    @property
    def address(self) -> str:
        return str(self._inner.address)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        if self._left > 0:
            self._left -= 1
            self._barrier.wait()
        return bytes(self._inner.sign_transaction(transaction))

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return bytes(self._inner.sign_typed_data(typed_data))


def _raised(action: Callable[[], Any]) -> KpchainError:
    with pytest.raises(KpchainError) as caught:
        action()
    return caught.value


def test_write_fails_without_sending_when_its_estimate_reverts(
    runtime: Runtime, chain: Devnet, store: sessionmaker[Session]
) -> None:
    _issue(runtime)
    _ship(runtime, "ship-1", "SEAL-1")
    before = sent_count(chain, BW_AUTHORITY)

    first = _raised(lambda: _ship(runtime, "ship-2", "SEAL-2"))

    assert isinstance(first, ContractRevertError)
    assert first.code == "certificate_status_invalid"
    assert status_of(first) == 409
    failed = operation(store, "ship-2")
    assert failed is not None
    assert failed.status == "failed"
    assert (failed.nonce, failed.tx_hash, failed.raw_tx) == (None, None, None)
    assert failed.error == error_record(first)
    assert sent_count(chain, BW_AUTHORITY) == before

    again = _raised(lambda: _ship(runtime, "ship-2", "SEAL-2"))

    assert type(again) is type(first)
    assert error_record(again) == error_record(first)
    assert sent_count(chain, BW_AUTHORITY) == before
    # The refused write took no nonce: the next one uses the nonce it would have used.
    _issue(runtime, "BW-2026-000302", key="issue-2")
    issued = operation(store, "issue-2")
    assert issued is not None
    assert issued.nonce == before


def test_write_fails_with_the_contract_error_when_its_transaction_is_mined_and_reverts(
    runtime_one_by_one: Runtime, chain: Devnet, store: sessionmaker[Session]
) -> None:
    runtime = runtime_one_by_one
    _issue(runtime)
    before = sent_count(chain, BW_AUTHORITY)
    chain.rpc("evm_setAutomine", False)
    keys = ("ship-a", "ship-b")
    # Neither ship is signed before both estimates passed: anvil estimates on its pending
    # state, so an estimate after the other ship reached the pool would refuse before sending.
    sender = runtime.hosting.participants["BW"]
    sender.signer = _SignedTogether(sender.signer, 2)  # type: ignore[assignment]

    def ship(key: str) -> Any:
        try:
            return _ship(runtime, key, f"SEAL-{key}")
        except KpchainError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(ship, key) for key in keys]

        def both_sent() -> bool:
            found = [operation(store, key) for key in keys]
            return all(
                op is not None and op.tx_hash is not None and in_pool(chain, op.tx_hash)
                for op in found
            )

        # Both estimates ran before either transaction was mined: both were sent.
        wait_until(both_sent, timeout=10, what="both ship transactions in the pool")
        chain.rpc("evm_mine")
        outcomes = [future.result(timeout=30) for future in futures]

    wins = [o for o in outcomes if not isinstance(o, KpchainError)]
    losses = [o for o in outcomes if isinstance(o, KpchainError)]
    assert len(wins) == 1
    assert len(losses) == 1
    assert wins[0]["status"] == "shipped"
    lost = losses[0]
    assert isinstance(lost, ContractRevertError)
    assert lost.code == "certificate_status_invalid"
    assert status_of(lost) == 409
    assert sent_count(chain, BW_AUTHORITY) == before + 2  # both mined, one reverted
    loser = keys[outcomes.index(lost)]
    failed = operation(store, loser)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.tx_hash is not None
    assert chain.w3.eth.get_transaction_receipt(HexStr(failed.tx_hash))["status"] == 0

    again = _raised(lambda: _ship(runtime, loser, f"SEAL-{loser}"))

    assert error_record(again) == error_record(lost)
    assert sent_count(chain, BW_AUTHORITY) == before + 2


def test_retry_returns_the_first_response_when_the_certificate_moved_on_since(
    runtime: Runtime, chain: Devnet
) -> None:
    first = _issue(runtime)
    _ship(runtime, "ship", "SEAL")
    before = sent_count(chain, BW_AUTHORITY)

    again = _issue(runtime)

    assert again == first
    assert again["status"] == "issued"  # the answer of the first request, not today's view
    assert sent_count(chain, BW_AUTHORITY) == before


def test_write_is_refused_without_sending_when_its_key_was_used_for_another_request(
    runtime: Runtime, chain: Devnet, store: sessionmaker[Session]
) -> None:
    _issue(runtime)
    _ship(runtime, "ship", "SEAL-1")
    before = sent_count(chain, BW_AUTHORITY)

    error = _raised(lambda: _ship(runtime, "ship", "SEAL-2"))

    assert isinstance(error, ConflictError)
    assert error.code == "idempotency_key_reused"
    assert sent_count(chain, BW_AUTHORITY) == before
    stored = operation(store, "ship")
    assert stored is not None
    assert stored.status == "done"
