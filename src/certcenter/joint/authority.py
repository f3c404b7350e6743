"""The joint certificate's authority: what the CMP server asks of the center (공동인증서 발급).

    authority = center.joint_authority
    secret = authority.shared_secret("4821937560")        # the 인가코드, for the PBM key
    authority.record_bad_mac("4821937560")                 # a MAC that did not verify
    enrolled = authority.enroll("4821937560", public_key_der=spki, requested_subject=None,
                                transaction_id=tid)        # ir/cr → the certificate
    authority.confirm(tid, accepted=True)                  # certConf → R erased
    renewed = authority.renew(old, public_key_der=spki2, transaction_id=tid2)   # kur
    authority.revoke(certificate, reason=x509.ReasonFlags.key_compromise)      # rr

The CMP layer proves possession and the message's protection; this decides everything
else: a registration (:mod:`certcenter.joint.registration`) hands out a reference number and
an authorization code; the reference is usable once, for
``policy.joint_registration_ttl_days`` (7), and locked after
``policy.joint_authorization_max_failures`` (5) wrong codes (counted atomically in
``factor_counters`` under the registration's id, the same counters as every other factor).
The certificate is issued only through :meth:`certcenter.issuance.Issuance.issue`, with the
subject and the VID decided at registration; it supersedes the customer's earlier joint
certificate (one per customer). The VID's random value R is handed to the software with the
certificate (it goes into the key file) and kept sealed until the software confirms; then it
is erased. A certificate the software rejects is revoked (cessationOfOperation).

Renewal (갱신) is allowed from ``policy.joint_renewal_window_days`` (30) before the end of
the certificate until its end; the new certificate keeps the subject and the VID (the
software keeps R in its key file: ``vid_random`` is empty) and supersedes the old one.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import (
    CertificateRecord,
    CertificateStatus,
    Customer,
    JointRegistration,
    new_id,
)
from certcenter.errors import CertCenterError
from certcenter.flows import token_hash
from certcenter.issuance import Issuance, IssueHooks, IssueRequest
from certcenter.joint.kinds import (
    AUTHORIZATION,
    AUTHORIZATION_FACTOR,
    VID_RANDOM,
    profile_of,
    unseal,
    vid_subject_alt_name,
)
from certcenter.joint.states import RegistrationState as S
from certcenter.keys import Secrets
from certcenter.keys.backend import describe_public_key, key_kind_of
from certcenter.lifecycle.service import ActorRef, AuditRecorder, LifecycleService
from certcenter.pki.issuer import IssuanceIntent
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["MAX_REFERENCE", "FeeRefunds", "JointAuthority", "JointEnrolled"]

log = logging.getLogger(__name__)
MAX_REFERENCE = 20
MAX_TRANSACTION_ID = 64  # bytes; CMP's are 16


@dataclass(frozen=True)
class JointEnrolled:
    """A joint certificate just issued: the chain is its CA, then the root; ``vid_random``
    is the VID's random value R for the key file (empty on renewal: the software keeps it)."""

    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(repr=False)
    vid_random: bytes = field(repr=False)


class FeeRefunds:
    """What gives a 범용 fee back (:class:`certcenter.joint.fees.FeeDesk`); none by default."""

    def refund(self, registration_id: str, *, why: str) -> None:
        return None


class JointAuthority:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        issuance: Issuance,
        lifecycle: LifecycleService,
        keys: Secrets,
        seal_label: str,
        audit: AuditRecorder,
        settings: Settings,
        clock: Clock,
        fees: FeeRefunds | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.issuance = issuance
        self.lifecycle = lifecycle
        self.keys = keys
        self.seal_label = seal_label
        self.audit = audit
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.fees = fees or FeeRefunds()

    # ------------------------------------------------------------------ the reference

    def shared_secret(self, reference: str) -> bytes:
        """The authorization code (인가코드) of a usable registration, as bytes: the CMP
        password-based MAC's key is derived from it. ``JOINT_REFERENCE_UNKNOWN`` /
        ``_EXPIRED`` / ``_LOCKED`` / ``_USED`` otherwise."""
        with self.uow_factory(read_only=True) as uow:
            registration = self._usable(uow, reference)
            sealed = registration.authorization_sealed or b""
            registration_id = registration.id
        return unseal(self.keys, self.seal_label, AUTHORIZATION, registration_id, sealed)

    def record_bad_mac(self, reference: str) -> None:
        """Count a wrong authorization code (a MAC that did not verify) against the
        reference; at ``policy.joint_authorization_max_failures`` it is locked."""
        limit = self.policy.joint_authorization_max_failures
        with self.uow_factory() as uow:
            registration = self._find(uow, reference, lock=True)
            now = self.clock.now()
            counted = uow.factors.reserve_attempt(registration.id, AUTHORIZATION_FACTOR, limit, now)
            locked = counted is None or counted >= limit
            if locked:
                uow.factors.lock(registration.id, AUTHORIZATION_FACTOR, now)
            self._audit(
                uow,
                registration,
                "joint.authorization",
                outcome="refused:JOINT_REFERENCE_LOCKED"
                if locked
                else "refused:JOINT_AUTHORIZATION_CODE_INVALID",
            )
            uow.commit()
        log.info("joint reference %s: wrong authorization code", registration.id)

    # ------------------------------------------------------------------ issuing

    def enroll(
        self,
        reference: str,
        *,
        public_key_der: bytes,
        requested_subject: x509.Name | None,
        transaction_id: bytes,
    ) -> JointEnrolled:
        """Issue the registration's certificate for ``public_key_der`` (RSA-2048 only); the
        reference is spent. A requested subject other than the registered one (an empty
        one counts as none) is ``JOINT_SUBJECT_MISMATCH``."""
        public_key = rsa_2048(public_key_der)
        tid = _transaction(transaction_id)
        with self.uow_factory(read_only=True) as uow:
            registration = self._usable(uow, reference)
            subject = _subject(registration)
            kind = registration.kind
            customer_id = registration.customer_id or ""
            vid_value = registration.vid_value or b""
            registration_id = registration.id
        if (
            requested_subject is not None
            and len(requested_subject)
            and (requested_subject != subject)
        ):
            raise CertCenterError("JOINT_SUBJECT_MISMATCH")
        hooks = _Spend(self, registration_id, tid)
        try:
            issued = self.issuance.issue(
                IssueRequest(
                    profile=profile_of(kind),
                    public_key=public_key,
                    customer_id=customer_id,
                    actor=hooks,
                    supersede_family=True,
                    subject=subject,
                    subject_alt_name=vid_subject_alt_name(vid_value),
                ),
                hooks,
            )
        except Exception as error:
            if hooks.spent:
                self._fail(registration_id, error)
            raise
        with self.uow_factory(read_only=True) as uow:
            spent = uow.joint_registrations.get(registration_id)
            sealed = spent.vid_random_sealed if spent is not None else None
        vid_random = (
            unseal(self.keys, self.seal_label, VID_RANDOM, registration_id, sealed)
            if sealed
            else b""
        )
        log.info("joint certificate %s issued (%s)", issued.serial, kind)
        return JointEnrolled(issued.certificate, list(issued.chain), vid_random)

    def confirm(self, transaction_id: bytes, *, accepted: bool) -> None:
        """certConf: accepted → R is erased and the registration done; rejected → the
        certificate is revoked (cessationOfOperation) and a 범용 fee refunded."""
        tid = _transaction(transaction_id)
        with self.uow_factory() as uow:
            registration = uow.joint_registrations.by_transaction(tid, for_update=True)
            if registration is None or registration.state != S.ISSUED.value:
                raise CertCenterError("JOINT_TRANSACTION_UNKNOWN")
            now = self.clock.now()
            registration.vid_random_sealed = None
            registration.confirmed_at = now
            registration.updated_at = now
            registration.state = (S.CONFIRMED if accepted else S.REJECTED).value
            if accepted and registration.fee_state == "charged":
                registration.fee_state = "kept"
            serial = registration.certificate_serial or ""
            customer = uow.customers.get(registration.customer_id or "")
            self._audit(uow, registration, "joint.confirm", details={"accepted": accepted})
            uow.commit()
            registration_id = registration.id
        if not accepted:
            self.lifecycle.revoke(
                serial,
                x509.ReasonFlags.cessation_of_operation.value,
                self._actor(customer),
            )
            self.fees.refund(registration_id, why="rejected")

    def renew(
        self, old_certificate: x509.Certificate, *, public_key_der: bytes, transaction_id: bytes
    ) -> JointEnrolled:
        """kur: a new certificate for a new key, with the old one's subject and VID, from
        ``policy.joint_renewal_window_days`` before the old one's end until its end."""
        public_key = rsa_2048(public_key_der)
        tid = _transaction(transaction_id)
        now = self.clock.now()
        with self.uow_factory(read_only=True) as uow:
            record = self._joint_record(uow, old_certificate)
            old = uow.joint_registrations.by_serial(record.serial)
            if old is None or old.vid_value is None:
                raise CertCenterError("JOINT_CERTIFICATE_UNKNOWN")
            kind, customer_id = old.kind, record.customer_id
            not_after = as_utc(record.not_after)
        opens = not_after - timedelta(days=self.policy.joint_renewal_window_days)
        if now >= not_after:
            raise CertCenterError("JOINT_CERTIFICATE_EXPIRED")
        if now < opens:
            raise CertCenterError(
                "JOINT_RENEWAL_TOO_EARLY",
                days=self.policy.joint_renewal_window_days,
                **{"from": opens.date().isoformat()},
            )
        registration_id = new_id()
        with self.uow_factory() as uow:  # the renewal's own row: confirm finds it by tid
            uow.joint_registrations.add(
                JointRegistration(
                    id=registration_id,
                    token_hash=token_hash(new_id()),  # no flow: nobody holds a token
                    state=S.REGISTERED.value,
                    kind=kind,
                    client_ip="-",
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(minutes=10),
                    customer_id=customer_id,
                    subject=old_certificate.subject.rfc4514_string(),
                    vid_value=old.vid_value,
                    data={"renews": record.serial},
                    registered_at=now,
                )
            )
            uow.commit()
        hooks = _Spend(self, registration_id, tid)
        try:
            issued = self.issuance.issue(
                IssueRequest(
                    profile=profile_of(kind),
                    public_key=public_key,
                    customer_id=customer_id,
                    actor=hooks,
                    replaces=record.serial,
                    subject=old_certificate.subject,
                    subject_alt_name=vid_subject_alt_name(old.vid_value),
                ),
                hooks,
            )
        except Exception as error:
            self._fail(registration_id, error)
            raise
        log.info("joint certificate %s renewed as %s", record.serial, issued.serial)
        return JointEnrolled(issued.certificate, list(issued.chain), b"")

    def revoke(self, certificate: x509.Certificate, *, reason: x509.ReasonFlags | None) -> None:
        """rr: revoke a joint certificate of this center (the CMP layer checked the request
        was signed with its key); no reason is ``unspecified``."""
        with self.uow_factory(read_only=True) as uow:
            record = self._joint_record(uow, certificate)
            customer = uow.customers.get(record.customer_id)
        flag = reason or x509.ReasonFlags.unspecified
        self.lifecycle.revoke(record.serial, flag.value, self._actor(customer))

    # ------------------------------------------------------------------ inside

    def _find(self, uow: UnitOfWork, reference: str, *, lock: bool) -> JointRegistration:
        text = str(reference).strip()
        registration = (
            uow.joint_registrations.by_reference(text, for_update=lock)
            if 0 < len(text) <= MAX_REFERENCE
            else None
        )
        if registration is None or registration.state in (S.FAILED.value,):
            raise CertCenterError("JOINT_REFERENCE_UNKNOWN")
        return registration

    def _usable(self, uow: UnitOfWork, reference: str) -> JointRegistration:
        registration = self._find(uow, reference, lock=False)
        if registration.used_at is not None or registration.state != S.REGISTERED.value:
            if registration.state == S.EXPIRED.value:
                raise CertCenterError(
                    "JOINT_REFERENCE_EXPIRED", days=self.policy.joint_registration_ttl_days
                )
            raise CertCenterError("JOINT_REFERENCE_USED")
        counter = uow.factors.get(registration.id, AUTHORIZATION_FACTOR)
        limit = self.policy.joint_authorization_max_failures
        if counter is not None and (counter.locked_at is not None or counter.failures >= limit):
            raise CertCenterError("JOINT_REFERENCE_LOCKED", max_failures=limit)
        if self.clock.now() >= as_utc(registration.expires_at):
            raise CertCenterError(
                "JOINT_REFERENCE_EXPIRED", days=self.policy.joint_registration_ttl_days
            )
        return registration

    def _joint_record(self, uow: UnitOfWork, certificate: x509.Certificate) -> CertificateRecord:
        serial = format(certificate.serial_number, "X")
        record = uow.certificates.get(serial)
        der = certificate.public_bytes(serialization.Encoding.DER)
        if (
            record is None
            or record.family != "joint"
            or record.status != CertificateStatus.ACTIVE.value
            or record.der is None
            or not hmac.compare_digest(bytes(record.der), der)
        ):
            raise CertCenterError("JOINT_CERTIFICATE_UNKNOWN")
        return record

    def _fail(self, registration_id: str, error: BaseException) -> None:
        """After the reference was spent the issuance failed: the registration ends and a
        범용 fee is refunded."""
        code = error.code if isinstance(error, CertCenterError) else "INTERNAL_ERROR"
        with self.uow_factory() as uow:
            registration = uow.joint_registrations.get(registration_id, for_update=True)
            if registration is None or registration.state == S.ISSUED.value:
                return
            registration.state = S.FAILED.value
            registration.failure_code = code
            registration.vid_random_sealed = None
            registration.updated_at = self.clock.now()
            uow.commit()
        self.fees.refund(registration_id, why="issuance_failed")

    def _actor(self, customer: Customer | None) -> ActorRef:
        return ActorRef.customer(customer.customer_number if customer else "-", None)

    def _audit(
        self,
        uow: UnitOfWork,
        registration: JointRegistration,
        action: str,
        *,
        outcome: str = "ok",
        details: Mapping[str, object] | None = None,
    ) -> None:
        customer = uow.customers.get(registration.customer_id) if registration.customer_id else None
        self.audit.record(
            uow,
            actor_kind="customer",
            actor=customer.customer_number if customer else "cmp",
            action=action,
            subject_kind="joint_registration",
            subject=registration.id,
            outcome=outcome,
            details=dict(details or {}),
        )


class _Spend(IssueHooks):
    """Spends the reference inside issue()'s write-ahead transaction (under its row lock,
    so two requests with one reference issue one certificate) and marks it issued in the
    activation. It is also the audit actor: the customer of the registration."""

    kind = "customer"
    source_ip: str | None = None

    def __init__(self, authority: JointAuthority, registration_id: str, tid: str) -> None:
        self.authority = authority
        self.registration_id = registration_id
        self.tid = tid
        self.spent = False
        self.id = "-"

    def on_replaced(self, uow: UnitOfWork, customer: Customer, old: CertificateRecord) -> None:
        if old.status != CertificateStatus.ACTIVE.value:
            raise CertCenterError("JOINT_CERTIFICATE_UNKNOWN")

    def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
        self.id = customer.customer_number
        registration = uow.joint_registrations.get(self.registration_id, for_update=True)
        if registration is None:
            raise CertCenterError("JOINT_REFERENCE_UNKNOWN")
        if registration.used_at is not None or registration.state != S.REGISTERED.value:
            raise CertCenterError("JOINT_REFERENCE_USED")
        if uow.joint_registrations.by_transaction(self.tid) is not None:
            raise CertCenterError("JOINT_REFERENCE_USED")
        now = self.authority.clock.now()
        registration.used_at = now
        registration.updated_at = now
        registration.transaction_id = self.tid
        registration.certificate_serial = f"{intent.serial:X}"
        self.spent = True

    def on_activate(
        self,
        uow: UnitOfWork,
        customer: Customer,
        record: CertificateRecord,
        retired: Sequence[CertificateRecord],
    ) -> Mapping[str, object] | None:
        registration = uow.joint_registrations.get(self.registration_id, for_update=True)
        if registration is None:
            raise CertCenterError("JOINT_REFERENCE_UNKNOWN")
        registration.state = S.ISSUED.value
        registration.updated_at = self.authority.clock.now()
        return {"joint_registration": registration.id, "kind": registration.kind}


def rsa_2048(public_key_der: bytes) -> PublicKeyTypes:
    """The SubjectPublicKeyInfo as a key, if it is RSA-2048; else ``JOINT_KEY_NOT_RSA_2048``."""
    try:
        key = serialization.load_der_public_key(bytes(public_key_der))
    except (ValueError, TypeError):
        raise CertCenterError("JOINT_KEY_NOT_RSA_2048", found="unreadable") from None
    if key_kind_of(key) != "rsa-2048":
        raise CertCenterError("JOINT_KEY_NOT_RSA_2048", found=describe_public_key(key))
    return key


def _transaction(transaction_id: bytes) -> str:
    tid = bytes(transaction_id)
    if not 0 < len(tid) <= MAX_TRANSACTION_ID:
        raise CertCenterError("INVALID_REQUEST", detail="transactionID: 1 to 64 octets")
    return tid.hex()


def _subject(registration: JointRegistration) -> x509.Name:
    if registration.subject is None:  # pragma: no cover - registered rows have one
        raise CertCenterError("JOINT_REFERENCE_UNKNOWN")
    return x509.Name.from_rfc4514_string(registration.subject)
