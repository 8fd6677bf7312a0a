// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {ICertificateRegistry} from "../interfaces/ICertificateRegistry.sol";
import {IKPSeats} from "../interfaces/IKPSeats.sol";
import {IParticipantRegistry} from "../interfaces/IParticipantRegistry.sol";

/// @title KPSeats
/// @notice The seats of the KP's governance and the holder of the registry's GOVERNOR_ROLE.
/// @dev Created by the KPGovernor in its constructor (so the governor is `msg.sender`, with no
/// set-up call anyone could forget or race), owned by the governance timelock. Checkpoints are
/// keyed by the block time, the governor's clock. It takes the founding members as the registry
/// has them when it is created: the deployer admits them before it hands the roles over.
contract KPSeats is IKPSeats, Ownable {
    using Checkpoints for Checkpoints.Trace208;

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    address private immutable _registry;
    address private immutable _governor;

    // The seat an account holds: the code of the Active participant it is the admin of, or 0.
    mapping(address account => Checkpoints.Trace208) private _seats;
    // 1 while the participant is Active (seated), else 0.
    mapping(bytes2 code => Checkpoints.Trace208) private _seated;
    Checkpoints.Trace208 private _seatTotal;
    // The participant each account is the admin of, whatever its status (one at most).
    mapping(address account => bytes2 code) private _adminOf;
    mapping(bytes2 code => uint256 proposalId) private _emergencies;

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    /// @param registry_ The CertificateRegistry (ParticipantRegistry) to govern.
    /// @param timelock The governance timelock: the owner, which executes decisions.
    constructor(address registry_, address timelock) Ownable(timelock) {
        _registry = registry_;
        _governor = msg.sender;
        bytes2[] memory codes = IParticipantRegistry(registry_).participantCodes();
        for (uint256 i = 0; i < codes.length; ++i) {
            IParticipantRegistry.Participant memory founder =
                IParticipantRegistry(registry_).participant(codes[i]);
            _claimAdmin(founder.admin, codes[i]);
            if (founder.status == IParticipantRegistry.ParticipantStatus.Active) {
                _seat(codes[i], founder.admin, true);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Decisions
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IKPSeats
    function admitParticipant(bytes2 code, address admin) external onlyOwner {
        _claimAdmin(admin, code);
        // The registry checks the code, that it is new, and that the admin is not zero.
        IParticipantRegistry(_registry).admitParticipant(code, admin);
        _seat(code, admin, true);
    }

    /// @inheritdoc IKPSeats
    function setParticipantStatus(bytes2 code, IParticipantRegistry.ParticipantStatus status)
        external
        onlyOwner
    {
        _decideStatus(code, status);
    }

    /// @inheritdoc IKPSeats
    function suspendInEmergency(bytes2 code) external onlyOwner {
        _decideStatus(code, IParticipantRegistry.ParticipantStatus.Suspended);
    }

    /// @inheritdoc IKPSeats
    function setParticipantAdmin(bytes2 code, address admin) external onlyOwner {
        IParticipantRegistry.Participant memory current =
            IParticipantRegistry(_registry).participant(code);
        if (admin != current.admin) _claimAdmin(admin, code);
        // The registry checks that the participant exists and the account is not zero.
        IParticipantRegistry(_registry).setParticipantAdmin(code, admin);
        if (admin == current.admin) return;
        delete _adminOf[current.admin];
        if (current.status == IParticipantRegistry.ParticipantStatus.Active) {
            uint48 now_ = Time.timestamp();
            _seats[current.admin].push(now_, 0);
            _seats[admin].push(now_, uint16(code));
        }
    }

    /// @inheritdoc IKPSeats
    function setOriginRestriction(bytes2 code, bool restricted) external onlyOwner {
        IParticipantRegistry(_registry).setOriginRestriction(code, restricted);
    }

    /// @inheritdoc IKPSeats
    function setOriginZone(bytes2 code, bytes32 zone, bool allowed) external onlyOwner {
        IParticipantRegistry(_registry).setOriginZone(code, zone, allowed);
    }

    /// @inheritdoc IKPSeats
    function setMaxValidity(uint40 maxValidity) external onlyOwner {
        ICertificateRegistry(_registry).setMaxValidity(maxValidity);
    }

    /// @inheritdoc IKPSeats
    function setReceiptGracePeriod(uint40 receiptGracePeriod) external onlyOwner {
        ICertificateRegistry(_registry).setReceiptGracePeriod(receiptGracePeriod);
    }

    // ------------------------------------------------------------------------------------------
    // Emergency
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IKPSeats
    function applyEmergencySuspension(
        uint256 proposalId,
        bytes2 code,
        uint256 approvals,
        uint256 threshold
    ) external returns (bool) {
        _checkGovernor();
        if (_emergencies[code] != 0) return false;
        if (_status(code) != IParticipantRegistry.ParticipantStatus.Active) return false;

        _emergencies[code] = proposalId;
        _setStatus(code, IParticipantRegistry.ParticipantStatus.Suspended);

        emit EmergencySuspensionApplied(proposalId, code, approvals, threshold);
        return true;
    }

    /// @inheritdoc IKPSeats
    function liftEmergencySuspension(uint256 proposalId, bytes2 code) external {
        _checkGovernor();
        if (proposalId == 0 || _emergencies[code] != proposalId) {
            revert EmergencySuspensionNotInEffect(code, proposalId);
        }

        delete _emergencies[code];
        // Suspended still: any decision on its status meanwhile would have settled the emergency.
        _setStatus(code, IParticipantRegistry.ParticipantStatus.Active);

        emit EmergencySuspensionLifted(proposalId, code);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IKPSeats
    function registry() external view returns (address) {
        return _registry;
    }

    /// @inheritdoc IKPSeats
    function governor() external view returns (address) {
        return _governor;
    }

    /// @inheritdoc IKPSeats
    function seatOf(address account, uint256 timepoint) external view returns (bytes2) {
        return bytes2(uint16(_seats[account].upperLookupRecent(SafeCast.toUint48(timepoint))));
    }

    /// @inheritdoc IKPSeats
    function isSeated(bytes2 code, uint256 timepoint) external view returns (bool) {
        return _seated[code].upperLookupRecent(SafeCast.toUint48(timepoint)) != 0;
    }

    /// @inheritdoc IKPSeats
    function seatCount(uint256 timepoint) external view returns (uint256) {
        return _seatTotal.upperLookupRecent(SafeCast.toUint48(timepoint));
    }

    /// @inheritdoc IKPSeats
    function emergencySuspension(bytes2 code) external view returns (uint256) {
        return _emergencies[code];
    }

    /// @inheritdoc IKPSeats
    function version() external pure returns (string memory) {
        return "1.1.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------

    /// @dev A decision on `code`'s status ends an emergency suspension of it; a decision to
    /// suspend it then only confirms the suspension in effect.
    function _decideStatus(bytes2 code, IParticipantRegistry.ParticipantStatus status) private {
        uint256 emergency = _emergencies[code];
        if (emergency != 0) {
            delete _emergencies[code];
            emit EmergencySuspensionSettled(emergency, code);
            if (status == IParticipantRegistry.ParticipantStatus.Suspended) return;
        }
        _setStatus(code, status);
    }

    function _setStatus(bytes2 code, IParticipantRegistry.ParticipantStatus status) private {
        IParticipantRegistry.Participant memory current =
            IParticipantRegistry(_registry).participant(code);
        // The registry refuses an unknown participant, None and the status it has already.
        IParticipantRegistry(_registry).setParticipantStatus(code, status);
        bool active = status == IParticipantRegistry.ParticipantStatus.Active;
        if (active != (current.status == IParticipantRegistry.ParticipantStatus.Active)) {
            _seat(code, current.admin, active);
        }
    }

    function _seat(bytes2 code, address admin, bool seated) private {
        uint48 now_ = Time.timestamp();
        _seats[admin].push(now_, seated ? uint16(code) : 0);
        _seated[code].push(now_, seated ? 1 : 0);
        uint208 total = _seatTotal.latest();
        _seatTotal.push(now_, seated ? total + 1 : total - 1);
    }

    function _claimAdmin(address admin, bytes2 code) private {
        bytes2 held = _adminOf[admin];
        if (held != bytes2(0) && held != code) revert AdminOfAnotherParticipant(admin, held);
        _adminOf[admin] = code;
    }

    function _status(bytes2 code) private view returns (IParticipantRegistry.ParticipantStatus) {
        return IParticipantRegistry(_registry).participantStatus(code);
    }

    function _checkGovernor() private view {
        if (msg.sender != _governor) revert CallerNotGovernor(msg.sender);
    }
}
