"""Releasing a locked financial-certificate PIN by verifying the customer again (비밀번호 재설정).

After ``policy.financial_pin_max_failures`` wrong tries the PIN is locked
(``FINANCIAL_PIN_LOCKED``). The customer proves who they are as when registering a browser
(:mod:`.reverification`) — name, mobile number and birth date, the SMS code sent to that
number, then an additional medium independent of the phone — and either sets a new PIN (the
usual case: they forgot it) or, giving none, has the old one accepted again. The customer is
told on every notification channel:

    reset = FinancialPinReset(...)
    started = reset.start(name="김민준", phone="01020000001", birth_date="1990-03-15",
                          source_ip="211.36.1.1")
    reset.verify_code(started.reset_id, started.token, "123456", source_ip=ip)
    reset.choose_medium(started.reset_id, started.token, "account", source_ip=ip)
    reset.complete(started.reset_id, started.token,
                   MediumAnswer(account_number="12345678901234", account_password="1234"),
                   new_pin="480213", source_ip=ip)
    reset.is_locked(customer_id)            # False

The start answers alike whoever the details name; the flow is single use and expires after
``policy.device_registration_ttl_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from certcenter.authn.credential_policy import check_new_pin
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Actor, Customer, FinancialReverification
from certcenter.errors import CertCenterError
from certcenter.financial import notices
from certcenter.financial.access import (
    FINANCIAL_PIN,
    PIN_PURPOSE,
    FinancialPinGuard,
    holding,
)
from certcenter.financial.media import AdditionalMedia, MediumAnswer
from certcenter.financial.reverification import (
    PIN_RESET_PURPOSE,
    Reverification,
    ReverificationRef,
    ReverificationStarted,
)
from certcenter.flows import StepResult
from certcenter.identity.providers import Providers
from certcenter.lifecycle.service import AuditRecorder
from certcenter.notifications.outbox import Outbox
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["CODE_PURPOSE", "FinancialPinReset", "PinResetStarted"]

CODE_PURPOSE = PIN_RESET_PURPOSE.code_purpose


@dataclass(frozen=True)
class PinResetStarted:
    reset_id: str
    token: str  # the bearer token of this flow; handed out once, stored hashed
    phone: str  # the number typed, masked
    code_valid_seconds: int
    expires_at: datetime

    def __repr__(self) -> str:
        return f"PinResetStarted(reset_id={self.reset_id!r}, token=…)"

    @classmethod
    def of(cls, started: ReverificationStarted) -> PinResetStarted:
        return cls(
            reset_id=started.flow_id,
            token=started.token,
            phone=started.phone,
            code_valid_seconds=started.code_valid_seconds,
            expires_at=started.expires_at,
        )


class FinancialPinReset:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        hasher: SecretHasher,
        providers: Providers,
        media: AdditionalMedia,
        factors: FactorGuard,
        guard: FinancialPinGuard,
        audit: AuditRecorder,
        notifier: Outbox,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.hasher = hasher
        self.guard = guard
        self.audit = audit
        self.notifier = notifier
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.flow = Reverification(
            PIN_RESET_PURPOSE,
            uow_factory=uow_factory,
            hasher=hasher,
            media=media,
            guard=factors,
            providers=providers,
            audit=audit,
            settings=settings,
            clock=clock,
        )

    def is_locked(self, customer_id: str) -> bool:
        with self.uow_factory() as uow:
            return self.guard.is_locked(uow, customer_id, FINANCIAL_PIN)

    def start(
        self,
        *,
        name: str,
        phone: str,
        birth_date: date | str,
        source_ip: str | None = None,
    ) -> PinResetStarted:
        """Who the customer says they are: the same answer whoever the details name; the
        SMS code goes only to a customer's phone."""
        return PinResetStarted.of(
            self.flow.start(
                name=name, phone=phone, birth_date=birth_date, client_ip=source_ip or "-"
            )
        )

    def resend_code(
        self, reset_id: str, token: str, *, source_ip: str | None = None
    ) -> PinResetStarted:
        return PinResetStarted.of(
            self.flow.resend_code(ReverificationRef(reset_id, token, source_ip or "-"))
        )

    def verify_code(
        self, reset_id: str, token: str, code: str, *, source_ip: str | None = None
    ) -> StepResult:
        """The SMS code; right, the customer's certificate is checked and the additional
        medium comes next."""
        ref = ReverificationRef(reset_id, token, source_ip or "-")
        return self.flow.verify_code(
            ref, code, lambda uow, row, customer: self._held(uow, customer)
        )

    def choose_medium(
        self, reset_id: str, token: str, medium: str, *, source_ip: str | None = None
    ) -> StepResult:
        return self.flow.choose_medium(ReverificationRef(reset_id, token, source_ip or "-"), medium)

    def complete(
        self,
        reset_id: str,
        token: str,
        answer: MediumAnswer,
        *,
        new_pin: str | None = None,
        new_pin_confirmation: str | None = None,
        source_ip: str | None = None,
    ) -> bool:
        """The medium's answer; right, ``new_pin`` is set (checked like any new PIN) or,
        without one, the old PIN is kept; either way the lock and the failure count are
        cleared and the customer is told on every channel. False while the mobile
        certificate's approval waits in the app."""
        ref = ReverificationRef(reset_id, token, source_ip or "-")
        pin_hash = None
        if new_pin is not None:
            customer = self.flow.customer_of(ref)  # the weak-PIN rule needs the birth date
            if customer is None:
                raise CertCenterError("FINANCIAL_CODE_REQUIRED")
            confirmation = new_pin if new_pin_confirmation is None else new_pin_confirmation
            check_new_pin(new_pin, confirmation, birth_date=customer.birth_date)
            pin_hash = self.hasher.hash(new_pin, purpose=PIN_PURPOSE)  # outside transactions

        def finish(
            uow: UnitOfWork, row: FinancialReverification, customer: Customer
        ) -> dict[str, bool]:
            account, _ = holding(uow, customer.id)
            if pin_hash is not None:
                stored = uow.cloud_accounts.get(account.id)
                if stored is None:
                    raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
                stored.pin_hash = pin_hash
            self.guard.release(uow, customer.id, FINANCIAL_PIN)
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="financial_pin_reset",
                subject_kind="cloud_account",
                subject=account.id,
                source_ip=source_ip,
                details={"new_pin": pin_hash is not None, "medium": row.medium},
            )
            self.notifier.notify(
                uow,
                customer=customer,
                **notices.pin_reset(self.settings.bank_name, self.clock.now(), source_ip=source_ip),
            )
            return {"reset": True}

        result = self.flow.verify_medium(ref, answer, finish)
        return bool(result.detail.get("reset"))

    def status(self, reset_id: str, token: str, *, source_ip: str | None = None) -> StepResult:
        return self.flow.status(ReverificationRef(reset_id, token, source_ip or "-"))

    @staticmethod
    def _held(uow: UnitOfWork, customer: Customer) -> None:
        holding(uow, customer.id)
