// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorTimelockControl} from
    "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {IKPGovernor} from "../interfaces/IKPGovernor.sol";
import {IKPSeats} from "../interfaces/IKPSeats.sol";
import {KPSeats} from "./KPSeats.sol";

/// @title KPGovernor
/// @notice Governance of the KP registry by consensus: one seat per Active participant, voted by
/// its admin; a proposal passes with no objection and a quorum of approvals, after its voting
/// period, through the timelock. See IKPGovernor for the rules.
/// @dev The clock is the block time (ERC-6372 `mode=timestamp`): the voting delay and period are
/// seconds, like the timelock's delay. The seats live in KPSeats, which this governor creates
/// (keeping this contract under the code size limit, and making the governor the only account
/// that may apply an emergency suspension there).
contract KPGovernor is IKPGovernor, GovernorTimelockControl {
    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    uint256 private constant _BPS = 10_000;
    uint256 private constant _MIN_QUORUM = 2; // no single seat decides alone
    uint256 private constant _MIN_EMERGENCY_APPROVALS = 2;

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    /// @notice The consensus settings (one storage slot).
    struct Settings {
        uint48 votingDelay; // seconds
        uint32 votingPeriod; // seconds
        uint16 quorum; // approvals
        uint16 emergencyThresholdBps; // basis points of the seats that may vote
    }

    IKPSeats private immutable _seats;
    address private immutable _registry;
    address private immutable _validatorSet;

    Settings private _settings;
    mapping(uint256 proposalId => Tally) private _tallies;
    mapping(uint256 proposalId => mapping(address voter => bool)) private _voted;

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    /// @notice Creates the seats, which take the founding members from the registry as it is
    /// now (the deployer admits them, then hands the registry's roles over).
    /// @param registry_ The CertificateRegistry (ParticipantRegistry) to govern.
    /// @param timelock_ The timelock that executes decisions (this governor proposes to it).
    /// @param validatorSet_ The consortium's validator set, for clients to find it.
    /// @param settings The voting delay and period (seconds), quorum and emergency threshold.
    constructor(
        address registry_,
        TimelockController timelock_,
        address validatorSet_,
        Settings memory settings
    ) Governor("KP Governor") GovernorTimelockControl(timelock_) {
        _registry = registry_;
        _validatorSet = validatorSet_;
        _seats = new KPSeats(registry_, address(timelock_));
        _setSettings(settings);
    }

    // ------------------------------------------------------------------------------------------
    // Governance
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IKPGovernor
    function setConsensusSettings(
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint16 quorum_,
        uint16 emergencyThresholdBps
    ) external onlyGovernance {
        _setSettings(Settings(votingDelay_, votingPeriod_, quorum_, emergencyThresholdBps));
    }

    /// @notice Governance may relay calls through the governor, but not to the registry or the
    /// seats (see RelayTargetForbidden).
    function relay(address target, uint256 value, bytes calldata data)
        external
        payable
        override
        onlyGovernance
    {
        if (target == _registry || target == address(_seats)) revert RelayTargetForbidden(target);
        (bool success, bytes memory returndata) = target.call{value: value}(data);
        Address.verifyCallResult(success, returndata);
    }

    // ------------------------------------------------------------------------------------------
    // Emergency
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IKPGovernor
    function liftEmergencySuspension(uint256 proposalId) external {
        Tally memory tally = _tallies[proposalId];
        if (!tally.emergency || _seats.emergencySuspension(tally.subject) != proposalId) {
            revert EmergencySuspensionNotInEffect(proposalId);
        }
        _validateStateBitmap(
            proposalId,
            _encodeStateBitmap(ProposalState.Defeated) | _encodeStateBitmap(ProposalState.Canceled)
                | _encodeStateBitmap(ProposalState.Expired)
        );

        _seats.liftEmergencySuspension(proposalId, tally.subject);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IKPGovernor
    function seats() external view returns (address) {
        return address(_seats);
    }

    /// @inheritdoc IKPGovernor
    function registry() external view returns (address) {
        return _registry;
    }

    /// @inheritdoc IKPGovernor
    function validatorSet() external view returns (address) {
        return _validatorSet;
    }

    /// @inheritdoc IKPGovernor
    function proposalTally(uint256 proposalId) external view returns (Tally memory) {
        return _tallies[proposalId];
    }

    /// @inheritdoc IKPGovernor
    function emergencyThreshold(uint256 proposalId) public view returns (uint256) {
        uint256 snapshot = proposalSnapshot(proposalId);
        uint256 count = _seats.seatCount(snapshot);
        bytes2 subject = _tallies[proposalId].subject;
        if (subject != bytes2(0) && _seats.isSeated(subject, snapshot)) count -= 1;
        uint256 threshold =
            Math.mulDiv(count, _settings.emergencyThresholdBps, _BPS, Math.Rounding.Ceil);
        return Math.max(threshold, _MIN_EMERGENCY_APPROVALS);
    }

    /// @inheritdoc IKPGovernor
    function consensusSettings() external view returns (uint48, uint32, uint16, uint16) {
        Settings memory settings = _settings;
        return (
            settings.votingDelay,
            settings.votingPeriod,
            settings.quorum,
            settings.emergencyThresholdBps
        );
    }

    /// @notice The block time: the voting delay and period are seconds (ERC-6372).
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372: the clock is the block time.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice Support 0 against (object), 1 for (approve), 2 abstain; only approvals count
    /// towards the quorum, and one objection defeats a proposal.
    // solhint-disable-next-line func-name-mixedcase
    function COUNTING_MODE() public pure override returns (string memory) {
        return "support=bravo&quorum=for&consensus=no-objection";
    }

    /// @notice Seconds between a proposal and the start of its vote.
    function votingDelay() public view override returns (uint256) {
        return _settings.votingDelay;
    }

    /// @notice Seconds a vote lasts.
    function votingPeriod() public view override returns (uint256) {
        return _settings.votingPeriod;
    }

    /// @notice The approvals a proposal made now needs (each proposal keeps the quorum it was
    /// made with: `proposalTally(id).quorum`).
    function quorum(uint256) public view override returns (uint256) {
        return _settings.quorum;
    }

    /// @notice One seat: only seated admins propose.
    function proposalThreshold() public pure override returns (uint256) {
        return 1;
    }

    /// @notice Whether `account` voted on `proposalId`.
    function hasVoted(uint256 proposalId, address account) external view returns (bool) {
        return _voted[proposalId][account];
    }

    /// @inheritdoc IKPGovernor
    function version() public pure override(Governor, IKPGovernor) returns (string memory) {
        return "1.0.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internal: Governor hooks
    // ------------------------------------------------------------------------------------------

    /// @dev Records the terms of the proposal: its subject (the one participant its decisions
    /// name), the quorum now, and whether it is an emergency suspension.
    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override returns (uint256 proposalId) {
        proposalId = super._propose(targets, values, calldatas, description, proposer);
        bytes2 subject;
        bool emergency;
        for (uint256 i = 0; i < targets.length; ++i) {
            (bytes2 code, bool urgent) = _subjectOf(targets[i], calldatas[i]);
            if (code == bytes2(0)) continue;
            if (subject != bytes2(0) && subject != code) revert ProposalSubjectsMixed(subject, code);
            subject = code;
            emergency = emergency || urgent;
        }
        uint16 quorum_ = _settings.quorum;
        _tallies[proposalId] = Tally(0, 0, 0, quorum_, subject, emergency);

        emit ProposalTermsSet(proposalId, subject, quorum_, emergency);
    }

    /// @dev One seat, one vote: the seat the account held at `timepoint`.
    function _getVotes(address account, uint256 timepoint, bytes memory)
        internal
        view
        override
        returns (uint256)
    {
        return _seats.seatOf(account, timepoint) != bytes2(0) ? 1 : 0;
    }

    function _countVote(
        uint256 proposalId,
        address account,
        uint8 support,
        uint256 totalWeight,
        bytes memory
    ) internal override returns (uint256) {
        if (totalWeight == 0) revert VoterWithoutSeat(account, proposalId);
        Tally storage tally = _tallies[proposalId];
        bytes2 seat = _seats.seatOf(account, proposalSnapshot(proposalId));
        if (seat == tally.subject) revert VoterIsSubject(account, seat, proposalId);
        if (_voted[proposalId][account]) revert GovernorAlreadyCastVote(account);

        _voted[proposalId][account] = true;
        if (support == uint8(Support.Object)) {
            tally.objections += 1;
        } else if (support == uint8(Support.Approve)) {
            tally.approvals += 1;
        } else if (support == uint8(Support.Abstain)) {
            tally.abstentions += 1;
        } else {
            revert GovernorInvalidVoteType();
        }

        emit SeatVoted(proposalId, seat, account, support);
        return 1;
    }

    /// @dev The approval that reaches the emergency threshold makes the suspension take effect
    /// (the seats do nothing when the subject is no longer Active, or is under another
    /// emergency suspension).
    function _tallyUpdated(uint256 proposalId) internal override {
        Tally memory tally = _tallies[proposalId];
        if (!tally.emergency || _seats.emergencySuspension(tally.subject) == proposalId) return;
        uint256 threshold = emergencyThreshold(proposalId);
        if (tally.approvals < threshold) return;
        _seats.applyEmergencySuspension(proposalId, tally.subject, tally.approvals, threshold);
    }

    function _quorumReached(uint256 proposalId) internal view override returns (bool) {
        Tally memory tally = _tallies[proposalId];
        return tally.approvals >= tally.quorum;
    }

    function _voteSucceeded(uint256 proposalId) internal view override returns (bool) {
        return _tallies[proposalId].objections == 0;
    }

    /// @dev Votes by signature are not accepted: a seat votes from its admin account (a relayer
    /// gains nothing on a zero-gas chain, and the signature code would not fit the size limit).
    function _validateVoteSig(uint256, uint8, address, bytes memory)
        internal
        pure
        override
        returns (bool)
    {
        return false;
    }

    function _validateExtendedVoteSig(
        uint256,
        uint8,
        address,
        string memory,
        bytes memory,
        bytes memory
    ) internal pure override returns (bool) {
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------

    function _setSettings(Settings memory settings) private {
        if (settings.votingPeriod == 0) revert VotingPeriodZero();
        if (settings.quorum < _MIN_QUORUM) revert QuorumTooLow(settings.quorum, _MIN_QUORUM);
        uint256 bps = settings.emergencyThresholdBps;
        if (bps <= _BPS / 2 || bps > _BPS) revert EmergencyThresholdInvalid(bps);
        _settings = settings;

        emit ConsensusSettingsSet(settings.votingDelay, settings.votingPeriod, settings.quorum, bps);
    }

    /// @dev The participant a decision on the seats names (its first argument) and whether it is
    /// an emergency suspension; 0x0000 for calls to other contracts (the validator set, this
    /// governor) or of other functions (setMaxValidity).
    function _subjectOf(address target, bytes memory data)
        private
        view
        returns (bytes2 code, bool emergency)
    {
        if (target != address(_seats) || data.length < 36) return (bytes2(0), false);
        bytes4 selector = bytes4(data);
        if (
            selector != IKPSeats.admitParticipant.selector
                && selector != IKPSeats.setParticipantStatus.selector
                && selector != IKPSeats.suspendInEmergency.selector
                && selector != IKPSeats.setParticipantAdmin.selector
                && selector != IKPSeats.setOriginRestriction.selector
                && selector != IKPSeats.setOriginZone.selector
        ) return (bytes2(0), false);
        bytes32 word;
        assembly ("memory-safe") {
            // The first argument: a bytes2, left-aligned in the word after the selector.
            word := mload(add(data, 36))
        }
        code = bytes2(word);
        emergency = selector == IKPSeats.suspendInEmergency.selector;
    }
}
