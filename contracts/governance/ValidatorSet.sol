// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IValidatorSet} from "../interfaces/IValidatorSet.sol";

/// @title ValidatorSet
/// @notice The validators the consortium decided on; owned by the governance timelock.
contract ValidatorSet is IValidatorSet, Ownable {
    using EnumerableSet for EnumerableSet.AddressSet;

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    EnumerableSet.AddressSet private _validators;

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    /// @param owner_ The governance timelock: the only account that changes the set.
    /// @param genesisValidators The validators of the chain's genesis, recorded (with an event
    /// each) so that the record starts as the chain does.
    constructor(address owner_, address[] memory genesisValidators) Ownable(owner_) {
        for (uint256 i = 0; i < genesisValidators.length; ++i) {
            _add(genesisValidators[i]);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Governance
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IValidatorSet
    function addValidator(address validator) external onlyOwner {
        _add(validator);
    }

    /// @inheritdoc IValidatorSet
    function removeValidator(address validator) external onlyOwner {
        if (!_validators.remove(validator)) revert ValidatorNotFound(validator);

        emit ValidatorRemoved(validator);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IValidatorSet
    function validators() external view returns (address[] memory) {
        return _validators.values();
    }

    /// @inheritdoc IValidatorSet
    function isValidator(address account) external view returns (bool) {
        return _validators.contains(account);
    }

    /// @inheritdoc IValidatorSet
    function version() external pure returns (string memory) {
        return "1.0.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------

    function _add(address validator) private {
        if (validator == address(0)) revert ValidatorZero();
        if (!_validators.add(validator)) revert ValidatorAlreadyAdded(validator);

        emit ValidatorAdded(validator);
    }
}
