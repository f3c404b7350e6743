"""The browsers and apps that may use a customer's financial certificate (금융인증서 이용 기기).

A browser becomes a registered device after the customer is verified again
(:mod:`.reverification`): name, mobile number and birth date, the SMS code sent to that
number, then an additional medium independent of the phone (the withdrawal account and its
password, the security card, the OTP, or the mobile certificate approved in the app). It keeps
a non-extractable WebCrypto key, whose public half the center stores, so later visits skip all
that. The customer is told on every notification channel. The customer lists and removes
devices; at most ``policy.financial_max_devices`` are registered at once; a removed device can
no longer sign.

    devices = FinancialDevices(...)
    started = devices.start_registration(name="김민준", phone="01020000001",
                                         birth_date="1990-03-15", public_key=spki_der,
                                         label="집 PC 크롬", source_ip="211.36.1.1")
    # the same answer whoever the details name; the SMS code arrives on the customer's phone
    devices.verify_code(started.registration_id, started.token, "123456", source_ip=ip)
    devices.choose_medium(started.registration_id, started.token, "otp", source_ip=ip)
    device = devices.complete_registration(started.registration_id, started.token,
                                           MediumAnswer(otp_code="654321"), source_ip=ip)
    devices.list(customer_id)                   # active devices, oldest first
    devices.remove(customer_id, device.id, actor)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.audit.trail import AuditTrail
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import (
    Actor,
    BrowserDevice,
    BrowserDeviceStatus,
    Customer,
    FinancialReverification,
    new_id,
)
from certcenter.errors import CertCenterError
from certcenter.financial import notices
from certcenter.financial.access import holding
from certcenter.financial.media import AdditionalMedia, MediumAnswer
from certcenter.financial.proof import canonical_spki, device_key, key_digest
from certcenter.financial.reverification import (
    DEVICE_PURPOSE,
    Reverification,
    ReverificationRef,
    ReverificationStarted,
)
from certcenter.flows import StepResult
from certcenter.identity.providers import Providers
from certcenter.lifecycle.service import ActorRef
from certcenter.notifications.outbox import Outbox
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["CODE_PURPOSE", "FinancialDevices", "RegistrationStarted", "clean_label"]

CODE_PURPOSE = DEVICE_PURPOSE.code_purpose
MAX_LABEL = 60


@dataclass(frozen=True)
class RegistrationStarted:
    registration_id: str
    token: str  # the bearer token of this registration; handed out once, stored hashed
    phone: str  # the number typed, masked: 010-****-0001
    code_valid_seconds: int
    expires_at: datetime

    def __repr__(self) -> str:
        return f"RegistrationStarted(registration_id={self.registration_id!r}, token=…)"

    @classmethod
    def of(cls, started: ReverificationStarted) -> RegistrationStarted:
        return cls(
            registration_id=started.flow_id,
            token=started.token,
            phone=started.phone,
            code_valid_seconds=started.code_valid_seconds,
            expires_at=started.expires_at,
        )


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
        providers: Providers,
        media: AdditionalMedia,
        guard: FactorGuard,
        audit: AuditTrail,
        notifier: Outbox,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.audit = audit
        self.notifier = notifier
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.flow = Reverification(
            DEVICE_PURPOSE,
            uow_factory=uow_factory,
            hasher=hasher,
            media=media,
            guard=guard,
            providers=providers,
            audit=audit,
            settings=settings,
            clock=clock,
        )

    # ------------------------------------------------------------------ registration

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
        """The browser's key and who the customer says they are: the same answer whoever
        the details name; the SMS code goes only to a customer's phone. A key registered
        already (by anyone) is refused first: that tells about the key, not the person."""
        key = device_key(public_key)
        shown = clean_label(label)
        with self.uow_factory() as uow:
            if uow.browser_devices.active_by_key(key_digest(key)) is not None:
                raise CertCenterError("FINANCIAL_DEVICE_ALREADY_REGISTERED")

        def fill(row: FinancialReverification) -> None:
            row.device_public_key = canonical_spki(key)
            row.device_label = shown

        return RegistrationStarted.of(
            self.flow.start(
                name=name,
                phone=phone,
                birth_date=birth_date,
                client_ip=source_ip or "-",
                fill=fill,
            )
        )

    def resend_code(
        self, registration_id: str, token: str, *, source_ip: str | None = None
    ) -> RegistrationStarted:
        """A new SMS code for a registration under way (the policy's resend limit holds)."""
        ref = ReverificationRef(registration_id, token, source_ip or "-")
        return RegistrationStarted.of(self.flow.resend_code(ref))

    def verify_code(
        self, registration_id: str, token: str, code: str, *, source_ip: str | None = None
    ) -> StepResult:
        """The SMS code. Right: the customer's certificate and room for one more device are
        checked, and the additional medium comes next."""
        ref = ReverificationRef(registration_id, token, source_ip or "-")
        return self.flow.verify_code(ref, code, self._may_register)

    def choose_medium(
        self, registration_id: str, token: str, medium: str, *, source_ip: str | None = None
    ) -> StepResult:
        """추가 인증: the medium's question (accounts, card slots, or the app's code)."""
        ref = ReverificationRef(registration_id, token, source_ip or "-")
        return self.flow.choose_medium(ref, medium)

    def complete_registration(
        self,
        registration_id: str,
        token: str,
        answer: MediumAnswer,
        *,
        source_ip: str | None = None,
    ) -> BrowserDevice | None:
        """The medium's answer; right, the browser's key is registered as a device of the
        customer's financial certificate (audited, announced on every channel). None while
        the mobile certificate's approval waits in the app."""
        ip = source_ip or "-"
        ref = ReverificationRef(registration_id, token, ip)

        def finish(
            uow: UnitOfWork, row: FinancialReverification, customer: Customer
        ) -> dict[str, str]:
            holding(uow, customer.id)
            key = device_key(row.device_public_key or b"")
            device = self.register(
                uow,
                customer,
                key,
                row.device_label or "",
                source_ip=source_ip,
                medium=row.medium,
            )
            row.device_id = device.id
            return {"device_id": device.id}

        result = self.flow.verify_medium(ref, answer, finish)
        device_id = result.detail.get("device_id")
        if not device_id:
            return None
        with self.uow_factory() as uow:
            device = uow.browser_devices.get(str(device_id))
        if device is None:  # not reached: it was committed with the flow
            raise CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED")
        return device

    def status(
        self, registration_id: str, token: str, *, source_ip: str | None = None
    ) -> StepResult:
        """Where the registration stands (state, medium, the device once registered)."""
        return self.flow.status(ReverificationRef(registration_id, token, source_ip or "-"))

    def _may_register(
        self, uow: UnitOfWork, row: FinancialReverification, customer: Customer
    ) -> None:
        holding(uow, customer.id)
        self._check_key_free(uow, customer, key_digest(device_key(row.device_public_key or b"")))
        self._check_room(uow, customer)

    # ------------------------------------------------------------------ the customer's devices

    def register(
        self,
        uow: UnitOfWork,
        customer: Customer,
        key: ec.EllipticCurvePublicKey,
        label: str,
        *,
        source_ip: str | None,
        medium: str | None = None,
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
            details={"label": device.label, "medium": medium or "issuance"},
        )
        self.notifier.notify(
            uow,
            customer=customer,
            **notices.device_registered(
                self.settings.bank_name, now, device=device.label, source_ip=source_ip
            ),
        )
        return device

    def list(self, customer_id: str) -> list[BrowserDevice]:
        """The customer's registered devices, oldest first."""
        with self.uow_factory(read_only=True) as uow:
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
        return device

    # ------------------------------------------------------------------ internals

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise CertCenterError("CUSTOMER_NOT_FOUND")
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
