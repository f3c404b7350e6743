"""Lifecycle operations (인증서 폐기·정지·해제·갱신, 기기등록 해지), each in one unit of work
with its audit entry and its notification, and status publication right after.

    lifecycle = LifecycleService(uow_factory=..., issuance=..., audit=..., notifier=...,
                                 publisher=..., settings=settings, clock=clock)
    lifecycle.revoke("3F2A…", "keyCompromise", ActorRef.operator("kim", "10.0.0.5"))
    lifecycle.suspend("3F2A…", ActorRef.customer("C001", ip))

Customer actions are authorised by :mod:`certcenter.authn.device_auth` (device signature +
PIN) in the adapter before they reach here, or — for a lost phone — by the carrier's
subscriber check. A certificate that is revoked, suspended or expires, and a device that is
deregistered, ends its login sessions in the same unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from certcenter.certificates import records
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Actor, CertificateRecord, CertificateStatus, Customer, DeviceStatus
from certcenter.errors import CertCenterError
from certcenter.issuance import (
    AlreadyRenewedError,
    AuditRecorder,
    Issuance,
    IssueRequest,
    Notice,
    Notifier,
    Renewal,
    StatusPublisher,
    audit_certificate,
    publish_crls,
)
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
# what else a revocation ends, in its transaction: (uow, the revoked record, now)
RevokeHook = Callable[[UnitOfWork, CertificateRecord, datetime], None]

# a certificate in one of these states can no longer keep a login open: its sessions end
# in the transaction that moves it
_ENDS_SESSIONS = frozenset(
    {CertificateStatus.REVOKED, CertificateStatus.SUSPENDED, CertificateStatus.EXPIRED}
)

__all__ = [
    "ActorRef",
    "AuditRecorder",
    "LifecycleService",
    "Notifier",
    "Outcome",
    "StatusPublisher",
]


@dataclass(frozen=True)
class ActorRef:
    """Who acts, for authorisation records and the audit trail."""

    kind: str
    id: str
    source_ip: str | None = None

    @classmethod
    def customer(cls, customer_number: str, source_ip: str | None) -> ActorRef:
        return cls(Actor.CUSTOMER.value, customer_number, source_ip)

    @classmethod
    def operator(cls, name: str, source_ip: str | None) -> ActorRef:
        return cls(Actor.OPERATOR.value, name, source_ip)

    @classmethod
    def system(cls, job: str) -> ActorRef:
        return cls(Actor.SYSTEM.value, job, None)


@dataclass(frozen=True)
class Outcome:
    serial: str
    status: str
    changed: bool
    replaced_by: str | None = None


class LifecycleService:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        issuance: Issuance,
        audit: AuditRecorder,
        notifier: Notifier,
        publisher: StatusPublisher,
        settings: Settings,
        clock: Clock,
        on_revoke: Mapping[str, RevokeHook] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.issuance = issuance
        # family -> what a revocation of its certificates also ends, in the same transaction
        # (the financial certificate: its cloud account and wrapped key)
        self.on_revoke = dict(on_revoke or {})
        self.audit = audit
        self.notifier = notifier
        self.publisher = publisher
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock

    # ------------------------------------------------------------------ state changes

    def revoke(self, serial: str, reason: str, actor: ActorRef) -> Outcome:
        """인증서 폐기. Idempotent: revoking a revoked certificate changes nothing."""
        records.reason_flag(reason)  # refuse a bad reason before touching anything
        return self._change(
            serial,
            actor,
            "revoke",
            lambda r, now: records.revoke(r, now, reason),
            event="revoked",
            details={"reason": reason},
            then=self._after_revoke,
        )

    def _after_revoke(
        self, uow: UnitOfWork, record: CertificateRecord, now: datetime, actor: ActorRef
    ) -> None:
        self._release_device(uow, record, now, actor)
        hook = self.on_revoke.get(record.family)
        if hook is not None:
            hook(uow, record, now)

    def _release_device(
        self, uow: UnitOfWork, record: CertificateRecord, now: datetime, actor: ActorRef
    ) -> None:
        """A revoked mobile certificate takes its phone's registration with it when the phone
        holds no other usable one (1인 1기기): the customer can enrol a new phone at once, and
        the old phone is told its certificate was revoked."""
        if record.family != "mobile" or not record.device_id:
            return
        device = uow.devices.active_by_device_id(record.device_id)
        if device is None or device.customer_id != record.customer_id:
            return
        others = [
            c
            for c in uow.certificates.for_customer(
                record.customer_id, family="mobile", statuses=list(records.USABLE)
            )
            if c.device_id == record.device_id and c.serial != record.serial
        ]
        if others:
            return
        device.status = DeviceStatus.DEREGISTERED.value
        device.deregistered_at = now
        uow.sessions.end_for_device(record.device_id, now, "device_deregistered")
        self.audit.record(
            uow,
            actor_kind=actor.kind,
            actor=actor.id,
            action="deregister_device",
            subject_kind="device",
            subject=record.device_id,
            source_ip=actor.source_ip,
            details={"why": "certificate_revoked", "certificate": record.serial},
        )

    def suspend(self, serial: str, actor: ActorRef, *, why: str = "requested") -> Outcome:
        """인증서 정지 (certificateHold), e.g. at once on a lost-phone report."""
        return self._change(
            serial, actor, "suspend", records.suspend, event="suspended", details={"why": why}
        )

    def release(self, serial: str, actor: ActorRef) -> Outcome:
        """정지 해제: the certificate is good again."""

        def move(record: CertificateRecord, now: datetime) -> bool:
            if record.not_after <= now:
                raise CertCenterError(
                    "CERTIFICATE_EXPIRED", not_after=record.not_after.date().isoformat()
                )
            records.release(record)
            return True

        return self._change(serial, actor, "release", move, event="released")

    def expire(self, serial: str) -> Outcome:
        """Mark a certificate whose validity has ended (job runner)."""

        def move(record: CertificateRecord, now: datetime) -> bool:
            return record.not_after <= now and records.expire(record)

        return self._change(serial, ActorRef.system("expiry"), "expire", move, event=None)

    def revoke_if_inactive(self, serial: str) -> Outcome:
        """Revoke (cessationOfOperation) a certificate unused for the policy's days (job)."""
        days = self.policy.mobile_inactivity_days

        def move(record: CertificateRecord, now: datetime) -> bool:
            last = record.last_used_at or record.issued_at
            if record.status != CertificateStatus.ACTIVE or last is None:
                return False
            if last > now - timedelta(days=days):
                return False
            return records.revoke(record, now, x509.ReasonFlags.cessation_of_operation.value)

        return self._change(
            serial,
            ActorRef.system("inactivity"),
            "revoke",
            move,
            event="auto_revoked",
            details={"reason": "cessationOfOperation", "unused_days": days},
        )

    def deregister_device(self, device_id: str, actor: ActorRef) -> list[Outcome]:
        """기기등록 해지: the device leaves, its certificate is revoked, a new phone may enrol."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            device = uow.devices.active_by_device_id(device_id)
            if device is None:
                raise CertCenterError("DEVICE_NOT_REGISTERED")
            customer = self._customer(uow, device.customer_id)
            outcomes: list[Outcome] = []
            for record in uow.certificates.for_customer(customer.id, statuses=list(records.USABLE)):
                if record.device_id != device_id:
                    continue
                locked = uow.certificates.get(record.serial, for_update=True)
                if locked is None:  # listed a moment ago, in this same transaction
                    continue
                records.revoke(locked, now, x509.ReasonFlags.cessation_of_operation.value)
                uow.ocsp.invalidate(locked.serial)
                uow.sessions.end_for_certificate(locked.serial, now, "device_deregistered")
                outcomes.append(Outcome(locked.serial, locked.status, True))
                audit_certificate(
                    self.audit,
                    uow,
                    actor,
                    "revoke",
                    locked.serial,
                    {"reason": "cessationOfOperation", "why": "device_deregistered"},
                )
            device.status = "deregistered"
            device.deregistered_at = now
            uow.sessions.end_for_device(device_id, now, "device_deregistered")
            self.audit.record(
                uow,
                actor_kind=actor.kind,
                actor=actor.id,
                action="deregister_device",
                subject_kind="device",
                subject=device_id,
                source_ip=actor.source_ip,
                details={
                    "customer": customer.customer_number,
                    "certificates": [o.serial for o in outcomes],
                },
            )
            self.notifier.notify(
                uow, event="device_deregistered", customer=customer, values={"device": device.model}
            )
            uow.commit()
            shards = {(r.family, r.crl_shard) for r in self._records(uow, outcomes)}
        self._publish(shards)
        return outcomes

    def record_use(self, serial: str) -> None:
        """A login or signature used the certificate (feeds inactivity and auto-renewal)."""
        with self.uow_factory() as uow:
            record = uow.certificates.get(serial, for_update=True)
            if record is None:
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial)
            record.last_used_at = self.clock.now()
            uow.commit()

    def renew(self, serial: str, actor: ActorRef) -> Outcome:
        """갱신: a new certificate for the same key and a new validity; the old one superseded.
        At most one renewal of a certificate ever completes, even when asked concurrently."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            old = uow.certificates.get(serial)
            if old is None:
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial)
            if old.replaced_by is not None:
                return Outcome(old.serial, old.status, False, old.replaced_by)
            _require_renewable(old, now)
            public_key = x509.load_der_x509_certificate(old.der or b"").public_key()
            request = IssueRequest(
                profile=old.profile,
                public_key=public_key,
                customer_id=old.customer_id,
                actor=actor,
                device_id=old.device_id,
                replaces=old.serial,
                notices=lambda done: [
                    Notice("renewed", {"serial": done.serial, "until": done.not_after.date()})
                ],
            )
        try:
            issued = self.issuance.issue(
                request, Renewal(lambda record: _require_renewable(record, now))
            )
        except AlreadyRenewedError as done:
            # Another renewal of this certificate is under way or done: not a second one.
            if done.status is None:
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial) from None
            return Outcome(done.serial, done.status, False, done.replaced_by)
        log.info("certificate %s renewed as %s", serial, issued.serial)
        return Outcome(serial, CertificateStatus.SUPERSEDED.value, True, issued.serial)

    # ------------------------------------------------------------------ reads

    def certificate(self, serial: str) -> CertificateRecord:
        with self.uow_factory() as uow:
            record = uow.certificates.get(serial.upper())
        if record is None:
            raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial[:64])
        return record

    # ------------------------------------------------------------------ machinery

    def _change(
        self,
        serial: str,
        actor: ActorRef,
        action: str,
        move: Callable[[CertificateRecord, datetime], bool],
        *,
        event: str | None,
        details: dict[str, Any] | None = None,
        then: Callable[[UnitOfWork, CertificateRecord, datetime, ActorRef], None] | None = None,
    ) -> Outcome:
        with self.uow_factory() as uow:
            record = uow.certificates.get(serial.upper(), for_update=True)
            if record is None or record.status in (
                CertificateStatus.PENDING,
                CertificateStatus.ABANDONED,
            ):
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial[:64])
            now = self.clock.now()
            changed = move(record, now)
            if changed:
                uow.ocsp.invalidate(record.serial)
                if record.status in _ENDS_SESSIONS:
                    uow.sessions.end_for_certificate(record.serial, now, record.status)
                audit_certificate(self.audit, uow, actor, action, record.serial, details or {})
                if then is not None:
                    then(uow, record, now, actor)
                if event is not None:
                    customer = self._customer(uow, record.customer_id)
                    self.notifier.notify(
                        uow,
                        event=event,
                        customer=customer,
                        values={
                            "serial": record.serial,
                            **{k: str(v) for k, v in (details or {}).items()},
                        },
                    )
                uow.commit()
            outcome = Outcome(record.serial, record.status, changed)
            shard = (record.family, record.crl_shard)
        if changed:
            log.info("certificate %s: %s by %s %s", record.serial, action, actor.kind, actor.id)
            self._publish({shard})
        return outcome

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise CertCenterError("CUSTOMER_UNKNOWN", customer=customer_id)
        return customer

    def _records(self, uow: UnitOfWork, outcomes: Sequence[Outcome]) -> list[CertificateRecord]:
        found = [uow.certificates.get(o.serial) for o in outcomes]
        return [r for r in found if r is not None]

    def _publish(self, shards: set[tuple[str, int]]) -> None:
        """Publish the touched CRL partitions now; if that fails, the job runner catches up.
        (The notifications are the sender's: the commit woke it.)"""
        publish_crls(self.publisher, shards)


def _require_renewable(record: CertificateRecord, now: datetime) -> None:
    records.require_usable(record, now)
    if record.status == CertificateStatus.SUSPENDED:
        raise CertCenterError("CERTIFICATE_SUSPENDED")
    if record.der is None:
        raise CertCenterError("CERTIFICATE_NOT_USABLE", status=record.status)
