// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {ICertificateRegistry} from "../interfaces/ICertificateRegistry.sol";

/// @title ERC1271StateProbe
/// @notice A contract account that validates its owner's signatures only while the registry has
/// not marked certificate `watched` replaced.
/// @dev Test support only: the registry calls `isValidSignature` in the middle of `issue`, so
/// what this account reads there is the state the registry had written before the call. A
/// replacement of `watched` signed by this account is accepted only if `issue` marks `watched`
/// replaced after checking the signature.
contract ERC1271StateProbe is IERC1271 {
    address public immutable owner;
    ICertificateRegistry public immutable registry;
    bytes32 public immutable watched;

    constructor(address owner_, ICertificateRegistry registry_, bytes32 watched_) {
        owner = owner_;
        registry = registry_;
        watched = watched_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        bool valid = err == ECDSA.RecoverError.NoError && recovered == owner
            && !registry.certificate(watched).replaced;
        return valid ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
