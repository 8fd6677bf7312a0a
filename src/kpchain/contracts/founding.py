"""What a deployment's governance contracts are constructed with: the consensus settings and
the founding members (`kpchain.deploy` deploys them; proposals change them later).

Kept free of web3, so that the CLI's options and their help load fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kpchain.contracts.enums import ParticipantStatus

MIN_QUORUM = 2
"""The fewest approvals the governor accepts as a quorum: one key never decides alone."""


@dataclass(frozen=True)
class Founder:
    """A founding member: admitted before the hand-over, with its founding state.

    Args:
        code: ISO 3166-1 alpha-2 code ("EU" for the European Union).
        admin: its admin account: its seat in governance, and the key that adds its authorities.
        status: its standing at the founding (a founder not Active has no seat).
        zones: names of its allowed origin zones; non-empty puts its origin under restriction.
    """

    code: str
    admin: str
    status: ParticipantStatus = ParticipantStatus.ACTIVE
    zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class GovernanceSettings:
    """The consensus rules the governance starts with (proposals can change them).

    Args:
        voting_delay: seconds between a proposal and the start of its vote (its snapshot).
        voting_period: seconds a vote lasts.
        timelock_delay: seconds between queueing a passed proposal and executing it.
        quorum: approvals a proposal needs (with no objection); None: a majority of the Active
            founders, at least two.
        emergency_threshold_bps: the share of the seats that may vote, in basis points, whose
            approvals make an emergency suspension take effect at once (6666: two thirds).
    """

    voting_delay: int = 3600
    voting_period: int = 7 * 86_400
    timelock_delay: int = 2 * 86_400
    quorum: int | None = None
    emergency_threshold_bps: int = 6666

    def quorum_for(self, founders: Sequence[Founder]) -> int:
        """The quorum, given `founders`."""
        if self.quorum is not None:
            return self.quorum
        seats = sum(1 for f in founders if f.status == ParticipantStatus.ACTIVE)
        return max(MIN_QUORUM, seats // 2 + 1)
