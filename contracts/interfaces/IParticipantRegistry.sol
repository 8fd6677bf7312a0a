// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IParticipantRegistry
/// @notice The Kimberley Process participants, their status, their origin restrictions and the
/// authority accounts that act for them. Governance (the KP Chair and Secretariat, holding
/// GOVERNOR_ROLE) admits participants and changes their status, admin and zones; each
/// participant's admin adds and revokes that participant's authority accounts, so keys rotate
/// without a governance decision. An authority account acts for exactly one participant. Each
/// participant's admin also registers the participant's service endpoint and document
/// encryption key, to which other participants' services deliver the private half of the
/// certificates it imports.
/// @dev Every change emits an event, so the key set valid at any block can be rebuilt from logs.
interface IParticipantRegistry {
    // ------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------

    /// @notice A participant's standing in the KP. Trade is allowed only between Active ones.
    enum ParticipantStatus {
        None, // not a participant
        Active, // may trade
        Suspended, // barred from trade by a KP decision; may be reinstated
        Withdrawn // left the KP; may be readmitted by setting Active again
    }

    /// @notice What the registry keeps of a participant (one storage slot).
    struct Participant {
        ParticipantStatus status; // standing in the KP
        bool originRestricted; // true: certificates of this origin must name an allowed zone
        address admin; // account that adds and revokes this participant's authorities
        uint40 admittedAt; // Unix seconds of admission
    }

    /// @notice Where a participant's service takes the documents of the certificates it
    /// imports, and the key they are encrypted to.
    struct ServiceEndpoint {
        string url; // base URL of the participant's kpchain service; empty when none
        bytes32 encryptionKey; // X25519 public key; zero when none
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice `code` is not two upper-case ASCII letters (ISO 3166-1 alpha-2, or "EU").
    /// @param code The participant code refused.
    error ParticipantCodeInvalid(bytes2 code);

    /// @notice `code` has already been admitted.
    /// @param code The participant code.
    error ParticipantAlreadyAdmitted(bytes2 code);

    /// @notice `code` has never been admitted.
    /// @param code The participant code.
    error ParticipantNotFound(bytes2 code);

    /// @notice `status` cannot be set on a participant (None), or it already has it.
    /// @param code The participant code.
    /// @param status The status asked for.
    error ParticipantStatusUnchanged(bytes2 code, ParticipantStatus status);

    /// @notice The zero address was given where an account is required.
    error AccountZero();

    /// @notice `account` is not the admin of `participant`.
    /// @param account The caller.
    /// @param participant The participant whose admin the operation needs.
    error ParticipantAdminUnauthorized(address account, bytes2 participant);

    /// @notice `account` is already an authority, of `participant`.
    /// @param account The account to add.
    /// @param participant The participant it is an authority of already (perhaps another one).
    error AuthorityAlreadyRegistered(address account, bytes2 participant);

    /// @notice `account` is not an authority of `participant`.
    /// @param account The account to revoke.
    /// @param participant The participant it was to be revoked from.
    error AuthorityNotRegistered(address account, bytes2 participant);

    /// @notice The zero zone id was given; zones are non-zero bytes32 ids.
    error OriginZoneZero();

    /// @notice An empty service endpoint URL was given for `participant`.
    /// @param participant The participant code.
    error ServiceEndpointUrlEmpty(bytes2 participant);

    /// @notice The service endpoint URL for `participant` is `length` bytes, over the maximum.
    /// @param participant The participant code.
    /// @param length The URL's length in bytes, over {MAX_SERVICE_ENDPOINT_LENGTH}.
    error ServiceEndpointUrlTooLong(bytes2 participant, uint256 length);

    /// @notice The zero encryption key was given for `participant`.
    /// @param participant The participant code.
    error EncryptionKeyZero(bytes2 participant);

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice `code` was admitted as an Active participant with `admin` as its admin.
    /// @param code The participant code.
    /// @param admin Its admin account.
    event ParticipantAdmitted(bytes2 indexed code, address indexed admin);

    /// @notice `code`'s status changed from `previous` to `status`.
    /// @param code The participant code.
    /// @param previous Its status before.
    /// @param status Its status now.
    event ParticipantStatusChanged(
        bytes2 indexed code, ParticipantStatus previous, ParticipantStatus status
    );

    /// @notice `code`'s admin changed from `previous` to `admin`.
    /// @param code The participant code.
    /// @param previous Its admin account before.
    /// @param admin Its admin account now.
    event ParticipantAdminChanged(bytes2 indexed code, address indexed previous, address indexed admin);

    /// @notice Certificates of origin `code` must (`restricted`) or need not name an allowed zone.
    /// @param code The participant code, as an origin.
    /// @param restricted Whether its certificates must name an allowed zone.
    event OriginRestrictionChanged(bytes2 indexed code, bool restricted);

    /// @notice Zone `zone` of origin `code` was allowed (`allowed`) or disallowed.
    /// @param code The participant code, as an origin.
    /// @param zone The zone id.
    /// @param allowed Whether certificates of origin `code` may name `zone` now.
    event OriginZoneChanged(bytes2 indexed code, bytes32 indexed zone, bool allowed);

    /// @notice `account` became an authority of `participant`, added by `admin`.
    /// @param participant The participant code.
    /// @param account The new authority account.
    /// @param admin The participant's admin, who added it.
    event AuthorityAdded(bytes2 indexed participant, address indexed account, address indexed admin);

    /// @notice `account` stopped being an authority of `participant`, revoked by `admin`.
    /// @param participant The participant code.
    /// @param account The revoked authority account.
    /// @param admin The participant's admin, who revoked it.
    event AuthorityRevoked(bytes2 indexed participant, address indexed account, address indexed admin);

    /// @notice `code`'s service now answers at `url` and takes documents encrypted to
    /// `encryptionKey` (replacing any earlier endpoint and key: a key rotation).
    /// @param code The participant code.
    /// @param url The base URL of its kpchain service.
    /// @param encryptionKey The X25519 public key documents for it are encrypted to.
    event ServiceEndpointSet(bytes2 indexed code, string url, bytes32 encryptionKey);

    // ------------------------------------------------------------------------------------------
    // Governance (GOVERNOR_ROLE)
    // ------------------------------------------------------------------------------------------

    /// @notice Admits `code` as an Active participant whose authorities `admin` manages.
    /// @dev Emits {ParticipantAdmitted}.
    /// @param code ISO 3166-1 alpha-2 code as ASCII bytes ("BW"); the EU is one participant, "EU".
    /// @param admin The participant's admin account (a national key or multisig).
    function admitParticipant(bytes2 code, address admin) external;

    /// @notice Sets `code`'s status (suspend, reinstate, withdraw, readmit).
    /// @dev Emits {ParticipantStatusChanged}.
    /// @param code The participant code, admitted.
    /// @param status The new status: not None, and not the current one.
    function setParticipantStatus(bytes2 code, ParticipantStatus status) external;

    /// @notice Replaces `code`'s admin, for instance after the admin key was lost.
    /// @dev Emits {ParticipantAdminChanged}.
    /// @param code The participant code, admitted.
    /// @param admin The new admin account.
    function setParticipantAdmin(bytes2 code, address admin) external;

    /// @notice Puts origin `code` under (or lifts) the restriction to allowed zones.
    /// @dev Emits {OriginRestrictionChanged}.
    /// @param code The participant code, admitted, as an origin.
    /// @param restricted Whether its certificates must name an allowed zone from now on.
    function setOriginRestriction(bytes2 code, bool restricted) external;

    /// @notice Allows or disallows `zone` as a zone of origin `code` (the CAR "compliant zones").
    /// @dev Emits {OriginZoneChanged}.
    /// @param code The participant code, admitted, as an origin.
    /// @param zone The zone id, non-zero.
    /// @param allowed Whether certificates of origin `code` may name `zone` from now on.
    function setOriginZone(bytes2 code, bytes32 zone, bool allowed) external;

    // ------------------------------------------------------------------------------------------
    // Participant admin
    // ------------------------------------------------------------------------------------------

    /// @notice Makes `account` an authority of participant `code`. Only that participant's admin.
    /// @dev An account acts for one participant at a time; a revoked account may be added again.
    /// Emits {AuthorityAdded}.
    /// @param code The participant code.
    /// @param account The account to add, not an authority of any participant.
    function addAuthority(bytes2 code, address account) external;

    /// @notice Revokes `account` as an authority of participant `code`. Only that participant's admin.
    /// @dev Emits {AuthorityRevoked}.
    /// @param code The participant code.
    /// @param account The account to revoke, an authority of `code`.
    function revokeAuthority(bytes2 code, address account) external;

    /// @notice Registers participant `code`'s service endpoint and document encryption key.
    /// Only that participant's admin. Setting them again replaces both: a key rotation, without
    /// governance (documents already delivered stay readable by the keys their service keeps).
    /// @dev Emits {ServiceEndpointSet}.
    /// @param code The participant.
    /// @param url The base URL of the participant's kpchain service (https in production),
    /// 1 to MAX_SERVICE_ENDPOINT_LENGTH bytes; other services POST documents under it.
    /// @param encryptionKey The X25519 public key documents for `code` are encrypted to.
    function setServiceEndpoint(bytes2 code, string calldata url, bytes32 encryptionKey) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The role that admits participants and changes their status, admin and zones.
    /// @return keccak256("GOVERNOR_ROLE").
    function GOVERNOR_ROLE() external view returns (bytes32);

    /// @notice What the registry keeps of `code` (status None when it was never admitted).
    /// @param code The participant code.
    /// @return The participant's record.
    function participant(bytes2 code) external view returns (Participant memory);

    /// @notice `code`'s status (None when it was never admitted).
    /// @param code The participant code.
    /// @return The participant's status.
    function participantStatus(bytes2 code) external view returns (ParticipantStatus);

    /// @notice Every admitted participant code, in admission order.
    /// @return The codes, whatever their status now.
    function participantCodes() external view returns (bytes2[] memory);

    /// @notice The current authority accounts of `code`.
    /// @param code The participant code.
    /// @return The accounts, in no particular order.
    function authoritiesOf(bytes2 code) external view returns (address[] memory);

    /// @notice The participant `code` that `account` is an authority of (0x0000 when none), and
    /// that participant's status.
    /// @param account The account.
    /// @return code The participant it acts for, 0x0000 when none.
    /// @return status That participant's status (None when `code` is 0x0000).
    function authorityStatus(address account)
        external
        view
        returns (bytes2 code, ParticipantStatus status);

    /// @notice Whether `account` is currently an authority of `code`.
    /// @param code The participant code.
    /// @param account The account.
    /// @return Whether `account` acts for `code` (false for the code 0x0000).
    function isAuthority(bytes2 code, address account) external view returns (bool);

    /// @notice Whether a certificate of origin `origin` may name `zone`: true when the origin is
    /// not restricted, or when `zone` is one of its allowed zones.
    /// @param origin The participant code, as an origin.
    /// @param zone The zone id.
    /// @return Whether a certificate may name `zone` for `origin`.
    function isOriginAllowed(bytes2 origin, bytes32 zone) external view returns (bool);

    /// @notice Whether `zone` is an allowed zone of origin `code`.
    /// @param code The participant code, as an origin.
    /// @param zone The zone id.
    /// @return Whether `zone` is allowed, restricted origin or not.
    function isOriginZone(bytes2 code, bytes32 zone) external view returns (bool);

    /// @notice The longest service endpoint URL, in bytes, `setServiceEndpoint` accepts.
    /// @return 256.
    function MAX_SERVICE_ENDPOINT_LENGTH() external view returns (uint256);

    /// @notice `code`'s service endpoint and document encryption key (an empty URL and a zero key
    /// when it has registered none).
    /// @param code The participant code.
    /// @return The endpoint URL and encryption key.
    function serviceEndpoint(bytes2 code) external view returns (ServiceEndpoint memory);

    /// @notice The semantic version of this contract.
    /// @return The version, "MAJOR.MINOR.PATCH".
    function version() external pure returns (string memory);
}
