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
    /// @param admin The account named as a new participant's admin.
    /// @param participant The participant it is the admin of already.
    error AdminOfAnotherParticipant(address admin, bytes2 participant);

    /// @notice Only the KPGovernor that created these seats may do this; `account` is not it.
    /// @param account The caller.
    error CallerNotGovernor(address account);

    /// @notice No emergency suspension of `code` by proposal `proposalId` is in effect.
    /// @param code The participant code.
    /// @param proposalId The proposal named.
    error EmergencySuspensionNotInEffect(bytes2 code, uint256 proposalId);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice The emergency suspension of `subject` proposed by `proposalId` took effect, with
    /// `approvals` of the `threshold` it needed.
    /// @param proposalId The emergency suspension proposal.
    /// @param subject The participant suspended.
    /// @param approvals The approvals the proposal had when the suspension took effect.
    /// @param threshold The approvals it needed to take effect.
    event EmergencySuspensionApplied(
        uint256 indexed proposalId, bytes2 indexed subject, uint256 approvals, uint256 threshold
    );

    /// @notice A decision on `subject`'s status was executed while the emergency suspension of
    /// `proposalId` was in effect: the decision stands, the emergency is over.
    /// @param proposalId The emergency suspension proposal.
    /// @param subject The participant.
    event EmergencySuspensionSettled(uint256 indexed proposalId, bytes2 indexed subject);

    /// @notice Proposal `proposalId` failed, so its emergency suspension of `subject` was lifted:
    /// `subject` is Active again.
    /// @param proposalId The emergency suspension proposal, failed.
    /// @param subject The participant reinstated.
    event EmergencySuspensionLifted(uint256 indexed proposalId, bytes2 indexed subject);

    // ------------------------------------------------------------------------------------------
    // Decisions (the owner: the governance timelock)
    // ------------------------------------------------------------------------------------------

    /// @notice Admits `code` with `admin` as its admin (the registry's admitParticipant).
    /// @param code The participant code.
    /// @param admin Its admin account, the admin of no other participant; it holds the new seat.
    function admitParticipant(bytes2 code, address admin) external;

    /// @notice Sets `code`'s status: suspends, reinstates, withdraws or readmits it.
    /// @param code The participant code.
    /// @param status The new status; its seat follows it (seated while Active).
    function setParticipantStatus(bytes2 code, IParticipantRegistry.ParticipantStatus status)
        external;

    /// @notice Suspends `code`. A proposal of this action is an emergency suspension: it can take
    /// effect before its vote ends (see the KPGovernor).
    /// @param code The participant code.
    function suspendInEmergency(bytes2 code) external;

    /// @notice Replaces `code`'s admin; an Active participant's seat moves to the new admin.
    /// @param code The participant code.
    /// @param admin The new admin account, the admin of no other participant.
    function setParticipantAdmin(bytes2 code, address admin) external;

    /// @notice Puts origin `code` under (or lifts) the restriction to allowed zones.
    /// @param code The participant code, as an origin.
    /// @param restricted Whether its certificates must name an allowed zone from now on.
    function setOriginRestriction(bytes2 code, bool restricted) external;

    /// @notice Allows or disallows `zone` as a zone of origin `code`.
    /// @param code The participant code, as an origin.
    /// @param zone The zone id, non-zero.
    /// @param allowed Whether certificates of origin `code` may name `zone` from now on.
    function setOriginZone(bytes2 code, bytes32 zone, bool allowed) external;

    /// @notice Sets the longest validity of a certificate (the registry's setMaxValidity).
    /// @param maxValidity The new maximum validity, in seconds.
    function setMaxValidity(uint40 maxValidity) external;

    /// @notice Sets how long after its expiry a shipment received in time may still be
    /// confirmed (the registry's setReceiptGracePeriod).
    /// @param receiptGracePeriod The new grace period, in seconds (zero: none).
    function setReceiptGracePeriod(uint40 receiptGracePeriod) external;

    // ------------------------------------------------------------------------------------------
    // Emergency (the KPGovernor)
    // ------------------------------------------------------------------------------------------

    /// @notice Suspends `code` at once for emergency proposal `proposalId`, which has `approvals`
    /// of the `threshold` it needs. Does nothing (returns false) when `code` is not Active or is
    /// under another emergency suspension.
    /// @dev Emits {EmergencySuspensionApplied} when it suspends.
    /// @param proposalId The emergency suspension proposal.
    /// @param code The participant it is about.
    /// @param approvals The proposal's approvals now.
    /// @param threshold The approvals it needs to take effect.
    /// @return applied Whether `code` was suspended.
    function applyEmergencySuspension(
        uint256 proposalId,
        bytes2 code,
        uint256 approvals,
        uint256 threshold
    ) external returns (bool applied);

    /// @notice Reinstates `code`, suspended in emergency by proposal `proposalId`, which failed.
    /// @dev Emits {EmergencySuspensionLifted}.
    /// @param proposalId The emergency suspension proposal, failed.
    /// @param code The participant it suspended.
    function liftEmergencySuspension(uint256 proposalId, bytes2 code) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The registry these seats govern.
    /// @return The CertificateRegistry address.
    function registry() external view returns (address);

    /// @notice The KPGovernor that created these seats and votes with them.
    /// @return The KPGovernor address.
    function governor() external view returns (address);

    /// @notice The participant whose seat `account` held at `timepoint` (Unix seconds), 0x0000
    /// when none.
    /// @param account The account.
    /// @param timepoint A time, in Unix seconds.
    /// @return The participant code, 0x0000 when `account` held no seat then.
    function seatOf(address account, uint256 timepoint) external view returns (bytes2);

    /// @notice Whether `code` held a seat (was Active) at `timepoint`.
    /// @param code The participant code.
    /// @param timepoint A time, in Unix seconds.
    /// @return Whether it was seated then.
    function isSeated(bytes2 code, uint256 timepoint) external view returns (bool);

    /// @notice The number of seats at `timepoint`.
    /// @param timepoint A time, in Unix seconds.
    /// @return The number of Active participants then.
    function seatCount(uint256 timepoint) external view returns (uint256);

    /// @notice The proposal whose emergency suspension of `code` is in effect (0 when none).
    /// @param code The participant code.
    /// @return proposalId The proposal, 0 when none.
    function emergencySuspension(bytes2 code) external view returns (uint256 proposalId);

    /// @notice The semantic version of this contract.
    /// @return The version, "MAJOR.MINOR.PATCH".
    function version() external pure returns (string memory);
}
