// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IParticipantRegistry} from "./IParticipantRegistry.sol";

/// @title IKPSeats
/// @notice The seats of the KP's governance, and the hand that changes the registry: it alone
/// holds the registry's GOVERNOR_ROLE, carries out the decisions the governance timelock (its
/// owner) executes, and keeps each participant's seat as checkpoints.
///
/// A seat is an Active participant's, voted by the participant's admin account (the registry's
/// `participant(code).admin`). Because every change of a participant's status or admin comes
/// through this contract, it can answer who held which seat at any past time, and the governor
/// judges each vote by the seats at the proposal's snapshot. One account is the admin of one
/// participant at most, so one account holds one seat at most.
///
/// Emergency suspensions: the KPGovernor applies one when the votes on an emergency suspension
/// proposal reach its threshold, and lifts it when that proposal fails. A decision on the
/// participant's status executed meanwhile settles it (a decision to suspend confirms it).
interface IKPSeats {
    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice `admin` is already the admin of participant `participant`.
    error AdminOfAnotherParticipant(address admin, bytes2 participant);
    /// @notice Only the KPGovernor that created these seats may do this; `account` is not it.
    error CallerNotGovernor(address account);
    /// @notice No emergency suspension of `code` by proposal `proposalId` is in effect.
    error EmergencySuspensionNotInEffect(bytes2 code, uint256 proposalId);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice The emergency suspension of `subject` proposed by `proposalId` took effect, with
    /// `approvals` of the `threshold` it needed.
    event EmergencySuspensionApplied(
        uint256 indexed proposalId, bytes2 indexed subject, uint256 approvals, uint256 threshold
    );
    /// @notice A decision on `subject`'s status was executed while the emergency suspension of
    /// `proposalId` was in effect: the decision stands, the emergency is over.
    event EmergencySuspensionSettled(uint256 indexed proposalId, bytes2 indexed subject);
    /// @notice Proposal `proposalId` failed, so its emergency suspension of `subject` was lifted:
    /// `subject` is Active again.
    event EmergencySuspensionLifted(uint256 indexed proposalId, bytes2 indexed subject);

    // ------------------------------------------------------------------------------------------
    // Decisions (the owner: the governance timelock)
    // ------------------------------------------------------------------------------------------

    /// @notice Admits `code` with `admin` as its admin (the registry's admitParticipant).
    function admitParticipant(bytes2 code, address admin) external;

    /// @notice Sets `code`'s status: suspends, reinstates, withdraws or readmits it.
    function setParticipantStatus(bytes2 code, IParticipantRegistry.ParticipantStatus status)
        external;

    /// @notice Suspends `code`. A proposal of this action is an emergency suspension: it can take
    /// effect before its vote ends (see the KPGovernor).
    function suspendInEmergency(bytes2 code) external;

    /// @notice Replaces `code`'s admin; an Active participant's seat moves to the new admin.
    function setParticipantAdmin(bytes2 code, address admin) external;

    /// @notice Puts origin `code` under (or lifts) the restriction to allowed zones.
    function setOriginRestriction(bytes2 code, bool restricted) external;

    /// @notice Allows or disallows `zone` as a zone of origin `code`.
    function setOriginZone(bytes2 code, bytes32 zone, bool allowed) external;

    /// @notice Sets the longest validity of a certificate (the registry's setMaxValidity).
    function setMaxValidity(uint40 maxValidity) external;

    // ------------------------------------------------------------------------------------------
    // Emergency (the KPGovernor)
    // ------------------------------------------------------------------------------------------

    /// @notice Suspends `code` at once for emergency proposal `proposalId`, which has `approvals`
    /// of the `threshold` it needs. Does nothing (returns false) when `code` is not Active or is
    /// under another emergency suspension.
    function applyEmergencySuspension(
        uint256 proposalId,
        bytes2 code,
        uint256 approvals,
        uint256 threshold
    ) external returns (bool applied);

    /// @notice Reinstates `code`, suspended in emergency by proposal `proposalId`, which failed.
    function liftEmergencySuspension(uint256 proposalId, bytes2 code) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The registry these seats govern.
    function registry() external view returns (address);

    /// @notice The KPGovernor that created these seats and votes with them.
    function governor() external view returns (address);

    /// @notice The participant whose seat `account` held at `timepoint` (Unix seconds), 0x0000
    /// when none.
    function seatOf(address account, uint256 timepoint) external view returns (bytes2);

    /// @notice Whether `code` held a seat (was Active) at `timepoint`.
    function isSeated(bytes2 code, uint256 timepoint) external view returns (bool);

    /// @notice The number of seats at `timepoint`.
    function seatCount(uint256 timepoint) external view returns (uint256);

    /// @notice The proposal whose emergency suspension of `code` is in effect (0 when none).
    function emergencySuspension(bytes2 code) external view returns (uint256 proposalId);

    /// @notice The semantic version of this contract.
    function version() external pure returns (string memory);
}
