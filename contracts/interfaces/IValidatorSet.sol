// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IValidatorSet
/// @notice The consortium's decision on who seals blocks: the validator accounts the KP agreed
/// on, changed only by governance (its owner is the governance timelock).
/// @dev The chain's own validator set (Besu QBFT) changes only when the validators vote for it
/// (`qbft_proposeValidatorVote`). This record is what they vote for: each participant's service
/// sees `ValidatorAdded` or `ValidatorRemoved` and proposes the same vote on its own node.
interface IValidatorSet {
    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice The zero address was given as a validator.
    error ValidatorZero();

    /// @notice `validator` is a validator already.
    /// @param validator The account to add.
    error ValidatorAlreadyAdded(address validator);

    /// @notice `validator` is not a validator.
    /// @param validator The account to remove.
    error ValidatorNotFound(address validator);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice The consortium decided that `validator` seals blocks.
    /// @param validator The validator account added.
    event ValidatorAdded(address indexed validator);

    /// @notice The consortium decided that `validator` no longer seals blocks.
    /// @param validator The validator account removed.
    event ValidatorRemoved(address indexed validator);

    // ------------------------------------------------------------------------------------------
    // Governance (the owner: the governance timelock)
    // ------------------------------------------------------------------------------------------

    /// @notice Records `validator` as a validator of the consortium.
    /// @dev Emits {ValidatorAdded}.
    /// @param validator The account, non-zero and not a validator yet.
    function addValidator(address validator) external;

    /// @notice Removes `validator` from the consortium's validators.
    /// @dev Emits {ValidatorRemoved}.
    /// @param validator The account, a validator.
    function removeValidator(address validator) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The validators, in no particular order.
    /// @return The validator accounts.
    function validators() external view returns (address[] memory);

    /// @notice Whether `account` is a validator.
    /// @param account The account.
    /// @return Whether the consortium decided that `account` seals blocks.
    function isValidator(address account) external view returns (bool);

    /// @notice The semantic version of this contract.
    /// @return The version, "MAJOR.MINOR.PATCH".
    function version() external pure returns (string memory);
}
