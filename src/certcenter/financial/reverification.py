"""Verifying the customer again for their financial certificate (본인 재확인), the flow behind
registering one more browser (:mod:`.devices`) and resetting the PIN (:mod:`.pin`).

    flow = Reverification(DEVICE_PURPOSE, uow_factory=..., hasher=..., media=..., guard=...,
                          providers=..., audit=..., settings=..., clock=...)
    started = flow.start(name="김민준", phone="01020000001", birth_date="1990-03-15",
                         client_ip="211.36.1.1")
    ref = ReverificationRef(started.flow_id, started.token, "211.36.1.1")
    flow.verify_code(ref, "123456")                 # the SMS code
    flow.choose_medium(ref, "otp")                  # or account, security_card, …
    flow.verify_medium(ref, MediumAnswer(otp_code="123456"), finish)   # finish: the purpose's act

Four steps on the flow engine (:mod:`certcenter.flows`): the name, mobile number and birth
date; the SMS code; one additional medium the customer holds, independent of the phone (the
withdrawal account and its password, the security card, the OTP, or the mobile certificate
approved in the app, :mod:`.media`); then the purpose's act. Whoever holds the customer's
unlocked phone has the SMS code, so the code alone is never enough.

Who is a customer is not told. The start answers alike whether the details name a customer or
not: a flow, its token and the masked number typed. Only a customer's phone gets the SMS; a
claim that names no customer gets a flow whose code (eight digits, never sent) no six-digit
guess can match, so its code step fails exactly as a wrong code does. The same digests are
computed either way (the code's keyed digest, the bearer token's SHA-256). The customer is
attached to the flow only once the SMS code is right: from then on their blocks, their network
rule and their certificate are told, to the person who holds their phone.

Every refusal counts, and so does every start whose details name no customer, under three
further subjects (marks, :meth:`~certcenter.risk.rules.RiskRules.record_failure`): the phone
number typed and the person when the name and number name one (keyed digests), and the client
address. Each has the failure
window of the 24-hour block (``failure_max_in_window`` in ``failure_window_minutes``, then
``block_hours`` *(policy)*); a blocked subject is refused ``TOO_MANY_ATTEMPTS`` at the start.
SMS-code guesses are reserved in the phone's window before they are compared
(:meth:`~certcenter.risk.rules.RiskRules.reserve`), so concurrent flows for one number
never get more guesses than the window allows. The real customer's own block is not earned by
someone who only typed their details.
"""

from __future__ import annotations

import enum
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from certcenter.audit.redaction import mask_phone
from certcenter.authn.codes import VerificationCodes
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Customer, FinancialReverification, new_id
from certcenter.errors import CertCenterError
from certcenter.financial.access import parse_birth_date
from certcenter.financial.media import (
    FACTOR_OF,
    AdditionalMedia,
    MediumAnswer,
    medium_inputs,
)
from certcenter.flows import Effects, FlowEngine, FlowKind, Outcome, SmsCode, StepResult
from certcenter.identity.documents import subscriber_name
from certcenter.identity.phone_numbers import normalise_mobile
from certcenter.identity.providers import Providers
from certcenter.lifecycle.service import AuditRecorder
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules, client_address

__all__ = [
    "DEVICE_PURPOSE",
    "PIN_RESET_PURPOSE",
    "Purpose",
    "Reverification",
    "ReverificationRef",
    "ReverificationStarted",
    "ReverificationState",
]

log = logging.getLogger(__name__)
CODE_DIGITS = 6
VOID_CODE_DIGITS = 8  # the code of a flow that names no customer: no 6-digit guess matches it


class ReverificationState(enum.StrEnum):
    CODE_SENT = "code_sent"
    CODE_VERIFIED = "code_verified"
    MEDIUM_PENDING = "medium_pending"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def closed(self) -> bool:
        return self in (ReverificationState.COMPLETED, ReverificationState.FAILED)


S = ReverificationState
_ALLOWED: dict[str, frozenset[S]] = {
    "code_resend": frozenset({S.CODE_SENT}),
    "code_verify": frozenset({S.CODE_SENT}),
    "medium": frozenset({S.CODE_VERIFIED, S.MEDIUM_PENDING}),
    "medium_verify": frozenset({S.MEDIUM_PENDING}),
}
_NEXT = {
    S.CODE_SENT: "code_verify",
    S.CODE_VERIFIED: "medium",
    S.MEDIUM_PENDING: "medium_verify",
}


@dataclass(frozen=True)
class Purpose:
    """What one use of the flow is called and answers with."""

    name: str  # the stored purpose: device | pin_reset
    code_purpose: str  # the verification code's purpose
    sms: str  # the SMS text's kind in ``[sms_code]``
    approval: str  # the app approval's purpose (usage.approvals)
    audit_prefix: str
    failure_prefix: str
    invalid: str  # the code for an unknown, spent or foreign flow
    expired: str  # the code for an expired flow (``seconds``)
    # a commit refused by a unique constraint (another request raced this one): the code of
    # the first name part found in the constraint's name, else ``race_otherwise``
    races: tuple[tuple[str, str], ...] = (
        ("browser_devices", "FINANCIAL_DEVICE_ALREADY_REGISTERED"),
    )
    race_otherwise: str = "FINANCIAL_DEVICE_ALREADY_REGISTERED"


DEVICE_PURPOSE = Purpose(
    name="device",
    code_purpose="financial-device",
    sms="financial_device",
    approval="financial-device",
    audit_prefix="financial_device_registration.",
    failure_prefix="financial_device.",
    invalid="FINANCIAL_REGISTRATION_INVALID",
    expired="FINANCIAL_REGISTRATION_EXPIRED",
)
PIN_RESET_PURPOSE = Purpose(
    name="pin_reset",
    code_purpose="financial-pin-reset",
    sms="financial_pin_reset",
    approval="financial-pin-reset",
    audit_prefix="financial_pin_reset.",
    failure_prefix="financial_pin_reset.",
    invalid="FINANCIAL_RESET_INVALID",
    expired="FINANCIAL_RESET_EXPIRED",
)
# What the engine says about the flow itself, in the purpose's words.
_FLOW_INVALID = frozenset({"ENROLLMENT_NOT_FOUND", "ENROLLMENT_TOKEN_INVALID", "ENROLLMENT_CLOSED"})


def phone_mark(hasher: SecretHasher, number: str) -> tuple[str, str]:
    """The mark the refusals of a flow for the number typed count under (a keyed digest)."""
    return ("phone", hasher.digest(number, purpose="mark-phone"))


def person_mark(hasher: SecretHasher, customer_id: str) -> tuple[str, str]:
    """The mark of the customer the name and number named (whoever typed them)."""
    return ("person", hasher.digest(customer_id, purpose="mark-person"))


def _marks(row: FinancialReverification) -> tuple[tuple[str, str], ...]:
    """The subjects the flow's refusals count under (kept with the flow when it starts)."""
    return tuple((str(kind), str(subject)) for kind, subject in row.data.get("marks", ()))


def _kind(purpose: Purpose) -> FlowKind[FinancialReverification, S]:
    return FlowKind(
        rows=lambda uow: uow.financial_reverifications,
        state=S,
        allowed=lambda step: _ALLOWED.get(step, frozenset()),
        next_step=lambda state: _NEXT.get(state),
        choices=lambda state: (),
        failed=S.FAILED.value,
        audit_prefix=purpose.audit_prefix,
        subject_kind="financial_reverification",
        failure_prefix=purpose.failure_prefix,
        anonymous_actor="browser",
        device=lambda row: None,
        races=purpose.races,
        race_otherwise=purpose.race_otherwise,
        marks=_marks,
    )


@dataclass(frozen=True)
class ReverificationRef:
    """Which flow, its bearer token, and where the request came from."""

    enrollment_id: str  # the flow's id (the engine's name for it)
    token: str
    client_ip: str

    def __repr__(self) -> str:
        return f"ReverificationRef({self.enrollment_id!r}, token=…, {self.client_ip!r})"


@dataclass(frozen=True)
class ReverificationStarted:
    """The start's answer: the same shape and values whoever the details name."""

    flow_id: str
    token: str  # the bearer token of this flow; handed out once, stored hashed
    phone: str  # the number typed, masked: 010-****-0001
    code_valid_seconds: int
    expires_at: datetime

    def __repr__(self) -> str:
        return f"ReverificationStarted(flow_id={self.flow_id!r}, token=…)"


Finish = Callable[[UnitOfWork, FinancialReverification, Customer], Mapping[str, Any]]
AfterCode = Callable[[UnitOfWork, FinancialReverification, Customer], None]


@dataclass(frozen=True)
class Claim:
    """What the start was told, checked against the customers: the person the name and
    number name (if one) and the holder (that person, when the birth date matches too)."""

    number: str
    born: date
    person: Customer | None
    holder: Customer | None


class Reverification:
    def __init__(
        self,
        purpose: Purpose,
        *,
        uow_factory: UnitOfWorkFactory,
        hasher: SecretHasher,
        media: AdditionalMedia,
        guard: FactorGuard,
        providers: Providers,
        audit: AuditRecorder,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.purpose = purpose
        self.uow_factory = uow_factory
        self.media = media
        self.guard = guard
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.hasher = hasher
        self.codes = VerificationCodes(hasher, clock, settings.policy)
        self.send_code = SmsCode(
            self.codes, settings.policy, purpose.code_purpose, purpose.sms, bank=settings.bank_name
        )
        self.risk = RiskRules(settings.policy, clock)
        self.ttl_seconds = settings.policy.device_registration_ttl_seconds
        self.engine = FlowEngine(
            _kind(purpose),
            uow_factory=uow_factory,
            risk=self.risk,
            audit=audit,
            clock=clock,
            effects=Effects(providers=providers, sms_sender=settings.policy.sms_sender_number),
            ttl_minutes=max(self.ttl_seconds // 60, 1),
        )

    # ------------------------------------------------------------------ 1. who, by SMS

    def start(
        self,
        *,
        name: str,
        phone: str,
        birth_date: date | str,
        client_ip: str,
        fill: Callable[[FinancialReverification], None] = lambda row: None,
        ci: str | None = None,
    ) -> ReverificationStarted:
        """Name, mobile number and birth date: the same answer whoever they name; the SMS
        code goes only to a customer's phone. ``fill`` adds the purpose's fields (the
        browser's key) to the row; ``ci`` (from a resident number the purpose was given)
        must be the customer's too."""
        claim = self._claim(name, phone, birth_date, ci)
        digits = CODE_DIGITS if claim.holder is not None else VOID_CODE_DIGITS
        prepared = self.codes.prepare(self.purpose.code_purpose, digits=digits)
        marks = [phone_mark(self.hasher, claim.number)]
        if claim.person is not None:
            marks.append(person_mark(self.hasher, claim.person.id))
        marks.append(client_address(client_ip))
        sent: list[Outcome] = []

        def make(uow: UnitOfWork, token_hash: str) -> FinancialReverification:
            self.risk.check_blocks(uow, customer_id=None, device_id=None, marks=marks)
            now = self.clock.now()
            row = FinancialReverification(
                id=new_id(),
                token_hash=token_hash,
                purpose=self.purpose.name,
                state=S.CODE_SENT.value,
                client_ip=client_ip,
                created_at=now,
                updated_at=now,
                expires_at=now + self.engine.ttl,
                data={
                    "marks": marks,
                    "holder": claim.holder.id if claim.holder is not None else None,
                    "phone": mask_phone(claim.number),
                },
            )
            fill(row)
            # counted in the SMS budget of the number typed and the address, whoever it names
            # (a person's own budget or block would tell who is a customer before the code)
            sent.append(
                self.send_code(
                    uow, row.id, claim.number, prepared, person=None, client_ip=client_ip
                )
            )
            if claim.holder is None:  # counted now: nobody can fail its code on their behalf
                self.risk.record_failure(
                    uow,
                    step=f"{self.purpose.failure_prefix}start",
                    code="FINANCIAL_HOLDER_NOT_FOUND",
                    customer_id=None,
                    enrollment_id=row.id,
                    device_id=None,
                    client_ip=client_ip,
                    marks=marks,
                )
            return row

        with self._told():
            row, token = self.engine.begin(make, client_ip=client_ip)
        # after the commit: the SMS to a customer; the outbox is looked at either way
        self.engine.effects.perform(sent[0].effects if claim.holder is not None else ())
        return ReverificationStarted(
            flow_id=row.id,
            token=token,
            phone=mask_phone(claim.number),
            code_valid_seconds=self.policy.sms_code_ttl_seconds,
            expires_at=row.expires_at,
        )

    def resend_code(self, ref: ReverificationRef) -> ReverificationStarted:
        """A new SMS code for the flow (the policy's resend limit holds); as at the start,
        only a customer's phone gets it."""
        with self._told():
            with self.uow_factory() as uow:
                peeked = self.engine.authorise(uow, ref, lock=False)
            holder = peeked.data.get("holder")
            prepared = self.codes.prepare(
                self.purpose.code_purpose, digits=CODE_DIGITS if holder else VOID_CODE_DIGITS
            )

            def act(uow: UnitOfWork, row: FinancialReverification) -> Outcome:
                number = self._number(uow, row)
                outcome = self.send_code(
                    uow, row.id, number, prepared, person=None, client_ip=ref.client_ip
                )
                return outcome if row.data.get("holder") else Outcome(outcome.detail)

            result = self.engine.step(ref, "code_resend", act)
        return ReverificationStarted(
            flow_id=result.enrollment_id,
            token=ref.token,
            phone=str(result.detail.get("phone", "")),
            code_valid_seconds=self.policy.sms_code_ttl_seconds,
            expires_at=result.expires_at,
        )

    def verify_code(
        self,
        ref: ReverificationRef,
        code: str,
        after: AfterCode = lambda uow, row, c: None,
        finish: Finish | None = None,
    ) -> StepResult:
        """The SMS code (the guess is reserved in the phone's window first; a wrong one
        counts). Right: the customer is attached to the flow, their blocks and network rule
        apply, and ``after`` checks what the purpose needs (a certificate, room for a
        device) before a medium is asked for. A purpose that asks no medium (only what the
        phone's holder may learn) gives ``finish``: it is done here, and the flow with it."""
        if not isinstance(code, str) or len(code) > 12:
            raise CertCenterError("INVALID_REQUEST", detail="code: 6 digits")

        def act(uow: UnitOfWork, row: FinancialReverification) -> Mapping[str, Any]:
            # the guess counts in the phone's window before it is compared; a wrong one is
            # then recorded as the flow's failure (and no longer as a reservation)
            phone = [mark for mark in _marks(row) if mark[0] == "phone"]
            guess = new_id()
            self.risk.reserve(uow, marks=phone, holder=guess)
            try:
                self.codes.check(
                    uow, enrollment_id=row.id, purpose=self.purpose.code_purpose, submitted=code
                )
            except CertCenterError:
                self.risk.release(uow, guess)
                uow.commit()
                raise
            self.risk.release(uow, guess)
            holder = uow.customers.get(str(row.data.get("holder") or ""), for_update=True)
            if holder is None:  # not reached: no six-digit guess matches a void code
                raise CertCenterError("CODE_INVALID", tries_left=0)
            self.risk.check_blocks(uow, customer_id=holder.id, device_id=None)
            self.risk.check_customer_network(ref.client_ip, holder)
            after(uow, row, holder)
            row.customer_id = holder.id
            row.state = S.CODE_VERIFIED.value
            if finish is not None:
                return {"phone": mask_phone(holder.phone), **self._finish(uow, row, finish)}
            return {"phone": mask_phone(holder.phone)}

        with self._told():
            return self.engine.step(ref, "code_verify", act)

    # ------------------------------------------------------------------ 2. additional medium

    def choose_medium(self, ref: ReverificationRef, medium: str) -> StepResult:
        """추가 인증: one medium the customer holds. The security card's two slots, or the
        code to approve in the app, are in the answer."""
        with self._told():
            self._medium_first(ref, "medium")
            return self.media.choose(
                self.engine,
                ref,
                medium,
                purpose=self.purpose.approval,
                pending=S.MEDIUM_PENDING.value,
            )

    def verify_medium(
        self, ref: ReverificationRef, answer: MediumAnswer, finish: Finish
    ) -> StepResult:
        """The chosen medium's answer, its try counted before it is compared (the medium's
        lockout); right, ``finish`` does the purpose's act in the same transaction and the
        flow is done. The mobile certificate is right once its code is approved in the app
        (until then ``detail["approval"] == "pending"``)."""
        with self._told():
            peeked = self._medium_first(ref, "medium_verify")
            medium = peeked.medium or ""
            factor = FACTOR_OF.get(medium)
            if factor is None:  # the mobile certificate
                return self.engine.step(
                    ref, "medium_verify", lambda uow, row: self._approved(uow, row, finish)
                )
            inputs = self.engine.guard(ref, "medium_verify", lambda: medium_inputs(medium, answer))
            return self.media.verify(
                self.engine,
                ref,
                peeked,
                inputs,
                guard=self.guard,
                done=lambda uow, row: self._finish(uow, row, finish),
            )

    def customer_of(self, ref: ReverificationRef) -> Customer | None:
        """The flow's customer once the SMS code was right; None before."""
        with self._told(), self.uow_factory() as uow:
            row = self.engine.authorise(uow, ref, lock=False)
            return uow.customers.get(row.customer_id) if row.customer_id else None

    def status(self, ref: ReverificationRef) -> StepResult:
        with self._told(), self.uow_factory() as uow:
            row = self.engine.authorise(uow, ref, lock=False, closed_ok=True)
            return self.engine.result(row, {"medium": row.medium, "device_id": row.device_id})

    # ------------------------------------------------------------------ inside

    def _claim(self, name: str, phone: str, birth_date: date | str, ci: str | None) -> Claim:
        """Read the customers once, outside the start's transaction: who the details name.
        Nothing here tells the caller anything (only the input's form is refused)."""
        number = normalise_mobile(phone)
        born = parse_birth_date(birth_date)
        clean = subscriber_name(name)
        with self.uow_factory() as uow:
            named = [
                c
                for c in uow.customers.search(number, limit=50)
                if hmac.compare_digest(c.phone, number) and c.name == clean
            ]
        person = named[0] if len(named) == 1 else None
        holder = person if person is not None and person.birth_date == born else None
        if holder is not None and ci is not None and not hmac.compare_digest(holder.ci, ci):
            holder = None
        return Claim(number=number, born=born, person=person, holder=holder)

    def _number(self, uow: UnitOfWork, row: FinancialReverification) -> str:
        """The number the code goes to: the holder's on record, else (never sent) a stand-in
        of the same form."""
        holder = uow.customers.get(str(row.data.get("holder") or ""))
        return holder.phone if holder is not None else "01000000000"

    def _medium_first(self, ref: ReverificationRef, step: str) -> FinancialReverification:
        """The flow as it stands; ``FINANCIAL_CODE_REQUIRED`` before the SMS code and
        ``FINANCIAL_MEDIUM_REQUIRED`` when a medium's answer comes before a medium was chosen:
        the code alone never finishes the flow."""

        def peek() -> FinancialReverification:
            with self.uow_factory() as uow:
                row = self.engine.authorise(uow, ref, lock=False)
            state = S(row.state)
            if state is S.CODE_SENT:
                raise CertCenterError("FINANCIAL_CODE_REQUIRED")
            if step == "medium_verify" and state is S.CODE_VERIFIED:
                raise CertCenterError("FINANCIAL_MEDIUM_REQUIRED")
            return row

        return self.engine.guard(ref, step, peek)

    def _approved(
        self, uow: UnitOfWork, row: FinancialReverification, finish: Finish
    ) -> Mapping[str, Any]:
        if not self.media.take_approval(self.engine, uow, row, purpose=self.purpose.approval):
            return {"medium": "mobile_certificate", "approval": "pending"}
        return {**self._finish(uow, row, finish), "approval": "approved"}

    def _finish(
        self, uow: UnitOfWork, row: FinancialReverification, finish: Finish
    ) -> Mapping[str, Any]:
        customer = self.engine.customer(uow, row, lock=True)
        detail = dict(finish(uow, row, customer))
        row.state = S.COMPLETED.value
        return {"medium": row.medium, **detail}

    def _told(self) -> _Told:
        return _Told(self.purpose, self.ttl_seconds)


class _Told:
    """The engine's words for the flow itself (unknown, another's, closed, expired) said in
    the purpose's codes."""

    def __init__(self, purpose: Purpose, ttl_seconds: int) -> None:
        self.purpose = purpose
        self.ttl_seconds = ttl_seconds

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, err: object, trace: object) -> None:
        if not isinstance(err, CertCenterError):
            return
        if err.code in _FLOW_INVALID:
            raise CertCenterError(self.purpose.invalid) from None
        if err.code == "ENROLLMENT_EXPIRED":
            raise CertCenterError(self.purpose.expired, seconds=self.ttl_seconds) from None
