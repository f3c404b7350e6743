"""Registering for a joint certificate (공동인증서 등록, the RA step), one method per step.

    registrations = center.joint_registrations
    started = registrations.start("general", ["joint_certificate", ...], client_ip=ip)
    ref = RegistrationRef(started.enrollment_id, started.token, ip)
    registrations.identify(ref, user_id="c001user", rrn="900315-1512541")
    asked = registrations.choose_medium(ref, "security_card")     # or "otp"
    registrations.verify_medium(ref, MediumAnswer(card_challenge_id=..., card_answer="1234"))
    registrations.send_code(ref)                                   # SMS to the phone on record
    registrations.verify_code(ref, "123456")
    # or instead of the SMS: the ARS call, the customer keys in the code on the screen
    registrations.request_ars(ref).detail["ars_code"]; registrations.confirm_ars(ref)
    done = registrations.register(ref, bank_code="004", account_number="12340100000001")
    done.detail["reference"], done.detail["authorization_code"]    # shown this once

The steps: the kind (banking-only, free; general-purpose, ``policy.joint_general_fee_krw``
a year) and the terms; user ID and resident number, which must name one internet-banking
customer (:class:`~certcenter.financial.identity_check.UserIdCheck`, the same counter as the
financial certificate's) — here the VID is made from the number and a fresh random value R
(20 bytes), and the number is dropped; the security card or the mobile OTP
(:class:`~certcenter.financial.media.AdditionalMedia`, the try counted before it is
compared); an SMS code to the phone on record, or an ARS call to it (the customer keys in
the number on the screen; :class:`~certcenter.identity.providers.ArsCaller`, the same
provider as the financial certificate's and the transfers'); for 범용 the fee, paid from the
customer's own account through the bank (it is on the account's statement). Then the
reference number (참조번호, 10 digits) and the authorization code (인가코드, 16 characters)
are shown once; the code is kept only sealed (the CMP server needs it again for its
password-based MAC), and both work once, for ``policy.joint_registration_ttl_days``. A
registration that expires unused, or whose certificate could not be issued, has its fee
refunded (:mod:`certcenter.joint.fees`).

Every step runs on the flow engine (:mod:`certcenter.flows`), like the financial
certificate's issuance: row lock, bearer token (SHA-256), expiry, blocks, network, state,
one commit, effects after it; refusals recorded (``joint.<step>``) and counted towards the
24-hour block.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from certcenter.audit.redaction import mask_account, mask_phone
from certcenter.authn.codes import VerificationCodes
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.authn.held_media import CardChecker, OtpChecker
from certcenter.clock import Clock, today
from certcenter.config import FLOW_STEPS, Settings
from certcenter.entities import Customer, JointRegistration, new_id
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import words
from certcenter.financial.identity_check import IdentityCodes, UserIdCheck
from certcenter.financial.media import FACTOR_OF, AdditionalMedia, MediumAnswer, medium_inputs
from certcenter.flows import (
    ArsCheck,
    Effects,
    FlowEngine,
    FlowKind,
    FlowTicket,
    SmsCode,
    Started,
    StepResult,
    no_device,
)
from certcenter.identity.providers import Providers
from certcenter.identity.rrn import parse_rrn
from certcenter.joint import states
from certcenter.joint.fees import FeeDesk
from certcenter.joint.kinds import AUTHORIZATION, VID_RANDOM, check_kind, seal
from certcenter.joint.states import RegistrationState as S
from certcenter.keys import Secrets
from certcenter.lifecycle.service import AuditRecorder
from certcenter.pki.names import joint_subject
from certcenter.pki.vid import RANDOM_NUM_BYTES, vid_other_name
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules
from certcenter.usage.approvals import ApprovalService

__all__ = ["JOINT_MEDIA", "JointRegistrations", "MediumAnswer", "RegistrationRef"]

log = logging.getLogger(__name__)
CODE_PURPOSE = "joint"
JOINT_MEDIA = FLOW_STEPS["joint"]["medium"]  # the media the flow can ask (the policy chooses)
REFERENCE_DIGITS = 10
AUTHORIZATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen
AUTHORIZATION_LENGTH = 16
JOINT_IDENTITY_CODES = IdentityCodes(
    not_confirmed="JOINT_IDENTITY_NOT_CONFIRMED",
    locked="JOINT_IDENTITY_LOCKED",
    internet_banking_required="JOINT_INTERNET_BANKING_REQUIRED",
)

JOINT_FLOW: FlowKind[JointRegistration, S] = FlowKind(
    rows=lambda uow: uow.joint_registrations,
    state=S,
    allowed=states.allowed,
    next_step=states.next_step,
    choices=states.choices,
    failed=S.FAILED.value,
    audit_prefix="joint_registration.",
    subject_kind="joint_registration",
    failure_prefix="joint.",
    anonymous_actor="browser",
    device=no_device,
    races=(("reference", "JOINT_REFERENCE_USED"),),
    race_otherwise="JOINT_REFERENCE_USED",
)


#: Which registration, its bearer token, and where the request came from.
RegistrationRef = FlowTicket


class JointRegistrations:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        providers: Providers,
        approvals: ApprovalService,
        otp: OtpChecker,
        cards: CardChecker,
        guard: FactorGuard,
        hasher: SecretHasher,
        keys: Secrets,
        seal_label: str,
        fees: FeeDesk,
        audit: AuditRecorder,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.providers = providers
        self.media = AdditionalMedia(
            providers=providers, approvals=approvals, otp=otp, cards=cards, clock=clock
        )
        self.guard = guard
        self.hasher = hasher
        self.keys = keys
        self.seal_label = seal_label
        self.fees = fees
        self.settings = settings
        self.policy = settings.policy
        #: The checks each step offers, from the policy's 비대면 실명확인 rules (``joint``)
        self.checks = settings.policy.real_name_checks.steps_for("joint")
        self.clock = clock
        self.codes = VerificationCodes(hasher, clock, settings.policy)
        self.send_sms = SmsCode(
            self.codes, settings.policy, CODE_PURPOSE, "joint_register", bank=settings.bank_name
        )
        self.identity = UserIdCheck(settings.policy, clock, codes=JOINT_IDENTITY_CODES)
        self.engine = FlowEngine(
            JOINT_FLOW,
            uow_factory=uow_factory,
            risk=RiskRules(settings.policy, clock),
            audit=audit,
            clock=clock,
            effects=Effects(providers=providers, sms_sender=settings.policy.sms_sender_number),
            ttl_minutes=settings.policy.joint_registration_flow_ttl_minutes,
        )
        self.ars = ArsCheck(
            ars=providers.ars,
            hasher=hasher,
            clock=clock,
            policy=settings.policy,
            bank=settings.bank_name,
            prompt="ars.joint_register",
            max_calls=settings.policy.joint_ars_max_calls,
            limit="JOINT_ARS_CALL_LIMIT",
        )

    # ------------------------------------------------------------------ 1. kind + terms

    def start(self, kind: str, accepted: Sequence[str], *, client_ip: str) -> Started:
        """은행·신용카드·보험용 (``banking``) or 범용 (``general``), every required term."""

        def make(uow: UnitOfWork, token_hash: str) -> JointRegistration:
            check_kind(kind)
            missing = [t for t in self.policy.joint_required_terms if t not in set(accepted)]
            if missing:
                raise CertCenterError("TERMS_NOT_ACCEPTED", missing=words("terms", missing))
            now = self.clock.now()
            return JointRegistration(
                id=new_id(),
                token_hash=token_hash,
                state=S.STARTED.value,
                kind=kind,
                client_ip=client_ip,
                created_at=now,
                updated_at=now,
                expires_at=now + self.engine.ttl,
                fee_krw=self.policy.joint_general_fee_krw if kind == "general" else 0,
                data={"terms": sorted(set(self.policy.joint_required_terms))},
            )

        row, token = self.engine.begin(make, client_ip=client_ip)
        result = self.engine.result(
            row, {"kind": row.kind, "fee_krw": row.fee_krw, "media": list(self.offered("medium"))}
        )
        return Started(**result.__dict__, token=token)

    # ------------------------------------------------------------------ 2. user ID + RRN

    def identify(self, ref: RegistrationRef, *, user_id: str, rrn: str) -> StepResult:
        """사용자 ID와 주민등록번호. The number derives the CI (to find the customer) and the VID
        (with a fresh R, kept sealed), then it is dropped."""

        def derive() -> tuple[str, str]:
            number = parse_rrn(rrn, today=today(self.clock))  # RRN_INVALID tells about no one
            return self.providers.identity.ci_for(number), number.digits

        ci, digits = self.engine.guard(ref, "identify", derive)
        random_num = secrets.token_bytes(RANDOM_NUM_BYTES)

        def act(uow: UnitOfWork, row: JointRegistration) -> Mapping[str, Any]:
            customer = self.identity.confirm(uow, user_id=user_id, ci=ci, client_ip=ref.client_ip)
            row.customer_id = customer.id
            self.engine.risk.check_blocks(uow, customer_id=customer.id, device_id=None)
            self.engine.risk.check_customer_network(ref.client_ip, customer)
            row.vid_value = vid_other_name(customer.name, digits, random_num).value
            row.vid_random_sealed = seal(self.keys, self.seal_label, VID_RANDOM, row.id, random_num)
            row.state = S.IDENTIFIED.value
            return {"phone": mask_phone(customer.phone), "media": list(self.offered("medium"))}

        return self.engine.step(ref, "identify", act)

    def offered(self, step: str) -> tuple[str, ...]:
        """The checks the policy lets ``step`` (``medium``, ``phone``) take, in order."""
        return self.checks.get(step, ())

    def _require_offered(self, ref: RegistrationRef, step: str, check: str) -> None:
        if check not in self.offered("phone"):
            refusal = CertCenterError(
                "CHECK_NOT_OFFERED",
                check=words("check", [check]),
                offered=words("check", self.offered("phone")),
            )
            self.engine.guard(ref, step, lambda: _raise(refusal))

    # ------------------------------------------------------------------ 3. security medium

    def choose_medium(self, ref: RegistrationRef, medium: str) -> StepResult:
        """보안매체: the security card (its two slots are in the answer) or the mobile OTP, of
        those the policy's checks offer."""
        if medium not in self.offered("medium"):
            refusal = CertCenterError("JOINT_MEDIUM_NOT_ALLOWED", medium=str(medium)[:30])
            self.engine.guard(ref, "medium", lambda: _raise(refusal))
        return self.media.choose(
            self.engine, ref, medium, purpose="joint-registration", pending=S.MEDIUM_PENDING.value
        )

    def verify_medium(self, ref: RegistrationRef, answer: MediumAnswer) -> StepResult:
        """The medium's answer; its try is counted (the medium's lockout) before the card
        service or the OTP compares it, with no transaction open."""

        def peek() -> tuple[JointRegistration, dict[str, str]]:
            with self.uow_factory() as uow:
                row = self.engine.authorise(uow, ref, lock=False)
            if S(row.state) is not S.MEDIUM_PENDING or row.medium not in JOINT_MEDIA:
                return row, {}
            return row, medium_inputs(row.medium or "", answer)

        peeked, inputs = self.engine.guard(ref, "medium_verify", peek)
        if FACTOR_OF.get(peeked.medium or "") is None or not inputs:
            return self.engine.step(ref, "medium_verify", lambda uow, row: {})  # out of order

        def done(uow: UnitOfWork, row: JointRegistration) -> Mapping[str, Any]:
            row.state = S.MEDIUM_VERIFIED.value
            return {"medium": row.medium}

        return self.media.verify(self.engine, ref, peeked, inputs, guard=self.guard, done=done)

    # ------------------------------------------------------------------ 4. SMS code

    def send_code(self, ref: RegistrationRef) -> StepResult:
        """An SMS code to the phone on record (sent again when asked again)."""
        self._require_offered(ref, "code", "sms")
        prepared = self.codes.prepare(CODE_PURPOSE, digits=6)

        def act(uow: UnitOfWork, row: JointRegistration) -> Any:
            customer = self.engine.customer(uow, row)
            row.state = S.CODE_SENT.value
            return self.send_sms(
                uow, row.id, customer.phone, prepared, person=customer.id, client_ip=ref.client_ip
            )

        return self.engine.step(ref, "code", act)

    def verify_code(self, ref: RegistrationRef, code: str) -> StepResult:
        def act(uow: UnitOfWork, row: JointRegistration) -> Mapping[str, Any]:
            self.codes.check(
                uow,
                enrollment_id=row.id,
                purpose=CODE_PURPOSE,
                submitted=str(code),
                counted_as=row.customer_id,
            )
            row.state = S.CODE_VERIFIED.value
            return {"fee_krw": row.fee_krw}

        return self.engine.step(ref, "code_verify", act)

    # ------------------------------------------------------------------ 4'. or the ARS call

    def request_ars(self, ref: RegistrationRef) -> StepResult:
        """ARS 인증 instead of the SMS: the center calls the phone on record, the screen shows
        the code to key in (``detail["ars_code"]``). At most ``policy.joint_ars_max_calls``
        calls per registration."""
        self._require_offered(ref, "ars", "ars")
        return self.ars.request(self.engine, ref, calling=S.ARS_CALLING.value)

    def confirm_ars(self, ref: RegistrationRef) -> StepResult:
        """After the call: the digits keyed in must be the code on the screen. While the call
        still rings the flow waits (``detail["ars"] == "ringing"``). A wrong answer ends the
        call, is recorded (``joint.ars_confirm``, counted towards the 24-hour block) and
        refused with ``JOINT_ARS_FAILED``; a new call or the SMS may follow."""

        def wrong(row: JointRegistration) -> CertCenterError:
            left = max(0, self.policy.joint_ars_max_calls - int(row.data.get("ars_calls", 0)))
            return CertCenterError("JOINT_ARS_FAILED", calls_left=left)

        def verified(uow: UnitOfWork, row: JointRegistration) -> Mapping[str, Any]:
            row.state = S.CODE_VERIFIED.value
            row.data = {**row.data, "phone_check": "ars"}
            return {"fee_krw": row.fee_krw}

        return self.ars.confirm(
            self.engine, ref, retry=S.MEDIUM_VERIFIED.value, wrong=wrong, confirmed=verified
        )

    # ------------------------------------------------------------------ 5. fee → reference

    def register(
        self,
        ref: RegistrationRef,
        *,
        bank_code: str | None = None,
        account_number: str | None = None,
    ) -> StepResult:
        """For 범용 the fee is paid first from the named account (the customer's own, at any
        bank); then the reference number and the authorization code, shown this once. A
        refusal after the payment gives it back at once."""

        def pay(row: JointRegistration, customer: Customer | None) -> str | None:
            holder = self.engine.known(row, customer)
            if row.fee_krw <= 0:
                return None
            if not bank_code or not account_number:
                raise CertCenterError("JOINT_FEE_ACCOUNT_REQUIRED", fee=f"{row.fee_krw:,}")
            return self.fees.charge(
                holder, row.id, row.fee_krw, bank_code=str(bank_code), account=str(account_number)
            )

        charged = self.engine.ask(ref, "register", pay)
        code = "".join(secrets.choice(AUTHORIZATION_ALPHABET) for _ in range(AUTHORIZATION_LENGTH))
        reference = "".join(secrets.choice("0123456789") for _ in range(REFERENCE_DIGITS))
        number = (
            f"{self.settings.joint_fee_bank_code}{self.clock.now():%Y%m%d%H%M%S}"
            f"{secrets.randbelow(10**5):05d}"
        )

        def act(uow: UnitOfWork, row: JointRegistration) -> Mapping[str, Any]:
            customer = self.engine.customer(uow, row)
            now = self.clock.now()
            try:
                subject = joint_subject(self.settings, customer.name, number)
            except ValueError as exc:
                raise CertCenterError("INVALID_REQUEST", detail=f"name: {exc}") from None
            row.reference = reference
            row.authorization_sealed = seal(
                self.keys, self.seal_label, AUTHORIZATION, row.id, code.encode("ascii")
            )
            row.subject = subject.rfc4514_string()
            row.registered_at = now
            row.expires_at = now + timedelta(days=self.policy.joint_registration_ttl_days)
            row.state = S.REGISTERED.value
            if charged is not None:
                row.fee_bank_code = str(bank_code)
                row.fee_account = str(account_number)
                row.fee_state = "charged"
                row.data = {**row.data, "fee_reference": charged}
            return {
                "kind": row.kind,
                "reference": reference,
                "authorization_code": code,
                "reference_expires_at": row.expires_at.isoformat(),
                "subject": row.subject,
                "fee_krw": row.fee_krw if charged is not None else 0,
                "fee_account": mask_account(str(account_number)) if charged else None,
            }

        try:
            result = self.engine.step(ref, "register", act)
        except Exception:
            if charged is not None:
                self.fees.give_back(
                    ref.enrollment_id, bank_code=str(bank_code), account=str(account_number)
                )
            raise
        log.info("joint registration %s registered", ref.enrollment_id)
        return result

    # ------------------------------------------------------------------ reading, jobs

    def status(self, ref: RegistrationRef) -> StepResult:
        with self.uow_factory() as uow:
            row = self.engine.authorise(uow, ref, lock=False, closed_ok=True)
            return self.engine.result(
                row,
                {
                    "kind": row.kind,
                    "fee_krw": row.fee_krw,
                    "fee_state": row.fee_state,
                    "reference_expires_at": row.expires_at.isoformat() if row.reference else None,
                    "certificate_serial": row.certificate_serial,
                    "failure_code": row.failure_code,
                    "ars_expires_at": row.data.get("ars_expires_at"),
                },
            )

    def expire_unused(self, limit: int = 100) -> int:
        """Refund the fee of 범용 registrations that expired unused (the job runner); how
        many were refunded."""
        return self.fees.refund_expired(limit)


def _raise(error: CertCenterError) -> None:
    raise error
