// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {ICertificateRegistry} from "./interfaces/ICertificateRegistry.sol";
import {ParticipantRegistry} from "./ParticipantRegistry.sol";

/// @title CertificateRegistry
/// @notice The lifecycle of Kimberley Process certificates, and (inherited) the participant
/// registry that authorises it: one contract, so authorisation is an internal storage read.
/// @dev Inherits OpenZeppelin {Multicall}: its `multicall(bytes[])` batches calls to this
/// contract, each keeping `msg.sender` and its own authorisation, all or nothing (see "Batching"
/// in {ICertificateRegistry}).
contract CertificateRegistry is ICertificateRegistry, ParticipantRegistry, EIP712, Multicall {
    // ------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------

    bytes32 private constant _LINE_TYPEHASH = keccak256(
        "Line(uint32 hsCode,uint64 carats,uint64 valueUsdCents,uint32 parcels,bytes2 origin,"
        "bytes2 provenance,bytes32 originZone)"
    );

    bytes32 private constant _CERTIFICATE_TYPEHASH = keccak256(
        "Certificate(bytes32 certNo,bytes2 exportingParticipant,bytes2 importingParticipant,"
        "bytes2 origin,bytes2 provenance,bytes32 originZone,bytes32 exporterHash,"
        "bytes32 importerHash,Line[] lines,uint40 issuedAt,uint40 expiresAt,"
        "string issuingAuthority,bytes32 replaces)"
        "Line(uint32 hsCode,uint64 carats,uint64 valueUsdCents,uint32 parcels,bytes2 origin,"
        "bytes2 provenance,bytes32 originZone)"
    );

    // HS codes of rough diamonds under the KPCS, as six-digit integers.
    uint32 private constant _HS_UNSORTED = 710210;
    uint32 private constant _HS_INDUSTRIAL = 710221;
    uint32 private constant _HS_NON_INDUSTRIAL = 710231;

    /// @inheritdoc ICertificateRegistry
    uint40 public constant DEFAULT_MAX_VALIDITY = 180 days;

    /// @inheritdoc ICertificateRegistry
    uint40 public constant DEFAULT_RECEIPT_GRACE_PERIOD = 30 days;

    /// @inheritdoc ICertificateRegistry
    uint40 public constant MAX_ISSUE_DATE_LEAD = 14 hours;

    // ------------------------------------------------------------------------------------------
    // Storage
    // ------------------------------------------------------------------------------------------

    mapping(bytes32 certNo => CertificateRecord) private _certificates;
    // A slot of its own: no slot that every issue reads anyway has room for it without changing
    // the Participant struct that `participant()` returns. Read once per transaction (a batch
    // hands it to each certificate), for 2,100 gas.
    uint40 private _maxValidity; // seconds, expiresAt - issuedAt
    // Packed into _maxValidity's slot: read only by a late receipt (past expiry), so an on-time
    // one pays nothing for it.
    uint40 private _receiptGracePeriod; // seconds after expiresAt

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    /// @param governor The KP Chair/Secretariat account (or multisig): admin of roles and governor.
    constructor(address governor) ParticipantRegistry(governor) EIP712("KP Certificate Registry", "1") {
        _setMaxValidity(DEFAULT_MAX_VALIDITY);
        _setReceiptGracePeriod(DEFAULT_RECEIPT_GRACE_PERIOD);
    }

    // ------------------------------------------------------------------------------------------
    // Operations
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ICertificateRegistry
    function issue(Certificate calldata cert, address signer, bytes calldata signature)
        external
        returns (bytes32 docHash)
    {
        bytes2 exporting = _checkIssuer(cert.exportingParticipant, signer);
        docHash = _issue(cert, exporting, signer, signature, _maxValidity);
    }

    /// @inheritdoc ICertificateRegistry
    function issueBatch(
        Certificate[] calldata certs,
        address signer,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory docHashes) {
        uint256 count = certs.length;
        if (count == 0 || count != signatures.length) revert BatchInvalid(count, signatures.length);
        // One participant issues the whole batch: check the caller and the signer once.
        bytes2 exporting = _checkIssuer(certs[0].exportingParticipant, signer);

        uint40 maxValidity_ = _maxValidity;
        docHashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            docHashes[i] = _issue(certs[i], exporting, signer, signatures[i], maxValidity_);
        }
    }

    /// @inheritdoc ICertificateRegistry
    function ship(bytes32 certNo, bytes32 sealRef) external {
        CertificateRecord memory record = _existing(certNo);
        _checkActor(record.exportingParticipant);
        _checkStatus(certNo, record, CertificateStatus.Issued);
        _checkNotExpired(certNo, record);
        // Issuing checked the importer, but governance may have suspended it since.
        _checkActive(record.importingParticipant);

        _certificates[certNo].status = CertificateStatus.Shipped;

        emit CertificateShipped(
            certNo, record.exportingParticipant, record.importingParticipant, msg.sender, sealRef
        );
    }

    /// @inheritdoc ICertificateRegistry
    function confirmReceipt(bytes32 certNo, Confirmation calldata confirmation) external {
        CertificateRecord memory record = _existing(certNo);
        _checkActor(record.importingParticipant);
        _checkStatus(certNo, record, CertificateStatus.Shipped);
        if (confirmation.parcels == 0 || confirmation.carats == 0) revert ConfirmationInvalid(certNo);
        if (confirmation.receivedAt > block.timestamp) {
            revert ReceiptDateInFuture(certNo, confirmation.receivedAt);
        }
        // Expired, a shipment that arrived in time may still be confirmed during the grace period.
        if (_isExpired(record) && !_isLateReceiptAllowed(record, confirmation.receivedAt)) {
            revert CertificateExpired(certNo, record.expiresAt);
        }

        _certificates[certNo].status = CertificateStatus.Received;

        emit CertificateReceived(
            certNo, record.exportingParticipant, record.importingParticipant, msg.sender, confirmation
        );
    }

    /// @inheritdoc ICertificateRegistry
    function reject(bytes32 certNo, RejectionReason reason) external {
        CertificateRecord memory record = _existing(certNo);
        // Closing a shipment is not trade: the importer may be suspended or withdrawn since.
        _checkAuthority(record.importingParticipant);
        // An expired shipment can still be refused: rejection is how it is closed.
        _checkStatus(certNo, record, CertificateStatus.Shipped);

        _certificates[certNo].status = CertificateStatus.Rejected;

        emit CertificateRejected(
            certNo, record.exportingParticipant, record.importingParticipant, msg.sender, reason
        );
    }

    /// @inheritdoc ICertificateRegistry
    function cancel(bytes32 certNo) external {
        CertificateRecord memory record = _existing(certNo);
        _checkActor(record.exportingParticipant);
        _checkStatus(certNo, record, CertificateStatus.Issued);

        _certificates[certNo].status = CertificateStatus.Cancelled;

        emit CertificateCancelled(
            certNo, record.exportingParticipant, record.importingParticipant, msg.sender
        );
    }

    /// @inheritdoc ICertificateRegistry
    function withdrawShipment(bytes32 certNo, WithdrawalReason reason) external {
        CertificateRecord memory record = _existing(certNo);
        // Closing a shipment is not trade, as for reject: the exporter's standing does not matter.
        _checkAuthority(record.exportingParticipant);
        // Expired or not: withdrawal closes a shipment its importer cannot confirm.
        _checkStatus(certNo, record, CertificateStatus.Shipped);
        if (_participantStatus(record.importingParticipant) == ParticipantStatus.Active) {
            revert ImporterStillActive(certNo, record.importingParticipant);
        }

        _certificates[certNo].status = CertificateStatus.Cancelled;

        emit ShipmentWithdrawn(
            certNo, record.exportingParticipant, record.importingParticipant, msg.sender, reason
        );
    }

    // ------------------------------------------------------------------------------------------
    // Governance
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ICertificateRegistry
    function setMaxValidity(uint40 newMaxValidity) external onlyRole(GOVERNOR_ROLE) {
        _setMaxValidity(newMaxValidity);
    }

    /// @inheritdoc ICertificateRegistry
    function setReceiptGracePeriod(uint40 newReceiptGracePeriod) external onlyRole(GOVERNOR_ROLE) {
        _setReceiptGracePeriod(newReceiptGracePeriod);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @inheritdoc ICertificateRegistry
    function certificate(bytes32 certNo) external view returns (CertificateRecord memory) {
        return _certificates[certNo];
    }

    /// @inheritdoc ICertificateRegistry
    function certificateStatus(bytes32 certNo) external view returns (CertificateStatus) {
        CertificateRecord memory record = _certificates[certNo];
        if (_isLive(record.status) && _isExpired(record)) return CertificateStatus.Expired;
        return record.status;
    }

    /// @inheritdoc ICertificateRegistry
    function maxValidity() external view returns (uint40) {
        return _maxValidity;
    }

    /// @inheritdoc ICertificateRegistry
    function receiptGracePeriod() external view returns (uint40) {
        return _receiptGracePeriod;
    }

    /// @inheritdoc ICertificateRegistry
    function matchesDocument(bytes32 certNo, bytes32 docHash) external view returns (bool) {
        CertificateRecord memory record = _certificates[certNo];
        return record.status != CertificateStatus.None && record.docHashPrefix == bytes21(docHash);
    }

    /// @inheritdoc ICertificateRegistry
    function hashCertificate(Certificate calldata cert) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(cert, _linesHash(cert.lines)));
    }

    /// @inheritdoc ICertificateRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc ICertificateRegistry
    function version()
        external
        pure
        override(ICertificateRegistry, ParticipantRegistry)
        returns (string memory)
    {
        return "1.3.0";
    }

    // ------------------------------------------------------------------------------------------
    // Internal: issuing
    // ------------------------------------------------------------------------------------------

    /// @dev The caller must be an Active authority of `exporting`, and so must the signer.
    function _checkIssuer(bytes2 exporting, address signer) private view returns (bytes2) {
        _checkActor(exporting);
        if (signer != msg.sender) {
            (bytes2 signerParticipant,) = _authorityStatus(signer);
            if (signerParticipant != exporting) revert UnauthorizedAuthority(signer, exporting);
        }
        return exporting;
    }

    function _issue(
        Certificate calldata cert,
        bytes2 exporting,
        address signer,
        bytes calldata signature,
        uint40 maxValidity_
    ) private returns (bytes32 docHash) {
        bytes32 certNo = cert.certNo;
        bytes2 importing = cert.importingParticipant;
        uint40 issuedAt = cert.issuedAt;
        uint40 expiresAt = cert.expiresAt;
        if (cert.exportingParticipant != exporting) {
            revert UnauthorizedAuthority(msg.sender, cert.exportingParticipant);
        }
        if (bytes2(certNo) != exporting || !_isPrintableLeftAligned(certNo)) {
            revert CertificateNumberInvalid(certNo, exporting);
        }
        if (_certificates[certNo].status != CertificateStatus.None) {
            revert CertificateAlreadyExists(certNo);
        }
        if (importing == exporting) revert ParticipantsIdentical(importing);
        _checkActive(importing);
        if (expiresAt <= block.timestamp || issuedAt > expiresAt) {
            revert CertificateDatesInvalid(issuedAt, expiresAt);
        }
        // issuedAt is 00:00 UTC of the issue date, a day that begins up to 14 hours earlier in
        // the exporter's time zone: later than that, the date has not begun anywhere.
        if (issuedAt > block.timestamp + MAX_ISSUE_DATE_LEAD) {
            revert CertificateIssueDateInFuture(certNo, issuedAt);
        }
        uint40 validity;
        unchecked {
            validity = expiresAt - issuedAt; // issuedAt <= expiresAt: checked above
        }
        if (validity > maxValidity_) {
            revert CertificateValidityTooLong(certNo, validity, maxValidity_);
        }
        _checkOrigin(cert);
        if (cert.replaces != bytes32(0)) _checkReplacement(certNo, cert.replaces, exporting);
        docHash = _hashTypedDataV4(_structHash(cert, _checkedLinesHash(certNo, cert.lines)));
        // The last guard, and the only external call: an ERC-1271 signer's isValidSignature (a
        // static call, which may read this registry). Nothing is written before it, so that call
        // sees the registry as it was before this certificate, its replacement included.
        if (!SignatureChecker.isValidSignatureNow(signer, docHash, signature)) {
            revert DocumentSignatureInvalid(certNo, signer);
        }

        if (cert.replaces != bytes32(0)) _markReplaced(cert.replaces);
        _storeNewRecord(_certificates[certNo], exporting, importing, expiresAt, docHash);

        emit CertificateIssued(
            certNo,
            exporting,
            importing,
            docHash,
            signer,
            cert.origin,
            cert.provenance,
            cert.originZone,
            cert.exporterHash,
            cert.importerHash,
            cert.lines,
            issuedAt,
            expiresAt,
            cert.issuingAuthority,
            cert.replaces
        );
    }

    /// @dev Writes a new Issued record with one SSTORE. Assigning the struct would read the slot
    /// back once per member to merge it (about 500 gas), although a new slot holds nothing to
    /// keep. The layout is CertificateRecord's, lowest-order bytes first: exporting (2 bytes),
    /// importing (2), status (1), replaced (1), expiresAt (5), docHashPrefix (21). The tests read
    /// every member back through `certificate()`, and compare solc's storage layout of the struct
    /// with these offsets (tests/contracts/test_storage_layout.py).
    function _storeNewRecord(
        CertificateRecord storage record,
        bytes2 exporting,
        bytes2 importing,
        uint40 expiresAt,
        bytes32 docHash
    ) private {
        uint256 packed = uint256(uint16(exporting)) | (uint256(uint16(importing)) << 16)
            | (uint256(uint8(CertificateStatus.Issued)) << 32) | (uint256(expiresAt) << 48)
            | (uint256(uint168(bytes21(docHash))) << 88);
        assembly ("memory-safe") {
            sstore(record.slot, packed)
        }
    }

    /// @dev Mixed origin names a provenance; a restricted origin names one of its allowed zones.
    function _checkOrigin(Certificate calldata cert) private view {
        bytes2 origin = cert.origin;
        if ((origin == bytes2(0)) == (cert.provenance == bytes2(0))) {
            revert CertificateOriginInvalid(origin, cert.provenance);
        }
        if (origin != bytes2(0) && !_isOriginAllowed(origin, cert.originZone)) {
            revert OriginZoneNotAllowed(origin, cert.originZone);
        }
    }

    /// @dev A replacement names a cancelled or rejected certificate of the same exporter,
    /// replaced only once: a rejected shipment is re-issued as a cancelled one is.
    function _checkReplacement(bytes32 certNo, bytes32 replaces, bytes2 exporting) private view {
        CertificateRecord storage old = _certificates[replaces];
        CertificateStatus status = old.status;
        if (status == CertificateStatus.None) revert CertificateNotFound(replaces);
        bool closed = status == CertificateStatus.Cancelled || status == CertificateStatus.Rejected;
        if (!closed || old.exportingParticipant != exporting || old.replaced) {
            revert ReplacementInvalid(certNo, replaces);
        }
    }

    /// @dev Marks a certificate `_checkReplacement` passed as replaced: an effect, so it runs
    /// after every guard of {_issue}, the signature check included.
    function _markReplaced(bytes32 replaces) private {
        _certificates[replaces].replaced = true;
    }

    /// @dev The EIP-712 encoding of `lines` (keccak256 of their hashStructs), each line checked on
    /// the way: at least one, each a rough-diamond HS code with non-zero carats and parcels, and
    /// its own origin (if it states one) valid. One pass over the lines for both, as a second
    /// pass would cost {issue} about 370 gas.
    function _checkedLinesHash(bytes32 certNo, Line[] calldata lines)
        private
        view
        returns (bytes32)
    {
        uint256 count = lines.length;
        if (count == 0) revert CertificateLinesEmpty(certNo);
        bytes32[] memory lineHashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            Line calldata line = lines[i];
            if (!_isValidLine(line)) revert CertificateLineInvalid(certNo, i);
            _checkLineOrigin(certNo, i, line);
            lineHashes[i] = _lineHash(line);
        }
        return _hashWords(lineHashes);
    }

    /// @dev A line of the certificate's origin states none (all zero). One that states its own
    /// is checked as {_checkOrigin} checks the certificate's: mixed (0x0000) with a provenance,
    /// or an ISO code without one, in an allowed zone where that origin is restricted.
    function _checkLineOrigin(bytes32 certNo, uint256 index, Line calldata line) private view {
        bytes2 origin = line.origin;
        bytes2 provenance = line.provenance;
        if (origin == bytes2(0)) {
            // Mixed with a provenance; or the certificate's origin, which takes no zone of its own.
            if (provenance == bytes2(0) && line.originZone != bytes32(0)) {
                revert LineOriginInvalid(certNo, index, origin, provenance);
            }
            return;
        }
        if (provenance != bytes2(0)) revert LineOriginInvalid(certNo, index, origin, provenance);
        if (!_isOriginAllowed(origin, line.originZone)) {
            revert LineOriginZoneNotAllowed(certNo, index, origin, line.originZone);
        }
    }

    /// @dev The EIP-712 encoding of `lines`, whatever they hold (for {hashCertificate}).
    function _linesHash(Line[] calldata lines) private pure returns (bytes32) {
        uint256 count = lines.length;
        bytes32[] memory lineHashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            lineHashes[i] = _lineHash(lines[i]);
        }
        return _hashWords(lineHashes);
    }

    function _lineHash(Line calldata line) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                _LINE_TYPEHASH,
                line.hsCode,
                line.carats,
                line.valueUsdCents,
                line.parcels,
                line.origin,
                line.provenance,
                line.originZone
            )
        );
    }

    /// @dev EIP-712 hashStruct of the document, given the encoding of its lines; checks nothing.
    function _structHash(Certificate calldata cert, bytes32 linesHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                _CERTIFICATE_TYPEHASH,
                cert.certNo,
                cert.exportingParticipant,
                cert.importingParticipant,
                cert.origin,
                cert.provenance,
                cert.originZone,
                cert.exporterHash,
                cert.importerHash,
                linesHash,
                cert.issuedAt,
                cert.expiresAt,
                keccak256(bytes(cert.issuingAuthority)),
                cert.replaces
            )
        );
    }

    /// @dev keccak256 of the packed words, hashed in place (abi.encodePacked would copy them).
    function _hashWords(bytes32[] memory words) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            digest := keccak256(add(words, 0x20), shl(5, mload(words)))
        }
    }

    /// @dev Whether `word` is printable ASCII (0x21-0x7E, no spaces) padded on the right with
    /// zero bytes: one number, one key. Checked on all 32 bytes at once (SWAR), for ~100 gas
    /// where a byte loop costs over 1,000.
    function _isPrintableLeftAligned(bytes32 word) private pure returns (bool) {
        uint256 x = uint256(word);
        uint256 ones = type(uint256).max / 0xff; // 0x0101...01
        uint256 high = ones * 0x80; // the high bit of every byte
        if (x & high != 0) return false; // a byte >= 0x80
        uint256 lowBits = ones * 0x7f;
        // High bit set in each byte that is non-zero (no carry: each byte adds at most 0x7f).
        uint256 nonZero = (((x & lowBits) + lowBits) | x) & high;
        // Left-aligned: the non-zero bytes form a prefix, so shifting their mask up one byte
        // stays inside it.
        uint256 nonZeroBytes = (nonZero >> 7) * 0xff;
        if ((nonZeroBytes << 8) & ~nonZeroBytes != 0) return false;
        // High bit cleared in each byte below 0x21 (no borrow: each byte starts at >= 0x80).
        uint256 atLeast21 = ((x | high) - ones * 0x21) & high;
        if (~atLeast21 & nonZero != 0) return false; // a control character or a space
        uint256 del = x ^ lowBits; // zero exactly where a byte is 0x7f
        return (((del & lowBits) + lowBits) | del) & high == high;
    }

    function _isValidLine(Line calldata line) private pure returns (bool) {
        uint32 hs = line.hsCode;
        bool knownCode = hs == _HS_UNSORTED || hs == _HS_INDUSTRIAL || hs == _HS_NON_INDUSTRIAL;
        return knownCode && line.carats != 0 && line.parcels != 0;
    }

    // ------------------------------------------------------------------------------------------
    // Internal: guards
    // ------------------------------------------------------------------------------------------

    /// @dev The caller must be an authority of `participant`, and `participant` Active: for the
    /// operations that start or complete trade (and cancel).
    function _checkActor(bytes2 participant) private view {
        (bytes2 actingFor, ParticipantStatus status) = _authorityStatus(msg.sender);
        if (actingFor != participant) revert UnauthorizedAuthority(msg.sender, participant);
        if (status != ParticipantStatus.Active) {
            revert ParticipantNotActive(participant);
        }
    }

    /// @dev The caller must be an authority of `participant`, whatever its standing: for the
    /// operations that close a shipment in transit (reject, withdrawShipment).
    function _checkAuthority(bytes2 participant) private view {
        if (_participantOf(msg.sender) != participant) {
            revert UnauthorizedAuthority(msg.sender, participant);
        }
    }

    function _checkActive(bytes2 participant) private view {
        if (_participantStatus(participant) != ParticipantStatus.Active) {
            revert ParticipantNotActive(participant);
        }
    }

    function _setMaxValidity(uint40 newMaxValidity) private {
        if (newMaxValidity == 0) revert MaxValidityInvalid(newMaxValidity);

        _maxValidity = newMaxValidity;

        emit MaxValiditySet(newMaxValidity);
    }

    function _setReceiptGracePeriod(uint40 newReceiptGracePeriod) private {
        _receiptGracePeriod = newReceiptGracePeriod;

        emit ReceiptGracePeriodSet(newReceiptGracePeriod);
    }

    function _existing(bytes32 certNo) private view returns (CertificateRecord memory record) {
        record = _certificates[certNo];
        if (record.status == CertificateStatus.None) revert CertificateNotFound(certNo);
    }

    function _checkStatus(
        bytes32 certNo,
        CertificateRecord memory record,
        CertificateStatus required
    ) private pure {
        if (record.status != required) revert CertificateStatusInvalid(certNo, record.status, required);
    }

    function _checkNotExpired(bytes32 certNo, CertificateRecord memory record) private view {
        if (_isExpired(record)) revert CertificateExpired(certNo, record.expiresAt);
    }

    function _isExpired(CertificateRecord memory record) private view returns (bool) {
        return block.timestamp > record.expiresAt;
    }

    /// @dev Whether an expired shipment may still be confirmed: received by its expiry, and
    /// confirmed within the grace period after it (uint256: no overflow near uint40's end).
    function _isLateReceiptAllowed(CertificateRecord memory record, uint40 receivedAt)
        private
        view
        returns (bool)
    {
        return receivedAt <= record.expiresAt
            && block.timestamp <= uint256(record.expiresAt) + _receiptGracePeriod;
    }

    function _isLive(CertificateStatus status) private pure returns (bool) {
        return status == CertificateStatus.Issued || status == CertificateStatus.Shipped;
    }
}
