"""The browsers and apps that may use a customer's financial certificate (금융인증서 이용 기기).

A browser becomes a registered device after the customer's name, mobile number and birth date
and the SMS code sent to that number; it keeps a non-extractable WebCrypto key, whose public
half the center stores, so later visits skip the SMS. The customer lists and removes devices;
at most ``policy.financial_max_devices`` are registered at once; a removed device can no
longer sign.

    devices = FinancialDevices(...)
    started = devices.start_registration(name="김민준", phone="01020000001",
                                         birth_date="1990-03-15", public_key=spki_der,
                                         label="집 PC 크롬")
    # the SMS code arrives on the customer's phone
    device = devices.complete_registration(started.registration_id, started.token, "123456")
    devices.list(customer_id)                   # active devices, oldest first
    devices.remove(customer_id, device.id, actor)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.audit.redaction import mask_phone
from certcenter.audit.trail import AuditTrail
from certcenter.authn.codes import VerificationCodes, code_message
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import (
    Actor,
    BrowserDevice,
    BrowserDeviceStatus,
    Customer,
    DeviceRegistration,
    new_id,
)
from certcenter.errors import CertCenterError
from certcenter.financial import notices
from certcenter.financial.access import (
    find_holder,
    holding,
    new_token,
    token_digest,
    token_matches,
)
from certcenter.financial.proof import canonical_spki, device_key, key_digest
from certcenter.identity.providers import SmsGateway
from certcenter.lifecycle.service import ActorRef
from certcenter.notifications.outbox import Outbox
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = ["CODE_PURPOSE", "FinancialDevices", "RegistrationStarted", "clean_label"]

log = logging.getLogger(__name__)
CODE_PURPOSE = "financial-device"
MAX_LABEL = 60


@dataclass(frozen=True)
class RegistrationStarted:
    registration_id: str
    token: str  # the bearer token of this registration; handed out once, stored hashed
    phone: str  # masked: 010-****-0001
    code_valid_seconds: int
    expires_at: datetime

    def __repr__(self) -> str:
        return f"RegistrationStarted(registration_id={self.registration_id!r}, token=…)"


def clean_label(label: str | None) -> str:
    """A device's name as the customer gave it: one line, 1-60 characters."""
    text = " ".join(str(label or "").split())
    if not text:
        return "브라우저"
    if len(text) > MAX_LABEL or any(not ch.isprintable() for ch in text):
        raise CertCenterError("INVALID_REQUEST", detail="label: 1 to 60 printable characters")
    return text


class FinancialDevices:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        hasher: SecretHasher,
        sms: SmsGateway,
        audit: AuditTrail,
        notifier: Outbox,
        settings: Settings,
        clock: Clock,
        deliver: Callable[[], object] = lambda: None,
    ) -> None:
        self.uow_factory = uow_factory
        self.codes = VerificationCodes(hasher, clock)
        self.sms = sms
        self.audit = audit
        self.notifier = notifier
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self._deliver = deliver

    # ------------------------------------------------------------------ registration by SMS

    def start_registration(
        self,
        *,
        name: str,
        phone: str,
        birth_date: date | str,
        public_key: bytes,
        label: str | None,
        source_ip: str | None = None,
    ) -> RegistrationStarted:
        """Check who the customer says they are and send the SMS code to their phone."""
        key = device_key(public_key)
        shown = clean_label(label)
        prepared = self.codes.prepare(CODE_PURPOSE, digits=6)
        now = self.clock.now()
        token = new_token()
        with self.uow_factory() as uow:
            customer = find_holder(uow, name=name, phone=phone, birth_date=birth_date)
            holding(uow, customer.id)
            self._check_key_free(uow, customer, key_digest(key))
            self._check_room(uow, customer)
            registration = DeviceRegistration(
                id=new_id(),
                token_hash=token_digest(token),
                customer_id=customer.id,
                public_key=canonical_spki(key),
                label=shown,
                created_at=now,
                expires_at=now + timedelta(seconds=self.policy.device_registration_ttl_seconds),
            )
            uow.device_registrations.add(registration)
            plain = self.codes.issue_sms(
                uow,
                flow_id=registration.id,
                purpose=CODE_PURPOSE,
                phone=customer.phone,
                target=mask_phone(customer.phone),
                prepared=prepared,
                policy=self.policy,
                person=customer.id,
                client_ip=source_ip,
            )
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="financial_device_registration_start",
                subject_kind="device_registration",
                subject=registration.id,
                source_ip=source_ip,
                details={"label": shown},
            )
            uow.commit()
            phone_number = customer.phone
        self._send_code(phone_number, plain)
        return RegistrationStarted(
            registration_id=registration.id,
            token=token,
            phone=mask_phone(phone_number),
            code_valid_seconds=self.policy.sms_code_ttl_seconds,
            expires_at=registration.expires_at,
        )

    def resend_code(
        self, registration_id: str, token: str, *, source_ip: str | None = None
    ) -> RegistrationStarted:
        """A new SMS code for a registration under way (the policy's resend limit holds)."""
        prepared = self.codes.prepare(CODE_PURPOSE, digits=6)
        with self.uow_factory() as uow:
            registration = self._open(uow, registration_id, token)
            customer = self._customer(uow, registration.customer_id)
            plain = self.codes.issue_sms(
                uow,
                flow_id=registration.id,
                purpose=CODE_PURPOSE,
                phone=customer.phone,
                target=mask_phone(customer.phone),
                prepared=prepared,
                policy=self.policy,
                person=customer.id,
                client_ip=source_ip,
            )
            uow.commit()
            phone_number = customer.phone
        self._send_code(phone_number, plain)
        return RegistrationStarted(
            registration_id=registration.id,
            token=token,
            phone=mask_phone(phone_number),
            code_valid_seconds=self.policy.sms_code_ttl_seconds,
            expires_at=registration.expires_at,
        )

    def complete_registration(
        self, registration_id: str, token: str, code: str, *, source_ip: str | None = None
    ) -> BrowserDevice:
        """Check the SMS code (a wrong one counts, committed before the refusal) and register
        the browser's key as a device of the customer's financial certificate."""
        if not isinstance(code, str) or len(code) > 12:
            raise CertCenterError("INVALID_REQUEST", detail="code: 6 digits")
        with self.uow_factory() as uow:
            registration = self._open(uow, registration_id, token)
            self.codes.check(
                uow, enrollment_id=registration.id, purpose=CODE_PURPOSE, submitted=code
            )
            customer = self._customer(uow, registration.customer_id, lock=True)
            holding(uow, customer.id)
            key = device_key(registration.public_key)
            device = self.register(uow, customer, key, registration.label, source_ip=source_ip)
            if not uow.device_registrations.complete(registration.id, device.id, self.clock.now()):
                raise CertCenterError("FINANCIAL_REGISTRATION_INVALID")
            try:
                uow.commit()
            except ConstraintViolationError:
                raise CertCenterError("FINANCIAL_DEVICE_ALREADY_REGISTERED") from None
        self._notify_sent()
        return device

    # ------------------------------------------------------------------ the customer's devices

    def register(
        self,
        uow: UnitOfWork,
        customer: Customer,
        key: ec.EllipticCurvePublicKey,
        label: str,
        *,
        source_ip: str | None,
    ) -> BrowserDevice:
        """Add a device for ``customer`` inside the caller's unit of work (the customer row is
        locked by the caller): the device limit and one registration per key hold; audited
        and announced. An active registration of the same key for this customer is returned
        as it is."""
        digest = key_digest(key)
        existing = uow.browser_devices.active_by_key(digest)
        if existing is not None and existing.customer_id == customer.id:
            return existing
        self._check_key_free(uow, customer, digest)
        self._check_room(uow, customer)
        now = self.clock.now()
        device = BrowserDevice(
            id=new_id(),
            customer_id=customer.id,
            public_key=canonical_spki(key),
            key_sha256=digest,
            label=clean_label(label),
            registered_at=now,
        )
        uow.browser_devices.add(device)
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor=customer.customer_number,
            action="financial_device_register",
            subject_kind="browser_device",
            subject=device.id,
            source_ip=source_ip,
            details={"label": device.label},
        )
        self.notifier.notify(
            uow,
            customer=customer,
            **notices.device_registered(self.settings.bank_name, now, device=device.label),
        )
        return device

    def list(self, customer_id: str) -> list[BrowserDevice]:
        """The customer's registered devices, oldest first."""
        with self.uow_factory() as uow:
            return list(uow.browser_devices.active_for_customer(customer_id))

    def get(self, customer_id: str, device_id: str) -> BrowserDevice:
        """The customer's active device ``device_id``; ``FINANCIAL_DEVICE_NOT_REGISTERED``
        for another's, a removed one, or none."""
        with self.uow_factory() as uow:
            device = uow.browser_devices.get(device_id) if len(device_id) <= 36 else None
        if (
            device is None
            or device.customer_id != customer_id
            or device.status != BrowserDeviceStatus.ACTIVE
        ):
            raise CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED")
        return device

    def remove(self, customer_id: str, device_id: str, actor: ActorRef) -> BrowserDevice:
        """기기 삭제: the device can no longer sign (its pending activations die with it)."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            device = uow.browser_devices.get(device_id) if len(device_id) <= 36 else None
            if (
                device is None
                or device.customer_id != customer_id
                or device.status != BrowserDeviceStatus.ACTIVE
            ):
                raise CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED")
            customer = self._customer(uow, customer_id)
            if not uow.browser_devices.remove(device.id, now):
                raise CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED")
            uow.sessions.end_for_device(device.id, now, "device_removed")
            self.audit.record(
                uow,
                actor_kind=actor.kind,
                actor=actor.id,
                action="financial_device_remove",
                subject_kind="browser_device",
                subject=device.id,
                source_ip=actor.source_ip,
                details={"label": device.label, "customer": customer.customer_number},
            )
            self.notifier.notify(
                uow,
                customer=customer,
                **notices.device_removed(self.settings.bank_name, now, device=device.label),
            )
            uow.commit()
        self._notify_sent()
        return device

    # ------------------------------------------------------------------ internals

    def _open(self, uow: UnitOfWork, registration_id: str, token: str) -> DeviceRegistration:
        registration = (
            uow.device_registrations.get(registration_id) if len(registration_id) <= 36 else None
        )
        if registration is None or not token_matches(registration.token_hash, token):
            raise CertCenterError("FINANCIAL_REGISTRATION_INVALID")
        if registration.completed_at is not None:
            raise CertCenterError("FINANCIAL_REGISTRATION_INVALID")
        if registration.expires_at <= self.clock.now():
            raise CertCenterError(
                "FINANCIAL_REGISTRATION_EXPIRED",
                seconds=self.policy.device_registration_ttl_seconds,
            )
        return registration

    def _customer(self, uow: UnitOfWork, customer_id: str, *, lock: bool = False) -> Customer:
        customer = uow.customers.get(customer_id, for_update=lock)
        if customer is None:
            raise CertCenterError("FINANCIAL_HOLDER_NOT_FOUND")
        return customer

    def _check_key_free(self, uow: UnitOfWork, customer: Customer, digest: str) -> None:
        existing = uow.browser_devices.active_by_key(digest)
        if existing is not None:
            raise CertCenterError("FINANCIAL_DEVICE_ALREADY_REGISTERED")

    def _check_room(self, uow: UnitOfWork, customer: Customer) -> None:
        if uow.browser_devices.count_active(customer.id) >= self.policy.financial_max_devices:
            raise CertCenterError(
                "FINANCIAL_DEVICE_LIMIT", max_devices=self.policy.financial_max_devices
            )

    def _send_code(self, phone: str, plain: str) -> None:
        self.sms.send(
            phone=phone,
            sender=self.policy.sms_sender_number,
            text=code_message(
                "financial_device", bank=self.settings.bank_name, code=plain, policy=self.policy
            ),
        )

    def _notify_sent(self) -> None:
        try:
            self._deliver()
        except Exception:
            log.exception("notifications not sent now; the sender will")
