// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title KPTimelock
/// @notice OpenZeppelin's TimelockController, unchanged: the executor of the KP's governance
/// decisions, which waits `getMinDelay()` seconds between a decision and its effect.
/// @dev Deployed with the deployer as a temporary admin, which grants the proposer, canceller
/// and executor roles to the KPGovernor and then renounces: afterwards the timelock administers
/// itself (its DEFAULT_ADMIN_ROLE is held by its own address alone), so only a proposal can
/// change its roles or its delay.
contract KPTimelock is TimelockController {
    /// @param minDelay Seconds between queueing a decision and executing it.
    /// @param proposers Accounts that may schedule and cancel (the KPGovernor).
    /// @param executors Accounts that may execute (the KPGovernor; address(0) for anyone).
    /// @param admin A temporary admin for the set-up, or address(0) for none.
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}

    /// @notice The semantic version of this contract.
    function version() external pure returns (string memory) {
        return "1.0.0";
    }
}
