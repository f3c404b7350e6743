"""One way to issue a certificate of any kind: :meth:`Issuance.issue`.

    issuance = Issuance(uow_factory=..., issuer=center.issuer, audit=..., notifier=...,
                        publisher=..., clock=clock)
    issued = issuance.issue(
        IssueRequest(
            profile="mobile",
            public_key=csr.public_key,
            customer_id=customer.id,
            device_id="A1B2…",
            supersede_family=True,
            actor=ActorRef.customer("C001", ip),
            notices=lambda done: [Notice("issued", {"device": "SM-S928N"})],
        ),
        hooks=MyFlowHooks(),        # optional: extra work inside the same transactions
    )
    issued.serial, issued.certificate, issued.chain_pem, issued.retired

The sequence, the same for the mobile certificate, the financial certificate (금융인증서) and
every kind to come:

1. **Write ahead** (one transaction): the customer is locked; for a renewal (``replaces``)
   the replaced certificate is locked and must be the customer's, of the same family and not
   renewed yet (else :class:`AlreadyRenewedError`); :meth:`~certcenter.pki.issuer.Issuer.prepare`
   decides the certificate; :meth:`IssueHooks.on_intent` does the caller's own checks and
   writes (it may refuse with a :class:`~certcenter.errors.CertCenterError`, and it runs
   before the new pending record is added, so it can abandon other stale intents); the
   pending record is added; commit. A second renewal of the same certificate is refused by
   the database here (``uq_certificates_renewed_from``): :class:`AlreadyRenewedError`.
2. **Lint** the recorded to-be-signed certificate (:mod:`certcenter.pki.lint`):
   ``CERTIFICATE_PROFILE_LINT_FAILED`` before any CA key is used.
3. **Sign** exactly the intent (:meth:`~certcenter.pki.issuer.Issuer.sign`, key backend).
4. **Activate** (one transaction): the customer is locked again; the pending record must
   still be pending (else :meth:`IssueHooks.intent_lost`); the replaced certificate is
   superseded (audit ``renew``), and with ``supersede_family`` every other usable certificate
   of the customer in the family too (audit ``supersede``); the OCSP cache of each retired
   certificate is invalidated; the record becomes active; :meth:`IssueHooks.on_activate`
   does the caller's own work and adds details to the ``issue`` audit entry; the request's
   notices go to the outbox; commit. A constraint the activation breaks (it is flushed
   once the record is active, again after the hook, and committed) becomes
   ``DEVICE_ALREADY_REGISTERED`` (a device registration raced) or
   ``CERTIFICATE_ALREADY_ACTIVE`` (anything else, such as a second usable certificate).
5. **After the commit**: the CRL partitions of retired certificates are published; a failure
   there is logged, not raised (the job runner catches up). The notices are not sent here:
   the commit wakes the outbox's sender, which sends them outside the request.

Any failure after the write-ahead commit marks the intent abandoned (when it is still
pending) before it is raised again, so a crash or a refusal never leaves a certificate
without a record, nor an intent that blocks the next attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certcenter.certificates import records
from certcenter.clock import Clock
from certcenter.entities import (
    CertificateRecord,
    CertificateStatus,
    CrlDistributionPoint,
    Customer,
)
from certcenter.errors import CertCenterError
from certcenter.pki.crl import distribution_points_kept_until
from certcenter.pki.issuer import IssuanceIntent, Issuer, SubjectInfo
from certcenter.pki.pem import certificate_pem
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "Activated",
    "AlreadyRenewedError",
    "Issuance",
    "IssueHooks",
    "IssueRequest",
    "Issued",
    "Notice",
    "Renewal",
    "conflict_error",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- collaborators


class Acting(Protocol):
    """Who asks for the certificate (:class:`certcenter.lifecycle.service.ActorRef`)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def source_ip(self) -> str | None: ...


class AuditRecorder(Protocol):
    def record(
        self,
        uow: UnitOfWork,
        *,
        actor_kind: str,
        actor: str,
        action: str,
        subject_kind: str,
        subject: str,
        outcome: str = "ok",
        source_ip: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Any: ...


class Notifier(Protocol):
    """The outbox (:class:`certcenter.notifications.outbox.Outbox`)."""

    def notify(
        self,
        uow: UnitOfWork,
        *,
        event: str,
        customer: Customer,
        values: Mapping[str, object] | None = None,
        text_ko: str | None = None,
        text_en: str | None = None,
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Any: ...


class StatusPublisher(Protocol):
    def publish(self, family: str, shard: int) -> Any: ...


def publish_crls(publisher: StatusPublisher, shards: Iterable[tuple[str, int]]) -> None:
    """After a commit: publish the touched CRL partitions. A failure is logged, never raised:
    the job runner catches up."""
    for family, shard in sorted(set(shards)):
        try:
            publisher.publish(family, shard)
        except Exception:
            log.exception("CRL %s-%s not published now; the job runner will", family, shard)


# ---------------------------------------------------------------------- request and result


@dataclass(frozen=True)
class Notice:
    """One message to the customer, written to the outbox with the activation.

    Templated: ``Notice("renewed", {"serial": s, "until": d})``; free text (the financial
    notices): ``Notice.of(notices.issued(bank, now, until=d, device=None))``.
    """

    event: str
    values: Mapping[str, object] | None = None
    text_ko: str | None = None
    text_en: str | None = None
    subject: str | None = None
    data: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> Notice:
        """From ``notify`` keyword arguments (event, values or text_ko/text_en/subject/data)."""
        return cls(**fields)


@dataclass(frozen=True)
class Activated:
    """What is known at activation, for the notices: the new serial, the time, what it retired
    and the details the activation hook added to the ``issue`` audit entry."""

    serial: str
    customer: Customer
    at: datetime
    not_before: datetime
    not_after: datetime
    retired: tuple[str, ...]
    details: Mapping[str, object]


@dataclass(frozen=True)
class IssueRequest:
    """A certificate to issue.

    ``profile``: the certificate profile (``"mobile"``, ``"financial"``, …; see
    :mod:`certcenter.pki.profiles`). ``public_key``: the key to certify (the CSR's, the cloud
    key, or the renewed certificate's). ``replaces``: the serial a renewal (갱신) supersedes;
    it becomes the new record's ``renewed_from`` and at most one renewal of it ever
    completes. ``supersede_family``: also supersede the customer's other usable certificates
    of the profile's family (one usable certificate per customer and family). ``actor``: who
    asks, for the audit trail; None writes no audit entry (only the seeding of a demo world
    does that). ``source_ip``: of the ``issue`` entry when it differs from the actor's.
    ``notices``: the messages for the customer, made at activation. ``subject`` and
    ``subject_alt_name``: a subject decided by the caller (the joint certificate's NPKI name)
    and the identity (VID) its profile carries.
    """

    profile: str
    public_key: PublicKeyTypes
    customer_id: str
    actor: Acting | None
    device_id: str | None = None
    enrollment_id: str | None = None
    replaces: str | None = None
    supersede_family: bool = False
    notices: Callable[[Activated], Sequence[Notice]] | None = None
    source_ip: str | None = None
    subject: x509.Name | None = None  # instead of the one made from the customer (joint)
    subject_alt_name: x509.SubjectAlternativeName | None = None  # the VID (joint profiles)


@dataclass(frozen=True)
class Issued:
    """A certificate just issued and active."""

    serial: str  # upper-case hex, as stored
    certificate: x509.Certificate = field(repr=False)
    chain: tuple[x509.Certificate, ...] = field(repr=False)  # issuing CA first, then the root
    not_before: datetime
    not_after: datetime
    retired: tuple[str, ...] = ()  # serials it superseded (the renewed one first)
    details: Mapping[str, object] = field(default_factory=dict)  # from the activation hook

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def certificate_pem(self) -> str:
        return certificate_pem(self.certificate)

    @property
    def chain_pem(self) -> list[str]:
        return [certificate_pem(c) for c in self.chain]


class AlreadyRenewedError(Exception):
    """The certificate to renew was renewed already, or a renewal of it is under way.

    ``status`` and ``replaced_by`` are the renewed certificate's now (``replaced_by`` None
    while the other renewal has not finished); ``status`` None if it is gone.
    """

    def __init__(self, serial: str, status: str | None, replaced_by: str | None) -> None:
        super().__init__(f"certificate {serial} is renewed already ({replaced_by or 'under way'})")
        self.serial = serial
        self.status = status
        self.replaced_by = replaced_by


class IssueHooks:
    """The caller's own work inside :meth:`Issuance.issue`'s transactions; override what you
    need (every method does nothing by default).

        class Flow(IssueHooks):
            def on_intent(self, uow, customer, intent):
                check_one_device(uow, customer)            # may raise CertCenterError
                abandon_stale_intents(uow, customer)       # the new one is not added yet
                flow.certificate_serial = f"{intent.serial:X}"
            def on_activate(self, uow, customer, record, retired):
                refuse_a_move_not_asked_for(retired)       # raise: all of it rolls back
                bind_device(uow, customer)
                return {"device": record.device_id}        # added to the "issue" entry
            def intent_lost(self, serial):
                return CertCenterError("CERTIFICATE_ALREADY_ACTIVE")  # a newer attempt won

    A hook object may keep what it learns (the intent, a registered device) for the caller
    and the request's ``notices``. A refusal the caller must record (a failure log) is caught
    around ``issue()``: every refusal reaches the caller as the same CertCenterError.
    """

    def on_replaced(self, uow: UnitOfWork, customer: Customer, old: CertificateRecord) -> None:
        """For a renewal, in the write-ahead transaction: the certificate it replaces, locked
        and not renewed yet, before anything is decided; raise to refuse (e.g. it is
        suspended)."""

    def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
        """In the write-ahead transaction, after the certificate is decided and before its
        pending record is added; raise to refuse (nothing is written)."""

    def on_activate(
        self,
        uow: UnitOfWork,
        customer: Customer,
        record: CertificateRecord,
        retired: Sequence[CertificateRecord],
    ) -> Mapping[str, object] | None:
        """In the activation transaction, after ``record`` became active and ``retired`` were
        superseded (and flushed), before the ``issue`` audit entry and the notices; raise to
        refuse (the intent is abandoned). Returns details for the ``issue`` entry."""
        return None

    def intent_lost(self, serial: str) -> CertCenterError:
        """The error when the pending record is no longer pending at activation (abandoned
        meanwhile, e.g. by a newer attempt or the account's deletion)."""
        return CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial)

    def keeps_intent(self, error: BaseException) -> bool:
        """Whether the pending record stays pending after ``error`` (raised after the
        write-ahead commit) instead of being abandoned: a flow that retries its own intents
        (the mobile enrollment abandons them when the CSR comes again) keeps it after a
        crash, as a crashed process would."""
        return False


class Renewal(IssueHooks):
    """The hooks of a plain renewal: ``check`` refuses a certificate that may not be renewed
    (raise), under its lock.

        issuance.issue(IssueRequest(..., replaces=old.serial), Renewal(require_renewable))
    """

    def __init__(self, check: Callable[[CertificateRecord], None]) -> None:
        self.check = check

    def on_replaced(self, uow: UnitOfWork, customer: Customer, old: CertificateRecord) -> None:
        self.check(old)


def conflict_error(constraint: str) -> CertCenterError:
    """The refusal for a constraint a commit broke: a device registration that raced
    (``uq_devices_…``; SQLite names the columns, ``devices.…``) is
    ``DEVICE_ALREADY_REGISTERED``, anything else ``CERTIFICATE_ALREADY_ACTIVE``."""
    if constraint.startswith(("uq_devices_", "devices.")):
        return CertCenterError("DEVICE_ALREADY_REGISTERED")
    return CertCenterError("CERTIFICATE_ALREADY_ACTIVE")


# ---------------------------------------------------------------------- the service


@dataclass
class _Prepared:
    intent: IssuanceIntent
    serial: str
    family: str


class Issuance:
    """Issues every kind of certificate; see the module docstring for the sequence."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        issuer: Issuer,
        audit: AuditRecorder,
        notifier: Notifier,
        publisher: StatusPublisher,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self._issuer = issuer
        self.audit = audit
        self.notifier = notifier
        self.publisher = publisher
        self.clock = clock

    def issue(self, request: IssueRequest, hooks: IssueHooks | None = None) -> Issued:
        """Issue ``request``'s certificate: write ahead, lint, sign, activate, publish.

        Raises what the hooks raise, ``CUSTOMER_UNKNOWN``, ``CSR_KEY_TYPE_NOT_ALLOWED``,
        ``CERTIFICATE_NOT_FOUND`` (a ``replaces`` that is not the customer's certificate of
        this family), ``PUBLIC_KEY_ALREADY_BOUND`` (another customer's or device's key),
        ``CERTIFICATE_PROFILE_LINT_FAILED``, ``CERTIFICATE_ALREADY_ACTIVE`` /
        ``DEVICE_ALREADY_REGISTERED`` (raced), and :class:`AlreadyRenewedError`.
        """
        hooks = hooks or IssueHooks()
        issuer = self._issuer
        prepared = self._write_ahead(issuer, request, hooks)
        try:
            issuer.lint(prepared.intent)  # before any CA key is used
            certificate = issuer.sign(prepared.intent, request.public_key)
            retired, details = self._activate(prepared, certificate, request, hooks)
        except BaseException as error:
            if not hooks.keeps_intent(error):
                self._abandon(prepared.serial)
            raise
        publish_crls(self.publisher, {(r.family, r.crl_shard) for r in retired})
        log.info("certificate %s (%s) issued", prepared.serial, prepared.intent.profile)
        return Issued(
            serial=prepared.serial,
            certificate=certificate,
            chain=tuple(issuer.chain(prepared.intent.profile)),
            not_before=prepared.intent.not_before,
            not_after=prepared.intent.not_after,
            retired=tuple(r.serial for r in retired),
            details=details,
        )

    # ------------------------------------------------------------------ the steps

    def _write_ahead(self, issuer: Issuer, request: IssueRequest, hooks: IssueHooks) -> _Prepared:
        with self.uow_factory() as uow:
            customer = self._customer(uow, request.customer_id)
            family = issuer.family_of(request.profile)
            if request.replaces is not None:
                old = uow.certificates.get(request.replaces, for_update=True)
                if old is None or old.family != family or old.customer_id != customer.id:
                    raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=request.replaces[:64])
                if old.replaced_by is not None:
                    raise AlreadyRenewedError(old.serial, old.status, old.replaced_by)
                hooks.on_replaced(uow, customer, old)
            intent = issuer.prepare(
                request.profile,
                request.public_key,
                SubjectInfo(common_name=customer.name, customer_ref=customer.customer_number),
                subject_name=request.subject,
                subject_alt_name=request.subject_alt_name,
            )
            self._refuse_a_bound_key(uow, customer, request, intent.public_key_sha256)
            hooks.on_intent(uow, customer, intent)
            # the CRL URLs it names are kept before it exists: its partition is published
            # under them until it expires, whatever the public URL is by then
            for point_family, shard, url in intent.crl_distribution_points:
                uow.crl_points.record(
                    CrlDistributionPoint(
                        family=point_family,
                        shard=shard,
                        url=url,
                        until=distribution_points_kept_until(intent.not_after),
                        first_used_at=self.clock.now(),
                    )
                )
            record = records.pending_record(
                intent,
                family=family,
                customer_id=customer.id,
                device_id=request.device_id,
                enrollment_id=request.enrollment_id,
                created_at=self.clock.now(),
                renewed_from=request.replaces,
            )
            uow.certificates.add(record)
            try:
                uow.commit()  # the intent is written ahead of the signature
            except ConstraintViolationError as violation:
                if request.replaces is None:
                    log.warning("issuance for %s raced (%s)", customer.id, violation.name)
                    raise conflict_error(violation.name) from None
                # Another renewal of this certificate is under way or done: not a second one.
                with self.uow_factory() as again:
                    current = again.certificates.get(request.replaces)
                raise AlreadyRenewedError(
                    request.replaces,
                    current.status if current else None,
                    current.replaced_by if current else None,
                ) from None
        return _Prepared(intent=intent, serial=record.serial, family=family)

    def _refuse_a_bound_key(
        self, uow: UnitOfWork, customer: Customer, request: IssueRequest, digest: str
    ) -> None:
        """One public key, one customer and one device: a key any other customer's or
        device's certificate (not abandoned) binds is refused; the same certificate's renewal
        or a retried intent (same customer, same device) is not."""
        uow.certificates.lock_key(digest)
        for bound in uow.certificates.bound_to_key(digest):
            other_device = (
                bound.device_id is not None
                and request.device_id is not None
                and bound.device_id != request.device_id
            )
            if bound.customer_id != customer.id or other_device:
                log.warning("a key already bound was sent again for %s", customer.id)
                raise CertCenterError("PUBLIC_KEY_ALREADY_BOUND")

    def _activate(
        self,
        prepared: _Prepared,
        certificate: x509.Certificate,
        request: IssueRequest,
        hooks: IssueHooks,
    ) -> tuple[list[CertificateRecord], Mapping[str, object]]:
        serial = prepared.serial
        with self.uow_factory() as uow:
            customer = self._customer(uow, request.customer_id)
            record = uow.certificates.get(serial, for_update=True)
            if record is None or record.status != CertificateStatus.PENDING.value:
                raise hooks.intent_lost(serial)
            now = self.clock.now()
            retired: list[CertificateRecord] = []
            if request.replaces is not None:
                old = uow.certificates.get(request.replaces, for_update=True)
                if old is None:
                    raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=request.replaces)
                records.supersede(old, now, serial)
                uow.ocsp.invalidate(old.serial)
                self._audit(uow, request.actor, "renew", old.serial, {"new_serial": serial})
                record.last_used_at = old.last_used_at  # the renewal continues its use
                retired.append(old)
            if request.supersede_family:
                for listed in uow.certificates.for_customer(
                    customer.id, family=prepared.family, statuses=list(records.USABLE)
                ):
                    old = uow.certificates.get(listed.serial, for_update=True)
                    if old is None or old.serial in (serial, request.replaces):
                        continue
                    records.supersede(old, now, serial)
                    uow.ocsp.invalidate(old.serial)
                    self._audit(uow, request.actor, "supersede", old.serial, {"by": serial})
                    retired.append(old)
            self._flush(uow, serial)  # the retired leave "one usable per family" first
            record.der = certificate.public_bytes(serialization.Encoding.DER)
            record.status = CertificateStatus.ACTIVE.value
            record.issued_at = now
            self._flush(uow, serial)
            added = hooks.on_activate(uow, customer, record, retired) or {}
            self._flush(uow, serial)  # the hook's writes meet their constraints here
            details: dict[str, object] = (
                {"renews": request.replaces} if request.replaces is not None else {}
            )
            details.update(added)
            self._audit(
                uow,
                request.actor,
                "issue",
                serial,
                details,
                source_ip=request.source_ip,
            )
            if request.notices is not None:
                done = Activated(
                    serial=serial,
                    customer=customer,
                    at=now,
                    not_before=prepared.intent.not_before,
                    not_after=prepared.intent.not_after,
                    retired=tuple(r.serial for r in retired),
                    details=dict(added),
                )
                for notice in request.notices(done):
                    self.notifier.notify(
                        uow,
                        event=notice.event,
                        customer=customer,
                        values=notice.values,
                        text_ko=notice.text_ko,
                        text_en=notice.text_en,
                        subject=notice.subject,
                        data=notice.data,
                    )
            try:
                uow.commit()
            except ConstraintViolationError as violation:
                log.warning("certificate %s: activation raced (%s)", serial, violation.name)
                raise conflict_error(violation.name) from None
        return retired, dict(added)

    def _flush(self, uow: UnitOfWork, serial: str) -> None:
        """Flush now, so a constraint the activation breaks is refused by name, not found by
        a later query's autoflush."""
        try:
            uow.flush()
        except ConstraintViolationError as violation:
            log.warning("certificate %s: activation raced (%s)", serial, violation.name)
            raise conflict_error(violation.name) from None

    def _abandon(self, serial: str) -> None:
        """Mark an intent that will not be activated abandoned (never one already active)."""
        try:
            with self.uow_factory() as uow:
                record = uow.certificates.get(serial, for_update=True)
                if record is not None and record.status == CertificateStatus.PENDING.value:
                    record.status = CertificateStatus.ABANDONED.value
                    uow.commit()
        except Exception:
            log.exception("could not mark the intent %s abandoned", serial)

    # ------------------------------------------------------------------ machinery

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = uow.customers.get(customer_id, for_update=True)
        if customer is None:
            raise CertCenterError("CUSTOMER_UNKNOWN", customer=customer_id)
        return customer

    def _audit(
        self,
        uow: UnitOfWork,
        actor: Acting | None,
        action: str,
        serial: str,
        details: dict[str, object],
        *,
        source_ip: str | None = None,
    ) -> None:
        if actor is None:
            return
        audit_certificate(self.audit, uow, actor, action, serial, details, source_ip=source_ip)


def audit_certificate(
    audit: AuditRecorder,
    uow: UnitOfWork,
    actor: Acting,
    action: str,
    serial: str,
    details: dict[str, object],
    *,
    source_ip: str | None = None,
) -> None:
    """The audit entry of an act on a certificate (issue, renew, supersede, revoke, …) by
    ``actor``, from ``source_ip`` or else the actor's address."""
    audit.record(
        uow,
        actor_kind=actor.kind,
        actor=actor.id,
        action=action,
        subject_kind="certificate",
        subject=serial,
        source_ip=source_ip or actor.source_ip,
        details=details,
    )
