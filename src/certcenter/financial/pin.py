"""Releasing a locked financial-certificate PIN by verifying the customer again (비밀번호 재설정).

After ``policy.financial_pin_max_failures`` wrong tries the PIN is locked
(``FINANCIAL_PIN_LOCKED``). The customer proves who they are as when registering a browser —
name, mobile number and birth date, then the SMS code sent to that number — and either sets
a new PIN (the usual case: they forgot it) or, giving none, has the old one accepted again:

    reset = FinancialPinReset(...)
    started = reset.start(name="김민준", phone="01020000001", birth_date="1990-03-15")
    reset.complete(started.reset_id, started.token, "123456", new_pin="480213")
    reset.is_locked(customer_id)            # False

A wrong code counts against the code's tries (committed before the refusal); the flow is
single use and expires after ``policy.device_registration_ttl_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from certcenter.audit.redaction import mask_phone
from certcenter.audit.trail import AuditTrail
from certcenter.authn.codes import VerificationCodes, code_message
from certcenter.authn.credential_policy import check_new_pin
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Actor, FactorChallenge, new_id
from certcenter.errors import CertCenterError
from certcenter.financial import notices
from certcenter.financial.access import (
    FINANCIAL_PIN,
    PIN_PURPOSE,
    FinancialPinGuard,
    find_holder,
    holding,
    new_token,
    token_digest,
    token_matches,
)
from certcenter.identity.providers import SmsGateway
from certcenter.notifications.outbox import Outbox
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["FinancialPinReset", "PinResetStarted"]

log = logging.getLogger(__name__)
FACTOR = "financial_pin_reset"  # the FactorChallenge kind of this flow
CODE_PURPOSE = "financial-pin-reset"


@dataclass(frozen=True)
class PinResetStarted:
    reset_id: str
    token: str  # the bearer token of this flow; handed out once, stored hashed
    phone: str  # masked
    code_valid_seconds: int
    expires_at: datetime

    def __repr__(self) -> str:
        return f"PinResetStarted(reset_id={self.reset_id!r}, token=…)"


class FinancialPinReset:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        hasher: SecretHasher,
        sms: SmsGateway,
        guard: FinancialPinGuard,
        audit: AuditTrail,
        notifier: Outbox,
        settings: Settings,
        clock: Clock,
        deliver: Callable[[], object] = lambda: None,
    ) -> None:
        self.uow_factory = uow_factory
        self.hasher = hasher
        self.codes = VerificationCodes(hasher, clock)
        self.sms = sms
        self.guard = guard
        self.audit = audit
        self.notifier = notifier
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self._deliver = deliver

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
        """Check who the customer says they are and send the SMS code to their phone."""
        prepared = self.codes.prepare(CODE_PURPOSE, digits=6)
        now = self.clock.now()
        token = new_token()
        with self.uow_factory() as uow:
            customer = find_holder(uow, name=name, phone=phone, birth_date=birth_date)
            holding(uow, customer.id)
            challenge = FactorChallenge(
                id=new_id(),
                customer_id=customer.id,
                factor=FACTOR,
                created_at=now,
                expires_at=now + timedelta(seconds=self.policy.device_registration_ttl_seconds),
                data={"token_hash": token_digest(token)},
            )
            uow.factor_challenges.add(challenge)
            plain = self.codes.issue_sms(
                uow,
                flow_id=challenge.id,
                purpose=CODE_PURPOSE,
                phone=customer.phone,
                target=mask_phone(customer.phone),
                prepared=prepared,
                policy=self.policy,
                person=customer.id,
                client_ip=source_ip,
                limit_resends=False,
            )
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="financial_pin_reset_start",
                subject_kind="customer",
                subject=customer.customer_number,
                source_ip=source_ip,
            )
            uow.commit()
            phone_number = customer.phone
        self.sms.send(
            phone=phone_number,
            sender=self.policy.sms_sender_number,
            text=code_message(
                "financial_pin_reset", bank=self.settings.bank_name, code=plain, policy=self.policy
            ),
        )
        return PinResetStarted(
            reset_id=challenge.id,
            token=token,
            phone=mask_phone(phone_number),
            code_valid_seconds=self.policy.sms_code_ttl_seconds,
            expires_at=challenge.expires_at,
        )

    def complete(
        self,
        reset_id: str,
        token: str,
        code: str,
        *,
        new_pin: str | None = None,
        new_pin_confirmation: str | None = None,
        source_ip: str | None = None,
    ) -> None:
        """Check the SMS code; set ``new_pin`` (checked like any new PIN) or, without one,
        keep the old PIN; either way the lock and the failure count are cleared."""
        if not isinstance(code, str) or len(code) > 12:
            raise CertCenterError("INVALID_REQUEST", detail="code: 6 digits")
        with self.uow_factory() as uow:
            challenge = self._open(uow, reset_id, token)
            customer = uow.customers.get(challenge.customer_id)
            if customer is None:
                raise CertCenterError("FINANCIAL_RESET_INVALID")
        pin_hash = None
        if new_pin is not None:
            confirmation = new_pin if new_pin_confirmation is None else new_pin_confirmation
            check_new_pin(new_pin, confirmation, birth_date=customer.birth_date)
            pin_hash = self.hasher.hash(new_pin, purpose=PIN_PURPOSE)  # outside transactions
        now = self.clock.now()
        with self.uow_factory() as uow:
            challenge = self._open(uow, reset_id, token)
            self.codes.check(uow, enrollment_id=challenge.id, purpose=CODE_PURPOSE, submitted=code)
            if not uow.factor_challenges.consume(challenge.id, now):
                raise CertCenterError("FINANCIAL_RESET_INVALID")
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
                details={"new_pin": pin_hash is not None},
            )
            self.notifier.notify(
                uow, customer=customer, **notices.pin_reset(self.settings.bank_name, now)
            )
            uow.commit()
        try:
            self._deliver()
        except Exception:
            log.exception("notifications not sent now; the sender will")

    def _open(self, uow: UnitOfWork, reset_id: str, token: str) -> FactorChallenge:
        challenge = uow.factor_challenges.get(reset_id) if len(reset_id) <= 36 else None
        if (
            challenge is None
            or challenge.factor != FACTOR
            or challenge.used_at is not None
            or not token_matches(str(challenge.data.get("token_hash", "")), token)
        ):
            raise CertCenterError("FINANCIAL_RESET_INVALID")
        if challenge.expires_at <= self.clock.now():
            raise CertCenterError(
                "FINANCIAL_RESET_EXPIRED", seconds=self.policy.device_registration_ttl_seconds
            )
        return challenge
