// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICertificateRegistry
/// @notice The lifecycle of Kimberley Process certificates: issued and validated by the exporting
/// authority, shipped, then received or rejected by the importing authority; cancelled before
/// shipping, or withdrawn in transit once the importer is no longer Active; read as Expired once
/// past their expiry. A certificate may be valid for at most {maxValidity} seconds.
/// @dev Implemented by a contract that is also the IParticipantRegistry it authorises against.
/// On-chain state is one storage slot per certificate. The document itself (KPCS Annex I)
/// travels in calldata and in {CertificateIssued}; its EIP-712 hash is computed here from the
/// fields given, so the indexed fields and the signed hash can never disagree.
///
/// Batching: the implementation is also an OpenZeppelin `Multicall`, whose
/// `multicall(bytes[] calldata data) returns (bytes[] memory results)` runs each element of
/// `data` (the ABI-encoded call of one of this contract's functions) in order, as a
/// `delegatecall` to itself, and returns each call's return data. One authority's several
/// operations ({issue}, {issueBatch}, {ship}, {confirmReceipt}, {reject}, {cancel},
/// {withdrawShipment}) then go in one transaction and share its 21,000 gas and its receipt; each
/// still emits its own event. Every call keeps `msg.sender` and is authorised exactly as if it
/// were sent alone, so a batch can do nothing its sender could not do call by call (a
/// governance-only function in it reverts for anyone without GOVERNOR_ROLE).
/// A batch is all or nothing: one reverting call reverts the whole batch, with that call's
/// custom error bubbled up unchanged, and undoes the effects and events of the calls before it.
/// A client that batches independent requests therefore simulates each call first (`eth_call`
/// or `eth_estimateGas` from the same sender) and batches only those that pass: the kpchain
/// service does. `multicall` is declared by OpenZeppelin's contract, not here: two declarations
/// would need an override, and an override cannot call an external base function.
interface ICertificateRegistry {
    // ------------------------------------------------------------------------------------------
    // Types
    // ------------------------------------------------------------------------------------------

    /// @notice A certificate's status. Expired is never stored: Issued or Shipped read as Expired
    /// once `block.timestamp` is past `expiresAt`.
    enum CertificateStatus {
        None, // no certificate with this number
        Issued, // validated by the exporting authority
        Shipped, // sealed and dispatched; the importing authority's advance notice
        Received, // the importing authority confirmed receipt (the KP import confirmation)
        Rejected, // the importing authority refused it
        Cancelled, // cancelled by the exporting authority before shipping, or withdrawn in transit
        Expired // Issued or Shipped past its expiry (derived, never stored)
    }

    /// @notice Why an importing authority rejected a shipment.
    enum RejectionReason {
        Discrepancy, // content differs from the certificate
        SealBroken, // the tamper-resistant container arrived opened
        Expired, // the certificate expired in transit
        SuspectedForgery, // the certificate is suspected forged (report to the KP Chair and WGM)
        Other // see the importing authority's records
    }

    /// @notice Why an exporting authority withdrew a shipment in transit to a participant that is
    /// no longer Active.
    enum WithdrawalReason {
        Returned, // the goods came back to the exporter
        Seized, // the goods were seized or are held in transit (customs, the carrier)
        Lost, // the goods were lost or destroyed in transit
        Other // see the exporting authority's records
    }

    /// @notice One HS-code line of a shipment, and the origin of its goods when it differs from
    /// the certificate's: a certificate may carry lines of several origins.
    /// @dev A line whose `origin`, `provenance` and `originZone` are all zero is of the
    /// certificate's origin (a certificate of one origin has only such lines). Otherwise the
    /// line states its own origin, checked as the certificate's is: an ISO code with no
    /// provenance (and an allowed zone where that origin is restricted), or 0x0000 (mixed) with
    /// a provenance.
    struct Line {
        uint32 hsCode; // 710210 (unsorted), 710221 (industrial) or 710231 (non-industrial)
        uint64 carats; // hundredths of a carat
        uint64 valueUsdCents; // US cents
        uint32 parcels; // number of parcels
        bytes2 origin; // ISO code of this line's origin; 0x0000: mixed, or the certificate's
        bytes2 provenance; // mixed line: the last participant exported from; otherwise 0x0000
        bytes32 originZone; // this line's zone of origin (zero when none, or the certificate's)
    }

    /// @notice The certificate document: every Annex I element, with exporter and importer
    /// identities as salted hashes. Its EIP-712 hash is the certificate's `docHash`.
    struct Certificate {
        bytes32 certNo; // printable ASCII, left-aligned, starting with the exporter's code
        bytes2 exportingParticipant; // ISO code of the exporting participant
        bytes2 importingParticipant; // ISO code of the importing participant
        bytes2 origin; // ISO code of the country of origin; 0x0000 for mixed origin
        bytes2 provenance; // mixed origin: the last participant exported from; otherwise 0x0000
        bytes32 originZone; // zone of origin: required (an allowed one) if the origin is restricted
        bytes32 exporterHash; // keccak256 of the salted exporter identity (name, address, licence)
        bytes32 importerHash; // keccak256 of the salted importer identity (name, address, licence)
        Line[] lines; // at least one HS-code line
        uint40 issuedAt; // Unix seconds, date of issue
        uint40 expiresAt; // Unix seconds; the certificate is expired once block time passes it
        string issuingAuthority; // name of the issuing authority
        bytes32 replaces; // number of the cancelled or rejected certificate it replaces; else zero
    }

    /// @notice The importing authority's confirmation of receipt.
    struct Confirmation {
        uint32 parcels; // parcels received
        uint64 carats; // hundredths of a carat received
        uint40 receivedAt; // Unix seconds, date of receipt
        bytes32 confirmationHash; // hash of the full confirmation document kept by the importer
    }

    /// @notice What the chain keeps of a certificate: one storage slot, its members packed in
    /// this order from the lowest-order byte (the implementation writes a new record as one
    /// word, so reordering them is a storage change; a test compares solc's layout with it).
    struct CertificateRecord {
        bytes2 exportingParticipant; // ISO code of the exporting participant
        bytes2 importingParticipant; // ISO code of the importing participant
        CertificateStatus status; // stored status (never Expired)
        bool replaced; // a later certificate names this one in `replaces`
        uint40 expiresAt; // Unix seconds
        bytes21 docHashPrefix; // first 21 bytes of the document's EIP-712 hash
    }

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice No certificate numbered `certNo` exists.
    /// @param certNo The certificate number asked for.
    error CertificateNotFound(bytes32 certNo);

    /// @notice A certificate numbered `certNo` exists already; numbers are unique forever.
    /// @param certNo The certificate number, taken.
    error CertificateAlreadyExists(bytes32 certNo);

    /// @notice `certNo` is not printable ASCII (no spaces), left-aligned and zero-padded, starting
    /// with `exportingParticipant`'s code.
    /// @param certNo The certificate number refused.
    /// @param exportingParticipant The participant issuing it, whose code must start it.
    error CertificateNumberInvalid(bytes32 certNo, bytes2 exportingParticipant);

    /// @notice `certNo` is in `status`, and the operation needs `required`.
    /// @param certNo The certificate number.
    /// @param status Its stored status.
    /// @param required The status the operation needs.
    error CertificateStatusInvalid(bytes32 certNo, CertificateStatus status, CertificateStatus required);

    /// @notice `certNo` expired at `expiresAt` (for a receipt: and the receipt is dated after
    /// it, or the grace period after it is over too).
    /// @param certNo The certificate number.
    /// @param expiresAt Its expiry, in Unix seconds, before the block's time.
    error CertificateExpired(bytes32 certNo, uint40 expiresAt);

    /// @notice Expiry `expiresAt` is not in the future, or is before issue date `issuedAt`.
    /// @param issuedAt The document's date of issue, in Unix seconds.
    /// @param expiresAt The document's expiry, in Unix seconds.
    error CertificateDatesInvalid(uint40 issuedAt, uint40 expiresAt);

    /// @notice `certNo` would be valid for `validity` seconds (`expiresAt - issuedAt`), more than
    /// the `maxValidity` the registry allows.
    /// @param certNo The certificate number.
    /// @param validity The document's validity, in seconds.
    /// @param maxValidity The longest validity the registry allows now, in seconds.
    error CertificateValidityTooLong(bytes32 certNo, uint40 validity, uint40 maxValidity);

    /// @notice A maximum validity must be at least one second.
    /// @param maxValidity The maximum validity refused, in seconds (zero).
    error MaxValidityInvalid(uint40 maxValidity);

    /// @notice A certificate must have at least one HS-code line.
    /// @param certNo The certificate number of the document without lines.
    error CertificateLinesEmpty(bytes32 certNo);

    /// @notice Line `index` has an HS code outside 7102.10/.21/.31, or a zero quantity.
    /// @param certNo The certificate number.
    /// @param index The position of the first invalid line in `lines`, from zero.
    error CertificateLineInvalid(bytes32 certNo, uint256 index);

    /// @notice Mixed origin (0x0000) needs a provenance, and an unmixed one must have none.
    /// @param origin The document's origin.
    /// @param provenance The document's provenance.
    error CertificateOriginInvalid(bytes2 origin, bytes2 provenance);

    /// @notice Origin `origin` is restricted to allowed zones, and `zone` is not one of them.
    /// @param origin The document's origin, a restricted one.
    /// @param zone The document's zone of origin.
    error OriginZoneNotAllowed(bytes2 origin, bytes32 zone);

    /// @notice Line `index` states an origin inconsistently: an ISO origin with a provenance, or
    /// a zone of origin with neither origin nor provenance.
    /// @param certNo The certificate number.
    /// @param index The position of the line in `lines`, from zero.
    /// @param origin The line's origin.
    /// @param provenance The line's provenance.
    error LineOriginInvalid(bytes32 certNo, uint256 index, bytes2 origin, bytes2 provenance);

    /// @notice Line `index`'s origin `origin` is restricted to allowed zones, and `zone` is not
    /// one of them.
    /// @param certNo The certificate number.
    /// @param index The position of the line in `lines`, from zero.
    /// @param origin The line's origin, a restricted one.
    /// @param zone The line's zone of origin.
    error LineOriginZoneNotAllowed(bytes32 certNo, uint256 index, bytes2 origin, bytes32 zone);

    /// @notice The document of `certNo` is dated `issuedAt`, a day that has not begun anywhere
    /// yet: more than {MAX_ISSUE_DATE_LEAD} after the block's time.
    /// @param certNo The certificate number.
    /// @param issuedAt The document's date of issue, in Unix seconds (00:00 UTC that day).
    error CertificateIssueDateInFuture(bytes32 certNo, uint40 issuedAt);

    /// @notice The exporting and importing participant are the same.
    /// @param code The participant named as both.
    error ParticipantsIdentical(bytes2 code);

    /// @notice `code` is not an Active participant.
    /// @param code The participant, Suspended, Withdrawn or never admitted.
    error ParticipantNotActive(bytes2 code);

    /// @notice `account` is not an authority of `participant`.
    /// @param account The caller, or the signer it named.
    /// @param participant The participant the operation needs an authority of.
    error UnauthorizedAuthority(address account, bytes2 participant);

    /// @notice `signature` is not `signer`'s valid signature over the document of `certNo`.
    /// @param certNo The certificate number.
    /// @param signer The account named as the document's signer.
    error DocumentSignatureInvalid(bytes32 certNo, address signer);

    /// @notice `replaces` is neither Cancelled nor Rejected, belongs to another exporting
    /// participant, or was replaced already.
    /// @param certNo The number of the replacing certificate.
    /// @param replaces The number of the certificate it names in `replaces`.
    error ReplacementInvalid(bytes32 certNo, bytes32 replaces);

    /// @notice A confirmation of receipt needs a non-zero number of parcels and carats.
    /// @param certNo The certificate number.
    error ConfirmationInvalid(bytes32 certNo);

    /// @notice The receipt of `certNo` is dated `receivedAt`, after the block's time.
    /// @param certNo The certificate number.
    /// @param receivedAt The date of receipt given, in Unix seconds.
    error ReceiptDateInFuture(bytes32 certNo, uint40 receivedAt);

    /// @notice `importingParticipant` is Active: it receives or rejects `certNo` itself, so the
    /// exporting authority may not withdraw the shipment.
    /// @param certNo The certificate number.
    /// @param importingParticipant Its importing participant, Active.
    error ImporterStillActive(bytes32 certNo, bytes2 importingParticipant);

    /// @notice A batch needs at least one certificate and one signature per certificate.
    /// @param certificates The number of certificates given.
    /// @param signatures The number of signatures given.
    error BatchInvalid(uint256 certificates, uint256 signatures);

    // ------------------------------------------------------------------------------------------
    // Events (the indexer's API: one per operation, indexed by number and both participants)
    // ------------------------------------------------------------------------------------------

    /// @notice A certificate was issued, validated by `signer`'s signature over `docHash`. The
    /// event carries every field of the {Certificate} document (the three indexed ones as
    /// topics), so an indexer rebuilds the document and checks `docHash` from logs alone. The
    /// submitting authority is the transaction's sender.
    /// @param certNo The certificate number.
    /// @param exportingParticipant The exporting participant.
    /// @param importingParticipant The importing participant.
    /// @param docHash The document's EIP-712 hash, all 32 bytes (the record keeps 21).
    /// @param signer The authority whose signature over `docHash` validated it.
    /// @param origin The document's origin (0x0000 for mixed origin).
    /// @param provenance The document's provenance (0x0000 unless the origin is mixed).
    /// @param originZone The document's zone of origin (zero when none).
    /// @param exporterHash The hash of the salted exporter identity.
    /// @param importerHash The hash of the salted importer identity.
    /// @param lines The document's HS-code lines, each with its own origin when it has one.
    /// @param issuedAt The document's date of issue, in Unix seconds.
    /// @param expiresAt The document's expiry, in Unix seconds.
    /// @param issuingAuthority The name of the issuing authority.
    /// @param replaces The number of the cancelled or rejected certificate it replaces (zero
    /// when none).
    event CertificateIssued(
        bytes32 indexed certNo,
        bytes2 indexed exportingParticipant,
        bytes2 indexed importingParticipant,
        bytes32 docHash,
        address signer,
        bytes2 origin,
        bytes2 provenance,
        bytes32 originZone,
        bytes32 exporterHash,
        bytes32 importerHash,
        Line[] lines,
        uint40 issuedAt,
        uint40 expiresAt,
        string issuingAuthority,
        bytes32 replaces
    );

    /// @notice `certNo` was sealed and dispatched by `authority`; `sealRef` hashes the seal and
    /// container references.
    /// @param certNo The certificate number.
    /// @param exportingParticipant The exporting participant.
    /// @param importingParticipant The importing participant.
    /// @param authority The exporting authority that shipped it.
    /// @param sealRef The hash of the seal and container references (zero when none).
    event CertificateShipped(
        bytes32 indexed certNo,
        bytes2 indexed exportingParticipant,
        bytes2 indexed importingParticipant,
        address authority,
        bytes32 sealRef
    );

    /// @notice `authority` confirmed receipt of `certNo` with `confirmation`.
    /// @param certNo The certificate number.
    /// @param exportingParticipant The exporting participant.
    /// @param importingParticipant The importing participant.
    /// @param authority The importing authority that confirmed receipt.
    /// @param confirmation What it received, when, and the hash of its confirmation document.
    event CertificateReceived(
        bytes32 indexed certNo,
        bytes2 indexed exportingParticipant,
        bytes2 indexed importingParticipant,
        address authority,
        Confirmation confirmation
    );

    /// @notice `authority` rejected `certNo` for `reason`.
    /// @param certNo The certificate number.
    /// @param exportingParticipant The exporting participant.
    /// @param importingParticipant The importing participant.
    /// @param authority The importing authority that rejected it.
    /// @param reason Why.
    event CertificateRejected(
        bytes32 indexed certNo,
        bytes2 indexed exportingParticipant,
        bytes2 indexed importingParticipant,
        address authority,
        RejectionReason reason
    );

    /// @notice `authority` cancelled `certNo` before it was shipped.
    /// @param certNo The certificate number.
    /// @param exportingParticipant The exporting participant.
    /// @param importingParticipant The importing participant.
    /// @param authority The exporting authority that cancelled it.
    event CertificateCancelled(
        bytes32 indexed certNo,
        bytes2 indexed exportingParticipant,
        bytes2 indexed importingParticipant,
        address authority
    );

    /// @notice `authority`, of the exporting participant, withdrew `certNo` in transit for
    /// `reason`, its importing participant being no longer Active; the certificate is Cancelled.
    /// @param certNo The certificate number.
    /// @param exportingParticipant The exporting participant.
    /// @param importingParticipant The importing participant, Suspended or Withdrawn.
    /// @param authority The exporting authority that withdrew the shipment.
    /// @param reason Why.
    event ShipmentWithdrawn(
        bytes32 indexed certNo,
        bytes2 indexed exportingParticipant,
        bytes2 indexed importingParticipant,
        address authority,
        WithdrawalReason reason
    );

    /// @notice Certificates issued from now on may be valid for at most `maxValidity` seconds
    /// (`expiresAt - issuedAt`). Emitted by the constructor with {DEFAULT_MAX_VALIDITY} too.
    /// @param maxValidity The new maximum validity, in seconds.
    event MaxValiditySet(uint40 maxValidity);

    /// @notice From now on, a shipment whose certificate expired may still be confirmed for
    /// `receiptGracePeriod` seconds after its expiry, when its receipt is dated on or before the
    /// expiry. Emitted by the constructor with {DEFAULT_RECEIPT_GRACE_PERIOD} too.
    /// @param receiptGracePeriod The new grace period, in seconds (zero: none).
    event ReceiptGracePeriodSet(uint40 receiptGracePeriod);

    // ------------------------------------------------------------------------------------------
    // Operations
    // ------------------------------------------------------------------------------------------

    /// @notice Issues `certificate`, validated by `signer` (an authority of the exporting
    /// participant: an EOA, or an ERC-1271 contract account) with `signature` over its EIP-712
    /// hash. The caller must be an authority of the exporting participant too; it may differ from
    /// the signer, so a validation key kept offline can sign what a hot key submits.
    /// @dev Both participants must be Active, the number unused and prefixed by the exporting
    /// participant's code, the issue date begun somewhere (at most {MAX_ISSUE_DATE_LEAD} after
    /// the block's time), the expiry in the future and at most {maxValidity} seconds after the
    /// issue date, a restricted origin (the certificate's or a line's) must name an allowed
    /// zone, a replaced certificate must be a cancelled or rejected one of the same exporter not
    /// replaced yet, and every line valid. The signature is checked last, and nothing is written
    /// before it: an ERC-1271 signer's `isValidSignature` (a static call) sees the registry as
    /// it was before the call. Emits {CertificateIssued}.
    /// @param certificate The document.
    /// @param signer The authority validating it: an EOA, or an ERC-1271 contract account.
    /// @param signature The signer's signature over the document's EIP-712 hash.
    /// @return docHash The certificate's EIP-712 document hash.
    function issue(Certificate calldata certificate, address signer, bytes calldata signature)
        external
        returns (bytes32 docHash);

    /// @notice Issues several certificates of the caller's participant in one transaction, each
    /// validated by `signer` with its own signature. Same checks as {issue}; all or nothing.
    /// @param certificates The documents, all of the same exporting participant.
    /// @param signer The authority validating them all.
    /// @param signatures The signer's signature over each document's hash, in the same order.
    /// @return docHashes The certificates' EIP-712 document hashes, in order.
    function issueBatch(
        Certificate[] calldata certificates,
        address signer,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory docHashes);

    /// @notice Records that `certNo` was sealed and dispatched: the advance notice to the importer.
    /// @dev Exporting authority; status Issued and not expired; the importing participant still
    /// Active (it may have been suspended since the issue, and the KP allows no trade with it).
    /// Emits {CertificateShipped}.
    /// @param certNo The certificate number.
    /// @param sealRef Hash of the seal and container references (zero when none).
    function ship(bytes32 certNo, bytes32 sealRef) external;

    /// @notice Confirms receipt of `certNo` (the KP import confirmation).
    /// @dev Importing authority, its participant Active; status Shipped; `receivedAt` not after
    /// the block's time; and not expired, or expired at most {receiptGracePeriod} seconds ago
    /// with `receivedAt` on or before `expiresAt` (the shipment arrived while the certificate
    /// was valid, and its confirmation came late). A suspended or withdrawn importer cannot confirm,
    /// not even a shipment sent before its suspension: the confirmation completes the import,
    /// and the KPCS counts imports by it, so it is trade, which the KP bars a suspended
    /// participant from. Such a shipment is closed by {reject} or {withdrawShipment} instead, or
    /// received once governance reinstates the importer. Emits {CertificateReceived}.
    /// @param certNo The certificate number.
    /// @param confirmation The parcels and carats received (both non-zero), the date of receipt
    /// and the hash of the confirmation document.
    function confirmReceipt(bytes32 certNo, Confirmation calldata confirmation) external;

    /// @notice Rejects `certNo`, expired or not; the exporter may then issue a certificate that
    /// replaces it.
    /// @dev An authority of the importing participant, whatever that participant's standing;
    /// status Shipped. Rejecting closes the record of a shipment already in transit and moves no
    /// goods, so it is not trade: an importer suspended or withdrawn after the shipping can still
    /// refuse it. Emits {CertificateRejected}.
    /// @param certNo The certificate number.
    /// @param reason Why the importing authority rejects it.
    function reject(bytes32 certNo, RejectionReason reason) external;

    /// @notice Cancels `certNo` before it is shipped; a new certificate may then replace it.
    /// @dev Exporting authority; status Issued. Emits {CertificateCancelled}.
    /// @param certNo The certificate number.
    function cancel(bytes32 certNo) external;

    /// @notice Withdraws `certNo`, shipped to a participant that is no longer Active, for
    /// `reason`: the shipment can then be closed although its importer cannot confirm it. The
    /// certificate becomes Cancelled, so a new one may replace it.
    /// @dev An authority of the exporting participant, whatever that participant's standing (as
    /// for {reject}, closing a record is not trade); status Shipped, expired or not; the
    /// importing participant Suspended or Withdrawn. Emits {ShipmentWithdrawn}.
    /// @param certNo The certificate number.
    /// @param reason Why the exporting authority withdraws the shipment.
    function withdrawShipment(bytes32 certNo, WithdrawalReason reason) external;

    // ------------------------------------------------------------------------------------------
    // Governance
    // ------------------------------------------------------------------------------------------

    /// @notice Sets the longest validity (`expiresAt - issuedAt`, in seconds) of certificates
    /// issued from now on; certificates issued before keep theirs.
    /// @dev GOVERNOR_ROLE; at least one second. A document valid through N calendar days (its
    /// issue day and its expiry day included) has `expiresAt - issuedAt` = N days - 1 second, so
    /// `N days` allows exactly that. Emits {MaxValiditySet}.
    /// @param newMaxValidity The new maximum validity, in seconds.
    function setMaxValidity(uint40 newMaxValidity) external;

    /// @notice Sets how long after its expiry a shipped certificate may still be confirmed, when
    /// its receipt is dated on or before the expiry; it applies to every shipment from now on.
    /// @dev GOVERNOR_ROLE; zero allowed (no grace). Emits {ReceiptGracePeriodSet}.
    /// @param newReceiptGracePeriod The new grace period, in seconds.
    function setReceiptGracePeriod(uint40 newReceiptGracePeriod) external;

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice What the chain keeps of `certNo` (status None when it does not exist).
    /// @param certNo The certificate number.
    /// @return The record; its `status` is the stored one, never Expired (see {certificateStatus}).
    function certificate(bytes32 certNo) external view returns (CertificateRecord memory);

    /// @notice `certNo`'s status now, Expired included.
    /// @param certNo The certificate number.
    /// @return The status: the stored one, or Expired for an Issued or Shipped one past its expiry.
    function certificateStatus(bytes32 certNo) external view returns (CertificateStatus);

    /// @notice The longest validity (`expiresAt - issuedAt`, seconds) {issue} accepts now.
    /// @return The maximum validity, in seconds.
    function maxValidity() external view returns (uint40);

    /// @notice The maximum validity the registry starts with: 180 days, a ceiling well above
    /// the 30 to 90 days paper KP certificates are commonly valid for.
    /// @return 180 days, in seconds.
    function DEFAULT_MAX_VALIDITY() external view returns (uint40);

    /// @notice How long after its expiry a shipped certificate may still be confirmed, when its
    /// receipt is dated on or before the expiry.
    /// @return The grace period, in seconds.
    function receiptGracePeriod() external view returns (uint40);

    /// @notice The receipt grace period the registry starts with: 30 days.
    /// @return 30 days, in seconds.
    function DEFAULT_RECEIPT_GRACE_PERIOD() external view returns (uint40);

    /// @notice How far the block's time may trail the start (00:00 UTC) of a document's issue
    /// date: 14 hours, as the earliest time zone (UTC+14) begins its day 14 hours before UTC
    /// does, so an exporter anywhere may date a document today.
    /// @return 14 hours, in seconds.
    function MAX_ISSUE_DATE_LEAD() external view returns (uint40);

    /// @notice Whether `docHash` is the document hash recorded for `certNo`, compared on its
    /// first 21 bytes.
    /// @dev The record keeps a 21-byte prefix of the hash, not all 32 bytes: with the other
    /// members of {CertificateRecord} (2 + 2 + 1 + 1 + 5 bytes) it fills one storage slot, so
    /// issuing writes one new slot (22,100 gas) rather than two. A document matching someone
    /// else's would need a second preimage of 168 bits. Two hashes that differ only in their
    /// last 11 bytes both match: the full hash is in {CertificateIssued}.
    /// @param certNo The certificate number.
    /// @param docHash The EIP-712 hash of the document to check (see {hashCertificate}).
    /// @return Whether `certNo` exists and its recorded prefix equals the first 21 bytes of
    /// `docHash`.
    function matchesDocument(bytes32 certNo, bytes32 docHash) external view returns (bool);

    /// @notice The EIP-712 hash of `certificate`, as {issue} computes it and checks the signature
    /// against.
    /// @dev Only hashes: it checks no field, so it also hashes a document {issue} would refuse.
    /// @param certificate The document.
    /// @return The document's EIP-712 hash under this registry's domain.
    function hashCertificate(Certificate calldata certificate) external view returns (bytes32);

    /// @notice The EIP-712 domain separator (name "KP Certificate Registry", version "1").
    /// @return The domain separator, for this chain and this registry's address.
    function domainSeparator() external view returns (bytes32);

    /// @notice The semantic version of this contract.
    /// @return The version, "MAJOR.MINOR.PATCH".
    function version() external pure returns (string memory);
}
