"""The mobile-certificate issuance flow (KB국민인증서 발급), one method per step.

    service = EnrollmentService(uow_factory=..., providers=..., pki=..., hasher=...,
                                settings=settings, clock=clock)
    started = service.start(StartRequest(device_id=..., platform="android", ...))
    ref = EnrollmentRef(started.enrollment_id, started.token, client_ip="127.0.0.1")
    service.accept_terms(ref, ["service", ...])
    service.request_phone_code(ref, carrier="SKT", name="김민준", rrn_front="900315-1",
                               phone="01020000001")
    ...
    issued = service.submit_csr(ref, csr_pem)

Every step loads the enrollment under a row lock, checks the token, the expiry, the blocks
and the state, does its work and commits once. A refusal is recorded (customer, step, code,
time) in its own transaction and may block the customer and device (24 h *(policy)*).

Issuance itself is written ahead: the certificate's to-be-signed data is committed as a
``pending`` record before the CA signs, then the signed certificate, the device binding and
the end of the flow are committed together.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.audit.redaction import mask_phone
from certcenter.authn.codes import VerificationCodes
from certcenter.authn.credential_policy import check_new_pattern, check_new_pin, pattern_to_text
from certcenter.authn.device_auth import DeviceAuthenticator
from certcenter.authn.hashing import SecretHasher
from certcenter.certificates import records
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.enrollment import states
from certcenter.entities import (
    CertificateRecord,
    CertificateStatus,
    Customer,
    Device,
    Enrollment,
    EnrollmentState,
)
from certcenter.entities import new_id as _new_id
from certcenter.errors import CertCenterError
from certcenter.identity.banks import BANKS
from certcenter.identity.documents import DriverLicence, Passport, ResidentCard
from certcenter.identity.phone_numbers import Carrier, normalise_mobile
from certcenter.identity.providers import IdDocument, Providers
from certcenter.identity.rrn import parse_rrn, parse_rrn_front
from certcenter.lifecycle.service import AuditRecorder, Notifier, StatusPublisher
from certcenter.pki.csr import validate_csr
from certcenter.pki.issuer import Issuer, SubjectInfo
from certcenter.pki.pem import certificate_pem
from certcenter.pki.profiles import profile
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import DeviceFacts, RiskRules

log = logging.getLogger(__name__)
KST = timezone(timedelta(hours=9), "KST")
FAMILY = "mobile"
T = TypeVar("T")


@dataclass(frozen=True)
class StartRequest:
    device_id: str
    platform: str
    device_model: str
    app_version: str
    client_ip: str
    rooted: bool = False
    developer_options: bool = False
    remote_control_apps: tuple[str, ...] = ()
    move_certificate: bool = False
    # 재발급 from the registered device: its signature over a "reissue" challenge and the
    # PIN stand in for phone, account and ID verification (the device info is still valid).
    reissue_challenge: str | None = None
    reissue_signature: str | None = None
    reissue_pin: str | None = None

    def __repr__(self) -> str:
        return f"StartRequest(device_id={self.device_id!r}, platform={self.platform!r}, …)"


@dataclass(frozen=True)
class EnrollmentRef:
    """Which flow, the bearer token the app got at the start, and where the request came from."""

    enrollment_id: str
    token: str
    client_ip: str


@dataclass(frozen=True)
class StepResult:
    enrollment_id: str
    state: str
    next_step: str | None
    expires_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Started(StepResult):
    token: str = ""


@dataclass(frozen=True)
class IssuedCertificate:
    serial: str
    certificate_pem: str
    chain_pem: list[str]
    not_before: datetime
    not_after: datetime
    device_id: str
    customer_number: str
    moved_from_device: str | None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _mask_account(number: str) -> str:
    return f"{number[:4]}{'*' * max(len(number) - 7, 0)}{number[-3:]}"


class EnrollmentService:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        providers: Providers,
        issuer: Callable[[], Issuer],
        chain: Callable[[], Sequence[str]],
        hasher: SecretHasher,
        settings: Settings,
        clock: Clock,
        audit: AuditRecorder,
        notifier: Notifier,
        publisher: StatusPublisher,
        deliver: Callable[[], object] = lambda: None,
    ) -> None:
        self.audit = audit
        self.notifier = notifier
        self.publisher = publisher
        self._deliver_notifications = deliver
        self.uow_factory = uow_factory
        self.providers = providers
        self._issuer = issuer
        self._chain = chain
        self.hasher = hasher
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.codes = VerificationCodes(hasher, clock)
        self.authenticator = DeviceAuthenticator(hasher, clock, settings.policy)
        self.risk = RiskRules(settings.policy, clock)

    # ------------------------------------------------------------------ steps

    def start(self, request: StartRequest) -> Started:
        """Begin a flow for a device: check the device, hand out the flow's bearer token."""
        facts = DeviceFacts(
            platform=request.platform,
            app_version=request.app_version,
            rooted=request.rooted,
            developer_options=request.developer_options,
            remote_control_apps=request.remote_control_apps,
        )
        try:
            with self.uow_factory() as uow:
                self.risk.check_blocks(uow, customer_id=None, device_id=request.device_id)
                self.risk.check_device(facts)
                now = self.clock.now()
                token = secrets.token_urlsafe(32)
                enrollment = Enrollment(
                    id=_new_id(),
                    token_hash=_token_hash(token),
                    state=EnrollmentState.STARTED.value,
                    device_id=request.device_id,
                    platform=request.platform,
                    device_model=request.device_model,
                    app_version=request.app_version,
                    client_ip=request.client_ip,
                    created_at=now,
                    updated_at=now,
                    expires_at=now + timedelta(minutes=self.policy.enrollment_ttl_minutes),
                    integrity={
                        "rooted": request.rooted,
                        "developer_options": request.developer_options,
                        "remote_control_apps": list(request.remote_control_apps),
                    },
                    move_certificate=request.move_certificate,
                )
                if request.reissue_challenge is not None:
                    self._shortened(uow, enrollment, request)
                uow.enrollments.add(enrollment)
                self._audit_step(uow, enrollment, "start", request.client_ip, "ok")
                uow.commit()
        except CertCenterError as err:
            self._record_failure("start", err, None, request.device_id, request.client_ip)
            raise
        log.info("enrollment %s started (device %s)", enrollment.id, request.device_id)
        return Started(
            enrollment_id=enrollment.id,
            state=enrollment.state,
            next_step=states.next_step(EnrollmentState(enrollment.state)),
            expires_at=enrollment.expires_at,
            detail={"required_terms": list(self.policy.required_terms)},
            token=token,
        )

    def _shortened(self, uow: UnitOfWork, enrollment: Enrollment, request: StartRequest) -> None:
        """The shortened re-issue: the registered device proves the customer; the flow goes
        straight to setting the PIN and pattern for the new key."""
        who = self.authenticator.verify(
            uow,
            device_id=request.device_id,
            purpose="reissue",
            challenge=request.reissue_challenge or "",
            signature=request.reissue_signature or "",
            pin=request.reissue_pin or "",
        )
        self.risk.check_blocks(uow, customer_id=who.customer.id, device_id=None)
        self.risk.check_network(request.client_ip, overseas_access=who.customer.overseas_access)
        enrollment.customer_id = who.customer.id
        enrollment.phone = who.customer.phone
        enrollment.accepted_terms = list(self.policy.required_terms)
        enrollment.state = EnrollmentState.ID_VERIFIED.value

    def accept_terms(self, ref: EnrollmentRef, accepted: Sequence[str]) -> StepResult:
        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            missing = [t for t in self.policy.required_terms if t not in set(accepted)]
            if missing:
                raise CertCenterError("TERMS_NOT_ACCEPTED", missing=", ".join(missing))
            enrollment.accepted_terms = sorted(set(accepted))
            enrollment.state = EnrollmentState.TERMS_ACCEPTED.value
            return {}

        return self._step(ref, "terms", act)

    def request_phone_code(
        self, ref: EnrollmentRef, *, carrier: str, name: str, rrn_front: str, phone: str
    ) -> StepResult:
        """휴대폰 본인인증: the line must be in the customer's own name; an SMS code is sent."""
        prepared = self.codes.prepare("phone", digits=6)

        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            try:
                chosen = Carrier(carrier)
            except ValueError:
                raise CertCenterError("INVALID_REQUEST", detail="unknown carrier") from None
            number = normalise_mobile(phone)
            front = parse_rrn_front(rrn_front, today=self._today())
            person = self.providers.telco.verify_subscriber(
                carrier=chosen, name=name.strip(), rrn_front=front, phone=number
            )
            customer = uow.customers.by_ci(person.ci)
            if customer is None:
                raise CertCenterError("CUSTOMER_NOT_FOUND")
            enrollment.customer_id = customer.id
            self.risk.check_blocks(uow, customer_id=customer.id, device_id=None)
            self.risk.check_network(ref.client_ip, overseas_access=customer.overseas_access)
            self._check_one_device(uow, enrollment, customer)
            enrollment.phone = number
            enrollment.carrier = chosen.value
            enrollment.new_customer = not customer.internet_banking
            plain = self.codes.issue_sms(
                uow,
                flow_id=enrollment.id,
                purpose="phone",
                target=mask_phone(number),
                prepared=prepared,
                policy=self.policy,
            )
            enrollment.state = EnrollmentState.PHONE_CODE_SENT.value
            return {
                "_send_sms": (number, self._code_text(plain)),
                "phone": mask_phone(number),
                "code_valid_seconds": self.policy.sms_code_ttl_seconds,
            }

        return self._step(ref, "phone", act)

    def resend_phone_code(self, ref: EnrollmentRef) -> StepResult:
        prepared = self.codes.prepare("phone", digits=6)

        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            if enrollment.phone is None:  # the state says a code was sent, so a phone is set
                raise CertCenterError(
                    "ENROLLMENT_STEP_OUT_OF_ORDER", state=enrollment.state, step="phone_resend"
                )
            plain = self.codes.issue_sms(
                uow,
                flow_id=enrollment.id,
                purpose="phone",
                target=mask_phone(enrollment.phone),
                prepared=prepared,
                policy=self.policy,
            )
            return {
                "_send_sms": (enrollment.phone, self._code_text(plain)),
                "phone": mask_phone(enrollment.phone),
                "code_valid_seconds": self.policy.sms_code_ttl_seconds,
            }

        return self._step(ref, "phone_resend", act)

    def verify_phone_code(self, ref: EnrollmentRef, code: str) -> StepResult:
        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            self.codes.check(uow, enrollment_id=enrollment.id, purpose="phone", submitted=code)
            enrollment.state = EnrollmentState.PHONE_VERIFIED.value
            return {"new_customer": enrollment.new_customer}

        return self._step(ref, "phone_verify", act)

    def request_account_deposit(
        self, ref: EnrollmentRef, *, bank_code: str, account_number: str
    ) -> StepResult:
        """1원 입금 인증: the account must be the customer's own and usable."""
        prepared = self.codes.prepare("account", digits=self.policy.account_code_digits)

        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            customer = self._customer(uow, enrollment)
            number = "".join(ch for ch in account_number if ch != "-").strip()
            if not number.isdigit() or not 10 <= len(number) <= 16:
                raise CertCenterError("INVALID_REQUEST", detail="account number: 10-16 digits")
            if bank_code not in BANKS:
                raise CertCenterError("BANK_UNKNOWN", bank_code=bank_code)
            self.providers.accounts.check_account(
                bank_code=bank_code, account_number=number, holder_ci=customer.ci
            )
            plain = self.codes.issue(
                uow,
                enrollment_id=enrollment.id,
                purpose="account",
                target=f"{bank_code}:{_mask_account(number)}",
                prepared=prepared,
                ttl=timedelta(seconds=self.policy.account_code_ttl_seconds),
                max_tries=self.policy.account_code_max_tries,
                max_resends=self.policy.sms_code_max_resends,
            )
            enrollment.state = EnrollmentState.ACCOUNT_CODE_SENT.value
            return {
                "_deposit": (bank_code, number, f"인증{plain}"),
                "bank": BANKS[bank_code],
                "account": _mask_account(number),
                "code_valid_seconds": self.policy.account_code_ttl_seconds,
            }

        return self._step(ref, "account", act)

    def verify_account_code(self, ref: EnrollmentRef, code: str) -> StepResult:
        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            self.codes.check(uow, enrollment_id=enrollment.id, purpose="account", submitted=code)
            enrollment.state = EnrollmentState.ACCOUNT_VERIFIED.value
            return {}

        return self._step(ref, "account_verify", act)

    def verify_id(self, ref: EnrollmentRef, fields: dict[str, str]) -> StepResult:
        """신분증 인증 from typed fields: resident card, driver licence or passport."""

        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            customer = self._customer(uow, enrollment)
            document = self._parse_document(fields)
            holder_ci = self.providers.id_registry.verify(document, today=self._today())
            if not hmac.compare_digest(holder_ci.encode(), customer.ci.encode()):
                raise CertCenterError("ID_NAME_MISMATCH")
            enrollment.state = EnrollmentState.ID_VERIFIED.value
            return {"document": fields.get("kind", "")}

        return self._step(ref, "id", act)

    def set_credentials(
        self,
        ref: EnrollmentRef,
        *,
        pin: str,
        pin_confirmation: str,
        pattern: Sequence[int],
        biometric_public_key: str | None = None,
    ) -> StepResult:
        """간편비밀번호 (twice) and pattern, both mandatory; a biometric device key optional."""
        # Shape checks and the slow hashing happen before the step's transaction (a write
        # lock should not wait for argon2); a refusal found there is raised inside the step,
        # after the flow is authorised. Rules that need the customer run inside it too.
        hashes: dict[str, str] = {}
        early: CertCenterError | None = None
        try:
            check_new_pin(pin, pin_confirmation, birth_date=None)
            points = check_new_pattern(pattern)
            hashes["pin"] = self.hasher.hash(pin, purpose="pin")
            hashes["pattern"] = self.hasher.hash(pattern_to_text(points), purpose="pattern")
        except CertCenterError as err:
            early = err

        def act(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            if early is not None:
                raise early
            customer = self._customer(uow, enrollment)
            check_new_pin(pin, pin_confirmation, birth_date=customer.birth_date)
            if biometric_public_key:
                enrollment.biometric_public_key = _biometric_key(biometric_public_key)
            enrollment.pin_hash = hashes["pin"]
            enrollment.pattern_hash = hashes["pattern"]
            enrollment.state = EnrollmentState.CREDENTIALS_SET.value
            return {"biometric": bool(biometric_public_key)}

        return self._step(ref, "credentials", act)

    def submit_csr(self, ref: EnrollmentRef, csr: str | bytes) -> IssuedCertificate:
        """Issue the certificate for the device's key and bind it to the device."""
        mobile = profile(FAMILY, self.settings)
        issuer = self._issuer()

        # 1. Write ahead: the intent (to-be-signed data) is committed before anything is signed.
        def record_intent(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            validated = validate_csr(csr, mobile.allowed_key_kinds)
            customer = self._customer(uow, enrollment, lock=True)
            self._check_one_device(uow, enrollment, customer)
            for pending in uow.certificates.for_customer(
                customer.id, family=FAMILY, statuses=[CertificateStatus.PENDING.value]
            ):
                if pending.enrollment_id == enrollment.id or self._is_stale(uow, pending):
                    pending.status = CertificateStatus.ABANDONED.value
                else:
                    raise CertCenterError("CERTIFICATE_ALREADY_ACTIVE")
            intent = issuer.prepare(
                FAMILY,
                validated.public_key,
                SubjectInfo(common_name=customer.name, customer_ref=customer.customer_number),
            )
            serial = f"{intent.serial:X}"
            uow.certificates.add(
                records.pending_record(
                    intent,
                    family=FAMILY,
                    customer_id=customer.id,
                    device_id=enrollment.device_id,
                    enrollment_id=enrollment.id,
                    created_at=self.clock.now(),
                )
            )
            enrollment.certificate_serial = serial
            enrollment.state = EnrollmentState.SIGNING.value
            return {"_intent": intent, "_public_key": validated.public_key}

        prepared = self._step(ref, "csr", record_intent)
        intent = prepared.detail["_intent"]
        public_key = prepared.detail["_public_key"]

        # 2. Sign: the backend makes exactly the recorded certificate.
        certificate = self._guard(ref, "csr", lambda: issuer.sign(intent, public_key))

        # 3. Activate, bind to the device, supersede what it replaces, end the flow.
        def activate(uow: UnitOfWork, enrollment: Enrollment) -> dict[str, Any]:
            customer = self._customer(uow, enrollment, lock=True)
            record = uow.certificates.get(f"{intent.serial:X}")
            if record is None or record.status != CertificateStatus.PENDING.value:
                raise CertCenterError("CERTIFICATE_ALREADY_ACTIVE")
            now = self.clock.now()
            moved_from, retired = self._retire_previous(
                uow, customer, enrollment, now, record.serial
            )
            self._bind_device(uow, customer, enrollment, now)
            record.der = certificate.public_bytes(serialization.Encoding.DER)
            record.status = CertificateStatus.ACTIVE.value
            record.issued_at = now
            enrollment.state = EnrollmentState.COMPLETED.value
            enrollment.pin_hash = None
            enrollment.pattern_hash = None
            if not customer.internet_banking:
                customer.internet_banking = True
            actor = customer.customer_number
            for old in retired:
                self.audit.record(
                    uow,
                    actor_kind="customer",
                    actor=actor,
                    action="supersede",
                    subject_kind="certificate",
                    subject=old.serial,
                    source_ip=ref.client_ip,
                    details={"by": record.serial},
                )
            self.audit.record(
                uow,
                actor_kind="customer",
                actor=actor,
                action="issue",
                subject_kind="certificate",
                subject=record.serial,
                source_ip=ref.client_ip,
                details={
                    "device": enrollment.device_id,
                    "enrollment": enrollment.id,
                    "moved_from": moved_from,
                },
            )
            # "issued on device X at time T" (the SPEC's confirmation SMS), through the outbox
            self.notifier.notify(
                uow, event="issued", customer=customer, values={"device": enrollment.device_model}
            )
            if moved_from is not None:
                # The certificate moved to a new phone: say so on its own, as banks do.
                self.notifier.notify(
                    uow,
                    event="device_registered",
                    customer=customer,
                    values={"device": enrollment.device_model},
                )
            return {
                "_publish": {(old.family, old.crl_shard) for old in retired},
                "moved_from": moved_from,
                "customer_number": customer.customer_number,
                "device_id": enrollment.device_id,
            }

        done = self._step(ref, "csr", activate, allow=frozenset({EnrollmentState.SIGNING}))
        log.info("certificate %s issued for enrollment %s", f"{intent.serial:X}", ref.enrollment_id)
        return IssuedCertificate(
            serial=f"{intent.serial:X}",
            certificate_pem=certificate_pem(certificate),
            chain_pem=list(self._chain()),
            not_before=intent.not_before,
            not_after=intent.not_after,
            device_id=str(done.detail["device_id"]),
            customer_number=str(done.detail["customer_number"]),
            moved_from_device=done.detail["moved_from"],
        )

    def status(self, ref: EnrollmentRef) -> StepResult:
        with self.uow_factory() as uow:
            enrollment = self._authorise(uow, ref, lock=False)
            state = EnrollmentState(enrollment.state)
            return StepResult(
                enrollment_id=enrollment.id,
                state=enrollment.state,
                next_step=states.next_step(state),
                expires_at=enrollment.expires_at,
                detail={
                    "certificate_serial": enrollment.certificate_serial,
                    "failure_code": enrollment.failure_code,
                },
            )

    # ------------------------------------------------------------------ machinery

    def _step(
        self,
        ref: EnrollmentRef,
        step: str,
        action: Callable[[UnitOfWork, Enrollment], dict[str, Any]],
        *,
        allow: frozenset[EnrollmentState] | None = None,
    ) -> StepResult:
        loaded: Enrollment | None = None
        try:
            with self.uow_factory() as uow:
                enrollment = loaded = self._authorise(uow, ref, lock=True)
                customer_id, device_id = enrollment.customer_id, enrollment.device_id
                self.risk.check_blocks(uow, customer_id=customer_id, device_id=device_id)
                state = EnrollmentState(enrollment.state)
                if state not in (allow or states.allowed(step)):
                    raise CertCenterError(
                        "ENROLLMENT_STEP_OUT_OF_ORDER", state=state.value, step=step
                    )
                if customer_id is not None:
                    customer = self._customer(uow, enrollment)
                    self.risk.check_network(ref.client_ip, overseas_access=customer.overseas_access)
                detail = action(uow, enrollment)
                self._audit_step(uow, enrollment, step, ref.client_ip, "ok")
                enrollment.updated_at = self.clock.now()
                result = StepResult(
                    enrollment_id=enrollment.id,
                    state=enrollment.state,
                    next_step=states.next_step(EnrollmentState(enrollment.state)),
                    expires_at=enrollment.expires_at,
                    detail=detail,
                )
                try:
                    uow.commit()
                except ConstraintViolationError as violation:
                    log.warning(
                        "enrollment %s: %s raced (%s)", ref.enrollment_id, step, violation.name
                    )
                    code = (
                        "DEVICE_ALREADY_REGISTERED"
                        if "devices" in violation.name
                        else "CERTIFICATE_ALREADY_ACTIVE"
                    )
                    raise CertCenterError(code) from None
        except CertCenterError as err:
            # The customer may have been identified by the step that was refused (a phone step
            # refused for 1 person 1 device): the failure is theirs.
            self._record_failure(
                step,
                err,
                loaded.customer_id if loaded else None,
                loaded.device_id if loaded else None,
                ref.client_ip,
                enrollment_id=ref.enrollment_id,
            )
            raise
        self._deliver(result.detail)
        return result

    def _guard(self, ref: EnrollmentRef, step: str, work: Callable[[], T]) -> T:
        """Run work outside a step's transaction; record a refusal like a step would."""
        try:
            return work()
        except CertCenterError as err:
            with self.uow_factory() as uow:
                enrollment = uow.enrollments.get(ref.enrollment_id)
            self._record_failure(
                step,
                err,
                enrollment.customer_id if enrollment else None,
                enrollment.device_id if enrollment else None,
                ref.client_ip,
                enrollment_id=ref.enrollment_id,
            )
            raise

    def _audit_step(
        self, uow: UnitOfWork, enrollment: Enrollment, step: str, ip: str, outcome: str
    ) -> None:
        customer = uow.customers.get(enrollment.customer_id) if enrollment.customer_id else None
        self.audit.record(
            uow,
            actor_kind="customer",
            actor=customer.customer_number if customer else f"device:{enrollment.device_id}",
            action=f"enrollment.{step}",
            subject_kind="enrollment",
            subject=enrollment.id,
            outcome=outcome,
            source_ip=ip,
            details={"state": enrollment.state},
        )

    def _deliver(self, detail: dict[str, Any]) -> None:
        """Talk to the outside after the commit: a message never announces a rolled-back step."""
        for family, shard in sorted(detail.pop("_publish", set())):
            try:
                self.publisher.publish(family, shard)
            except Exception:
                log.exception("CRL %s-%s not published now; the job runner will", family, shard)
        self._deliver_notifications()
        sms = detail.pop("_send_sms", None)
        if sms is not None:
            self.providers.sms.send(phone=sms[0], sender=self.policy.sms_sender_number, text=sms[1])
        deposit = detail.pop("_deposit", None)
        if deposit is not None:
            self.providers.accounts.deposit_one_won(
                bank_code=deposit[0], account_number=deposit[1], depositor_text=deposit[2]
            )

    def _authorise(self, uow: UnitOfWork, ref: EnrollmentRef, *, lock: bool) -> Enrollment:
        enrollment = uow.enrollments.get(ref.enrollment_id, for_update=lock)
        if enrollment is None:
            raise CertCenterError("ENROLLMENT_NOT_FOUND")
        if not hmac.compare_digest(enrollment.token_hash, _token_hash(ref.token)):
            raise CertCenterError("ENROLLMENT_TOKEN_INVALID")
        state = EnrollmentState(enrollment.state)
        if state.closed:
            raise CertCenterError("ENROLLMENT_CLOSED", state=state.value)
        if self.clock.now() >= enrollment.expires_at:
            if lock:
                enrollment.state = EnrollmentState.FAILED.value
                enrollment.failure_code = "ENROLLMENT_EXPIRED"
                uow.commit()
            raise CertCenterError("ENROLLMENT_EXPIRED", minutes=self.policy.enrollment_ttl_minutes)
        return enrollment

    def _record_failure(
        self,
        step: str,
        err: CertCenterError,
        customer_id: str | None,
        device_id: str | None,
        client_ip: str | None,
        *,
        enrollment_id: str | None = None,
    ) -> None:
        log.info("refused %s at %s (enrollment %s)", err.code, step, enrollment_id or "-")
        with self.uow_factory() as uow:
            block = self.risk.record_failure(
                uow,
                step=step,
                code=err.code,
                customer_id=customer_id,
                enrollment_id=enrollment_id,
                device_id=device_id,
                client_ip=client_ip,
            )
            customer = uow.customers.get(customer_id) if customer_id else None
            actor = customer.customer_number if customer else f"device:{device_id or '-'}"
            self.audit.record(
                uow,
                actor_kind="customer",
                actor=actor,
                action=f"enrollment.{step}",
                subject_kind="enrollment",
                subject=enrollment_id or "-",
                outcome=f"refused:{err.code}",
                source_ip=client_ip,
            )
            if block is not None:
                self.audit.record(
                    uow,
                    actor_kind="system",
                    actor="risk",
                    action="block",
                    subject_kind=block.subject_kind,
                    subject=actor if block.subject_kind == "customer" else block.subject,
                    source_ip=client_ip,
                    details={"until": block.blocked_until.isoformat(), "reason": block.reason},
                )
            uow.commit()
        if block is not None:
            log.warning(
                "%s %s blocked until %s",
                block.subject_kind,
                block.subject,
                block.blocked_until.isoformat(),
            )

    def _customer(self, uow: UnitOfWork, enrollment: Enrollment, *, lock: bool = False) -> Customer:
        if enrollment.customer_id is None:
            raise CertCenterError(
                "ENROLLMENT_STEP_OUT_OF_ORDER", state=enrollment.state, step="customer"
            )
        customer = uow.customers.get(enrollment.customer_id, for_update=lock)
        if customer is None:
            raise CertCenterError("CUSTOMER_NOT_FOUND")
        return customer

    def _check_one_device(
        self, uow: UnitOfWork, enrollment: Enrollment, customer: Customer
    ) -> None:
        """1인 1기기: another device's registration stops the flow unless the customer moves."""
        this_device = uow.devices.active_by_device_id(enrollment.device_id)
        if this_device is not None and this_device.customer_id != customer.id:
            raise CertCenterError("DEVICE_IN_USE_BY_ANOTHER_CUSTOMER")
        device = uow.devices.active_for_customer(customer.id)
        if (
            device is not None
            and device.device_id != enrollment.device_id
            and not enrollment.move_certificate
        ):
            raise CertCenterError("DEVICE_ALREADY_REGISTERED")

    def _is_stale(self, uow: UnitOfWork, pending: CertificateRecord) -> bool:
        """A pending intent of another flow that can no longer finish."""
        if pending.enrollment_id is None:
            return True
        other = uow.enrollments.get(pending.enrollment_id)
        return (
            other is None
            or EnrollmentState(other.state).closed
            or other.expires_at <= self.clock.now()
        )

    def _retire_previous(
        self,
        uow: UnitOfWork,
        customer: Customer,
        enrollment: Enrollment,
        now: datetime,
        new_serial: str,
    ) -> tuple[str | None, list[CertificateRecord]]:
        """Supersede the certificate this one replaces; deregister a device it moves from."""
        moved_from: str | None = None
        retired: list[CertificateRecord] = []
        for old in uow.certificates.for_customer(
            customer.id,
            family=FAMILY,
            statuses=[CertificateStatus.ACTIVE.value, CertificateStatus.SUSPENDED.value],
        ):
            if old.device_id != enrollment.device_id and not enrollment.move_certificate:
                raise CertCenterError("DEVICE_ALREADY_REGISTERED")
            records.supersede(old, now, new_serial)
            uow.ocsp.invalidate(old.serial)
            retired.append(old)
        device = uow.devices.active_for_customer(customer.id)
        if device is not None and device.device_id != enrollment.device_id:
            if not enrollment.move_certificate:
                raise CertCenterError("DEVICE_ALREADY_REGISTERED")
            device.status = "deregistered"
            device.deregistered_at = now
            moved_from = device.device_id
        uow.flush()
        return moved_from, retired

    def _bind_device(
        self, uow: UnitOfWork, customer: Customer, enrollment: Enrollment, now: datetime
    ) -> None:
        other = uow.devices.active_by_device_id(enrollment.device_id)
        if other is not None and other.customer_id != customer.id:
            raise CertCenterError("DEVICE_IN_USE_BY_ANOTHER_CUSTOMER")
        device = uow.devices.registration(customer.id, enrollment.device_id)
        if device is None:
            device = Device(
                id=_new_id(),
                device_id=enrollment.device_id,
                customer_id=customer.id,
                platform=enrollment.platform,
                model=enrollment.device_model,
                app_version=enrollment.app_version,
                registered_at=now,
            )
            uow.devices.add(device)
        device.status = "active"
        device.registered_at = now
        device.deregistered_at = None
        device.platform = enrollment.platform
        device.model = enrollment.device_model
        device.app_version = enrollment.app_version
        device.pin_hash = enrollment.pin_hash
        device.pattern_hash = enrollment.pattern_hash
        device.biometric_public_key = enrollment.biometric_public_key

    def _parse_document(self, fields: dict[str, str]) -> IdDocument:
        kind = fields.get("kind")
        today = self._today()
        try:
            if kind == "resident_card":
                return ResidentCard.parse(
                    name=fields["name"],
                    rrn=parse_rrn(fields["rrn"], today=today),
                    issue_date=_date(fields["issue_date"]),
                    today=today,
                )
            if kind == "driver_licence":
                return DriverLicence.parse(
                    name=fields["name"],
                    birth_date=_date(fields["birth_date"]),
                    number=fields["number"],
                    serial=fields["serial"],
                )
            if kind == "passport":
                return Passport.parse(
                    name=fields["name"],
                    birth_date=_date(fields["birth_date"]),
                    number=fields["number"],
                    expiry=_date(fields["expiry"]),
                )
        except KeyError as missing:
            raise CertCenterError("ID_DETAILS_INVALID", detail=f"missing {missing}") from None
        raise CertCenterError(
            "ID_DETAILS_INVALID", detail="kind must be resident_card, driver_licence or passport"
        )

    def _code_text(self, plain: str) -> str:
        minutes = max(self.policy.sms_code_ttl_seconds // 60, 1)
        return (
            f"[{self.settings.bank_name}] 인증번호 [{plain}]를 입력해 주세요. "
            f"({minutes}분 이내, 타인에게 알려주지 마세요)"
        )

    def _today(self) -> date:
        return self.clock.now().astimezone(KST).date()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise CertCenterError("ID_DETAILS_INVALID", detail="dates are YYYY-MM-DD") from None


def _biometric_key(pem: str) -> str:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CertCenterError("BIOMETRIC_KEY_INVALID", detail="not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertCenterError("BIOMETRIC_KEY_INVALID", detail="must be an EC P-256 key")
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
