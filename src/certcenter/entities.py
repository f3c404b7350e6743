"""The persistent entities of the center, as plain dataclasses.

They know nothing of SQL: ``certcenter.storage`` maps them onto tables. Domain services load
them through the unit of work (:mod:`certcenter.ports`), change them, and commit.

    >>> device = Device(id="r-1", device_id="d-1", customer_id="c-1", platform="android",
    ...                 model="SM-S928N", app_version="5.2.0",
    ...                 registered_at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> device.status
    'active'
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(eq=False)
class Customer:
    """A customer of the bank (고객). Identified by CI, never by resident number.

    ``ci`` is the connecting information (연계정보) that identity-verification agencies derive
    from the resident number: the same person always has the same CI.
    """

    id: str
    customer_number: str
    name: str
    ci: str
    birth_date: date
    phone: str
    created_at: datetime
    internet_banking: bool = False
    overseas_access: bool = False
    kind: str = "personal"
    email: str | None = None
    # the customer's own transfer limits (KRW), lower than the medium's; None: the medium's
    transfer_limit_per_transfer: int | None = None
    transfer_limit_daily: int | None = None
    # the internet-banking user ID (인터넷뱅킹 사용자 ID); None until the customer joins
    user_id: str | None = None
    # 해외 IP 차단 해제: the end of the allowance the customer set (None with overseas_access:
    # allowed without an end, as the bank set it up); see usage/overseas_access.py
    overseas_access_until: datetime | None = None
    # the internet-banking password's slow salted hash (인터넷뱅킹 비밀번호); None until set
    password_hash: str | None = field(default=None, repr=False)


class EnrollmentState(enum.StrEnum):
    """The states of an issuance (발급) flow, in order."""

    STARTED = "started"
    TERMS_ACCEPTED = "terms_accepted"
    PHONE_CODE_SENT = "phone_code_sent"
    PHONE_VERIFIED = "phone_verified"
    ACCOUNT_CODE_SENT = "account_code_sent"
    ACCOUNT_VERIFIED = "account_verified"
    ID_VERIFIED = "id_verified"
    CREDENTIALS_SET = "credentials_set"
    SIGNING = "signing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def closed(self) -> bool:
        return self in (EnrollmentState.COMPLETED, EnrollmentState.FAILED)


@dataclass(eq=False)
class Enrollment:
    """One run of the mobile-certificate issuance flow, persisted step by step."""

    id: str
    token_hash: str
    state: str
    device_id: str
    platform: str
    device_model: str
    app_version: str
    client_ip: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    integrity: dict[str, Any] = field(default_factory=dict)
    move_certificate: bool = False
    accepted_terms: list[str] = field(default_factory=list)
    customer_id: str | None = None
    phone: str | None = None
    carrier: str | None = None
    pin_hash: str | None = None
    pattern_hash: str | None = None
    biometric_public_key: str | None = None
    certificate_serial: str | None = None
    failure_code: str | None = None
    new_customer: bool = False


@dataclass(eq=False)
class VerificationCode:
    """A single-use code sent to the customer (SMS code, 1-won depositor code); hash only."""

    id: str
    enrollment_id: str
    purpose: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    max_tries: int
    tries: int = 0
    resends: int = 0
    consumed_at: datetime | None = None
    target: str = ""


class DeviceStatus(enum.StrEnum):
    """A phone's registration for the mobile certificate (기기 등록)."""

    ACTIVE = "active"
    DEREGISTERED = "deregistered"


@dataclass(eq=False)
class Device:
    """A registered device (등록 기기) holding a customer's mobile certificate key.

    ``device_id`` is the app's own identifier; ``id`` names this registration (a phone that
    changes hands is registered again, for its new owner).
    """

    id: str
    device_id: str
    customer_id: str
    platform: str
    model: str
    app_version: str
    registered_at: datetime
    status: str = DeviceStatus.ACTIVE.value
    pin_hash: str | None = None
    pattern_hash: str | None = None
    biometric_public_key: str | None = None
    deregistered_at: datetime | None = None


class CertificateStatus(enum.StrEnum):
    PENDING = "pending"  # intent recorded, not (yet) signed or not handed out
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    ABANDONED = "abandoned"  # an intent whose issuance never completed; never handed out


@dataclass(eq=False)
class CertificateRecord:
    """A certificate issued (or about to be) by one of the center's CAs."""

    serial: str
    family: str
    profile: str
    customer_id: str
    device_id: str | None
    enrollment_id: str | None
    subject: str
    public_key_sha256: str
    not_before: datetime
    not_after: datetime
    tbs: bytes
    issuer_key_label: str
    status: str
    created_at: datetime
    der: bytes | None = None
    issued_at: datetime | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    last_used_at: datetime | None = None
    suspended_at: datetime | None = None
    renewed_from: str | None = None  # the certificate this one renews (same key)
    replaced_by: str | None = None  # the certificate that renewed or superseded this one
    crl_shard: int = 0  # which partition of the family's CRL lists it (by serial)
    crl_entry: bytes | None = None  # its revokedCertificates entry (DER) while it is listed


@dataclass(eq=False)
class FailureRecord:
    """A refusal, kept for the 24-hour block rule and for diagnosis (왜 발급이 안 되나요?)."""

    id: str
    step: str
    code: str
    at: datetime
    customer_id: str | None = None
    enrollment_id: str | None = None
    device_id: str | None = None
    client_ip: str | None = None


@dataclass(eq=False)
class Block:
    """A temporary block on a customer, device or address after repeated failures."""

    id: str
    subject_kind: str
    subject: str
    reason: str
    created_at: datetime
    blocked_until: datetime


class Actor(enum.StrEnum):
    """Who did something, for the audit trail."""

    CUSTOMER = "customer"
    OPERATOR = "operator"
    SYSTEM = "system"


@dataclass(eq=False)
class AuditEntry:
    """One entry of the audit trail (감사 기록). Personal data is redacted.

    ``seq`` is the entry's number, given by the database when it is written; ``content_hash``
    covers its content. ``prev_hash`` and ``entry_hash`` are None until the sealer links it
    into the chain (entries written before sealing existed carry them from their write, and no
    ``content_hash``: :mod:`certcenter.audit.trail`)."""

    seq: int
    at: datetime
    actor_kind: str
    actor: str
    action: str
    subject_kind: str
    subject: str
    outcome: str
    prev_hash: str | None
    entry_hash: str | None
    source_ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    content_hash: str | None = None


@dataclass(eq=False)
class AuditCheckpoint:
    """A signed statement about the audit trail (감사 기록 체크포인트): at ``at`` it held
    ``seq`` entries, the last with hash ``head_hash``, ``count`` of them since the checkpoint
    before. ``signature`` is the checkpoint key's (``key_id``: SHA-256 of its public key)
    over :func:`certcenter.audit.checkpoints.statement`. Kept in the database and published
    outside it, so a trail rewritten in the database no longer matches it."""

    seq: int
    head_hash: str
    count: int
    at: datetime
    key_id: str
    signature: bytes
    # version 2 (made by the sealer): the RFC 6962 Merkle tree hash over the hashes of the
    # ``count`` entries it seals, and the head of the checkpoint before (entry seq - count)
    version: int = 1
    root_hash: str | None = None
    previous_hash: str | None = None


class MessageStatus(enum.StrEnum):
    """A notification in the outbox: waiting, delivered, or given up after the retries."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(eq=False)
class OutboxMessage:
    """A notification written in the same transaction as its event, sent later (발송 대기)."""

    id: str
    created_at: datetime
    event: str
    channel: str  # sms | email | webhook
    recipient: str
    body: str
    next_attempt_at: datetime
    subject: str = ""
    status: str = MessageStatus.PENDING.value
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    customer_id: str | None = None


@dataclass(eq=False)
class Operator:
    """A bank employee or system with an API token and roles (operator, auditor)."""

    id: str
    name: str
    token_hash: str
    roles: list[str]
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(eq=False)
class CrlRecord:
    """A published CRL (one partition of a family's revocation list)."""

    family: str
    shard: int
    number: int
    this_update: datetime
    next_update: datetime
    der: bytes
    entries: int
    created_at: datetime
    # the URL in its issuingDistributionPoint (one CRL per URL certificates of the partition
    # name); None: a CRL published before the URLs were kept
    distribution_point: str | None = None


@dataclass(frozen=True)
class CrlDistributionPoint:
    """A URL certificates name as their CRL distribution point, for partition ``shard`` of
    ``family``'s CRL, kept while any of them may still be checked: the partition is
    published under it until ``until`` (the day after the last one naming it expires)."""

    family: str
    shard: int
    url: str
    until: datetime
    first_used_at: datetime


@dataclass(eq=False)
class OcspCacheEntry:
    """A pre-signed OCSP response for one certificate and CertID hash, valid until
    next_update."""

    serial: str
    der: bytes
    this_update: datetime
    next_update: datetime
    produced_at: datetime
    hash_algorithm: str = "sha1"  # the CertID's hash (a client matches the CertID exactly)


@dataclass(eq=False)
class DeviceChallenge:
    """A single-use random challenge the device signs with its certificate key."""

    id: str
    customer_id: str
    device_id: str
    purpose: str
    challenge: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(eq=False)
class FactorCounter:
    """Failed tries of one factor (PIN, pattern, OTP, …) of one customer; locked at the limit."""

    customer_id: str
    factor: str
    failures: int
    updated_at: datetime
    locked_at: datetime | None = None


@dataclass(eq=False)
class Session:
    """A logged-in session (로그인 세션) opened by a certificate login; bearer token hashed."""

    id: str
    token_hash: str
    customer_id: str
    device_id: str
    certificate_serial: str
    method: str  # pin | pattern | biometric
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # absolute end, whatever the activity
    ended_at: datetime | None = None
    # why it ended before its time, when not by logging out: the certificate's new state
    # (revoked, suspended, expired), or the device's or account's removal
    ended_reason: str | None = None


@dataclass(eq=False)
class FactorChallenge:
    """A single-use, expiring question to a customer outside the device key: a security
    card's two slots, an ARS call's code, an SMS code for registering a medium. ``data`` holds
    only what may be stored (slot numbers, hashes, a provider's call reference)."""

    id: str
    customer_id: str
    factor: str
    created_at: datetime
    expires_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None  # what it is for (a transfer id, an OTP registration)
    used_at: datetime | None = None


class OtpTokenStatus(enum.StrEnum):
    PENDING = "pending"  # registered, first code not yet confirmed
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(eq=False)
class OtpToken:
    """A mobile OTP (모바일 OTP): an RFC 6238 secret sealed by the key backend."""

    id: str
    customer_id: str
    secret_sealed: bytes
    digits: int
    period: int
    algorithm: str
    status: str  # OtpTokenStatus
    created_at: datetime
    activated_at: datetime | None = None
    last_step: int | None = None  # the time step of the last accepted code (no replay)
    revoked_at: datetime | None = None


class SecurityCardStatus(enum.StrEnum):
    ISSUED = "issued"  # printed and sent, not yet registered by the customer
    ACTIVE = "active"
    REVOKED = "revoked"  # replaced by a newer card the customer registered
    CANCELLED = "cancelled"  # 해지: cancelled by its holder; never usable again


@dataclass(eq=False)
class SecurityCard:
    """A bank-issued security card (보안카드): only keyed digests of each slot's halves."""

    id: str
    customer_id: str
    serial: str
    slots: int
    slot_digests: dict[str, str]  # "7a" → digest of slot 7's first two digits, "7b" the last
    status: str  # SecurityCardStatus
    issued_at: datetime
    registered_at: datetime | None = None
    revoked_at: datetime | None = None


class TransferStatus(enum.StrEnum):
    PENDING = "pending"  # prepared, waiting for the factors and the device's signature
    COMPLETED = "completed"
    REFUSED = "refused"
    EXPIRED = "expired"


@dataclass(eq=False)
class Transfer:
    """A transfer (이체) and its evidence: the server-made document the device signed."""

    id: str
    customer_id: str
    session_id: str
    device_id: str
    certificate_serial: str
    from_bank: str
    from_account: str
    to_bank: str
    to_account: str
    payee_name: str
    amount: int
    memo: str
    medium: str  # certificate | otp | security_card
    factors: list[str]
    document: bytes
    day: str  # the KST day its amount counts against (YYYY-MM-DD)
    status: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None
    evidence: bytes | None = None  # CMS SignedData (DER) with the document inside
    failure_code: str | None = None
    bank_reference: str | None = None
    # when the day's headroom was claimed and the money was sent to the bank (processing);
    # a transfer processing long past it is settled against the bank's record
    claimed_at: datetime | None = None


@dataclass(frozen=True)
class TransferRequestKey:
    """An ``Idempotency-Key`` a customer sent with a transfer request: the request it was
    first used for (a digest of its fields), the transfer it made or confirmed, and what was
    answered (``answer``: what the transfer alone does not hold, e.g. the ARS code on screen,
    or the refusal)."""

    customer_id: str
    key: str
    operation: str  # prepare | confirm
    fingerprint: str
    transfer_id: str
    created_at: datetime
    answer: dict[str, object] | None = None


@dataclass(eq=False)
class SignedDocument:
    """A document the customer signed with their certificate (detached CMS kept as proof)."""

    id: str
    customer_id: str
    certificate_serial: str
    name: str
    sha256: str
    cms: bytes
    created_at: datetime


class CloudAccountStatus(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"  # key destroyed (폐기, or unused for the inactivity period)


@dataclass(eq=False)
class CloudAccount:
    """A customer's financial-certificate cloud account (금융인증서 클라우드 보관).

    The private key is ``wrapped_key``: wrapped under the key backend's key-encryption key
    ``wrapping_key_label``, opened only inside the backend to sign, erased when the account is
    deleted. (An account made before wrapping keeps its key in the backend under
    ``key_label``, which names every account.) The account holds the PIN's hash and the dates
    the inactivity rule reads (deleted after a year unused).
    """

    id: str
    customer_id: str
    key_label: str
    pin_hash: str
    status: str  # CloudAccountStatus
    created_at: datetime
    last_used_at: datetime
    notice_sent_at: datetime | None = None  # the inactivity notice, once per idle period
    deleted_at: datetime | None = None
    wrapped_key: bytes | None = field(default=None, repr=False)
    wrapping_key_label: str | None = None


class BrowserDeviceStatus(enum.StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


@dataclass(eq=False)
class BrowserDevice:
    """A browser or app registered for the financial certificate (금융인증서 이용 기기).

    It holds a non-extractable WebCrypto key; ``public_key`` is its SubjectPublicKeyInfo (DER).
    A removed device can no longer sign.
    """

    id: str
    customer_id: str
    public_key: bytes
    key_sha256: str
    label: str
    registered_at: datetime
    status: str = BrowserDeviceStatus.ACTIVE.value
    last_used_at: datetime | None = None
    removed_at: datetime | None = None


@dataclass(eq=False)
class SigningActivation:
    """A one-time signature activation (서명 활성화) of the cloud key, bound to the exact
    bytes to be signed (``data_sha256``). The device answers ``challenge`` with its key and
    the customer gives the PIN; the grant is then used once, for those bytes only."""

    id: str
    customer_id: str
    device_id: str  # BrowserDevice.id
    purpose: str  # login | transfer | document
    data_sha256: str
    challenge: str
    created_at: datetime
    expires_at: datetime
    subject: str | None = None  # what it signs for (a transfer id)
    authorized_at: datetime | None = None
    grant_hash: str | None = None  # SHA-256 of the one-time grant token
    used_at: datetime | None = None


@dataclass(eq=False)
class FinancialEnrollment:
    """One run of the financial-certificate issuance flow (금융인증서 발급/재발급).

    ``data`` keeps what the steps need between requests and may be stored: the ARS call
    reference, the chosen medium's challenge id, the approval id. Codes live hashed in
    ``verification_codes`` (keyed by this id).
    """

    id: str
    token_hash: str
    state: str
    client_ip: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    customer_id: str | None = None
    proofing: str | None = None  # ars | departure
    medium: str | None = None  # account | security_card | otp | mobile_certificate
    data: dict[str, Any] = field(default_factory=dict)
    device_public_key: bytes | None = None  # the browser that becomes a registered device
    device_label: str | None = None
    certificate_serial: str | None = None
    failure_code: str | None = None


@dataclass(eq=False)
class JointRegistration:
    """A joint-certificate registration (공동인증서 등록, the RA step): first the flow of its
    steps (kind, user ID + resident number, a held medium, the SMS code, the fee for 범용),
    then the reference number (참조번호) and authorization code (인가코드) the customer's
    software takes to the CMP server.

    Nothing here is a secret in clear: the authorization code and the VID's random value R
    are sealed under a key-backend secret (``*_sealed``, AES-256-GCM bound to this id); the
    resident number is never kept, only the VID made from it (``vid_value``, the otherName's
    DER value that goes into the certificate). ``data`` keeps the steps' stored facts (the ARS
    call, the medium's challenge, the fee's bank reference)."""

    id: str
    token_hash: str
    state: str
    kind: str  # banking | general
    client_ip: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime  # of the flow's steps; once registered, of the reference (7 days)
    customer_id: str | None = None
    medium: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None  # 참조번호, shown with the code once
    authorization_sealed: bytes | None = None
    subject: str | None = None  # the certificate's NPKI subject (RFC 4514), decided at registration
    vid_value: bytes | None = None  # the identity otherName's value (DER), made from the RRN
    vid_random_sealed: bytes | None = None  # R, until the certificate is confirmed
    fee_krw: int = 0
    fee_bank_code: str | None = None
    fee_account: str | None = None
    fee_state: str = "none"  # none | charged | refunded | kept
    transaction_id: str | None = None  # the CMP transactionID (hex) that spent the reference
    certificate_serial: str | None = None
    registered_at: datetime | None = None
    used_at: datetime | None = None
    confirmed_at: datetime | None = None
    failure_code: str | None = None


@dataclass(eq=False)
class FinancialReverification:
    """Verifying the customer again for their financial certificate (본인 재확인): registering
    one more browser (``purpose`` ``device``) or resetting the PIN (``pin_reset``). Name, phone
    and birth date, the SMS code (kept hashed in ``verification_codes`` under this id), then an
    additional medium. A claim that names no customer makes a flow too (``customer_id`` None)
    that answers like any other and can never succeed.

    ``data`` keeps what may be stored between requests: the counted subjects' keys, the masked
    phone, the medium's challenge or approval id."""

    id: str
    token_hash: str
    purpose: str
    state: str
    client_ip: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    customer_id: str | None = None
    medium: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    device_public_key: bytes | None = None
    device_label: str | None = None
    device_id: str | None = None  # the registered browser, once done
    failure_code: str | None = None


@dataclass(eq=False)
class WebApproval:
    """A request shown in the browser as a short code and approved in the app with the
    mobile certificate (앱으로 로그인 / 모바일 인증서로 추가 인증).

    ``code_digest`` is a keyed digest of the code (looked up when the app types it);
    ``token_hash`` that of the secret the browser polls with. Single use: ``consumed_at``.
    """

    id: str
    purpose: str  # web-login | financial-issuance | financial-device | financial-pin-reset
    code_digest: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    expected_customer_id: str | None = None  # set when only one customer may approve
    customer_id: str | None = None  # who approved
    device_id: str | None = None
    certificate_serial: str | None = None
    approved_at: datetime | None = None
    consumed_at: datetime | None = None
    app_method: str | None = None  # how the approving app's customer logged in


class LostReportState(enum.StrEnum):
    """Where a lost-phone report (분실 신고) stands."""

    PENDING = "pending"  # waits for the second factor
    SUSPENDED = "suspended"  # confirmed: the certificates are suspended, the undo code is out
    FAILED = "failed"  # too many wrong answers: a new report must be started
    UNDONE = "undone"  # the customer undid it with the code: the suspension was released


@dataclass(eq=False)
class LostPhoneReport:
    """분실 신고: started with the line's details, confirmed with a medium the customer holds.

    ``person_key`` and ``phone_key`` are keyed digests of the claimed identity (name and the
    first 7 resident-number digits) and of the number: the subjects its failures count under.
    ``customer_id`` is None when the details named no customer (it can never be confirmed).
    ``undo_digest`` is a keyed digest of the single-use undo code; the code itself is sent to
    the customer and never stored.
    """

    id: str
    state: str
    person_key: str
    phone_key: str
    client_ip: str
    created_at: datetime
    expires_at: datetime
    customer_id: str | None = None
    tries: int = 0
    confirmed_at: datetime | None = None
    medium: str | None = None
    serials: list[str] = field(default_factory=list)
    undo_digest: str | None = None
    undo_expires_at: datetime | None = None
    undo_tries: int = 0
    undone_at: datetime | None = None


@dataclass(eq=False)
class CertificateCopy:
    """인증서 복사: a relay that carries a joint certificate's files, sealed on the sending
    device for the receiving device's ephemeral public key, between two devices.

    ``id`` is the 8 digits the receiving device shows first. ``public_key`` is the receiver's
    X25519 public key (public by nature); ``token_digest`` the SHA-256 of the random token only
    the receiver holds, which fetches the payload. ``payload`` is the sealed folder, which the
    center cannot open (docs/certificate-copy.md); it is deleted with the row when fetched or
    after ``expires_at``.
    """

    id: str
    public_key: bytes
    token_digest: str
    client_ip: str
    created_at: datetime
    expires_at: datetime
    payload: bytes | None = None
    sent_at: datetime | None = None


class CmpState(enum.StrEnum):
    """Where a CMP transaction (RFC 4210, RFC 9483) stands."""

    ISSUING = "issuing"  # the request is checked; the authority is making the certificate
    WAITING = "waiting"  # the certificate went out in ip/kup; its certConf is awaited
    CONFIRMING = "confirming"  # a certConf (or the timeout) is being passed to the authority
    DONE = "done"  # confirmed, rejected, revoked or refused: nothing more is accepted


@dataclass(eq=False)
class CmpTransaction:
    """One CMP transaction, keyed by the client's transactionID (hex).

    ``client_nonce`` is the senderNonce of the client's last message and ``server_nonce`` that
    of the center's last answer, which the client's next message must name as its recipNonce.
    ``sealed_secret`` is the authorization code (인가코드) of a MAC-protected enrolment, sealed
    by the key backend while the certConf is awaited (never in clear) and dropped when the
    transaction ends; ``signer_key`` is the public key (SubjectPublicKeyInfo, DER) that signed
    a signature-protected request, which must sign its certConf too.
    """

    transaction_id: str
    kind: str  # ir | kur | rr
    state: str
    protection: str  # mac | signature
    pvno: int
    created_at: datetime
    expires_at: datetime
    client_nonce: bytes
    reference: str | None = None  # senderKID of a MAC-protected request: 참조번호
    server_nonce: bytes | None = None
    serial: str | None = None  # the certificate issued (hex), or revoked
    certificate: bytes | None = None  # the issued certificate (DER), for the certConf's hash
    sealed_secret: bytes | None = None
    signer_key: bytes | None = None
    outcome: str | None = None  # accepted | rejected | expired | refused | revoked
    finished_at: datetime | None = None


# ---------------------------------------------------------------- the OpenID provider
# (certcenter.oidc) Secrets are never stored in clear: a client secret, an authorization code,
# an access or refresh token, a pushed request's ``request_uri`` are kept as keyed digests.
# Signing keys stay in the key backend; only their key ids (RFC 7638) and labels are kept.

OIDC_CONFIDENTIAL = "confidential"
OIDC_PUBLIC = "public"
OIDC_AUTH_METHODS = ("client_secret_basic", "private_key_jwt", "none")


@dataclass
class OidcClient:
    """A relying party registered by an operator (``certcenter oidc clients add``)."""

    client_id: str
    name: str
    kind: str  # confidential | public
    auth_method: str  # client_secret_basic | private_key_jwt | none
    redirect_uris: list[str]
    created_at: datetime
    secret_digest: str | None = None  # client_secret_basic: the keyed digest of the secret
    jwks: dict[str, object] | None = None  # private_key_jwt: the client's public keys
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    scopes: str = "openid profile phone birthdate"
    allow_ci: bool = False  # may receive the CI (연계정보)
    require_par: bool = False  # high assurance: authorization requests only pushed (RFC 9126)
    disabled_at: datetime | None = None


@dataclass
class OidcCode:
    """An authorization code: single use, short-lived; ``grant_id`` names every token issued
    from it, so a replayed code revokes them."""

    code_digest: str
    grant_id: str
    client_id: str
    customer_id: str
    certificate_serial: str
    redirect_uri: str
    scope: str
    claims: list[str]
    code_challenge: str
    code_challenge_method: str
    auth_time: datetime
    acr: str
    amr: list[str]
    created_at: datetime
    expires_at: datetime
    nonce: str | None = None
    used_at: datetime | None = None


@dataclass
class OidcToken:
    """An access token and (maybe) its refresh token; a refresh makes a new row in the same
    grant and marks this one ``rotated_at``. Presenting a rotated refresh token again revokes
    the whole grant (reuse detection)."""

    id: str
    grant_id: str
    client_id: str
    customer_id: str
    certificate_serial: str
    scope: str
    claims: list[str]
    access_digest: str
    issued_at: datetime
    access_expires_at: datetime
    auth_time: datetime
    acr: str
    amr: list[str]
    refresh_digest: str | None = None
    refresh_expires_at: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass
class OidcConsent:
    """What a customer allowed one client to receive (동의), per client."""

    id: str
    customer_id: str
    client_id: str
    claims: list[str]
    granted_at: datetime
    withdrawn_at: datetime | None = None


@dataclass
class OidcSigningKey:
    """An ID-token signing key: its id (RFC 7638 thumbprint) and its label in the backend.
    ``state``: current (signs), previous (still published in the JWKS), retired."""

    kid: str
    label: str
    state: str
    created_at: datetime
    retired_at: datetime | None = None


@dataclass
class OidcPushedRequest:
    """A pushed authorization request (RFC 9126): the parameters, kept under the digest of
    their ``request_uri`` until used once or expired."""

    uri_digest: str
    client_id: str
    params: dict[str, str]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class KeyGeneration:
    """One generation of a rotated key (키 교체 세대): the pepper or the customer keys'
    key-encryption key, under its key backend label; the highest generation is current."""

    name: str  # "pepper", "customer-kek"
    generation: int  # 1, 2, …
    label: str  # the key backend label: "pepper", "pepper.2", …
    created_at: datetime | None = None  # None for a first generation nobody recorded
    retired_at: datetime | None = None  # deleted from its backend


@dataclass
class OtherJointCertificate:
    """A joint certificate another institution's CA issued (타기관 인증서), registered to a
    customer so it logs in here; found by the SHA-256 fingerprint of its DER."""

    id: str
    customer_id: str
    fingerprint: str  # SHA-256 of the DER, hex (lower case)
    issuer: str  # RFC 4514
    serial: str  # hex, upper case
    subject: str  # RFC 4514
    der: bytes
    not_after: datetime
    registered_at: datetime
    last_used_at: datetime | None = None
