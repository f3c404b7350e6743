"""The financial-certificate issuance flow (금융인증서 발급/재발급), one method per step.

    issuance = FinancialIssuance(uow_factory=..., providers=..., maker=cloud_certificates,
                                 approvals=approvals, otp=otp, cards=security_cards, ...)
    started = issuance.start(["financial_certificate", ...], client_ip="211.36.1.1")
    ref = IssuanceRef(started.enrollment_id, started.token, "211.36.1.1")
    issuance.identify(ref, user_id="c001user", rrn="900315-1512541")
    shown = issuance.request_ars(ref)        # the screen shows shown.detail["ars_code"]
    issuance.confirm_ars(ref)                 # after the call: or check_departure(ref) if abroad
    issuance.choose_medium(ref, "otp")        # account | security_card | otp | mobile_certificate
                                              # | id_document (then read_id_photo and
                                              # verify_id_document instead)
    issuance.verify_medium(ref, MediumAnswer(otp_code="123456"))
    issuance.submit_details(ref, name="김민준", phone="01020000001", birth_date="1990-03-15",
                            device_public_key=spki_der, device_label="Chrome on Windows")
    issuance.verify_code(ref, "123456")       # the SMS code
    done = issuance.set_pin(ref, "591734", "591734")   # done.detail["serial"]

The seven steps of the documents: terms; user ID and resident number (the number only derives
the CI through the identity agency, then is dropped; an unknown ID and a mismatch are refused
alike, every try counted before the comparison); an ARS call whose code is on the screen, or
the departure check for a customer abroad; one additional medium the customer holds (the
withdrawal account and its password, the security card, the OTP, or the mobile certificate,
approved in the app); name, phone and birth date as on record with the browser's device key;
the SMS code; the PIN twice. One financial certificate per person: re-issuing supersedes the
old one (``financial.create`` does that).

Every step runs on the flow engine (:mod:`certcenter.flows`): it loads the flow under a row
lock, checks its bearer token (kept as SHA-256), its expiry, the customer's blocks, the
client's network and the state, and commits once; the SMS goes out after the commit.
A refusal is recorded (``failures``: step ``financial.<step>``) in its own transaction and may
block the customer for 24 hours *(policy)*, as in the mobile flow. Slow work — argon2, the
account password, the medium's own services — runs outside the flow's transaction, and the
tries of a medium are counted (:class:`FactorGuard`) before its answer is compared.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from certcenter.audit.redaction import mask_phone
from certcenter.authn.codes import VerificationCodes
from certcenter.authn.credential_policy import check_new_pin
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.authn.held_media import CardChecker, OtpChecker
from certcenter.clock import Clock, today
from certcenter.config import FLOW_STEPS, Settings
from certcenter.entities import Customer, FinancialEnrollment, new_id
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import words
from certcenter.financial import issuance_states as states
from certcenter.financial.devices import clean_label
from certcenter.financial.identity_check import FINANCIAL_CODES, UserIdCheck
from certcenter.financial.issuance_states import IssuanceState as S
from certcenter.financial.media import (
    FACTOR_OF,
    MEDIA,
    MEDIUM_NAMES,
    AdditionalMedia,
    MediumAnswer,
    medium_inputs,
)
from certcenter.financial.proof import canonical_spki, device_key
from certcenter.flows import (
    ArsCheck,
    Effects,
    FlowEngine,
    FlowKind,
    FlowTicket,
    Outcome,
    SmsCode,
    no_device,
    without_ars_call,
)
from certcenter.flows import Started as Started  # the flow's answers, under their old names
from certcenter.flows import StepResult as StepResult
from certcenter.identity.documents.confirmation import (
    KINDS,
    DeferredPhotoReader,
    parse_document,
    photo_answer,
    photo_confirmation,
)
from certcenter.identity.phone_numbers import normalise_mobile
from certcenter.identity.providers import DepartureStatus, Providers
from certcenter.identity.rrn import parse_rrn
from certcenter.lifecycle.service import ActorRef, AuditRecorder
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules
from certcenter.usage.approvals import FINANCIAL_ISSUANCE, ApprovalService

__all__ = [
    "MEDIA",
    "MEDIUM_NAMES",
    "FinancialIssuance",
    "IssuanceRef",
    "MediumAnswer",
    "Started",
    "StepResult",
]

if TYPE_CHECKING:  # the pipeline (OpenCV, Tesseract) is loaded when a photo first arrives
    from certcenter.identity.documents.pipeline import PhotoReader, PhotoReading

log = logging.getLogger(__name__)
#: The additional medium that is the customer's ID document (신분증 확인), typed or
#: photographed, asked of the ID registry; offered when the policy's checks name it.
ID_DOCUMENT = "id_document"
CODE_PURPOSE = "financial"
MAX_LABEL = 60

FINANCIAL_FLOW: FlowKind[FinancialEnrollment, S] = FlowKind(
    rows=lambda uow: uow.financial_enrollments,
    state=S,
    allowed=states.allowed,
    next_step=states.next_step,
    choices=states.choices,
    failed=S.FAILED.value,
    audit_prefix="financial_issuance.",
    subject_kind="financial_enrollment",
    failure_prefix="financial.",
    anonymous_actor="browser",
    device=no_device,  # the browser's key is not a device until the certificate is made
)


class IssuedLike(Protocol):
    """What ``financial.create`` hands back (its ``FinancialIssued``)."""

    @property
    def serial(self) -> str: ...
    @property
    def device_id(self) -> str | None: ...


class CertificateMaker(Protocol):
    """The financial certificate itself (:mod:`certcenter.financial.cloud`): makes the cloud
    key and the certificate, registers the browser, supersedes an older one."""

    def create(
        self,
        customer_id: str,
        pin: str,
        *,
        device_public_key: bytes | None,
        device_label: str | None,
        actor: ActorRef,
        source_ip: str | None,
    ) -> IssuedLike: ...


#: Which issuance flow, its bearer token, and where the request came from.
IssuanceRef = FlowTicket


class FinancialIssuance:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        providers: Providers,
        maker: CertificateMaker,
        approvals: ApprovalService,
        otp: OtpChecker,
        cards: CardChecker,
        guard: FactorGuard,
        hasher: SecretHasher,
        audit: AuditRecorder,
        settings: Settings,
        clock: Clock,
        photo_reader: PhotoReader | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.providers = providers
        self._maker = maker
        self._photo_reader = photo_reader or DeferredPhotoReader(
            max_bytes=settings.policy.id_photo_max_bytes
        )
        self.media = AdditionalMedia(
            providers=providers, approvals=approvals, otp=otp, cards=cards, clock=clock
        )
        self.guard = guard
        self.hasher = hasher
        self.audit = audit
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        #: The checks each step offers, from the policy's 비대면 실명확인 rules (``financial``)
        self.checks = settings.policy.real_name_checks.steps_for("financial")
        self.codes = VerificationCodes(hasher, clock, settings.policy)
        self.send_code = SmsCode(
            self.codes, settings.policy, CODE_PURPOSE, "financial_issue", bank=settings.bank_name
        )
        self.risk = RiskRules(settings.policy, clock)
        self.identity = UserIdCheck(settings.policy, clock, codes=FINANCIAL_CODES)
        self.engine = FlowEngine(
            FINANCIAL_FLOW,
            uow_factory=uow_factory,
            risk=self.risk,
            audit=audit,
            clock=clock,
            effects=Effects(providers=providers, sms_sender=settings.policy.sms_sender_number),
            ttl_minutes=settings.policy.financial_enrollment_ttl_minutes,
        )
        self.ars = ArsCheck(
            ars=providers.ars,
            hasher=hasher,
            clock=clock,
            policy=settings.policy,
            bank=settings.bank_name,
            prompt="ars.financial_issue",
            max_calls=settings.policy.financial_ars_max_calls,
            limit="FINANCIAL_ARS_CALL_LIMIT",
        )

    # ------------------------------------------------------------------ 1. terms

    def start(self, accepted: Sequence[str], *, client_ip: str) -> Started:
        """약관 동의: every required term accepted; hands out the flow's bearer token."""

        def make(uow: UnitOfWork, token_hash: str) -> FinancialEnrollment:
            missing = [t for t in self.policy.financial_required_terms if t not in set(accepted)]
            if missing:
                raise CertCenterError("TERMS_NOT_ACCEPTED", missing=words("terms", missing))
            now = self.clock.now()
            return FinancialEnrollment(
                id=new_id(),
                token_hash=token_hash,
                state=S.STARTED.value,
                client_ip=client_ip,
                created_at=now,
                updated_at=now,
                expires_at=now + self.engine.ttl,
                data={"terms": sorted(set(self.policy.financial_required_terms))},
            )

        enrollment, token = self.engine.begin(make, client_ip=client_ip)
        result = self.engine.result(enrollment, {"required_terms": list(self.required_terms)})
        return Started(**result.__dict__, token=token)

    @property
    def required_terms(self) -> list[str]:
        return list(self.policy.financial_required_terms)

    # ------------------------------------------------------------------ 2. user ID + RRN

    def identify(self, ref: IssuanceRef, *, user_id: str, rrn: str) -> StepResult:
        """사용자 ID와 주민등록번호: they must name one customer together. The number derives
        the CI and is dropped; a wrong ID and a wrong number get the same answer."""

        def derive() -> str:
            number = parse_rrn(rrn, today=today(self.clock))  # RRN_INVALID tells about no one
            return self.providers.identity.ci_for(number)

        ci = self.engine.guard(ref, "identify", derive)

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            customer = self.identity.confirm(uow, user_id=user_id, ci=ci, client_ip=ref.client_ip)
            enrollment.customer_id = customer.id
            self.risk.check_blocks(uow, customer_id=customer.id, device_id=None)
            self.risk.check_customer_network(ref.client_ip, customer)
            enrollment.state = S.IDENTIFIED.value
            return {
                "reissue": uow.cloud_accounts.active_for_customer(customer.id) is not None,
                "phone": mask_phone(customer.phone),
                "proofing": list(self.offered("verify")),
            }

        return self.engine.step(ref, "identify", act)

    # ------------------------------------------------------------------ 3. ARS or departure

    def request_ars(self, ref: IssuanceRef) -> StepResult:
        """ARS 인증: the center calls the phone on record; the screen shows the code to key in."""
        self._require_offered(ref, "verify", "ars")
        return self.ars.request(self.engine, ref, calling=S.ARS_CALLING.value)

    def confirm_ars(self, ref: IssuanceRef) -> StepResult:
        """After the call: the digits keyed in must be the code on the screen. While the call
        still rings the flow waits (``detail["ars"] == "ringing"``)."""

        def proven(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            enrollment.proofing = "ars"
            enrollment.state = S.IDENTITY_PROVEN.value
            return {"proofing": "ars"}

        return self.ars.confirm(
            self.engine,
            ref,
            retry=S.IDENTIFIED.value,
            wrong=lambda enrollment: CertCenterError("FINANCIAL_ARS_FAILED"),
            confirmed=proven,
        )

    def check_departure(self, ref: IssuanceRef) -> StepResult:
        """해외출국확인: instead of the ARS call, for a customer the departure records show
        abroad now (departed and not yet returned)."""
        self._require_offered(ref, "verify", "departure")

        def abroad(enrollment: FinancialEnrollment, customer: Customer | None) -> DepartureStatus:
            holder = self.engine.known(enrollment, customer)
            found = self.providers.departures.status(holder.ci, today=today(self.clock))
            if not found.abroad:
                raise CertCenterError("FINANCIAL_NOT_ABROAD")
            return found

        found = self.engine.ask(ref, "departure", abroad)

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            enrollment.data = without_ars_call(enrollment.data)
            enrollment.proofing = "departure"
            enrollment.state = S.IDENTITY_PROVEN.value
            return {
                "proofing": "departure",
                "country": found.country,
                "departed_on": found.departed_on.isoformat() if found.departed_on else None,
            }

        return self.engine.step(ref, "departure", act)

    # ------------------------------------------------------------------ 4. additional medium

    def offered(self, step: str) -> tuple[str, ...]:
        """The checks the policy lets ``step`` (``verify``, ``medium``) take, in order."""
        return self.checks.get(step, ())

    def _require_offered(self, ref: IssuanceRef, step: str, check: str) -> None:
        """``CHECK_NOT_OFFERED`` (recorded as the step's refusal) unless the policy's checks
        let ``step`` take ``check``."""
        if check in self.offered(step):
            return
        refusal = CertCenterError(
            "CHECK_NOT_OFFERED",
            check=words("check", [str(check)[:30]]),
            offered=words("check", self.offered(step)),
        )

        def refuse() -> None:
            raise refusal

        self.engine.guard(ref, check if step == "verify" else step, refuse)

    def choose_medium(self, ref: IssuanceRef, medium: str) -> StepResult:
        """추가 인증: one medium the customer holds, of those the policy's checks offer. The
        security card's two slots, or the code to approve in the app, are in the answer; the
        ID document (``id_document``) waits for its details (:meth:`verify_id_document`),
        typed or read from a photo (:meth:`read_id_photo`)."""
        if medium in FLOW_STEPS["financial"]["medium"]:  # another name: INVALID_REQUEST
            self._require_offered(ref, "medium", medium)
        if medium == ID_DOCUMENT:
            return self._choose_id_document(ref)
        return self.media.choose(
            self.engine, ref, medium, purpose=FINANCIAL_ISSUANCE, pending=S.MEDIUM_PENDING.value
        )

    def held_media(self, ref: IssuanceRef) -> list[str]:
        """The additional media the flow's customer can choose now, of those the policy
        offers (none: the customer must first get one, ``MEDIUM_NONE_HELD`` says how). Every
        customer has an ID document."""
        with self.uow_factory() as uow:
            enrollment = self.engine.authorise(uow, ref, lock=False)
            customer = self.engine.customer(uow, enrollment)
        held = set(self.media.held_by(self.uow_factory, customer)) | {ID_DOCUMENT}
        return [medium for medium in self.offered("medium") if medium in held]

    # ------------------------------------------------------------------ 4b. the ID document

    def _choose_id_document(self, ref: IssuanceRef) -> StepResult:
        self.engine.ask(ref, "medium", lambda row, customer: self.engine.known(row, customer))

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            enrollment.data = {k: v for k, v in enrollment.data.items() if k != "approval_id"}
            enrollment.medium = ID_DOCUMENT
            enrollment.state = S.MEDIUM_PENDING.value
            return {"medium": ID_DOCUMENT, "documents": list(KINDS)}

        return self.engine.step(ref, "medium", act)

    def _id_document_pending(self, enrollment: FinancialEnrollment, step: str) -> None:
        if enrollment.medium != ID_DOCUMENT:
            raise CertCenterError("ENROLLMENT_STEP_OUT_OF_ORDER", state=enrollment.state, step=step)

    def read_id_photo(self, ref: IssuanceRef, photo: bytes) -> StepResult:
        """신분증 촬영/사진 올리기: the photo is judged and read in memory and never kept, as in
        the mobile flow; the answer is what was read (``fields`` in full, ``display`` with the
        resident number's last six digits masked), for the customer to confirm or correct
        and send to :meth:`verify_id_document`. A refused photo is the step's refusal with
        its own code (``ID_PHOTO_GLARE``, …)."""

        def pending(enrollment: FinancialEnrollment, customer: Customer | None) -> None:
            self.engine.known(enrollment, customer)
            self._id_document_pending(enrollment, "medium_photo")

        self.engine.ask(ref, "medium_photo", pending)
        on = today(self.clock)
        reading: PhotoReading = self.engine.guard(
            ref, "medium_photo", lambda: self._photo_reader.read(photo, today=on)
        )

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            self._id_document_pending(enrollment, "medium_photo")
            self.engine.customer(uow, enrollment)  # out of order while none is known
            self.engine.audit_step(
                uow,
                enrollment,
                "id_photo",
                ref.client_ip,
                details={"document": reading.kind, "read": reading.display},
            )
            return photo_answer(reading)

        return self.engine.step(ref, "medium_photo", act, audit=False)

    def verify_id_document(self, ref: IssuanceRef, fields: dict[str, Any]) -> StepResult:
        """The ID document's details, typed, or read from a photo and confirmed
        (``source="photo"``, ``corrected``: the names of the fields the customer changed).
        The ID registry decides either way, and the document must be the flow's customer's
        (``ID_NAME_MISMATCH``); corrections are recorded by name, never by value."""
        fields = dict(fields)
        source, corrected = self.engine.guard(
            ref, "medium_verify", lambda: photo_confirmation(fields)
        )

        def holder(enrollment: FinancialEnrollment, customer: Customer | None) -> str:
            self.engine.known(enrollment, customer)
            self._id_document_pending(enrollment, "medium_verify")
            on = today(self.clock)
            return self.providers.id_registry.verify(parse_document(fields, today=on), today=on)

        holder_ci = self.engine.ask(ref, "medium_verify", holder)

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            self._id_document_pending(enrollment, "medium_verify")
            customer = self.engine.customer(uow, enrollment)
            if not hmac.compare_digest(holder_ci.encode(), customer.ci.encode()):
                raise CertCenterError("ID_NAME_MISMATCH")
            enrollment.state = S.MEDIUM_VERIFIED.value
            if source == "photo":
                self.engine.audit_step(
                    uow,
                    enrollment,
                    "id_photo_confirmed",
                    ref.client_ip,
                    details={"document": fields.get("kind", ""), "corrected": corrected},
                )
            return {"medium": ID_DOCUMENT, "document": fields.get("kind", ""), "source": source}

        return self.engine.step(ref, "medium_verify", act)

    def verify_medium(self, ref: IssuanceRef, answer: MediumAnswer) -> StepResult:
        """The chosen medium's answer. Its try is counted before it is compared (the
        medium's lockout); the mobile certificate is done once its code is approved in the
        app (until then ``detail["approval"] == "pending"``)."""

        def peek() -> tuple[FinancialEnrollment, dict[str, str]]:
            with self.uow_factory() as uow:
                enrollment = self.engine.authorise(uow, ref, lock=False)
            factor = FACTOR_OF.get(enrollment.medium or "")
            if factor is None or S(enrollment.state) is not S.MEDIUM_PENDING:
                return enrollment, {}
            return enrollment, medium_inputs(enrollment.medium or "", answer)

        peeked, inputs = self.engine.guard(ref, "medium_verify", peek)
        if FACTOR_OF.get(peeked.medium or "") is None or not inputs:
            # the mobile certificate, or a step out of order
            return self.engine.step(ref, "medium_verify", self._approved)

        def done(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            enrollment.state = S.MEDIUM_VERIFIED.value
            return {"medium": enrollment.medium}

        return self.media.verify(self.engine, ref, peeked, inputs, guard=self.guard, done=done)

    def _approved(self, uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
        if not self.media.take_approval(self.engine, uow, enrollment, purpose=FINANCIAL_ISSUANCE):
            return {"medium": "mobile_certificate", "approval": "pending"}
        enrollment.state = S.MEDIUM_VERIFIED.value
        return {"medium": "mobile_certificate", "approval": "approved"}

    # ------------------------------------------------------------------ 5. details + SMS

    def submit_details(
        self,
        ref: IssuanceRef,
        *,
        name: str,
        phone: str,
        birth_date: date | str,
        device_public_key: bytes,
        device_label: str | None = None,
    ) -> StepResult:
        """이름, 휴대폰 번호, 생년월일 as on record, and the browser's device key (WebCrypto
        ECDSA P-256, SPKI DER) with a label; an SMS code goes to the phone."""
        prepared = self.codes.prepare(CODE_PURPOSE, digits=6)
        spki = self.engine.guard(
            ref, "details", lambda: canonical_spki(device_key(bytes(device_public_key)))
        )
        label = self.engine.guard(
            ref,
            "details",
            lambda: clean_label(
                " ".join(str(device_label or "").split())[:MAX_LABEL] or "웹 브라우저"
            ),
        )  # one line of printable characters: a control character is refused, never stored

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Outcome:
            customer = self.engine.customer(uow, enrollment)
            number = normalise_mobile(phone)
            born = _birth_date(birth_date)
            same = (
                " ".join(str(name).split()) == customer.name
                and hmac.compare_digest(number, customer.phone)
                and born == customer.birth_date
            )
            if not same:
                raise CertCenterError("FINANCIAL_DETAILS_MISMATCH")
            enrollment.device_public_key = spki
            enrollment.device_label = label
            enrollment.state = S.CODE_SENT.value
            return self.send_code(
                uow, enrollment.id, number, prepared, person=customer.id, client_ip=ref.client_ip
            )

        return self.engine.step(ref, "details", act)

    def resend_code(self, ref: IssuanceRef) -> StepResult:
        prepared = self.codes.prepare(CODE_PURPOSE, digits=6)

        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Outcome:
            customer = self.engine.customer(uow, enrollment)
            return self.send_code(
                uow,
                enrollment.id,
                customer.phone,
                prepared,
                person=customer.id,
                client_ip=ref.client_ip,
            )

        return self.engine.step(ref, "code_resend", act)

    def verify_code(self, ref: IssuanceRef, code: str) -> StepResult:
        def act(uow: UnitOfWork, enrollment: FinancialEnrollment) -> Mapping[str, Any]:
            self.codes.check(  # the guess is reserved in the customer's failure window
                uow,
                enrollment_id=enrollment.id,
                purpose=CODE_PURPOSE,
                submitted=str(code),
                counted_as=enrollment.customer_id,
            )
            enrollment.state = S.CODE_VERIFIED.value
            return {}

        return self.engine.step(ref, "code_verify", act)

    # ------------------------------------------------------------------ 6. PIN → issued

    def set_pin(self, ref: IssuanceRef, pin: str, pin_confirmation: str) -> StepResult:
        """The 6-digit PIN twice (weak ones refused); then the certificate is made in the
        center's cloud and this browser becomes a registered device."""

        def act(
            uow: UnitOfWork, enrollment: FinancialEnrollment
        ) -> tuple[Mapping[str, Any], tuple[Customer, bytes | None, str | None]]:
            customer = self.engine.customer(uow, enrollment)
            check_new_pin(pin, pin_confirmation, birth_date=customer.birth_date)
            enrollment.state = S.ISSUING.value
            return {}, (customer, enrollment.device_public_key, enrollment.device_label)

        _, (customer, key, label) = self.engine.step_with(ref, "pin", act, audit=False)
        try:
            issued = self._maker.create(
                customer.id,
                pin,
                device_public_key=key,
                device_label=label,
                actor=ActorRef.customer(customer.customer_number, ref.client_ip),
                source_ip=ref.client_ip,
            )
        except Exception as exc:
            with self.uow_factory() as uow:  # the PIN step may be taken again
                enrollment = uow.financial_enrollments.get(ref.enrollment_id, for_update=True)
                if enrollment is not None and enrollment.state == S.ISSUING.value:
                    enrollment.state = S.CODE_VERIFIED.value
                    enrollment.updated_at = self.clock.now()
                uow.commit()
            if isinstance(exc, CertCenterError):
                self._refused("pin", exc, customer.id, ref.client_ip, ref.enrollment_id)
            raise
        device_id = issued.device_id
        with self.uow_factory() as uow:
            enrollment = uow.financial_enrollments.get(ref.enrollment_id, for_update=True)
            if enrollment is None:
                raise CertCenterError("ENROLLMENT_NOT_FOUND")
            enrollment.state = S.COMPLETED.value
            enrollment.certificate_serial = issued.serial
            enrollment.data = {**enrollment.data, "device_id": device_id}
            enrollment.updated_at = self.clock.now()
            self.engine.audit_step(uow, enrollment, "pin", ref.client_ip)
            uow.commit()
            result = self.engine.result(
                enrollment,
                {
                    "serial": issued.serial,
                    "device_id": device_id,
                    "proofing": enrollment.proofing,
                    "medium": enrollment.medium,
                },
            )
        log.info("financial issuance %s completed (%s)", ref.enrollment_id, issued.serial)
        return result

    # ------------------------------------------------------------------ reading

    def status(self, ref: IssuanceRef) -> StepResult:
        with self.uow_factory() as uow:
            enrollment = self.engine.authorise(uow, ref, lock=False, closed_ok=True)
            return self.engine.result(
                enrollment,
                {
                    "proofing": enrollment.proofing,
                    "medium": enrollment.medium,
                    "certificate_serial": enrollment.certificate_serial,
                    "failure_code": enrollment.failure_code,
                    "ars_expires_at": enrollment.data.get("ars_expires_at"),
                },
            )

    # ------------------------------------------------------------------ helpers

    def _refused(
        self,
        step: str,
        err: CertCenterError,
        customer_id: str | None,
        client_ip: str | None,
        enrollment_id: str | None,
    ) -> None:
        self.engine.record_failure(
            step, err, flow_id=enrollment_id, customer_id=customer_id, client_ip=client_ip
        )


def _birth_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CertCenterError("INVALID_REQUEST", detail="birth_date: YYYY-MM-DD") from None
