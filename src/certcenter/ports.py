"""What the domain needs from storage: repositories and a unit of work, as Protocols.

``certcenter.storage`` implements them with SQLAlchemy; the domain never sees SQL.

    with uow_factory() as uow:
        customer = uow.customers.by_ci(ci)
        ...
        uow.commit()
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from certcenter.entities import (
    AuditCheckpoint,
    AuditEntry,
    Block,
    BrowserDevice,
    CertificateCopy,
    CertificateRecord,
    CloudAccount,
    CmpTransaction,
    CrlDistributionPoint,
    CrlRecord,
    Customer,
    Device,
    DeviceChallenge,
    Enrollment,
    FactorChallenge,
    FactorCounter,
    FailureRecord,
    FinancialEnrollment,
    FinancialReverification,
    JointRegistration,
    KeyGeneration,
    LostPhoneReport,
    OcspCacheEntry,
    OidcClient,
    OidcCode,
    OidcConsent,
    OidcPushedRequest,
    OidcSigningKey,
    OidcToken,
    Operator,
    OtherJointCertificate,
    OtpToken,
    OutboxMessage,
    SecurityCard,
    Session,
    SignedDocument,
    SigningActivation,
    Transfer,
    TransferRequestKey,
    VerificationCode,
    WebApproval,
)


class CustomerRepository(Protocol):
    def add(self, customer: Customer) -> None: ...
    def get(self, customer_id: str, *, for_update: bool = False) -> Customer | None: ...
    def number_of(self, customer_id: str) -> str | None:
        """The customer's number (the audit trail's name for them), without loading the
        customer when the unit of work does not hold them; None for nobody."""
        ...

    def by_ci(self, ci: str) -> Customer | None: ...
    def by_number(self, customer_number: str) -> Customer | None: ...
    def by_user_id(self, user_id: str) -> Customer | None: ...
    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Customer]: ...
    def search(self, text: str, *, limit: int = 50) -> Sequence[Customer]:
        """By customer number or phone (exact) or name (part of it)."""
        ...


class EnrollmentRepository(Protocol):
    def add(self, enrollment: Enrollment) -> None: ...
    def get(self, enrollment_id: str, *, for_update: bool = False) -> Enrollment | None: ...


class VerificationCodeRepository(Protocol):
    def add(self, code: VerificationCode) -> None: ...
    def latest(self, enrollment_id: str, purpose: str) -> VerificationCode | None: ...
    def count_attempt(self, code_id: str) -> int:
        """Atomically add one attempt (taken before the code is compared); return the count."""
        ...

    def consume(self, code_id: str, at: datetime) -> bool:
        """Atomically mark the code used; False if it was already used."""
        ...


class DeviceRepository(Protocol):
    def add(self, device: Device) -> None: ...
    def registration(self, customer_id: str, device_id: str) -> Device | None:
        """This customer's registration of this device, active or not."""
        ...

    def active_by_device_id(self, device_id: str) -> Device | None: ...
    def in_use(
        self, device_id: str, family: str
    ) -> tuple[Device, CertificateRecord, Customer] | None:
        """The registered device, its usable certificate of ``family`` and its customer, in
        one read; None when any of them is missing."""
        ...

    def latest_by_device_id(self, device_id: str) -> Device | None:
        """The newest registration of this device, whoever it was for, active or not."""
        ...

    def active_for_customer(self, customer_id: str) -> Device | None: ...
    def near(self, customer_id: str, device_id: str) -> Sequence[Device]:
        """Every registration of the customer and every registration of the device id, in
        one read (the mobile enrollment's checks of 1 person 1 device)."""
        ...

    def for_customer(self, customer_id: str) -> Sequence[Device]: ...


class CertificateRepository(Protocol):
    def add(self, record: CertificateRecord) -> None: ...
    def get(self, serial: str, *, for_update: bool = False) -> CertificateRecord | None: ...
    def mark_used(self, serial: str, *, device: str, device_id: str, now: datetime) -> bool:
        """Stamp the last use at ``now`` when the certificate is active and unexpired and
        the device (row ``device``, phone ``device_id``) still registered; else False."""
        ...

    def expired(self, now: datetime, *, limit: int = 500) -> Sequence[CertificateRecord]:
        """Active or suspended certificates whose validity ended at or before ``now``."""
        ...

    def pending_before(self, cutoff: datetime, *, limit: int = 500) -> Sequence[CertificateRecord]:
        """Issuance intents still pending that were written before ``cutoff``."""
        ...

    def unused_since(self, cutoff: datetime, *, limit: int = 500) -> Sequence[CertificateRecord]:
        """Active certificates last used (or, never used, issued) at or before ``cutoff``."""
        ...

    def renewal_due(
        self, now: datetime, window: timedelta, *, limit: int = 500
    ) -> Sequence[CertificateRecord]:
        """Active, not yet renewed certificates used within ``window`` of their end, still valid."""
        ...

    def listed_entries(
        self, family: str, shard: int, issuer_key_label: str | None = None
    ) -> Iterator[bytes]:
        """The CRL entries (DER) of the family's partition, by serial; with
        ``issuer_key_label``, only those of the certificates that CA key signed."""
        ...

    def listed_summary(
        self, family: str, shard: int, issuer_key_label: str | None = None
    ) -> tuple[int, datetime | None]:
        """How many certificates of the partition carry a CRL entry, and the newest
        ``revoked_at`` among them (None when there is none); ``issuer_key_label`` as for
        :meth:`listed_entries`."""
        ...

    def bound_to_key(self, public_key_sha256: str) -> Sequence[CertificateRecord]:
        """The certificates (any status but abandoned) whose public key has this digest."""
        ...

    def lock_key(self, public_key_sha256: str) -> None:
        """Hold, until the transaction ends, a lock on the public key's digest, so two
        issuances of one key are decided one after the other."""
        ...

    def for_customer(
        self, customer_id: str, *, family: str | None = None, statuses: Sequence[str] | None = None
    ) -> Sequence[CertificateRecord]: ...
    def list(
        self, *, limit: int = 100, offset: int = 0, status: str | None = None
    ) -> Sequence[CertificateRecord]: ...


class FailureRepository(Protocol):
    def add(self, failure: FailureRecord) -> None: ...
    def count_since(
        self,
        *,
        since: datetime,
        customer_id: str | None = None,
        device_id: str | None = None,
        client_ip: str | None = None,
        excluding: Collection[str] = (),
    ) -> int:
        """The failures since ``since`` of the customer, device and address given, leaving
        out those whose code is in ``excluding`` (refusals that count towards no block)."""
        ...

    def recent(self, *, customer_id: str, limit: int = 50) -> Sequence[FailureRecord]: ...
    def lock_subject(self, subject_kind: str, subject: str, now: datetime) -> None:
        """Count the subject's failure on its own row (an atomic upsert) and hold that row's
        lock until the transaction ends: failures of one subject are counted, and its block
        written, one transaction after the other on every database."""
        ...

    def reserve_guess(
        self,
        *,
        customer_id: str,
        enrollment_id: str,
        since: datetime,
        live_since: datetime,
        limit: int,
        now: datetime,
        excluding: Collection[str] = (),
    ) -> bool:
        """Under the customer's row lock: False when the failures since ``since`` (but those
        whose code is in ``excluding``) and the
        guesses still being compared (reserved since ``live_since``) reach ``limit``;
        otherwise reserve one more for the flow ``enrollment_id`` and True."""
        ...

    def settle_guesses(self, enrollment_id: str) -> None:
        """The flow's guesses are decided: a right one is not a failure, a wrong one is now
        in the failure log (call in the transaction that records it)."""
        ...

    def mark(self, failure_id: str, subject_kind: str, subject: str, at: datetime) -> None:
        """Count the failure ``failure_id`` under one more subject (a phone, an address)."""
        ...

    def count_marked_since(self, subject_kind: str, subject: str, *, since: datetime) -> int:
        """The failures (and reserved tries) marked with the subject since ``since``."""
        ...

    def unmark(self, failure_id: str) -> None:
        """Remove the marks of ``failure_id`` (a reserved try that is now decided)."""
        ...

    def marked(
        self, subject_kind: str, subject: str, *, since: datetime, limit: int = 200
    ) -> Sequence[FailureRecord]:
        """The failures marked with the subject since ``since``, newest first."""
        ...


class SmsWindows(NamedTuple):
    """What :meth:`SmsBudgetRepository.latest_over` found for one subject."""

    full: list[datetime | None]  # per window asked: the send that must age out, or None
    forgettable: bool  # a send at or before ``forget_before`` is still kept


class SmsBudgetRepository(Protocol):
    """Codes sent by SMS per subject (``phone``, ``person``, ``address``: keyed digests)."""

    def lock(self, subject_kind: str, subject: str, now: datetime) -> datetime | None:
        """Take the subject's row lock (an atomic upsert) until the transaction ends, so codes
        for one subject are counted and recorded one transaction after the other on every
        database; when the last code went to it, or None."""
        ...

    def latest_over(
        self,
        subject_kind: str,
        subject: str,
        windows: Sequence[tuple[datetime, int]],
        *,
        forget_before: datetime | None = None,
    ) -> SmsWindows:
        """For each window (``since``, ``limit``): None while fewer than ``limit`` codes went
        to the subject after ``since``; else when the ``limit``-th latest of them went (the
        send that must age out before another code may go). With ``forget_before``, also
        whether any send up to then is still kept."""
        ...

    def record(
        self, subject_kind: str, subject: str, at: datetime, forget_before: datetime | None
    ) -> None:
        """A code went to the subject at ``at``; its sends up to ``forget_before`` (when
        given) are forgotten."""
        ...


class BlockRepository(Protocol):
    def add(self, block: Block) -> None: ...
    def active(self, subject_kind: str, subject: str, now: datetime) -> Block | None: ...
    def first_active(self, subjects: Sequence[tuple[str, str]], now: datetime) -> Block | None:
        """The active block of the first blocked of ``subjects`` (kind, subject) in one read:
        the one lasting longest where that subject has several."""
        ...

    def lift(self, subject_kind: str, subject: str, now: datetime) -> int:
        """End the subject's active blocks now; how many there were."""
        ...


class AuditRepository(Protocol):
    def append(self, entry: AuditEntry) -> int:
        """Write the entry under the next number (set on ``entry`` and returned) without
        touching any shared row: concurrent writers never wait on each other here."""
        ...

    def lock_head(self, *, wait: bool = True) -> tuple[int, str] | None:
        """The sealed head (last sealed entry's number and hash; 0 and the genesis hash when
        none is), locked until this transaction ends: only one sealer at a time, across
        processes. ``wait=False``: None at once when another sealer holds it."""
        ...

    def take_number(self, entry: AuditEntry, *, wait_seconds: float) -> AuditEntry | None:
        """Write ``entry`` (a sealer's "skipped" marker) under its own number unless that
        number is taken; the entry that holds the number afterwards (the marker, or the writer's
        entry that committed meanwhile). A writer still holding the number (PostgreSQL) is
        waited for up to ``wait_seconds``; None when it still holds it then."""
        ...

    def seal(self, links: Sequence[tuple[int, str, str]]) -> None:
        """Set ``(seq, prev_hash, entry_hash)`` on entries not sealed yet (under the head)."""
        ...

    def move_head(self, seq: int, entry_hash: str) -> None:
        """Name the last sealed entry (under :meth:`lock_head`)."""
        ...

    def sealed_hashes(self, *, after_seq: int, up_to: int) -> Sequence[tuple[int, str | None]]:
        """``(seq, entry_hash)`` of the entries after ``after_seq`` up to ``up_to``, in order."""
        ...

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditEntry]: ...
    def for_subject(
        self, subject_kind: str, subject: str, *, limit: int = 100
    ) -> Sequence[AuditEntry]: ...
    def head(self) -> tuple[int, str]: ...

    def add_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        """Keep a signed checkpoint (call under :meth:`lock_head`, so it names the head)."""
        ...

    def last_checkpoint(self) -> AuditCheckpoint | None: ...
    def checkpoints(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditCheckpoint]:
        """Stored checkpoints by number, oldest first."""
        ...


class HealthRepository(Protocol):
    def beat(self, probe: str, at: datetime) -> None:
        """Write the probe's heartbeat row (a write that must commit: the readiness probe)."""
        ...


class OutboxRepository(Protocol):
    def add(self, message: OutboxMessage) -> None: ...
    def get(self, message_id: str) -> OutboxMessage | None: ...
    def claim_due(self, now: datetime, *, limit: int = 50) -> Sequence[OutboxMessage]:
        """Pending messages whose time has come, locked for this transaction (others skip
        them), oldest first."""
        ...

    def for_customer(self, customer_id: str, *, limit: int = 50) -> Sequence[OutboxMessage]: ...


class OperatorRepository(Protocol):
    def add(self, operator: Operator) -> None: ...
    def by_token_hash(self, token_hash: str) -> Operator | None: ...
    def by_name(self, name: str) -> Operator | None: ...
    def list(self) -> Sequence[Operator]: ...


class CrlRepository(Protocol):
    def latest(
        self, family: str, shard: int, distribution_point: str | None = None
    ) -> CrlRecord | None:
        """The partition's newest CRL (under ``distribution_point`` when given)."""
        ...

    def add(self, record: CrlRecord) -> None: ...
    def prune(self, family: str, shard: int, *, keep_after: int) -> int:
        """Delete the partition's CRLs numbered ``keep_after`` or lower; how many."""
        ...

    def lock_partition(self, family: str, shard: int) -> None:
        """Wait for, and hold until the transaction ends, the partition's publication lock:
        one publisher of a partition at a time across processes and hosts (PostgreSQL: a
        transaction-scoped advisory lock; SQLite: the write lock every transaction holds)."""
        ...

    def lock_numbering(self, family: str, shard: int) -> int:
        """The next CRL number of the partition, serialising publishers of that partition."""
        ...


class CrlPointRepository(Protocol):
    def record(self, point: CrlDistributionPoint) -> None:
        """Keep ``point`` until ``point.until`` at least (a later one is kept as it is)."""
        ...

    def in_use(self, family: str, now: datetime) -> list[CrlDistributionPoint]:
        """The family's points kept beyond ``now``, by partition, oldest URL first."""
        ...


class OcspCacheRepository(Protocol):
    def get(self, serial: str, hash_algorithm: str = "sha1") -> OcspCacheEntry | None: ...
    def put(self, entry: OcspCacheEntry) -> None: ...
    def invalidate(self, serial: str) -> None:
        """Drop the stored response and log the change under the next number, in this
        transaction (every status change calls this before it commits)."""
        ...

    def due(self, before: datetime, *, limit: int = 500) -> Sequence[OcspCacheEntry]:
        """Cached responses whose ``next_update`` is at or before ``before``, soonest first."""
        ...

    def version(self) -> int:
        """The number of the newest logged change (0: none yet)."""
        ...

    def changed_since(self, version: int, *, limit: int = 1000) -> Sequence[tuple[int, str]]:
        """(number, serial) of the logged changes after ``version``, oldest first. Numbers
        are consecutive and commit in order, so a gap means the log was pruned there."""
        ...

    def prune_changes(self, keep: int) -> int:
        """Forget all but the newest ``keep`` logged changes; how many were removed."""
        ...


class OcspChangeFeed(Protocol):
    """Where a server process hears, right after the commit, of the OCSP invalidations its
    own units of work made (other processes read the log in the database)."""

    def watch_ocsp_changes(self, listener: Callable[[str], None]) -> None: ...


class ChallengeRepository(Protocol):
    """The uses of device challenges (a challenge itself is not stored: it carries its
    expiry and a keyed tag, :class:`~certcenter.authn.device_auth.DeviceAuthenticator`)."""

    def use(self, challenge: DeviceChallenge) -> bool:
        """Record its one use, atomically; False if its value was used already."""
        ...

    def purge_expired(self, before: datetime, *, limit: int = 500) -> int:
        """Delete up to ``limit`` challenges that expired before ``before``; how many."""
        ...


class FactorCounterRepository(Protocol):
    def get(self, customer_id: str, factor: str) -> FactorCounter | None: ...
    def reserve_attempt(
        self, customer_id: str, factor: str, max_failures: int, now: datetime
    ) -> int | None:
        """Atomically count one more try, unless ``max_failures`` are counted already or the
        counter is locked (then None). Taken before the secret is compared, so concurrent
        tries can never get past the limit."""
        ...

    def release_attempt(self, customer_id: str, factor: str, now: datetime) -> None:
        """Give back a reserved try whose secret turned out right (never below zero)."""
        ...

    def lock(self, customer_id: str, factor: str, now: datetime) -> None: ...
    def reset(self, customer_id: str, factor: str, now: datetime) -> None: ...
    def for_customer(self, customer_id: str) -> Sequence[FactorCounter]: ...


class SessionRepository(Protocol):
    def add(self, session: Session) -> None: ...
    def by_token_hash(self, token_hash: str) -> Session | None: ...
    def touch(self, session_id: str, now: datetime, idle_since: datetime) -> bool:
        """Atomically mark the session used now, if it is open, was last used after
        ``idle_since`` and has not reached its absolute end; False otherwise."""
        ...

    def end(self, session_id: str, now: datetime) -> None: ...
    def end_for_device(self, device_id: str, now: datetime, reason: str) -> int:
        """End every open session opened on ``device_id`` (an app's or a browser's), in the
        caller's transaction, keeping ``reason``; how many were ended."""
        ...

    def end_for_certificate(self, serial: str, now: datetime, reason: str) -> int:
        """End every open session opened with the certificate ``serial``; how many."""
        ...


class FactorChallengeRepository(Protocol):
    def add(self, challenge: FactorChallenge) -> None: ...
    def get(self, challenge_id: str) -> FactorChallenge | None: ...
    def for_subject(self, subject: str, factor: str) -> Sequence[FactorChallenge]:
        """The challenges of one factor made for ``subject`` (a transfer), newest first."""
        ...

    def consume(self, challenge_id: str, at: datetime) -> bool:
        """Atomically mark it used; False if it was used already."""
        ...


class OtpRepository(Protocol):
    def add(self, token: OtpToken) -> None: ...
    def get(self, token_id: str, *, for_update: bool = False) -> OtpToken | None: ...
    def active_for_customer(self, customer_id: str) -> OtpToken | None: ...
    def for_customer(self, customer_id: str) -> Sequence[OtpToken]: ...
    def accept_step(self, token_id: str, step: int) -> bool:
        """Atomically record ``step`` as the last accepted time step if it is later than the
        one stored; False when it is not (the code was used already: a replay)."""
        ...


class SecurityCardRepository(Protocol):
    def add(self, card: SecurityCard) -> None: ...
    def by_serial(self, serial: str) -> SecurityCard | None: ...
    def active_for_customer(self, customer_id: str) -> SecurityCard | None: ...
    def for_customer(self, customer_id: str) -> Sequence[SecurityCard]: ...


class TransferRepository(Protocol):
    def add(self, transfer: Transfer) -> None: ...
    def get(self, transfer_id: str, *, for_update: bool = False) -> Transfer | None: ...
    def for_customer(self, customer_id: str, *, limit: int = 50) -> Sequence[Transfer]: ...
    def claim(self, transfer_id: str, from_status: str, to_status: str) -> bool:
        """Atomically move the transfer between statuses; False if it was not in
        ``from_status`` (someone else moved it first)."""
        ...

    def reserve_daily(self, customer_id: str, day: str, amount: int, limit: int) -> int | None:
        """Atomically add ``amount`` to the customer's total for ``day`` if the new total stays
        within ``limit``; the new total, or None (nothing added) when it would not."""
        ...

    def release_daily(self, customer_id: str, day: str, amount: int) -> None: ...
    def day_total(self, customer_id: str, day: str) -> int: ...
    def processing(
        self, *, claimed_before: datetime | None = None, limit: int = 100
    ) -> Sequence[Transfer]: ...
    def add_request_key(self, key: TransferRequestKey) -> bool:
        """Keep an Idempotency-Key unless the customer already used it (False then)."""
        ...

    def request_key(self, customer_id: str, key: str) -> TransferRequestKey | None: ...
    def set_request_answer(self, customer_id: str, key: str, answer: dict[str, object]) -> None: ...


class SignedDocumentRepository(Protocol):
    def add(self, document: SignedDocument) -> None: ...
    def get(self, document_id: str) -> SignedDocument | None: ...
    def for_customer(self, customer_id: str, *, limit: int = 50) -> Sequence[SignedDocument]: ...


class CloudAccountRepository(Protocol):
    def add(self, account: CloudAccount) -> None: ...
    def get(self, account_id: str) -> CloudAccount | None: ...
    def active_for_customer(self, customer_id: str) -> CloudAccount | None: ...
    def unused_since(self, cutoff: datetime, *, limit: int = 500) -> Sequence[CloudAccount]: ...
    def touch(self, account_id: str, at: datetime) -> None:
        """Record a use (and forget an inactivity notice sent for the previous idle period)."""
        ...

    def claim_notice(self, account_id: str, at: datetime) -> bool: ...
    def claim_deletion(self, account_id: str, at: datetime) -> bool:
        """Atomically mark the account deleted; False if it was not active."""
        ...

    def wrapped_keys(
        self, *, not_under: str, after: str = "", limit: int = 200
    ) -> Sequence[tuple[str, str, bytes]]:
        """Active accounts whose key is wrapped under another label than ``not_under``:
        ``(account id, wrapping label, wrapped key)``, by id, ids above ``after``."""
        ...

    def rewrap(
        self, account_id: str, old_label: str, old_wrapped: bytes, new_label: str, new: bytes
    ) -> bool:
        """Store the key re-wrapped under ``new_label``, if the row still holds ``old_wrapped``
        under ``old_label`` (not deleted or re-issued meanwhile); True if it did."""
        ...

    def wrapping_label_counts(self) -> dict[str, int]:
        """How many active accounts keep their key wrapped under each label."""
        ...

    def unwrapped_keys(self) -> Sequence[tuple[str, str]]:
        """``(account id, key label)`` of the active accounts made before keys were wrapped
        (their key in the backend under the account's own label)."""
        ...

    def store_wrapped(self, account_id: str, label: str, wrapped: bytes) -> bool:
        """Give an account made before keys were wrapped its key wrapped under ``label``
        (if it is still active and still without one); True if it did."""
        ...


class KeyGenerationRepository(Protocol):
    """The generations of the keys the center rotates (``key_generations``)."""

    def for_name(self, name: str) -> Sequence[KeyGeneration]:
        """The recorded generations of ``name``, oldest first (none: still the first)."""
        ...

    def add(self, generation: KeyGeneration) -> None: ...
    def retire(self, name: str, generation: int, at: datetime) -> None: ...


class SecretHashRepository(Protocol):
    """The stored PIN and pattern hashes, seen as a whole: what a pepper rotation needs."""

    def count_by_prefix(self, prefixes: dict[int, str], now: datetime) -> dict[int, int]:
        """For each key, how many live hashes (active devices and cloud accounts, enrollments
        not expired) start with its prefix."""
        ...

    def replace(self, kind: str, row_id: str, old: str, new: str) -> bool:
        """Replace the hash ``kind`` (``device-pin``, ``device-pattern``, ``cloud-pin``) of a
        row by ``new`` if it is still ``old``; True if it was."""
        ...


class BrowserDeviceRepository(Protocol):
    def add(self, device: BrowserDevice) -> None: ...
    def get(self, device_id: str) -> BrowserDevice | None: ...
    def active_for_customer(self, customer_id: str) -> Sequence[BrowserDevice]: ...
    def count_active(self, customer_id: str) -> int: ...
    def active_by_key(self, key_sha256: str) -> BrowserDevice | None: ...
    def remove(self, device_id: str, at: datetime) -> bool: ...
    def remove_all(self, customer_id: str, at: datetime) -> int: ...


class SigningActivationRepository(Protocol):
    def add(self, activation: SigningActivation) -> None: ...
    def get(self, activation_id: str) -> SigningActivation | None: ...
    def by_grant_hash(self, grant_hash: str) -> SigningActivation | None: ...
    def authorize(self, activation_id: str, grant_hash: str, at: datetime) -> bool:
        """Record the one-time grant; False if the activation was authorized before."""
        ...

    def consume(self, activation_id: str, at: datetime) -> bool:
        """Mark the activation used; False if it was used before (single use)."""
        ...


class FinancialEnrollmentRepository(Protocol):
    def add(self, enrollment: FinancialEnrollment) -> None: ...
    def get(
        self, enrollment_id: str, *, for_update: bool = False
    ) -> FinancialEnrollment | None: ...


class JointRegistrationRepository(Protocol):
    def add(self, registration: JointRegistration, /) -> None: ...
    def get(self, flow_id: str, /, *, for_update: bool = False) -> JointRegistration | None: ...
    def by_reference(
        self, reference: str, *, for_update: bool = False
    ) -> JointRegistration | None: ...
    def by_transaction(
        self, transaction_id: str, *, for_update: bool = False
    ) -> JointRegistration | None: ...
    def by_serial(self, serial: str, *, for_update: bool = False) -> JointRegistration | None: ...
    def charged_before(self, moment: datetime, limit: int) -> Sequence[str]:
        """Ids of registrations whose fee is still charged and that expired by ``moment``."""
        ...


class FinancialReverificationRepository(Protocol):
    def add(self, flow: FinancialReverification, /) -> None: ...
    def get(
        self, flow_id: str, /, *, for_update: bool = False
    ) -> FinancialReverification | None: ...


class LostPhoneReportRepository(Protocol):
    def add(self, report: LostPhoneReport) -> None: ...
    def get(self, report_id: str, *, for_update: bool = False) -> LostPhoneReport | None: ...


class CertificateCopyRepository(Protocol):
    def add(self, relay: CertificateCopy) -> None: ...
    def exists(self, relay_id: str) -> bool: ...
    def get(self, relay_id: str, *, for_update: bool = False) -> CertificateCopy | None: ...
    def delete(self, relay_id: str) -> None: ...
    def open_from(self, client_ip: str, now: datetime) -> int: ...
    def purge_expired(self, now: datetime, *, limit: int = 500) -> int: ...


class OtherJointCertificateRepository(Protocol):
    """Joint certificates of other institutions' CAs registered to customers."""

    def add(self, registered: OtherJointCertificate) -> None: ...
    def get(self, registration_id: str) -> OtherJointCertificate | None: ...
    def by_fingerprint(self, fingerprint: str) -> OtherJointCertificate | None: ...
    def for_customer(self, customer_id: str) -> Sequence[OtherJointCertificate]: ...
    def delete(self, registration_id: str) -> None: ...


class WebApprovalRepository(Protocol):
    def add(self, approval: WebApproval) -> None: ...
    def get(self, approval_id: str) -> WebApproval | None: ...
    def by_code_digest(self, code_digest: str) -> WebApproval | None: ...
    def by_token_hash(self, token_hash: str) -> WebApproval | None: ...
    def approve(
        self,
        approval_id: str,
        *,
        customer_id: str,
        device_id: str,
        certificate_serial: str,
        at: datetime,
        method: str | None = None,
    ) -> bool:
        """Record the approval once, while unexpired; False otherwise."""
        ...

    def consume(self, approval_id: str, at: datetime) -> bool: ...


class CmpTransactionRepository(Protocol):
    """CMP transactions by transactionID (hex) and the senderNonces clients sent."""

    def add(self, transaction: CmpTransaction) -> None: ...
    def get(self, transaction_id: str, *, for_update: bool = False) -> CmpTransaction | None: ...
    def remember_nonce(self, nonce_sha256: str, at: datetime) -> bool:
        """Record a client's senderNonce (its SHA-256); False when it was seen before (a
        replay), decided by the primary key even between racing requests."""
        ...

    def unconfirmed(self, now: datetime, *, limit: int = 500) -> Sequence[CmpTransaction]:
        """Transactions not done (issuing, waiting for their certConf, confirming) whose
        time ended at or before ``now``, oldest first."""
        ...

    def forget_nonces(self, before: datetime) -> int:
        """Forget the nonces seen before ``before``; how many."""
        ...


class ConstraintViolationError(Exception):
    """A database constraint refused a change (raced by another request); ``name`` says which."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class ReadOnlyWriteError(RuntimeError):
    """A read-only unit of work was asked to change the database: a fault of its caller,
    never a refusal to a customer (the change is not made)."""


class UnitOfWork(Protocol):
    """One transaction. ``commit`` makes everything since the last commit durable at once.

    ``flush`` and ``commit`` raise :class:`ConstraintViolationError` when a constraint refuses.
    """

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def enrollments(self) -> EnrollmentRepository: ...
    @property
    def codes(self) -> VerificationCodeRepository: ...
    @property
    def devices(self) -> DeviceRepository: ...
    @property
    def certificates(self) -> CertificateRepository: ...
    @property
    def failures(self) -> FailureRepository: ...
    @property
    def blocks(self) -> BlockRepository: ...
    @property
    def sms_budget(self) -> SmsBudgetRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def operators(self) -> OperatorRepository: ...
    @property
    def crls(self) -> CrlRepository: ...
    @property
    def crl_points(self) -> CrlPointRepository: ...
    @property
    def ocsp(self) -> OcspCacheRepository: ...
    @property
    def challenges(self) -> ChallengeRepository: ...
    @property
    def factors(self) -> FactorCounterRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def factor_challenges(self) -> FactorChallengeRepository: ...
    @property
    def otp(self) -> OtpRepository: ...
    @property
    def security_cards(self) -> SecurityCardRepository: ...
    @property
    def transfers(self) -> TransferRepository: ...
    @property
    def signed_documents(self) -> SignedDocumentRepository: ...
    @property
    def cloud_accounts(self) -> CloudAccountRepository: ...
    @property
    def browser_devices(self) -> BrowserDeviceRepository: ...
    @property
    def activations(self) -> SigningActivationRepository: ...
    @property
    def financial_enrollments(self) -> FinancialEnrollmentRepository: ...
    @property
    def financial_reverifications(self) -> FinancialReverificationRepository: ...
    @property
    def joint_registrations(self) -> JointRegistrationRepository: ...
    @property
    def approvals(self) -> WebApprovalRepository: ...
    @property
    def lost_reports(self) -> LostPhoneReportRepository: ...
    @property
    def certificate_copies(self) -> CertificateCopyRepository: ...
    @property
    def health(self) -> HealthRepository: ...
    @property
    def cmp_transactions(self) -> CmpTransactionRepository: ...
    @property
    def oidc(self) -> OidcRepository: ...
    @property
    def key_generations(self) -> KeyGenerationRepository: ...
    @property
    def secret_hashes(self) -> SecretHashRepository: ...
    @property
    def other_joint_certificates(self) -> OtherJointCertificateRepository: ...

    def flush(self) -> None: ...
    def commit(self) -> None: ...
    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the next :meth:`commit` has succeeded (never on rollback):
        work that must only follow a durable change, outside its transaction."""
        ...

    def rollback(self) -> None: ...
    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work. ``read_only=True``: one that only reads, without the write lock
    (SQLite: a deferred transaction on the WAL's snapshot, not ``BEGIN IMMEDIATE``;
    PostgreSQL: a ``READ ONLY`` transaction), for paths that never write (OCSP answers
    from the cache, certificate lookups, CRL downloads, listings). A change made in one raises
    :class:`ReadOnlyWriteError`."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...

    @property
    def writers_queue(self) -> bool:
        """Whether every writing transaction waits for one lock, from its first statement to
        its end (SQLite): then what a write only needs to read is cheaper read in a
        read-only unit of work before it. Not on PostgreSQL, where a transaction locks only
        the rows it changes and a second transaction costs more than it spares."""
        ...


class OidcRepository(Protocol):
    def add_client(self, client: OidcClient) -> None: ...
    def client(self, client_id: str) -> OidcClient | None: ...
    def clients(self) -> list[OidcClient]: ...
    def add_code(self, code: OidcCode) -> None: ...
    def code(self, digest: str) -> OidcCode | None: ...
    def nonce_used(self, client_id: str, nonce: str) -> bool: ...
    def use_code(self, digest: str, at: datetime) -> bool: ...
    def add_token(self, token: OidcToken) -> None: ...
    def token_by_access(self, digest: str) -> OidcToken | None: ...
    def token_by_refresh(self, digest: str) -> OidcToken | None: ...
    def rotate(self, token_id: str, at: datetime) -> bool: ...
    def revoke_token(self, token_id: str, at: datetime) -> bool: ...
    def revoke_grant(self, grant_id: str, at: datetime) -> int: ...
    def customers_of_client(self, client_id: str) -> list[str]: ...
    def grants_of(self, customer_id: str, client_id: str) -> list[str]: ...
    def add_consent(self, consent: OidcConsent) -> None: ...
    def consent(self, customer_id: str, client_id: str) -> OidcConsent | None: ...
    def add_signing_key(self, key: OidcSigningKey) -> None: ...
    def signing_keys(self) -> list[OidcSigningKey]: ...
    def add_pushed(self, pushed: OidcPushedRequest) -> None: ...
    def use_pushed(self, digest: str, at: datetime) -> OidcPushedRequest | None: ...
    def use_jti(self, digest: str, client_id: str, at: datetime) -> bool: ...
