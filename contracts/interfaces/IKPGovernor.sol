// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IKPGovernor
/// @notice The KP's governance of its registry, by consensus of its participants: what the
/// KPGovernor adds to OpenZeppelin's Governor (IGovernor: propose, castVote, queue, execute,
/// state …). Decisions are executed by the governance timelock, calling KPSeats (participant
/// decisions; see IKPSeats) or the ValidatorSet.
///
/// Seats. Each Active participant has one seat, voted by its admin account. A seat is judged at
/// the proposal's snapshot (`proposalSnapshot`, a Unix time): the participants that were Active
/// then vote, through the admins they had then, whatever happens to their standing during the
/// vote. So neither a participant admitted during a vote nor a new admin votes on it, and
/// suspending a participant cannot silence its objection to a proposal already open. A
/// suspended, withdrawn or non-admitted participant has no seat. Only a seat proposes.
///
/// Consensus. Support values follow GovernorCountingSimple's numbering: 0 object (Against),
/// 1 approve (For), 2 abstain (Abstain). A proposal passes when its voting period has ended with
/// no objection and at least its quorum of approvals. The participant a proposal is about (its
/// "subject": the code its participant decisions name; one per proposal) has no vote on it, the
/// "consensus minus one" of intergovernmental bodies: otherwise no participant could ever be
/// suspended against its will.
///
/// Emergency. A proposal of `KPSeats.suspendInEmergency` takes effect when the vote that brings
/// its approvals to `emergencyThreshold` (a supermajority of the seats that may vote on it, at
/// least two) is cast, and still goes to its vote: passed, its execution confirms the
/// suspension; defeated, `liftEmergencySuspension` (anyone may call it) reinstates the
/// participant.
interface IKPGovernor {
    // ------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------

    /// @notice How a seat votes (GovernorCountingSimple's VoteType numbering).
    enum Support {
        Object, // 0, Against: one objection defeats the proposal
        Approve, // 1, For: counts towards the quorum
        Abstain // 2, Abstain: recorded, counts for nothing
    }

    /// @notice A proposal's count and the terms it is judged by (one storage slot).
    struct Tally {
        uint16 approvals; // seats that approved
        uint16 objections; // seats that objected
        uint16 abstentions; // seats that abstained
        uint16 quorum; // approvals needed, fixed when the proposal was made
        bytes2 subject; // the participant its actions are about, 0x0000 when none
        bool emergency; // a suspension that may take effect before the vote ends
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice `quorum` is below `minimum`: a single seat must never decide alone.
    /// @param quorum The quorum refused, in approvals.
    /// @param minimum The smallest quorum allowed (2).
    error QuorumTooLow(uint256 quorum, uint256 minimum);

    /// @notice The emergency threshold `bps` (basis points of the seats) is not in (5000, 10000]:
    /// an emergency needs more than half of the seats.
    /// @param bps The emergency threshold refused, in basis points.
    error EmergencyThresholdInvalid(uint256 bps);

    /// @notice A voting period of zero seconds was given.
    error VotingPeriodZero();

    /// @notice `voter` held no seat at the snapshot of proposal `proposalId`.
    /// @param voter The account that tried to vote.
    /// @param proposalId The proposal.
    error VoterWithoutSeat(address voter, uint256 proposalId);

    /// @notice `voter` votes for `participant`, which proposal `proposalId` is about.
    /// @param voter The account that tried to vote.
    /// @param participant The seat it votes for: the proposal's subject.
    /// @param proposalId The proposal.
    error VoterIsSubject(address voter, bytes2 participant, uint256 proposalId);

    /// @notice A proposal's decisions name two participants, `first` and `second`: one proposal
    /// is about one participant at most.
    /// @param first The participant the proposal's earlier decisions name.
    /// @param second The other participant a later decision names.
    error ProposalSubjectsMixed(bytes2 first, bytes2 second);

    /// @notice Proposal `proposalId` has no emergency suspension in effect to lift.
    /// @param proposalId The proposal.
    error EmergencySuspensionNotInEffect(uint256 proposalId);

    /// @notice Governance does not relay calls to `target` (the registry or the seats): their
    /// changes go through decisions the timelock executes on KPSeats, which keeps the seats.
    /// @param target The address the relayed call was for.
    error RelayTargetForbidden(address target);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice Proposal `proposalId` is about `subject` (0x0000: no participant), needs `quorum`
    /// approvals, and is (`emergency`) a suspension that may take effect before its vote ends.
    /// @param proposalId The proposal.
    /// @param subject The participant its decisions name, 0x0000 when none.
    /// @param quorum The approvals it needs to pass.
    /// @param emergency Whether it is an emergency suspension.
    event ProposalTermsSet(
        uint256 indexed proposalId, bytes2 indexed subject, uint256 quorum, bool emergency
    );

    /// @notice `voter` cast the vote of seat `seat` on `proposalId`: `support` is a Support.
    /// @param proposalId The proposal.
    /// @param seat The participant whose seat voted.
    /// @param voter Its admin account at the proposal's snapshot, which cast the vote.
    /// @param support The vote: 0 object, 1 approve, 2 abstain.
    event SeatVoted(
        uint256 indexed proposalId, bytes2 indexed seat, address indexed voter, uint8 support
    );

    /// @notice The consensus settings changed (seconds, seconds, approvals, basis points).
    /// @param votingDelay Seconds between a proposal and its snapshot.
    /// @param votingPeriod Seconds a vote lasts.
    /// @param quorum Approvals a proposal needs.
    /// @param emergencyThresholdBps The share of the seats, in basis points, whose approvals make
    /// an emergency suspension take effect.
    event ConsensusSettingsSet(
        uint256 votingDelay, uint256 votingPeriod, uint256 quorum, uint256 emergencyThresholdBps
    );

    // ------------------------------------------------------------------------------------------
    // Governance (executed by the timelock, through a proposal)
    // ------------------------------------------------------------------------------------------

    /// @notice Changes the consensus settings for proposals made from now on.
    /// @dev Emits {ConsensusSettingsSet}.
    /// @param votingDelay Seconds between a proposal and its snapshot (the start of its vote).
    /// @param votingPeriod Seconds the vote lasts; non-zero.
    /// @param quorum Approvals a proposal needs; at least 2.
    /// @param emergencyThresholdBps The share of the seats, in basis points, whose approvals
    /// make an emergency suspension take effect; above 5000, at most 10000.
    function setConsensusSettings(
        uint48 votingDelay,
        uint32 votingPeriod,
        uint16 quorum,
        uint16 emergencyThresholdBps
    ) external;

    // ------------------------------------------------------------------------------------------
    // Emergency
    // ------------------------------------------------------------------------------------------

    /// @notice Reinstates the participant that the emergency suspension of `proposalId`
    /// suspended, once that proposal is Defeated (or Canceled, or Expired). Anyone may call it.
    /// @dev KPSeats emits EmergencySuspensionLifted.
    /// @param proposalId The emergency suspension proposal, its suspension still in effect.
    function liftEmergencySuspension(uint256 proposalId) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The seats this governor votes with (created by it; they hold the registry's
    /// GOVERNOR_ROLE).
    /// @return The KPSeats address.
    function seats() external view returns (address);

    /// @notice The registry the seats govern.
    /// @return The CertificateRegistry address.
    function registry() external view returns (address);

    /// @notice The consortium's validator set (owned by the timelock).
    /// @return The ValidatorSet address.
    function validatorSet() external view returns (address);

    /// @notice The count and terms of `proposalId`.
    /// @param proposalId The proposal.
    /// @return Its tally (all zero for a proposal never made).
    function proposalTally(uint256 proposalId) external view returns (Tally memory);

    /// @notice Approvals that make the emergency suspension of `proposalId` take effect: the
    /// emergency share of the seats at its snapshot, its subject's left out, at least two.
    /// @param proposalId The proposal.
    /// @return The number of approvals, rounded up.
    function emergencyThreshold(uint256 proposalId) external view returns (uint256);

    /// @notice The consensus settings proposals are made with now.
    /// @return votingDelay Seconds between a proposal and its snapshot.
    /// @return votingPeriod Seconds a vote lasts.
    /// @return quorum Approvals a proposal needs.
    /// @return emergencyThresholdBps The share of the seats, in basis points, whose approvals
    /// make an emergency suspension take effect.
    function consensusSettings()
        external
        view
        returns (
            uint48 votingDelay,
            uint32 votingPeriod,
            uint16 quorum,
            uint16 emergencyThresholdBps
        );

    /// @notice The semantic version of this contract.
    /// @return The version, "MAJOR.MINOR.PATCH".
    function version() external pure returns (string memory);
}
