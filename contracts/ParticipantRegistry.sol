// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";

/// @title ParticipantRegistry
/// @notice The KP participants, their standing, origin restrictions and authority accounts.
/// @dev CertificateRegistry extends this contract, so that authorising an operation is an internal
/// read rather than a call to another contract (which costs a cold account access, 2,600 gas, and
/// the call itself on every operation). One address then serves both interfaces.
contract ParticipantRegistry is IParticipantRegistry, AccessControl {
    using EnumerableSet for EnumerableSet.AddressSet;

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IParticipantRegistry
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");

    /// @inheritdoc IParticipantRegistry
    uint256 public constant MAX_SERVICE_ENDPOINT_LENGTH = 256;

    mapping(bytes2 code => Participant) private _participants;
    bytes2[] private _codes;
    mapping(bytes2 code => EnumerableSet.AddressSet) private _authorities;
    // The reverse of _authorities: one participant per account, so a key never acts for two.
    mapping(address account => bytes2 code) private _authorityParticipant;
    mapping(bytes2 code => mapping(bytes32 zone => bool)) private _originZones;
    mapping(bytes2 code => ServiceEndpoint) private _serviceEndpoints;

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    /// @param governor The KP Chair/Secretariat account (or multisig): admin of roles and governor.
    constructor(address governor) {
        if (governor == address(0)) revert AccountZero();
        _grantRole(DEFAULT_ADMIN_ROLE, governor);
        _grantRole(GOVERNOR_ROLE, governor);
    }

    // ------------------------------------------------------------------------------------------
    // Governance
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IParticipantRegistry
    function admitParticipant(bytes2 code, address admin) external onlyRole(GOVERNOR_ROLE) {
        if (!_isValidCode(code)) revert ParticipantCodeInvalid(code);
        if (_participants[code].status != ParticipantStatus.None) {
            revert ParticipantAlreadyAdmitted(code);
        }
        if (admin == address(0)) revert AccountZero();

        _participants[code] = Participant({
            status: ParticipantStatus.Active,
            originRestricted: false,
            admin: admin,
            admittedAt: uint40(block.timestamp)
        });
        _codes.push(code);

        emit ParticipantAdmitted(code, admin);
    }

    /// @inheritdoc IParticipantRegistry
    function setParticipantStatus(bytes2 code, ParticipantStatus status)
        external
        onlyRole(GOVERNOR_ROLE)
    {
        Participant storage record = _existing(code);
        ParticipantStatus previous = record.status;
        if (status == ParticipantStatus.None || status == previous) {
            revert ParticipantStatusUnchanged(code, status);
        }

        record.status = status;

        emit ParticipantStatusChanged(code, previous, status);
    }

    /// @inheritdoc IParticipantRegistry
    function setParticipantAdmin(bytes2 code, address admin) external onlyRole(GOVERNOR_ROLE) {
        Participant storage record = _existing(code);
        if (admin == address(0)) revert AccountZero();
        address previous = record.admin;

        record.admin = admin;

        emit ParticipantAdminChanged(code, previous, admin);
    }

    /// @inheritdoc IParticipantRegistry
    function setOriginRestriction(bytes2 code, bool restricted) external onlyRole(GOVERNOR_ROLE) {
        Participant storage record = _existing(code);

        record.originRestricted = restricted;

        emit OriginRestrictionChanged(code, restricted);
    }

    /// @inheritdoc IParticipantRegistry
    function setOriginZone(bytes2 code, bytes32 zone, bool allowed)
        external
        onlyRole(GOVERNOR_ROLE)
    {
        _existing(code);
        if (zone == bytes32(0)) revert OriginZoneZero();

        _originZones[code][zone] = allowed;

        emit OriginZoneChanged(code, zone, allowed);
    }

    // ------------------------------------------------------------------------------------------
    // Participant admin
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IParticipantRegistry
    function addAuthority(bytes2 code, address account) external {
        _checkParticipantAdmin(code);
        if (account == address(0)) revert AccountZero();
        bytes2 current = _authorityParticipant[account];
        if (current != bytes2(0)) revert AuthorityAlreadyRegistered(account, current);

        _authorityParticipant[account] = code;
        _authorities[code].add(account);

        emit AuthorityAdded(code, account, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function revokeAuthority(bytes2 code, address account) external {
        _checkParticipantAdmin(code);
        if (_authorityParticipant[account] != code) {
            revert AuthorityNotRegistered(account, code);
        }

        delete _authorityParticipant[account];
        _authorities[code].remove(account);

        emit AuthorityRevoked(code, account, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function setServiceEndpoint(bytes2 code, string calldata url, bytes32 encryptionKey)
        external
    {
        _checkParticipantAdmin(code);
        uint256 length = bytes(url).length;
        if (length == 0) revert ServiceEndpointUrlEmpty(code);
        if (length > MAX_SERVICE_ENDPOINT_LENGTH) revert ServiceEndpointUrlTooLong(code, length);
        if (encryptionKey == bytes32(0)) revert EncryptionKeyZero(code);

        _serviceEndpoints[code] = ServiceEndpoint({url: url, encryptionKey: encryptionKey});

        emit ServiceEndpointSet(code, url, encryptionKey);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc IParticipantRegistry
    function participant(bytes2 code) external view returns (Participant memory) {
        return _participants[code];
    }

    /// @inheritdoc IParticipantRegistry
    function participantStatus(bytes2 code) external view returns (ParticipantStatus) {
        return _participantStatus(code);
    }

    /// @inheritdoc IParticipantRegistry
    function participantCodes() external view returns (bytes2[] memory) {
        return _codes;
    }

    /// @inheritdoc IParticipantRegistry
    function authoritiesOf(bytes2 code) external view returns (address[] memory) {
        return _authorities[code].values();
    }

    /// @inheritdoc IParticipantRegistry
    function authorityStatus(address account)
        external
        view
        returns (bytes2 code, ParticipantStatus status)
    {
        return _authorityStatus(account);
    }

    /// @inheritdoc IParticipantRegistry
    function isAuthority(bytes2 code, address account) external view returns (bool) {
        return code != bytes2(0) && _authorityParticipant[account] == code;
    }

    /// @inheritdoc IParticipantRegistry
    function isOriginAllowed(bytes2 origin, bytes32 zone) external view returns (bool) {
        return _isOriginAllowed(origin, zone);
    }

    /// @inheritdoc IParticipantRegistry
    function isOriginZone(bytes2 code, bytes32 zone) external view returns (bool) {
        return _originZones[code][zone];
    }

    /// @inheritdoc IParticipantRegistry
    function serviceEndpoint(bytes2 code) external view returns (ServiceEndpoint memory) {
        return _serviceEndpoints[code];
    }

    /// @inheritdoc IParticipantRegistry
    function version() external pure virtual returns (string memory) {
        return "1.0.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internal
    // ------------------------------------------------------------------------------------------

    /// @dev The participant `account` acts for (0x0000 when none) and that participant's status.
    function _authorityStatus(address account)
        internal
        view
        returns (bytes2 code, ParticipantStatus status)
    {
        code = _authorityParticipant[account];
        if (code != bytes2(0)) status = _participants[code].status;
    }

    /// @dev The participant `account` acts for (0x0000 when none), without reading its status.
    function _participantOf(address account) internal view returns (bytes2) {
        return _authorityParticipant[account];
    }

    /// @dev `code`'s status (None when it was never admitted).
    function _participantStatus(bytes2 code) internal view returns (ParticipantStatus) {
        return _participants[code].status;
    }

    /// @dev True when `origin` is not restricted, or `zone` is one of its allowed zones.
    function _isOriginAllowed(bytes2 origin, bytes32 zone) internal view returns (bool) {
        return !_participants[origin].originRestricted || _originZones[origin][zone];
    }

    function _existing(bytes2 code) private view returns (Participant storage record) {
        record = _participants[code];
        if (record.status == ParticipantStatus.None) revert ParticipantNotFound(code);
    }

    function _checkParticipantAdmin(bytes2 code) private view {
        if (_existing(code).admin != msg.sender) {
            revert ParticipantAdminUnauthorized(msg.sender, code);
        }
    }

    /// @dev Two upper-case ASCII letters: ISO 3166-1 alpha-2, which also covers "EU".
    function _isValidCode(bytes2 code) private pure returns (bool) {
        return _isUpper(code[0]) && _isUpper(code[1]);
    }

    function _isUpper(bytes1 char) private pure returns (bool) {
        return char >= 0x41 && char <= 0x5A;
    }
}
