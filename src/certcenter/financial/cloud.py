"""The cloud account of the financial certificate (금융인증서): its key, its certificate, its
renewal and its deletion.

    cloud = CloudCertificates(...)
    issued = cloud.create(customer.id, "480213", device_public_key=spki, device_label="집 PC",
                          actor=ActorRef.customer("C001", ip), source_ip=ip)
    cloud.renew_if_due(customer.id)          # used in its last month → renewed (same key)
    cloud.delete(customer.id, ActorRef.customer("C001", ip))   # 폐기: key destroyed
    cloud.run_jobs()                         # inactivity notice and deletion, renewals due

The key pair is generated inside the key backend and leaves it only wrapped (AES key wrap)
under the backend's key-encryption key ``customer-kek`` (:data:`WRAPPING_KEY_LABEL`; after a
rotation its current generation, ``customer-kek.2``, …, see :mod:`certcenter.custody.kek`),
which never leaves it; the wrapped key is stored with the cloud account (named ``fin-<uuid hex>``)
and unwrapped inside the backend for each signature. So millions of customers are millions
of rows, not millions of objects in an HSM, and destroying a key is erasing its row's
wrapped key: in the same transaction as the account's deletion, the certificate's
revocation by an operator (:func:`close_cloud_account`) or the re-issue that replaces it,
so no crash ever leaves a key behind. A customer has one financial certificate: issuing a
new one supersedes the previous certificate and destroys its key. The certificate is issued
like every other, by :meth:`certcenter.issuance.Issuance.issue` (intent first, so a crash
never leaves a certificate without a record); the cloud account with its wrapped key, the
browser and the PIN lock change in its activation transaction. (Accounts made before keys
were wrapped keep their key in the backend under the account's label, destroyed as before.)

Inactivity: an account unused for ``policy.financial_inactivity_days`` is deleted (its key
destroyed, its certificate revoked with cessationOfOperation, its devices removed), and the
customer is told ``policy.financial_inactivity_notice_days`` before: the deletion never comes
sooner than that many days after the notice, so a customer is always warned. Any use
(a remote signature) starts the idle period again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.audit.trail import AuditTrail
from certcenter.authn.credential_policy import check_new_pin
from certcenter.authn.hashing import SecretHasher
from certcenter.certificates import records
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import (
    BrowserDevice,
    CertificateRecord,
    CertificateStatus,
    CloudAccount,
    Customer,
    new_id,
)
from certcenter.errors import CertCenterError
from certcenter.financial import notices
from certcenter.financial.access import (
    FAMILY,
    FINANCIAL_PIN,
    PIN_PURPOSE,
    FinancialPinGuard,
    holding,
)
from certcenter.financial.devices import FinancialDevices, clean_label
from certcenter.financial.proof import device_key, key_digest
from certcenter.issuance import (
    AlreadyRenewedError,
    Issuance,
    IssueHooks,
    IssueRequest,
    Notice,
    Renewal,
    audit_certificate,
    publish_crls,
)
from certcenter.keys.backend import CustomerKeys
from certcenter.lifecycle.service import ActorRef, StatusPublisher
from certcenter.notifications.outbox import Outbox
from certcenter.pki.issuer import IssuanceIntent
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "WRAPPING_KEY_LABEL",
    "CloudCertificates",
    "FinancialIssued",
    "FinancialJobReport",
    "FinancialOverview",
    "close_cloud_account",
    "key_label_for",
]

log = logging.getLogger(__name__)
KEY_PREFIX = "fin-"
WRAPPING_KEY_LABEL = "customer-kek"  # the key backend's key-encryption key of cloud keys


def key_label_for(account_id: str) -> str:
    """The key backend label of a cloud key: ``fin-<32 hex>`` (valid per LABEL_PATTERN)."""
    return KEY_PREFIX + uuid.UUID(account_id).hex


@dataclass(frozen=True)
class FinancialIssued:
    """A financial certificate just issued into the customer's cloud account."""

    serial: str
    certificate_der: bytes = field(repr=False)
    device_id: str | None  # the browser registered with it, if one was given
    not_before: datetime
    not_after: datetime
    replaced: tuple[str, ...] = ()  # serials of the certificates it superseded

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate_der)


@dataclass(frozen=True)
class FinancialOverview:
    """What the customer sees of their financial certificate (내 금융인증서)."""

    serial: str
    status: str
    subject: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime | None
    last_used_at: datetime  # of the cloud account: any signature
    delete_after: datetime  # deleted if not used again by then (inactivity rule)
    devices: tuple[BrowserDevice, ...]
    pin_locked: bool
    certificate_der: bytes = field(repr=False)


@dataclass
class FinancialJobReport:
    noticed: list[str] = field(default_factory=list)  # customer numbers told of deletion
    deleted: list[str] = field(default_factory=list)  # customer numbers whose account went
    renewed: dict[str, str] = field(default_factory=dict)  # old serial → new serial
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Deleted:
    customer_number: str
    revoked: tuple[str, ...]


class CloudCertificates:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        keys: CustomerKeys,
        issuance: Issuance,
        hasher: SecretHasher,
        guard: FinancialPinGuard,
        devices: FinancialDevices,
        audit: AuditTrail,
        notifier: Outbox,
        publisher: StatusPublisher,
        settings: Settings,
        clock: Clock,
        wrapping_label: Callable[[], str] = lambda: WRAPPING_KEY_LABEL,
    ) -> None:
        self.uow_factory = uow_factory
        self.keys = keys
        # the current key-encryption key (KeyGenerations.current_label: it is rotated)
        self.wrapping_label = wrapping_label
        self.issuance = issuance
        self.hasher = hasher
        self.guard = guard
        self.devices = devices
        self.audit = audit
        self.notifier = notifier
        self.publisher = publisher
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self._wrapping_ready: set[str] = set()

    # ------------------------------------------------------------------ issue

    def create(
        self,
        customer_id: str,
        pin: str,
        *,
        device_public_key: bytes | None,
        device_label: str | None,
        actor: ActorRef,
        source_ip: str | None,
    ) -> FinancialIssued:
        """Issue the customer's financial certificate into a new cloud account (발급/재발급).

        The PIN must be 6 digits and not guessable (``PIN_FORMAT``, ``PIN_WEAK``); the
        browser given by ``device_public_key`` (DER SubjectPublicKeyInfo, EC P-256) becomes
        a registered device (``FINANCIAL_DEVICE_LIMIT`` when there is no room). A previous
        financial certificate is superseded and its key destroyed; the PIN lock is lifted.
        """
        with self.uow_factory() as uow:
            customer = self._customer(uow, customer_id)
        check_new_pin(pin, pin, birth_date=customer.birth_date)
        browser = device_key(device_public_key) if device_public_key is not None else None
        label = clean_label(device_label)
        if browser is not None:
            with self.uow_factory() as uow:
                self._check_device_room(uow, customer, browser)
        pin_hash = self.hasher.hash(pin, purpose=PIN_PURPOSE)  # slow: outside transactions

        account_id = new_id()
        key_label = key_label_for(account_id)
        wrapping_label = self.wrapping_label()  # the current key-encryption key generation
        if wrapping_label not in self._wrapping_ready:  # set up before keys were wrapped
            self.keys.ensure_wrapping_key(wrapping_label)
            self._wrapping_ready.add(wrapping_label)
        # nothing of the key is kept anywhere until the activation commits it, wrapped
        made = self.keys.generate_wrapped_key(wrapping_label, "ec-p256")
        public_key = made.public_key
        ip = source_ip or actor.source_ip
        wrapped = (wrapping_label, made.wrapped)
        hooks = _NewAccount(self, account_id, key_label, wrapped, pin_hash, browser, label, ip)
        try:
            if not isinstance(public_key, ec.EllipticCurvePublicKey):  # pragma: no cover
                raise TypeError("the key backend made a key of another kind")
            issued = self.issuance.issue(
                IssueRequest(
                    profile=FAMILY,
                    public_key=public_key,
                    customer_id=customer.id,
                    actor=actor,
                    supersede_family=True,
                    source_ip=ip,
                    notices=lambda done: [
                        Notice.of(
                            notices.issued(
                                self.settings.bank_name,
                                done.at,
                                until=done.not_after.date(),
                                device=hooks.device.label if hooks.device else None,
                            )
                        )
                    ],
                ),
                hooks,
            )
        except BaseException:
            self._abandon(key_label, hooks.intent)
            raise
        # accounts made before wrapping had their key in the backend: it goes now
        for old_key in hooks.old_keys:
            self._destroy_key(old_key)
        log.info("financial certificate %s issued for %s", issued.serial, customer.customer_number)
        return FinancialIssued(
            serial=issued.serial,
            certificate_der=issued.der,
            device_id=hooks.device.id if hooks.device else None,
            not_before=issued.not_before,
            not_after=issued.not_after,
            replaced=issued.retired,
        )

    def _abandon(self, key_label: str, intent: IssuanceIntent | None) -> None:
        """Undo a creation that failed before its certificate was activated: the intent is
        abandoned (it was never handed out). The fresh key was never stored: its wrapped
        form goes only into the activation's transaction."""
        try:
            with self.uow_factory() as uow:
                record = (
                    uow.certificates.get(f"{intent.serial:X}", for_update=True) if intent else None
                )
                if record is not None and record.status == CertificateStatus.ACTIVE.value:
                    return  # it was activated after all: the key is in use
                if record is not None and record.status == CertificateStatus.PENDING.value:
                    record.status = CertificateStatus.ABANDONED.value
                    uow.commit()
        except Exception:
            log.exception("could not mark the intent for %s abandoned", key_label)

    def overview(self, customer_id: str) -> FinancialOverview:
        """The customer's financial certificate, devices and PIN state;
        ``FINANCIAL_CERTIFICATE_NOT_FOUND`` when there is none."""
        with self.uow_factory(read_only=True) as uow:
            account, certificate = holding(uow, customer_id)
            devices = tuple(uow.browser_devices.active_for_customer(customer_id))
            locked = self.guard.is_locked(uow, customer_id, FINANCIAL_PIN)
        return FinancialOverview(
            serial=certificate.serial,
            status=certificate.status,
            subject=certificate.subject,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            issued_at=certificate.issued_at,
            last_used_at=account.last_used_at,
            delete_after=account.last_used_at
            + timedelta(days=self.policy.financial_inactivity_days),
            devices=devices,
            pin_locked=locked,
            certificate_der=certificate.der or b"",
        )

    # ------------------------------------------------------------------ renew

    def renew(self, serial: str, actor: ActorRef) -> str:
        """갱신: a new certificate for the same cloud key and a new validity; the old one
        superseded. Returns the new serial (the one already made, when it was renewed)."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            old = uow.certificates.get(serial)
            if old is None or old.family != FAMILY:
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial[:64])
            if old.replaced_by is not None:
                return old.replaced_by
            _require_renewable(old, now)
            request = IssueRequest(
                profile=FAMILY,
                public_key=x509.load_der_x509_certificate(old.der or b"").public_key(),
                customer_id=old.customer_id,
                actor=actor,
                replaces=old.serial,
                notices=lambda done: [
                    Notice.of(
                        notices.renewed(
                            self.settings.bank_name, done.at, until=done.not_after.date()
                        )
                    )
                ],
            )
        try:
            issued = self.issuance.issue(
                request, Renewal(lambda record: _require_renewable(record, now))
            )
        except AlreadyRenewedError as done:  # renewed meanwhile by someone else
            if done.replaced_by is None:
                raise CertCenterError("CERTIFICATE_NOT_USABLE", status="renewing") from None
            return done.replaced_by
        log.info("financial certificate %s renewed as %s", serial, issued.serial)
        return issued.serial

    def renew_if_due(self, customer_id: str, actor: ActorRef | None = None) -> str | None:
        """Renew the customer's certificate if it is in its last
        ``policy.financial_renewal_window_days`` (called when it is used); the new serial, or
        None when nothing was due. A failure is logged, never raised: the job runner retries."""
        now = self.clock.now()
        window = timedelta(days=self.policy.financial_renewal_window_days)
        with self.uow_factory() as uow:
            due = [
                c.serial
                for c in uow.certificates.for_customer(
                    customer_id, family=FAMILY, statuses=[CertificateStatus.ACTIVE.value]
                )
                if c.replaced_by is None and now < c.not_after <= now + window
            ]
        for serial in due:
            try:
                return self.renew(serial, actor or ActorRef.system("auto-renewal"))
            except Exception:
                log.exception("financial certificate %s not renewed now; the jobs will", serial)
        return None

    # ------------------------------------------------------------------ delete

    def delete(
        self, customer_id: str, actor: ActorRef, *, reason: str = "cessationOfOperation"
    ) -> list[str]:
        """인증서 폐기 / 클라우드 삭제: the certificate is revoked, the key destroyed, the
        devices removed, the customer told. Returns the revoked serials."""
        records.reason_flag(reason)
        deleted = self._delete_account(customer_id, actor, reason=reason, idle_days=None)
        if deleted is None:
            raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
        return list(deleted.revoked)

    # ------------------------------------------------------------------ jobs

    def run_jobs(self, *, batch: int = 500) -> FinancialJobReport:
        """One pass of the financial rules: inactivity notices, inactivity deletions, and
        renewal of certificates used in their last month."""
        report = FinancialJobReport()
        now = self.clock.now()
        days = self.policy.financial_inactivity_days
        notice = timedelta(days=min(self.policy.financial_inactivity_notice_days, days))
        idle_limit = now - timedelta(days=days)
        with self.uow_factory() as uow:
            idle = list(uow.cloud_accounts.unused_since(now - timedelta(days=days) + notice))
            window = timedelta(days=self.policy.financial_renewal_window_days)
            due = [
                r.serial
                for r in uow.certificates.renewal_due(now, window, limit=batch)
                if r.family == FAMILY
            ]
        for account in idle[:batch]:
            try:
                if account.notice_sent_at is None:
                    number = self._send_notice(account.id)
                    if number:
                        report.noticed.append(number)
                elif account.last_used_at <= idle_limit and account.notice_sent_at <= now - notice:
                    gone = self._delete_account(
                        account.customer_id,
                        ActorRef.system("inactivity"),
                        reason="cessationOfOperation",
                        idle_days=days,
                        account_id=account.id,
                        idle_before=idle_limit,
                    )
                    if gone is not None:
                        report.deleted.append(gone.customer_number)
            except Exception as exc:
                log.exception("financial jobs: account %s failed", account.id)
                report.errors.append(f"{account.id}: {type(exc).__name__}")
        for serial in due:
            try:
                report.renewed[serial] = self.renew(serial, ActorRef.system("auto-renewal"))
            except CertCenterError as err:
                log.info("financial jobs: %s not renewed (%s)", serial, err.code)
            except Exception as exc:
                log.exception("financial jobs: %s renewal failed", serial)
                report.errors.append(f"{serial}: {type(exc).__name__}")
        return report

    def _send_notice(self, account_id: str) -> str | None:
        now = self.clock.now()
        with self.uow_factory() as uow:
            account = uow.cloud_accounts.get(account_id)
            if account is None or account.status != "active":
                return None
            if not uow.cloud_accounts.claim_notice(account.id, now):
                return None
            customer = self._customer(uow, account.customer_id)
            days = self.policy.financial_inactivity_days
            notice = timedelta(days=min(self.policy.financial_inactivity_notice_days, days))
            delete_on = max(account.last_used_at + timedelta(days=days), now + notice)
            self.audit.record(
                uow,
                actor_kind="system",
                actor="inactivity",
                action="financial_inactivity_notice",
                subject_kind="cloud_account",
                subject=account.id,
                details={"customer": customer.customer_number, "delete_on": delete_on.date()},
            )
            self.notifier.notify(
                uow,
                customer=customer,
                **notices.inactivity_notice(
                    self.settings.bank_name, days=days, delete_on=delete_on.date()
                ),
            )
            uow.commit()
        return customer.customer_number

    def _delete_account(
        self,
        customer_id: str,
        actor: ActorRef,
        *,
        reason: str,
        idle_days: int | None,
        account_id: str | None = None,
        idle_before: datetime | None = None,
    ) -> _Deleted | None:
        now = self.clock.now()
        with self.uow_factory() as uow:
            customer = self._customer(uow, customer_id, lock=True)
            account = uow.cloud_accounts.active_for_customer(customer.id)
            if account is None or (account_id is not None and account.id != account_id):
                return None
            if idle_before is not None and account.last_used_at > idle_before:
                return None  # used meanwhile
            in_backend = account.wrapped_key is None  # made before keys were wrapped
            # the account and its wrapped key go in this transaction (the key is destroyed
            # by its commit)
            if not uow.cloud_accounts.claim_deletion(account.id, now):
                return None
            revoked: list[CertificateRecord] = []
            for record in uow.certificates.for_customer(
                customer.id, family=FAMILY, statuses=[*records.USABLE, "pending"]
            ):
                locked = uow.certificates.get(record.serial, for_update=True)
                if locked is None:
                    continue
                if locked.status == CertificateStatus.PENDING.value:
                    locked.status = CertificateStatus.ABANDONED.value
                    continue
                records.revoke(locked, now, reason)
                uow.ocsp.invalidate(locked.serial)
                uow.sessions.end_for_certificate(locked.serial, now, "account_deleted")
                revoked.append(locked)
                audit_certificate(
                    self.audit, uow, actor, "revoke", locked.serial, {"reason": reason}
                )
            removed = uow.browser_devices.remove_all(customer.id, now)
            self.audit.record(
                uow,
                actor_kind=actor.kind,
                actor=actor.id,
                action="financial_account_delete",
                subject_kind="cloud_account",
                subject=account.id,
                source_ip=actor.source_ip,
                details={
                    "customer": customer.customer_number,
                    "key": account.key_label,
                    "certificates": [r.serial for r in revoked],
                    "devices_removed": removed,
                    "unused_days": idle_days,
                },
            )
            self.notifier.notify(
                uow,
                customer=customer,
                **notices.deleted(self.settings.bank_name, now, days=idle_days),
            )
            uow.flush()
            if in_backend:
                # The key goes before the commit: should the commit fail, the account is
                # still active but without a key, and the next pass deletes it again.
                self._destroy_key(account.key_label)
            uow.commit()
            shards = {(r.family, r.crl_shard) for r in revoked}
        publish_crls(self.publisher, shards)
        log.info("financial account of %s deleted (%s)", customer.customer_number, reason)
        return _Deleted(customer.customer_number, tuple(r.serial for r in revoked))

    # ------------------------------------------------------------------ machinery

    def _check_device_room(
        self, uow: UnitOfWork, customer: Customer, browser: ec.EllipticCurvePublicKey
    ) -> None:
        existing = uow.browser_devices.active_by_key(key_digest(browser))
        if existing is not None:
            if existing.customer_id == customer.id:
                return
            raise CertCenterError("FINANCIAL_DEVICE_ALREADY_REGISTERED")
        if uow.browser_devices.count_active(customer.id) >= self.policy.financial_max_devices:
            raise CertCenterError(
                "FINANCIAL_DEVICE_LIMIT", max_devices=self.policy.financial_max_devices
            )

    def _destroy_key(self, key_label: str) -> None:
        if not key_label:
            return
        try:
            self.keys.delete_key(key_label)
        except Exception:
            log.exception("cloud key %s could not be destroyed", key_label)
            raise

    def _customer(self, uow: UnitOfWork, customer_id: str, *, lock: bool = False) -> Customer:
        customer = uow.customers.get(customer_id, for_update=lock)
        if customer is None:
            raise CertCenterError("CUSTOMER_UNKNOWN", customer=customer_id)
        return customer


def close_cloud_account(
    keys: CustomerKeys, uow: UnitOfWork, record: CertificateRecord, now: datetime
) -> None:
    """A financial certificate revoked (by an operator or the customer) closes its cloud
    account in the revocation's own transaction: the wrapped key is erased with the account,
    so it is destroyed exactly when the revocation commits. The lifecycle calls this for the
    financial family (``LifecycleService(on_revoke=…)``). A key of an account made before
    wrapping is destroyed in the backend after that commit."""
    if record.family != FAMILY:
        return
    account = uow.cloud_accounts.active_for_customer(record.customer_id)
    if account is None:
        return
    still_usable = [
        c
        for c in uow.certificates.for_customer(
            record.customer_id, family=FAMILY, statuses=list(records.USABLE)
        )
        if c.serial != record.serial
    ]
    if still_usable:  # the account's key is another certificate's now (never, in practice)
        return
    in_backend = account.wrapped_key is None
    label = account.key_label
    if uow.cloud_accounts.claim_deletion(account.id, now) and in_backend:
        uow.after_commit(lambda: _forget(keys, label))


def _forget(keys: CustomerKeys, label: str) -> None:
    try:
        keys.delete_key(label)
    except Exception:
        log.exception("cloud key %s could not be destroyed after its revocation", label)


def _require_renewable(record: CertificateRecord, now: datetime) -> None:
    records.require_usable(record, now)
    if record.status == CertificateStatus.SUSPENDED or record.der is None:
        raise CertCenterError("CERTIFICATE_NOT_USABLE", status=record.status)


class _NewAccount(IssueHooks):
    """A new cloud account with the certificate: the previous account closed (its key
    destroyed after the commit), the browser registered, the PIN lock lifted."""

    def __init__(
        self,
        cloud: CloudCertificates,
        account_id: str,
        key_label: str,
        wrapped_key: tuple[str, bytes],  # (the key-encryption key's label, the wrapped key)
        pin_hash: str,
        browser: ec.EllipticCurvePublicKey | None,
        label: str,
        source_ip: str | None,
    ) -> None:
        self.cloud = cloud
        self.account_id = account_id
        self.key_label = key_label
        self.wrapping_label, self.wrapped_key = wrapped_key
        self.pin_hash = pin_hash
        self.browser = browser
        self.label = label
        self.source_ip = source_ip
        self.intent: IssuanceIntent | None = None
        self.device: BrowserDevice | None = None
        self.old_keys: list[str] = []

    def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
        self.intent = intent

    def on_activate(
        self,
        uow: UnitOfWork,
        customer: Customer,
        record: CertificateRecord,
        retired: Sequence[CertificateRecord],
    ) -> Mapping[str, object]:
        now = record.issued_at or self.cloud.clock.now()
        record.last_used_at = now
        previous = uow.cloud_accounts.active_for_customer(customer.id)
        in_backend = previous is not None and previous.wrapped_key is None
        # the previous account's wrapped key is erased with it, in this transaction
        closed = previous is not None and uow.cloud_accounts.claim_deletion(previous.id, now)
        if closed and previous is not None and in_backend:
            self.old_keys.append(previous.key_label)  # made before wrapping: after the commit
        uow.cloud_accounts.add(
            CloudAccount(
                id=self.account_id,
                customer_id=customer.id,
                key_label=self.key_label,
                pin_hash=self.pin_hash,
                status="active",
                created_at=now,
                last_used_at=now,
                wrapped_key=self.wrapped_key,
                wrapping_key_label=self.wrapping_label,
            )
        )
        if self.browser is not None:
            self.device = self.cloud.devices.register(
                uow, customer, self.browser, self.label, source_ip=self.source_ip
            )
        self.cloud.guard.release(uow, customer.id, FINANCIAL_PIN)  # a new PIN: lock lifted
        return {
            "family": FAMILY,
            "key": self.key_label,
            "device": self.device.id if self.device else None,
            "supersedes": [r.serial for r in retired],
        }
