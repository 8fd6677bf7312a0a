"""Each service's part in a validator decision: its own node votes as the consortium decided.

The chain's validator set (Besu QBFT) changes only when more than half of its validators vote
for the change (`qbft_proposeValidatorVote`), each on its own node. The consortium's decision is
the ValidatorSet contract, which governance changes; the index follows its `ValidatorAdded` and
`ValidatorRemoved` events. With `KPCHAIN_NODE_ADMIN_URL` set to this participant's node's admin
listener, the service brings the node's votes in line with those decisions, every few seconds:

- an address the consortium added that is not a validator yet: the node proposes to add it
  (unless it proposes that already); one the consortium removed that is still a validator: the
  node proposes to remove it;
- once the chain's validators agree with the decision, the node's vote is no longer needed and
  is discarded (`qbft_discardValidatorVote`), so the node stops putting it in its blocks.

Addresses the ValidatorSet never named (the genesis validators, unless the deploy recorded them)
are left alone. Each pass looks at the node first, so it is idempotent: a restart, a second
service or an operator's own vote cause no duplicate, and every call is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kpchain.chain.admin import AdminClient
from kpchain.errors import ChainError, KpchainError
from kpchain.indexer.tables import Validator

logger = logging.getLogger(__name__)

_MAX_BACKOFF = 60.0  # seconds between passes while the node's admin listener is away


@dataclass(frozen=True)
class VoteCall:
    """One call a pass made to the node."""

    method: str  # qbft_proposeValidatorVote or qbft_discardValidatorVote
    validator: str  # checksummed
    add: bool  # what the consortium decided: the address is (True) or is not a validator


class ValidatorVoter:
    """Keeps the validator votes of the node behind `admin_url` in line with the ValidatorSet.

    Args:
        sessions: the service database, whose index has the ValidatorSet's history.
        admin_url: the node's admin listener (``ws://127.0.0.1:…``).
        client: makes the admin client (a test may give its own); AdminClient by default.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        admin_url: str,
        *,
        client: Callable[[str], AdminClient] = AdminClient,
    ) -> None:
        self._sessions = sessions
        self._admin_url = admin_url
        self._client = client
        AdminClient(admin_url)  # refuses a URL that is not a ws:// listener, at start-up

    def decisions(self) -> dict[str, bool]:
        """Each address the ValidatorSet named and whether it is in the set now."""
        with self._sessions() as session:
            terms = session.scalars(select(Validator).order_by(Validator.id)).all()
        decided: dict[str, bool] = {}
        for term in terms:  # in order: an address's last term decides
            decided[term.address] = term.removed_block is None
        return decided

    def reconcile(self) -> list[VoteCall]:
        """One pass: the calls it made (none once the node agrees).

        Raises:
            ChainUnavailableError: the admin listener cannot be reached.
            ChainError: the node refused a call (QBFT not served on the listener, say).
        """
        decided = self.decisions()
        if not decided:
            return []
        calls: list[VoteCall] = []
        with self._client(self._admin_url) as node:
            validators = {
                str(v).lower() for v in node.call("qbft_getValidatorsByBlockNumber", ["latest"])
            }
            pending = {
                str(address).lower(): bool(add)
                for address, add in (node.call("qbft_getPendingVotes", []) or {}).items()
            }
            for validator, add in decided.items():
                key = validator.lower()
                if (key in validators) == add:
                    if pending.get(key) == add:
                        calls.append(VoteCall("qbft_discardValidatorVote", validator, add))
                    continue
                if pending.get(key) != add:
                    calls.append(VoteCall("qbft_proposeValidatorVote", validator, add))
            for call in calls:
                params: list[object] = [call.validator]
                if call.method == "qbft_proposeValidatorVote":
                    params.append(call.add)
                node.call(call.method, params)
                logger.info(
                    "validator %s: %s on %s (the consortium decided to %s it)",
                    call.validator,
                    "proposed the vote" if params[1:] else "discarded the vote, now in effect,",
                    node.name,
                    "add" if call.add else "remove",
                )
        return calls

    def run(self, stop: threading.Event, *, interval: float) -> None:
        """Passes every `interval` seconds until `stop` is set; never raises (an unreachable
        listener or a refusal is logged and retried, with a growing pause)."""
        pause = interval
        while not stop.is_set():
            try:
                self.reconcile()
                pause = interval
            except ChainError as exc:
                pause = min(max(pause * 2, interval), _MAX_BACKOFF)
                logger.warning("validator votes: %s; retrying in %.0f s", exc.message, pause)
            except KpchainError as exc:
                logger.error("validator votes: %s", exc.message)
            except Exception:  # the loop must outlive any single failure
                logger.exception("validator votes pass failed")
            stop.wait(pause)
