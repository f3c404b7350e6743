"""Approve in the app (앱으로 승인): a code shown in the browser, approved on the phone with the
mobile certificate.

    approvals = ApprovalService(uow_factory=..., digest=..., sessions=..., audit=...,
                                clock=clock, policy=policy)
    started = approvals.start("web-login")           # the browser shows started.code (8 digits)
    approvals.approve(app_session, started.code)      # the app, logged in with its certificate
    approvals.status(started.token).state             # the browser polls: "approved"
    done = approvals.consume(started.token)           # once: done.opened.token is a web session

Purposes: ``web-login`` (the browser gets a session of the approving app's customer, method
``app-approval``), and the mobile-certificate medium of a flow — ``financial-issuance``,
``financial-device`` (registering a browser), ``financial-pin-reset`` — which only the
expected customer's app may approve and the flow takes by its id (:meth:`ApprovalService.take`).

The code is stored only as a keyed digest (the key backend's MAC, never the code), computed
over a 10-minute time bucket and the code, so a code can be looked up when the app types it,
and a code reused long after never collides with an old one. The browser's poll token is a
256-bit secret stored as SHA-256. Every code the app types is counted *before* it is looked
up, per approving customer (``approval_max_failures`` *(policy)*, then paused for
``block_hours``), so the 8 digits cannot be guessed through the app. Approvals expire after
``approval_ttl_seconds`` *(policy)*, are approved once and consumed once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.certificates.records import require_active
from certcenter.clock import Clock, as_utc
from certcenter.config import Policy
from certcenter.entities import Actor, Customer, Session, WebApproval, new_id
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import AuditRecorder
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory
from certcenter.usage.sessions import OpenedSession, SessionService

WEB_LOGIN = "web-login"
FINANCIAL_ISSUANCE = "financial-issuance"
FINANCIAL_DEVICE = "financial-device"  # registering a browser for the financial certificate
FINANCIAL_PIN_RESET = "financial-pin-reset"  # resetting the financial certificate's PIN
OIDC_LOGIN = "oidc-login"  # logging in at another site through the OpenID provider
PURPOSES = (WEB_LOGIN, FINANCIAL_ISSUANCE, FINANCIAL_DEVICE, FINANCIAL_PIN_RESET, OIDC_LOGIN)
# A flow's own approval: only the expected customer's app may approve it.
FLOW_PURPOSES = frozenset({FINANCIAL_ISSUANCE, FINANCIAL_DEVICE, FINANCIAL_PIN_RESET})
APP_METHODS = frozenset({"pin", "pattern", "biometric"})  # logins of the app's certificate
SESSION_METHOD = "app-approval"
FACTOR = "web_approval"  # the lockout counter of codes typed in the app
BUCKET_SECONDS = 600
_DOMAIN = b"certcenter/web-approval/v1\x00"


@dataclass(frozen=True)
class StartedApproval:
    """What the browser gets: the code to show, and the token to poll with (both once)."""

    id: str
    purpose: str
    code: str
    token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"StartedApproval(id={self.id!r}, purpose={self.purpose!r}, code=…, token=…)"


@dataclass(frozen=True)
class ApprovalStatus:
    id: str
    purpose: str
    state: str  # pending | approved | consumed | expired
    expires_at: datetime
    approved_at: datetime | None = None


@dataclass(frozen=True)
class ConsumedApproval:
    approval: WebApproval
    customer: Customer
    opened: OpenedSession | None = None  # the web session of a "web-login"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApprovalService:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        digest: Callable[[bytes], bytes],
        sessions: SessionService,
        audit: AuditRecorder,
        clock: Clock,
        policy: Policy,
    ) -> None:
        self.uow_factory = uow_factory
        self._digest = digest
        self.sessions = sessions
        self.audit = audit
        self.clock = clock
        self.policy = policy

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.policy.approval_ttl_seconds)

    # ------------------------------------------------------------------ the browser

    def start(
        self,
        purpose: str,
        *,
        expected_customer_id: str | None = None,
        source_ip: str | None = None,
    ) -> StartedApproval:
        """A new approval request: the code to show and the token to poll with."""
        if purpose not in PURPOSES:
            raise CertCenterError("INVALID_REQUEST", detail=f"purpose: {', '.join(PURPOSES)}")
        if purpose in FLOW_PURPOSES and expected_customer_id is None:
            raise ValueError(f"a {purpose} approval names its customer")
        for _ in range(5):  # a code already live in this bucket: draw again
            with self.uow_factory() as uow:
                made = self.start_in(
                    uow, purpose, expected_customer_id=expected_customer_id, source_ip=source_ip
                )
                try:
                    uow.commit()
                except ConstraintViolationError:
                    continue
            return made
        raise CertCenterError("SERVICE_UNAVAILABLE", detail="no free approval code")

    def start_in(
        self,
        uow: UnitOfWork,
        purpose: str,
        *,
        expected_customer_id: str | None = None,
        source_ip: str | None = None,
    ) -> StartedApproval:
        """Add a new approval to ``uow`` (the caller commits, with its own change)."""
        now = self.clock.now()
        digits = self.policy.approval_code_digits
        code = f"{secrets.randbelow(10**digits):0{digits}d}"
        token = secrets.token_urlsafe(32)
        approval = WebApproval(
            id=new_id(),
            purpose=purpose,
            code_digest=self._code_digest(code, now),
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + self.ttl,
            expected_customer_id=expected_customer_id,
        )
        uow.approvals.add(approval)
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER.value,
            actor="browser",
            action="approval.start",
            subject_kind="approval",
            subject=approval.id,
            source_ip=source_ip,
            details={"purpose": purpose},
        )
        return StartedApproval(
            id=approval.id,
            purpose=purpose,
            code=code,
            token=token,
            expires_at=approval.expires_at,
        )

    def status(self, token: str) -> ApprovalStatus:
        """Where the approval stands (the browser polls this)."""
        with self.uow_factory() as uow:
            approval = self._by_token(uow, token)
        return ApprovalStatus(
            id=approval.id,
            purpose=approval.purpose,
            state=self._state(approval, self.clock.now()),
            expires_at=approval.expires_at,
            approved_at=approval.approved_at,
        )

    def consume(self, token: str, *, source_ip: str | None = None) -> ConsumedApproval:
        """Use an approved request once. For ``web-login`` a web session of the approving
        customer opens (method ``app-approval``, the app's device and certificate)."""
        with self.uow_factory() as uow:
            approval = self._by_token(uow, token)
            self._take(uow, approval)
            customer = uow.customers.get(approval.customer_id or "")
            if customer is None or approval.customer_id is None:
                raise CertCenterError("APPROVAL_NOT_FOUND")
            opened = None
            if approval.purpose == WEB_LOGIN:
                serial = approval.certificate_serial or ""
                certificate = uow.certificates.get(serial)
                if certificate is None:
                    raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial)
                require_active(certificate, self.clock.now())
                opened = self.sessions.start(
                    uow,
                    customer_id=customer.id,
                    device_id=approval.device_id or "",
                    certificate_serial=serial,
                    method=SESSION_METHOD,
                )
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER.value,
                actor=customer.customer_number,
                action="approval.consume",
                subject_kind="approval",
                subject=approval.id,
                source_ip=source_ip,
                details={"purpose": approval.purpose},
            )
            uow.commit()
        return ConsumedApproval(approval=approval, customer=customer, opened=opened)

    def take(
        self, uow: UnitOfWork, approval_id: str, *, purpose: str, customer_id: str
    ) -> WebApproval | None:
        """For a flow that started the approval and kept its id: None while it is not
        approved yet; else the approval, consumed in ``uow`` (the caller commits)."""
        approval = uow.approvals.get(approval_id)
        if approval is None or approval.purpose != purpose:
            raise CertCenterError("APPROVAL_NOT_FOUND")
        if approval.approved_at is None and approval.consumed_at is None:
            if self.clock.now() >= as_utc(approval.expires_at):
                raise CertCenterError("APPROVAL_EXPIRED", seconds=self.policy.approval_ttl_seconds)
            return None
        if approval.customer_id != customer_id:  # not reached: approve() checks it
            raise CertCenterError("APPROVAL_CUSTOMER_MISMATCH")
        self._take(uow, approval)
        return approval

    # ------------------------------------------------------------------ the app

    def approve(
        self, session: Session, code: str, *, source_ip: str | None = None
    ) -> ApprovalStatus:
        """The app's customer approves the code shown on screen (counted before it is
        looked up; a wrong code, or a code of another customer's request, counts)."""
        if session.method not in APP_METHODS:
            raise CertCenterError("APPROVAL_APP_LOGIN_REQUIRED")
        clean = "".join(ch for ch in str(code) if ch not in " -")
        now = self.clock.now()
        well_formed = (
            clean.isascii() and clean.isdigit() and len(clean) == self.policy.approval_code_digits
        )
        digests = self._lookups(clean, now) if well_formed else []
        subject = session.customer_id
        with self.uow_factory() as uow:
            self._reserve(uow, subject, now)
            found = None
            for digest in digests:
                found = uow.approvals.by_code_digest(digest)
                if found is not None:
                    break
            if found is None:
                refusal = self._wrong(uow, subject, now)
                uow.commit()
                raise refusal
            if found.expected_customer_id not in (None, subject):
                refusal = self._wrong(uow, subject, now)
                uow.commit()
                if refusal.code == "APPROVAL_LOCKED":
                    raise refusal
                raise CertCenterError("APPROVAL_CUSTOMER_MISMATCH")
            # a code that exists: this try is given back whatever follows
            uow.factors.release_attempt(subject, FACTOR, now)
            spent: CertCenterError | None = None
            if found.approved_at is not None or found.consumed_at is not None:
                spent = CertCenterError("APPROVAL_USED")
            elif now >= as_utc(found.expires_at):
                spent = CertCenterError(
                    "APPROVAL_EXPIRED", seconds=self.policy.approval_ttl_seconds
                )
            if spent is not None:
                uow.commit()
                raise spent
            certificate = uow.certificates.get(session.certificate_serial)
            device = uow.devices.active_by_device_id(session.device_id)
            if certificate is None or device is None or device.customer_id != subject:
                uow.commit()
                raise CertCenterError("DEVICE_NOT_REGISTERED")
            try:
                require_active(certificate, now)
            except CertCenterError:
                uow.commit()
                raise
            if not uow.approvals.approve(
                found.id,
                customer_id=subject,
                device_id=session.device_id,
                certificate_serial=session.certificate_serial,
                at=now,
                method=session.method,
            ):
                uow.commit()
                raise CertCenterError("APPROVAL_USED")
            uow.factors.reset(subject, FACTOR, now)
            customer = uow.customers.get(subject)
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER.value,
                actor=customer.customer_number if customer else subject,
                action="approval.approve",
                subject_kind="approval",
                subject=found.id,
                source_ip=source_ip,
                details={"purpose": found.purpose, "device": session.device_id},
            )
            uow.commit()
            return ApprovalStatus(
                id=found.id,
                purpose=found.purpose,
                state="approved",
                expires_at=found.expires_at,
                approved_at=now,
            )

    # ------------------------------------------------------------------ internals

    def _code_digest(self, code: str, at: datetime) -> str:
        bucket = int(at.timestamp()) // BUCKET_SECONDS
        return self._digest(_DOMAIN + f"{bucket}:{code}".encode()).hex()

    def _lookups(self, code: str, now: datetime) -> list[str]:
        """The digests the code may have been stored under: the buckets an unexpired
        approval can have been made in."""
        spans = int(self.ttl.total_seconds()) // BUCKET_SECONDS + 2
        return [
            self._code_digest(code, now - timedelta(seconds=BUCKET_SECONDS * k))
            for k in range(spans)
        ]

    def _by_token(self, uow: UnitOfWork, token: str) -> WebApproval:
        if not token or len(token) > 200:
            raise CertCenterError("APPROVAL_NOT_FOUND")
        approval = uow.approvals.by_token_hash(token_digest(token))
        if approval is None or not hmac.compare_digest(approval.token_hash, token_digest(token)):
            raise CertCenterError("APPROVAL_NOT_FOUND")
        return approval

    def _state(self, approval: WebApproval, now: datetime) -> str:
        if approval.consumed_at is not None:
            return "consumed"
        if approval.approved_at is not None:
            if now >= as_utc(approval.approved_at) + self.ttl:
                return "expired"
            return "approved"
        if now >= as_utc(approval.expires_at):
            return "expired"
        return "pending"

    def _take(self, uow: UnitOfWork, approval: WebApproval) -> None:
        """Consume an approved request once (its approval must be fresh: within the ttl)."""
        now = self.clock.now()
        state = self._state(approval, now)
        if state == "consumed":
            raise CertCenterError("APPROVAL_USED")
        if state == "expired":
            raise CertCenterError("APPROVAL_EXPIRED", seconds=self.policy.approval_ttl_seconds)
        if state == "pending":
            raise CertCenterError("APPROVAL_PENDING")
        if not uow.approvals.consume(approval.id, now):
            raise CertCenterError("APPROVAL_USED")

    def _reserve(self, uow: UnitOfWork, subject: str, now: datetime) -> None:
        """Count this try before the code is looked up; a pause ends ``block_hours`` after
        it began (then the count starts again)."""
        limit = self.policy.approval_max_failures
        pause = timedelta(hours=self.policy.block_hours)
        counter = uow.factors.get(subject, FACTOR)
        if counter is not None and counter.failures:
            began = as_utc(counter.locked_at or counter.updated_at)
            if began + pause <= now:
                uow.factors.reset(subject, FACTOR, now)
                counter = None
        if uow.factors.reserve_attempt(subject, FACTOR, limit, now) is None:
            if counter is None or counter.locked_at is None:
                uow.factors.lock(subject, FACTOR, now)
            refusal = self._locked(uow, subject, now)
            uow.commit()
            raise refusal

    def _wrong(self, uow: UnitOfWork, subject: str, now: datetime) -> CertCenterError:
        """The try stays counted: the refusal to raise (the pause at the limit)."""
        limit = self.policy.approval_max_failures
        counter = uow.factors.get(subject, FACTOR)
        failures = counter.failures if counter is not None else limit
        if failures >= limit:
            uow.factors.lock(subject, FACTOR, now)
            return self._locked(uow, subject, now)
        return CertCenterError("APPROVAL_CODE_INVALID", tries_left=limit - failures)

    def _locked(self, uow: UnitOfWork, subject: str, now: datetime) -> CertCenterError:
        counter = uow.factors.get(subject, FACTOR)
        began = as_utc(counter.locked_at) if counter and counter.locked_at else now
        until = began + timedelta(hours=self.policy.block_hours)
        return CertCenterError(
            "APPROVAL_LOCKED",
            max_failures=self.policy.approval_max_failures,
            until=until.isoformat(timespec="minutes"),
        )
