"""Joining internet banking online (인터넷뱅킹 가입) for a customer of the bank who has none.

A customer with an account but without internet banking (no user ID) cannot ask for a
financial or joint certificate: both name the customer by user ID and resident number. This
flow gives them one. It verifies the customer as the financial certificate's re-verification
does — name, mobile number and birth date, the SMS code sent to that number, then one medium
independent of the phone (the withdrawal account and its password, the security card, the
OTP, or the mobile certificate approved in the app) — and, in the same step as that medium's
answer, the customer's choice: the user ID, the password typed twice and the terms accepted.

    join = InternetBankingJoin(...)
    started = join.start(name="박지훈", phone="01020000003", birth_date="1995-07-21",
                         source_ip="211.36.1.1")
    join.verify_code(started.flow_id, started.token, "123456")      # BANKING_ALREADY_JOINED
    join.choose_medium(started.flow_id, started.token, "account")   #   for a member
    join.complete(started.flow_id, started.token,
                  MediumAnswer(account_number="12340100000003", account_password="1234"),
                  JoinChoice("jihun95", "Jh!95park", "Jh!95park", ("e_finance", …)))

The choice is checked before the medium's answer is compared (its mistakes count nothing):
the terms (``TERMS_NOT_ACCEPTED``), the user ID's form and that nobody has it
(``USER_ID_FORMAT``, ``USER_ID_TAKEN``; a race for the same ID meets the unique constraint and
says the same), the password's rules. The password is kept only as a slow salted hash
(argon2id, purpose ``banking-password``). Right, the customer has internet banking from then
on, the act is audited and the customer told on every channel. The start answers alike whoever
the details name (:mod:`certcenter.financial.reverification`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.banking.credentials import check_new_password, check_user_id
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Actor, Customer, FinancialReverification
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import words
from certcenter.financial.media import AdditionalMedia, MediumAnswer
from certcenter.financial.reverification import (
    Purpose,
    Reverification,
    ReverificationRef,
    ReverificationStarted,
)
from certcenter.flows import StepResult
from certcenter.identity.providers import Providers
from certcenter.lifecycle.service import AuditRecorder
from certcenter.notifications.messages import compose
from certcenter.notifications.outbox import Outbox
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["JOIN_PURPOSE", "PASSWORD_PURPOSE", "InternetBankingJoin", "JoinChoice"]

PASSWORD_PURPOSE = "banking-password"  # noqa: S105 (a hash purpose, not a password)
JOIN_PURPOSE = Purpose(
    name="banking_join",
    code_purpose="banking-join",
    sms="banking_join",
    approval="banking-join",
    audit_prefix="banking_join.",
    failure_prefix="banking_join.",
    invalid="BANKING_JOIN_INVALID",
    expired="BANKING_JOIN_EXPIRED",
    races=(("user_id", "USER_ID_TAKEN"),),
    race_otherwise="USER_ID_TAKEN",
)


@dataclass(frozen=True)
class JoinChoice:
    """What the customer chooses: the user ID, the password twice, the terms accepted."""

    user_id: str
    password: str = field(repr=False)
    password_confirmation: str = field(repr=False)
    accepted_terms: Sequence[str] = ()


class InternetBankingJoin:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        hasher: SecretHasher,
        providers: Providers,
        media: AdditionalMedia,
        guard: FactorGuard,
        audit: AuditRecorder,
        notifier: Outbox,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.hasher = hasher
        self.audit = audit
        self.notifier = notifier
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.flow = Reverification(
            JOIN_PURPOSE,
            uow_factory=uow_factory,
            hasher=hasher,
            media=media,
            guard=guard,
            providers=providers,
            audit=audit,
            settings=settings,
            clock=clock,
        )

    @property
    def required_terms(self) -> tuple[str, ...]:
        return tuple(self.policy.banking_required_terms)

    def start(
        self, *, name: str, phone: str, birth_date: date | str, source_ip: str | None = None
    ) -> ReverificationStarted:
        """Who the customer says they are: the same answer whoever the details name; the
        SMS code goes only to a customer's phone."""
        return self.flow.start(
            name=name, phone=phone, birth_date=birth_date, client_ip=source_ip or "-"
        )

    def resend_code(
        self, flow_id: str, token: str, *, source_ip: str | None = None
    ) -> ReverificationStarted:
        return self.flow.resend_code(ReverificationRef(flow_id, token, source_ip or "-"))

    def verify_code(
        self, flow_id: str, token: str, code: str, *, source_ip: str | None = None
    ) -> StepResult:
        """The SMS code; right, a customer who has internet banking already is told so
        (``BANKING_ALREADY_JOINED``, with the way to find the ID): only to the phone's holder."""
        ref = ReverificationRef(flow_id, token, source_ip or "-")
        return self.flow.verify_code(ref, code, self._not_joined)

    def choose_medium(
        self, flow_id: str, token: str, medium: str, *, source_ip: str | None = None
    ) -> StepResult:
        return self.flow.choose_medium(ReverificationRef(flow_id, token, source_ip or "-"), medium)

    def status(self, flow_id: str, token: str, *, source_ip: str | None = None) -> StepResult:
        return self.flow.status(ReverificationRef(flow_id, token, source_ip or "-"))

    def complete(
        self,
        flow_id: str,
        token: str,
        answer: MediumAnswer,
        choice: JoinChoice,
        *,
        source_ip: str | None = None,
    ) -> str | None:
        """The choice checked, then the medium's answer; right, the customer joins with the
        user ID (answered). None while the mobile certificate's approval waits in the app."""
        ref = ReverificationRef(flow_id, token, source_ip or "-")
        missing = [t for t in self.required_terms if t not in set(choice.accepted_terms)]
        if missing:
            raise CertCenterError("TERMS_NOT_ACCEPTED", missing=words("terms", missing))
        user_id = check_user_id(choice.user_id)
        customer = self.flow.customer_of(ref)
        if customer is None:
            raise CertCenterError("FINANCIAL_CODE_REQUIRED")
        check_new_password(
            choice.password,
            choice.password_confirmation,
            user_id=user_id,
            birth_date=customer.birth_date,
            min_length=self.policy.banking_password_min_length,
        )
        with self.uow_factory(read_only=True) as uow:
            if uow.customers.by_user_id(user_id) is not None:
                raise CertCenterError("USER_ID_TAKEN")
        password_hash = self.hasher.hash(choice.password, purpose=PASSWORD_PURPOSE)
        terms = list(self.required_terms)

        def finish(
            uow: UnitOfWork, row: FinancialReverification, customer: Customer
        ) -> dict[str, str]:
            self._not_joined(uow, row, customer)
            if uow.customers.by_user_id(user_id) is not None:
                raise CertCenterError("USER_ID_TAKEN")
            now = self.clock.now()
            customer.user_id = user_id
            customer.password_hash = password_hash
            customer.internet_banking = True
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="internet_banking_joined",
                subject_kind="customer",
                subject=customer.id,
                source_ip=source_ip,
                details={"medium": row.medium, "terms": terms},
            )
            told = compose("banking_joined", {"bank": self.settings.bank_name, "time": now})
            self.notifier.notify(
                uow,
                event="banking_joined",
                customer=customer,
                subject=told.subject,
                text_ko=told.text_ko,
                text_en=told.text_en,
            )
            return {"user_id": user_id}

        result = self.flow.verify_medium(ref, answer, finish)
        joined = result.detail.get("user_id")
        return str(joined) if joined else None

    @staticmethod
    def _not_joined(uow: UnitOfWork, row: FinancialReverification, customer: Customer) -> None:
        if customer.user_id is not None:
            raise CertCenterError("BANKING_ALREADY_JOINED")
