"""The mobile-certificate issuance flow (KB국민인증서 발급), one method per step.

    service = EnrollmentService(uow_factory=..., providers=..., issuance=center.issuance,
                                hasher=..., settings=settings, clock=clock, audit=...,
                                publisher=...)
    started = service.start(StartRequest(device_id=..., platform="android", ...))
    ref = EnrollmentRef(started.enrollment_id, started.token, client_ip="127.0.0.1")
    service.accept_terms(ref, ["service", ...])
    service.request_phone_code(ref, carrier="SKT", name="김민준", rrn_front="900315-1",
                               phone="01020000001")
    ...
    issued = service.submit_csr(ref, csr_pem)

Every step runs on the flow engine (:mod:`certcenter.flows`): it loads the enrollment under a
row lock, checks the token, the expiry, the blocks and the state, does its work and commits
once; the SMS and the 1-won deposit go out after the commit. A refusal is recorded (customer,
step, code, time) in its own transaction and may block the customer and device (24 h
*(policy)*).

The certificate is issued by :meth:`certcenter.issuance.Issuance.issue`, written ahead: its
to-be-signed data is committed as a ``pending`` record before the CA signs, then the signed
certificate, the device binding and the end of the flow are committed together (the flow's
part runs as ``issue()``'s hooks).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.audit.redaction import mask_account
from certcenter.authn.codes import VerificationCodes
from certcenter.authn.credential_policy import check_new_pattern, check_new_pin, pattern_to_text
from certcenter.authn.device_auth import DeviceAuthenticator
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock, today
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
from certcenter.errors.blocks import released_at
from certcenter.errors.catalog import words
from certcenter.flows import (
    DepositOneWon,
    Effects,
    FlowEngine,
    FlowKind,
    FlowTicket,
    Outcome,
    SmsCode,
    no_choices,
)
from certcenter.flows import Started as Started  # the flow's answers, under their old names
from certcenter.flows import StepResult as StepResult
from certcenter.identity.banks import BANKS
from certcenter.identity.documents import subscriber_name
from certcenter.identity.documents.confirmation import (
    DeferredPhotoReader,
    parse_document,
    photo_answer,
    photo_confirmation,
)
from certcenter.identity.phone_numbers import Carrier, normalise_mobile
from certcenter.identity.providers import Providers
from certcenter.identity.rrn import parse_rrn_front
from certcenter.issuance import Issuance, IssueHooks, IssueRequest, Notice
from certcenter.lifecycle.service import ActorRef, AuditRecorder, StatusPublisher
from certcenter.pki.csr import validate_csr
from certcenter.pki.hierarchy import MOBILE
from certcenter.pki.issuer import IssuanceIntent
from certcenter.pki.profiles import profile
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import DeviceFacts, RiskRules, identity_link

if TYPE_CHECKING:  # the pipeline (OpenCV, Tesseract) is loaded when a photo first arrives
    from certcenter.identity.documents.pipeline import PhotoReader, PhotoReading

log = logging.getLogger(__name__)
FAMILY = MOBILE

MOBILE_FLOW: FlowKind[Enrollment, EnrollmentState] = FlowKind(
    rows=lambda uow: uow.enrollments,
    state=EnrollmentState,
    allowed=states.allowed,
    next_step=states.next_step,
    choices=no_choices,
    failed=EnrollmentState.FAILED.value,
    audit_prefix="enrollment.",
    subject_kind="enrollment",
    failure_prefix="",
    anonymous_actor="device:{device}",
    device=lambda enrollment: enrollment.device_id,
)


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


#: Which enrollment, the bearer token the app got at the start, and where the request came from.
EnrollmentRef = FlowTicket


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


class EnrollmentService:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        providers: Providers,
        issuance: Issuance,
        hasher: SecretHasher,
        settings: Settings,
        clock: Clock,
        audit: AuditRecorder,
        publisher: StatusPublisher,
        photo_reader: PhotoReader | None = None,
    ) -> None:
        self._photo_reader = photo_reader or DeferredPhotoReader(
            max_bytes=settings.policy.id_photo_max_bytes
        )
        self.audit = audit
        self.publisher = publisher
        self.uow_factory = uow_factory
        self.providers = providers
        self.issuance = issuance
        self.hasher = hasher
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.codes = VerificationCodes(hasher, clock, settings.policy)
        self.send_code = SmsCode(
            self.codes, settings.policy, "phone", "mobile", bank=settings.bank_name
        )
        self.authenticator = DeviceAuthenticator(hasher, clock, settings.policy)
        self.risk = RiskRules(settings.policy, clock)
        #: The steps the policy's checks ask of this flow (비대면 실명확인: ``mobile`` and
        #: ``relationship``); the account and ID steps are left out when no rule asks them.
        self.required_steps = tuple(settings.policy.real_name_checks.steps_for("mobile"))
        allowed, next_step = states.skipping(frozenset(states.SKIPPABLE) - set(self.required_steps))
        self.engine = FlowEngine(
            replace(MOBILE_FLOW, allowed=allowed, next_step=next_step),
            uow_factory=uow_factory,
            risk=self.risk,
            audit=audit,
            clock=clock,
            effects=Effects(
                providers=providers,
                sms_sender=settings.policy.sms_sender_number,
                publisher=publisher,
            ),
            ttl_minutes=settings.policy.enrollment_ttl_minutes,
        )

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

        def make(uow: UnitOfWork, token_hash: str) -> Enrollment:
            self.risk.check_blocks(
                uow, customer_id=None, device_id=request.device_id, client_ip=request.client_ip
            )
            self.risk.check_device(facts)
            now = self.clock.now()
            enrollment = Enrollment(
                id=_new_id(),
                token_hash=token_hash,
                state=EnrollmentState.STARTED.value,
                device_id=request.device_id,
                platform=request.platform,
                device_model=request.device_model,
                app_version=request.app_version,
                client_ip=request.client_ip,
                created_at=now,
                updated_at=now,
                expires_at=now + self.engine.ttl,
                integrity={
                    "rooted": request.rooted,
                    "developer_options": request.developer_options,
                    "remote_control_apps": list(request.remote_control_apps),
                },
                move_certificate=request.move_certificate,
            )
            if request.reissue_challenge is not None:
                self._shortened(uow, enrollment, request)
            return enrollment

        enrollment, token = self.engine.begin(
            make, client_ip=request.client_ip, device_id=request.device_id
        )
        log.info("enrollment %s started (device %s)", enrollment.id, request.device_id)
        result = self.engine.result(
            enrollment, {"required_terms": list(self.policy.required_terms)}
        )
        return Started(**result.__dict__, token=token)

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
            client_ip=request.client_ip,
        )
        self.risk.check_blocks(uow, customer_id=who.customer.id, device_id=None)
        self.risk.check_customer_network(request.client_ip, who.customer)
        enrollment.customer_id = who.customer.id
        enrollment.phone = who.customer.phone
        enrollment.accepted_terms = list(self.policy.required_terms)
        enrollment.state = EnrollmentState.ID_VERIFIED.value

    def accept_terms(self, ref: EnrollmentRef, accepted: Sequence[str]) -> StepResult:
        def act(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, Any]:
            missing = [t for t in self.policy.required_terms if t not in set(accepted)]
            if missing:
                raise CertCenterError("TERMS_NOT_ACCEPTED", missing=words("terms", missing))
            enrollment.accepted_terms = sorted(set(accepted))
            enrollment.state = EnrollmentState.TERMS_ACCEPTED.value
            return {}

        return self.engine.step(ref, "terms", act)

    def request_phone_code(
        self, ref: EnrollmentRef, *, carrier: str, name: str, rrn_front: str, phone: str
    ) -> StepResult:
        """휴대폰 본인인증: the line must be in the customer's own name; an SMS code is sent.
        A name that cannot be one is refused before the telco is asked (and not counted)."""
        typed_name = subscriber_name(name)
        prepared = self.codes.prepare("phone", digits=6)

        def subscriber(enrollment: Enrollment, _: Customer | None) -> tuple[Carrier, str, str]:
            try:
                chosen = Carrier(carrier)
            except ValueError:
                raise CertCenterError("INVALID_REQUEST", detail="unknown carrier") from None
            number = normalise_mobile(phone)
            front = parse_rrn_front(rrn_front, today=today(self.clock))
            person = self.providers.telco.verify_subscriber(
                carrier=chosen, name=typed_name, rrn_front=front, phone=number
            )
            return chosen, number, person.ci

        # The telco is asked before the step's transaction: no row is locked while it answers.
        # Its refusal names no customer yet: it is linked to the person the details name.
        chosen, number, ci = self.engine.ask(
            ref, "phone", subscriber, links=self._link(typed_name, rrn_front, phone)
        )

        def act(uow: UnitOfWork, enrollment: Enrollment) -> Outcome:
            customer = uow.customers.by_ci(ci)
            if customer is None:
                raise CertCenterError("CUSTOMER_NOT_FOUND")
            enrollment.customer_id = customer.id
            self.risk.check_blocks(uow, customer_id=customer.id, device_id=None)
            self.risk.check_customer_network(ref.client_ip, customer)
            self._check_one_device(uow, enrollment, customer)
            enrollment.phone = number
            enrollment.carrier = chosen.value
            enrollment.new_customer = not customer.internet_banking
            enrollment.state = EnrollmentState.PHONE_CODE_SENT.value
            return self.send_code(
                uow, enrollment.id, number, prepared, person=customer.id, client_ip=ref.client_ip
            )

        return self.engine.step(ref, "phone", act)

    def resend_phone_code(self, ref: EnrollmentRef) -> StepResult:
        prepared = self.codes.prepare("phone", digits=6)

        def act(uow: UnitOfWork, enrollment: Enrollment) -> Outcome:
            if enrollment.phone is None:  # the state says a code was sent, so a phone is set
                raise CertCenterError(
                    "ENROLLMENT_STEP_OUT_OF_ORDER", state=enrollment.state, step="phone_resend"
                )
            return self.send_code(
                uow,
                enrollment.id,
                enrollment.phone,
                prepared,
                person=enrollment.customer_id,
                client_ip=ref.client_ip,
            )

        return self.engine.step(ref, "phone_resend", act)

    def verify_phone_code(self, ref: EnrollmentRef, code: str) -> StepResult:
        def act(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, Any]:
            self.codes.check(uow, enrollment_id=enrollment.id, purpose="phone", submitted=code)
            enrollment.state = EnrollmentState.PHONE_VERIFIED.value
            return {"new_customer": enrollment.new_customer}

        return self.engine.step(ref, "phone_verify", act)

    def request_account_deposit(
        self, ref: EnrollmentRef, *, bank_code: str, account_number: str
    ) -> StepResult:
        """1원 입금 인증: the account must be the customer's own and usable."""
        prepared = self.codes.prepare("account", digits=self.policy.account_code_digits)
        number = "".join(ch for ch in account_number if ch != "-").strip()

        def own_account(enrollment: Enrollment, customer: Customer | None) -> None:
            holder = self.engine.known(enrollment, customer)
            if not number.isdigit() or not 10 <= len(number) <= 16:
                raise CertCenterError("INVALID_REQUEST", detail="account number: 10-16 digits")
            if bank_code not in BANKS:
                raise CertCenterError("BANK_UNKNOWN", bank_code=bank_code)
            self.providers.accounts.check_account(
                bank_code=bank_code, account_number=number, holder_ci=holder.ci
            )

        self.engine.ask(ref, "account", own_account)

        def act(uow: UnitOfWork, enrollment: Enrollment) -> Outcome:
            plain = self.codes.issue(
                uow,
                enrollment_id=enrollment.id,
                purpose="account",
                target=f"{bank_code}:{mask_account(number)}",
                prepared=prepared,
                ttl=timedelta(seconds=self.policy.account_code_ttl_seconds),
                max_tries=self.policy.account_code_max_tries,
                max_resends=self.policy.sms_code_max_resends,
            )
            enrollment.state = EnrollmentState.ACCOUNT_CODE_SENT.value
            return Outcome(
                {
                    "bank": BANKS[bank_code],
                    "account": mask_account(number),
                    "code_valid_seconds": self.policy.account_code_ttl_seconds,
                },
                (DepositOneWon(bank_code, number, f"인증{plain}"),),
            )

        return self.engine.step(ref, "account", act)

    def verify_account_code(self, ref: EnrollmentRef, code: str) -> StepResult:
        def act(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, Any]:
            self.codes.check(uow, enrollment_id=enrollment.id, purpose="account", submitted=code)
            enrollment.state = EnrollmentState.ACCOUNT_VERIFIED.value
            return {}

        return self.engine.step(ref, "account_verify", act)

    def verify_id(self, ref: EnrollmentRef, fields: dict[str, Any]) -> StepResult:
        """신분증 인증 from typed fields: resident card, driver licence or passport; or the
        fields read from a photo (:meth:`read_id_photo`) as the customer confirmed them
        (``source="photo"``, ``corrected``: the fields the customer changed). Either way the
        registry decides; corrections are recorded (names of the fields, never values)."""
        source, corrected = photo_confirmation(fields)

        def holder(enrollment: Enrollment, customer: Customer | None) -> str:
            self.engine.known(enrollment, customer)
            document = parse_document(fields, today=today(self.clock))
            return self.providers.id_registry.verify(document, today=today(self.clock))

        holder_ci = self.engine.ask(ref, "id", holder)

        def act(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, Any]:
            customer = self.engine.customer(uow, enrollment)
            if not hmac.compare_digest(holder_ci.encode(), customer.ci.encode()):
                raise CertCenterError("ID_NAME_MISMATCH")
            enrollment.state = EnrollmentState.ID_VERIFIED.value
            if source == "photo":
                self.engine.audit_step(
                    uow,
                    enrollment,
                    "id_photo_confirmed",
                    ref.client_ip,
                    details={"document": fields.get("kind", ""), "corrected": corrected},
                )
            return {"document": fields.get("kind", ""), "source": source}

        return self.engine.step(ref, "id", act)

    def read_id_photo(self, ref: EnrollmentRef, photo: bytes) -> StepResult:
        """신분증 촬영: the photo is judged and read in memory and never kept; the answer is
        what was read, for the customer to confirm or correct and send to :meth:`verify_id`
        (with ``source="photo"``). The audit trail keeps which document, when, the outcome
        and the fields masked; a refused photo is recorded with its code."""
        self.engine.ask(ref, "id_photo", lambda row, customer: self.engine.known(row, customer))
        on = today(self.clock)
        reading: PhotoReading = self.engine.guard(
            ref, "id_photo", lambda: self._photo_reader.read(photo, today=on)
        )

        def act(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, Any]:
            self.engine.customer(uow, enrollment)  # out of order while none is known
            self.engine.audit_step(
                uow,
                enrollment,
                "id_photo",
                ref.client_ip,
                details={"document": reading.kind, "read": reading.display},
            )
            return photo_answer(reading)

        return self.engine.step(ref, "id_photo", act, audit=False)

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

        def act(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, Any]:
            if early is not None:
                raise early
            customer = self.engine.customer(uow, enrollment)
            check_new_pin(pin, pin_confirmation, birth_date=customer.birth_date)
            if biometric_public_key:
                enrollment.biometric_public_key = _biometric_key(biometric_public_key)
            enrollment.pin_hash = hashes["pin"]
            enrollment.pattern_hash = hashes["pattern"]
            enrollment.state = EnrollmentState.CREDENTIALS_SET.value
            return {"biometric": bool(biometric_public_key)}

        return self.engine.step(ref, "credentials", act)

    def submit_csr(self, ref: EnrollmentRef, csr: str | bytes) -> IssuedCertificate:
        """Issue the certificate for the device's key and bind it to the device.

        Through :meth:`Issuance.issue`: its write-ahead transaction also checks 1 person 1
        device, abandons this customer's stale intents and moves the flow to ``signing``; its
        activation also moves the certificate from another phone when asked, registers the
        device and completes the flow (:class:`_DeviceIssue`)."""
        mobile = profile(FAMILY, self.settings)

        def request(enrollment: Enrollment, customer: Customer | None) -> tuple[IssueRequest, str]:
            validated = validate_csr(csr, mobile.allowed_key_kinds)
            holder = self.engine.known(enrollment, customer)
            model = enrollment.device_model
            asked = IssueRequest(
                profile=FAMILY,
                public_key=validated.public_key,
                customer_id=holder.id,
                device_id=enrollment.device_id,
                enrollment_id=enrollment.id,
                supersede_family=True,
                actor=ActorRef.customer(holder.customer_number, ref.client_ip),
                # "issued on device X at time T" (the SPEC's confirmation SMS); a certificate
                # that moved to a new phone says so on its own, as banks do.
                notices=lambda done: (
                    [Notice("issued", {"device": model})]
                    + (
                        [Notice("device_registered", {"device": model})]
                        if done.details.get("moved_from") is not None
                        else []
                    )
                ),
            )
            return asked, holder.customer_number

        # The flow read without the write lock; the write-ahead checks it again under its
        # lock. Whatever does not read right goes the way that records its refusal (ask).
        made: tuple[IssueRequest, str] | None = None
        seen = self.engine.peek(ref, "csr")
        if seen is not None:
            with contextlib.suppress(CertCenterError):  # refused again by ask, and recorded
                made = request(*seen)
        asked, customer_number = made or self.engine.ask(ref, "csr", request)
        hooks = _DeviceIssue(self, ref)
        issued = self.engine.guard(ref, "csr", lambda: self.issuance.issue(asked, hooks))
        log.info("certificate %s issued for enrollment %s", issued.serial, ref.enrollment_id)
        return IssuedCertificate(
            serial=issued.serial,
            certificate_pem=issued.certificate_pem,
            chain_pem=issued.chain_pem,
            not_before=issued.not_before,
            not_after=issued.not_after,
            device_id=str(asked.device_id),
            customer_number=customer_number,
            moved_from_device=hooks.moved_from,
        )

    def status(self, ref: EnrollmentRef) -> StepResult:
        with self.uow_factory() as uow:
            enrollment = self.engine.authorise(uow, ref, lock=False)
            return self.engine.result(
                enrollment,
                {
                    "certificate_serial": enrollment.certificate_serial,
                    "failure_code": enrollment.failure_code,
                },
            )

    # ------------------------------------------------------------------ helpers

    def _link(self, name: str, rrn_front: str, phone: str) -> tuple[tuple[str, str], ...]:
        """The link of a phone step's refusal to the person its details name (a keyed digest
        of name, birth date and number, see :func:`identity_link`); none while they do not
        read (that refusal is the form's own)."""
        try:
            front = parse_rrn_front(rrn_front, today=today(self.clock))
            number = normalise_mobile(phone)
        except CertCenterError:
            return ()
        return (identity_link(self.hasher, name=name, birth_date=front.birth_date, phone=number),)

    def _check_one_device(
        self, uow: UnitOfWork, enrollment: Enrollment, customer: Customer
    ) -> None:
        """1인 1기기: another device's registration stops the flow unless the customer moves."""
        near = _Near(uow.devices.near(customer.id, enrollment.device_id))
        this_device = near.active_with_id(enrollment.device_id)
        if this_device is not None and this_device.customer_id != customer.id:
            raise CertCenterError("DEVICE_IN_USE_BY_ANOTHER_CUSTOMER")
        device = near.active_of(customer.id)
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

    def _in_progress(self, uow: UnitOfWork, pending: CertificateRecord) -> CertCenterError:
        """The refusal of a second issuance while another flow's signing is still open: when
        that flow expires, the customer may start again (it no longer blocks)."""
        other = uow.enrollments.get(pending.enrollment_id) if pending.enrollment_id else None
        if other is None:  # gone between the two reads: another attempt won
            return CertCenterError("CERTIFICATE_ALREADY_ACTIVE")
        return CertCenterError(
            "ISSUANCE_IN_PROGRESS",
            until=other.expires_at.isoformat(timespec="seconds"),  # for programs
            released=released_at(other.expires_at),  # for the customer (Korean time)
        )

    def _move_from(
        self,
        uow: UnitOfWork,
        customer: Customer,
        enrollment: Enrollment,
        now: datetime,
        retired: Sequence[CertificateRecord],
        near: _Near,
    ) -> str | None:
        """The certificates the new one superseded must be this device's unless the customer
        moves; then the device it moves from is deregistered (its id is returned)."""
        for old in retired:
            if old.device_id != enrollment.device_id and not enrollment.move_certificate:
                raise CertCenterError("DEVICE_ALREADY_REGISTERED")
        device = near.active_of(customer.id)
        if device is None or device.device_id == enrollment.device_id:
            return None
        if not enrollment.move_certificate:
            raise CertCenterError("DEVICE_ALREADY_REGISTERED")
        device.status = "deregistered"
        device.deregistered_at = now
        uow.sessions.end_for_device(device.device_id, now, "device_moved")
        uow.flush()
        return device.device_id

    def _bind_device(
        self,
        uow: UnitOfWork,
        customer: Customer,
        enrollment: Enrollment,
        now: datetime,
        near: _Near,
    ) -> None:
        other = near.active_with_id(enrollment.device_id)
        if other is not None and other.customer_id != customer.id:
            raise CertCenterError("DEVICE_IN_USE_BY_ANOTHER_CUSTOMER")
        device = near.registration(customer.id, enrollment.device_id)
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


class _Near:
    """The registrations of a customer and of a device id, read once
    (:meth:`~certcenter.ports.DeviceRepository.near`); the answers follow the changes made
    to them since (a device moved from is no longer active)."""

    def __init__(self, devices: Sequence[Device]) -> None:
        self.devices = devices

    def active_of(self, customer_id: str) -> Device | None:
        return next(
            (d for d in self.devices if d.customer_id == customer_id and d.status == "active"),
            None,
        )

    def active_with_id(self, device_id: str) -> Device | None:
        return next(
            (d for d in self.devices if d.device_id == device_id and d.status == "active"), None
        )

    def registration(self, customer_id: str, device_id: str) -> Device | None:
        """The customer's latest registration of the device."""
        mine = [d for d in self.devices if (d.customer_id, d.device_id) == (customer_id, device_id)]
        return max(mine, key=lambda d: d.registered_at, default=None)


class _DeviceIssue(IssueHooks):
    """The mobile flow's own work inside ``issue()``'s two transactions, each a ``csr`` step
    of the flow (checked, locked, audited)."""

    def __init__(self, service: EnrollmentService, ref: EnrollmentRef) -> None:
        self.service = service
        self.ref = ref
        self.moved_from: str | None = None

    def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
        service = self.service

        def write_ahead(uow: UnitOfWork, enrollment: Enrollment) -> None:
            if enrollment.customer_id != customer.id:
                raise CertCenterError(
                    "ENROLLMENT_STEP_OUT_OF_ORDER", state=enrollment.state, step="csr"
                )
            service._check_one_device(uow, enrollment, customer)
            for pending in uow.certificates.for_customer(
                customer.id, family=FAMILY, statuses=[CertificateStatus.PENDING.value]
            ):
                if pending.enrollment_id == enrollment.id or service._is_stale(uow, pending):
                    pending.status = CertificateStatus.ABANDONED.value
                else:
                    raise service._in_progress(uow, pending)
            enrollment.certificate_serial = f"{intent.serial:X}"
            enrollment.state = EnrollmentState.SIGNING.value

        service.engine.within(uow, self.ref, "csr", write_ahead)

    def on_activate(
        self,
        uow: UnitOfWork,
        customer: Customer,
        record: CertificateRecord,
        retired: Sequence[CertificateRecord],
    ) -> Mapping[str, object]:
        service = self.service

        def activate(uow: UnitOfWork, enrollment: Enrollment) -> Mapping[str, object]:
            now = service.clock.now()
            # one read of the devices of this customer and of this device id, for both
            near = _Near(uow.devices.near(customer.id, enrollment.device_id))
            self.moved_from = service._move_from(uow, customer, enrollment, now, retired, near)
            service._bind_device(uow, customer, enrollment, now, near)
            enrollment.state = EnrollmentState.COMPLETED.value
            enrollment.pin_hash = None
            enrollment.pattern_hash = None
            if not customer.internet_banking:
                customer.internet_banking = True
            return {
                "device": enrollment.device_id,
                "enrollment": enrollment.id,
                "moved_from": self.moved_from,
            }

        # An expiry found here is not committed: it would commit half an activation.
        return service.engine.within(
            uow,
            self.ref,
            "csr",
            activate,
            allow=frozenset({EnrollmentState.SIGNING}),
            mark_expired=False,
        )

    def intent_lost(self, serial: str) -> CertCenterError:
        return CertCenterError("CERTIFICATE_ALREADY_ACTIVE")  # a newer attempt won

    def keeps_intent(self, error: BaseException) -> bool:
        # A refusal abandons the intent; after a crash (signing cut off) it stays pending, the
        # flow in "signing", and the CSR sent again abandons it and issues anew.
        return not isinstance(error, CertCenterError)


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
