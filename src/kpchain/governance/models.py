"""The governance API's shapes (DESIGN.md section 8, a contract): what a participant admin sends to
propose and vote, and the proposal view every reader gets.

Proposals are typed by their `action`: the service turns each into the call the timelock will
make (on KPSeats or the ValidatorSet), so a proposal made here always does what its action says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kpchain.certificates.fields import (
    Address,
    Hex32,
    HexData,
    NonZeroAddress,
    ParticipantCode,
    ZoneName,
)
from kpchain.certificates.views import StepView
from kpchain.vocabulary import ProposalStateLabel, SupportLabel

MAX_DESCRIPTION_LENGTH = 2000
"""Characters of a proposal's description: the governor emits it whole in ProposalCreated."""

_REQUEST = ConfigDict(extra="forbid", frozen=True)
_VIEW = ConfigDict(extra="forbid", frozen=True)

Description = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_DESCRIPTION_LENGTH,
        description="Why: the text the participants vote on. With the actions it makes the "
        "proposal's id, so the same proposal twice needs two descriptions.",
        examples=["Suspend VE pending the review mission's report"],
    ),
]


ActionLabel = Literal[
    "admit",
    "suspend",
    "reinstate",
    "withdraw",
    "restrict_origin",
    "allow_zone",
    "disallow_zone",
    "set_admin",
    "add_validator",
    "remove_validator",
]
"""What a proposal made through the API does."""


# --- requests ----------------------------------------------------------------------------------


class _AboutParticipant(BaseModel):
    model_config = _REQUEST

    participant: ParticipantCode
    description: Description


class AdmitProposal(_AboutParticipant):
    """Admit `participant` with `admin` as its admin (its seat and key manager)."""

    action: Literal["admit"]
    admin: NonZeroAddress


class SuspendProposal(_AboutParticipant):
    """Suspend `participant`. An emergency suspension takes effect as soon as the emergency
    threshold of the seats approved, and is lifted if the vote then fails."""

    action: Literal["suspend"]
    emergency: bool = Field(default=False, strict=True)


class ReinstateProposal(_AboutParticipant):
    """Make `participant` Active again (after a suspension or a withdrawal)."""

    action: Literal["reinstate"]


class WithdrawProposal(_AboutParticipant):
    """Record that `participant` left the KP."""

    action: Literal["withdraw"]


class RestrictOriginProposal(_AboutParticipant):
    """Put origin `participant` under the restriction to allowed zones (`restricted` false
    lifts it)."""

    action: Literal["restrict_origin"]
    restricted: bool = Field(default=True, strict=True)


class AllowZoneProposal(_AboutParticipant):
    """Allow zone `zone` (its name, "CF:Berberati") as an origin zone of `participant`."""

    action: Literal["allow_zone"]
    zone: ZoneName


class DisallowZoneProposal(_AboutParticipant):
    """Disallow zone `zone` as an origin zone of `participant`."""

    action: Literal["disallow_zone"]
    zone: ZoneName


class SetAdminProposal(_AboutParticipant):
    """Replace `participant`'s admin (a lost or compromised key); its seat moves with it."""

    action: Literal["set_admin"]
    admin: NonZeroAddress


class _AboutValidator(BaseModel):
    model_config = _REQUEST

    validator: NonZeroAddress
    description: Description


class AddValidatorProposal(_AboutValidator):
    """Record `validator` in the consortium's validator set; each service whose node admin
    listener is configured then votes it in on its own node."""

    action: Literal["add_validator"]


class RemoveValidatorProposal(_AboutValidator):
    """Remove `validator` from the consortium's validator set (and, through each service, from
    the chain's validators)."""

    action: Literal["remove_validator"]


ProposalRequest = Annotated[
    AdmitProposal
    | SuspendProposal
    | ReinstateProposal
    | WithdrawProposal
    | RestrictOriginProposal
    | AllowZoneProposal
    | DisallowZoneProposal
    | SetAdminProposal
    | AddValidatorProposal
    | RemoveValidatorProposal,
    Field(discriminator="action"),
]
"""Body of POST /v1/governance/proposals."""


class VoteRequest(BaseModel):
    """Body of POST /v1/governance/proposals/{id}/votes."""

    model_config = _REQUEST

    support: SupportLabel


# --- views -------------------------------------------------------------------------------------


class ProposalDetails(BaseModel):
    """The action's arguments (those it has)."""

    model_config = _VIEW

    admin: Address | None = None
    zone: Hex32 | None = Field(default=None, description="The zone id: keccak256 of its name.")
    restricted: bool | None = None
    validator: Address | None = None
    max_validity: int | None = Field(default=None, description="Seconds (set_max_validity).")


class VoteView(BaseModel):
    """A seat's vote."""

    model_config = _VIEW

    participant: ParticipantCode
    voter: Address
    support: SupportLabel
    at: AwareDatetime
    block_number: int = Field(ge=0)
    tx_hash: Hex32


class VotesView(BaseModel):
    """The count, the approvals the proposal needs, and who voted what."""

    model_config = _VIEW

    approve: int = Field(ge=0)
    object: int = Field(ge=0)
    abstain: int = Field(ge=0)
    quorum: int | None = Field(ge=0, description="Approvals needed (with no objection).")
    by: list[VoteView]


class EmergencyView(BaseModel):
    """An emergency suspension: its threshold once applied, and what became of it."""

    model_config = _VIEW

    in_effect: bool
    threshold: int | None = Field(ge=0, description="The approvals that applied it.")
    applied: StepView | None
    settled: StepView | None = Field(description="A decision on the status took over.")
    lifted: StepView | None = Field(description="The vote failed: the participant is back.")


class ActionView(BaseModel):
    """A call the timelock makes when the proposal is executed."""

    model_config = _VIEW

    target: Address
    value: int = Field(ge=0)
    calldata: HexData


class ProposalView(BaseModel):
    """A proposal as GET /v1/governance/proposals/{id} returns it.

    Attributes:
        id: the governor's proposal id (a uint256, in decimal digits).
        state: derived from the votes, the time and the steps on chain.
        action: what it does; "custom" for proposals made outside this API (several actions, or
            functions the API does not propose).
        participant: the participant it is about (who has no vote on it), if any.
        votes: the count and every vote.
        vote_start: the snapshot (the seats are judged there); the vote opens just after it.
        vote_end: the last second of the vote.
        eta: once queued, when it may be executed.
    """

    model_config = _VIEW

    id: str = Field(pattern="^[0-9]{1,78}$")
    state: ProposalStateLabel
    action: ActionLabel | Literal["set_max_validity", "custom"]
    participant: ParticipantCode | None
    details: ProposalDetails
    emergency: EmergencyView | None
    description: str
    proposer: Address
    votes: VotesView
    vote_start: AwareDatetime
    vote_end: AwareDatetime
    eta: datetime | None
    actions: list[ActionView]
    created: StepView
    queued: StepView | None
    executed: StepView | None
    canceled: StepView | None


class ProposalList(BaseModel):
    """Proposals, newest first."""

    model_config = _VIEW

    items: list[ProposalView]
