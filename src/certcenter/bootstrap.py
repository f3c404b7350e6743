"""The composition root: builds the center from settings, for the API, the CLI and tests.

    settings = load_settings()
    initialise(settings)            # directories, migrations, CA, demo world (idempotent)
    center = build_center(settings)
    center.enrollment.start(...)

This is the one module that knows every part (storage, simulators, key backend, services);
the domain packages know none of it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from certcenter.audit.trail import AuditTrail
from certcenter.authn.device_auth import DeviceAuthenticator
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.authn.operators import OperatorDirectory
from certcenter.clock import Clock, SystemClock
from certcenter.config import Settings
from certcenter.diagnosis import Diagnosis
from certcenter.enrollment.service import FAMILY, EnrollmentService
from certcenter.entities import CertificateRecord, Customer, Device, new_id
from certcenter.errors import CertCenterError
from certcenter.financial import FAMILY as FINANCIAL_FAMILY
from certcenter.financial import (
    CloudCertificates,
    FinancialDevices,
    FinancialLogin,
    FinancialPinGuard,
    FinancialPinReset,
    RemoteSigner,
)
from certcenter.financial.issuance import FinancialIssuance
from certcenter.identity.providers import Providers
from certcenter.issuance import Issuance, IssueHooks, IssueRequest
from certcenter.keys import KeyBackend, load_key_backend
from certcenter.lifecycle.customer_actions import CustomerActions
from certcenter.lifecycle.jobs import JobRunner
from certcenter.lifecycle.lost import LostPhoneReports
from certcenter.lifecycle.operator_desk import OperatorDesk
from certcenter.lifecycle.service import LifecycleService
from certcenter.media.otp import OtpService
from certcenter.media.security_card import SecurityCardService
from certcenter.notifications.channels import channels_from_settings
from certcenter.notifications.outbox import Outbox
from certcenter.notifications.sender import OutboxSender
from certcenter.pki.hierarchy import CaHierarchy, ensure_hierarchy, load_hierarchy
from certcenter.pki.issuer import Issuer
from certcenter.pki.pem import certificate_pem
from certcenter.ports import UnitOfWork
from certcenter.revocation import RevocationStatus
from certcenter.simulators.ars import SimulatedArs
from certcenter.simulators.bank import SimulatedInterbank
from certcenter.simulators.cards import SimulatedCardDelivery
from certcenter.simulators.departures import SimulatedDepartures
from certcenter.simulators.id_registry import SimulatedIdRegistry
from certcenter.simulators.telco import SimulatedTelco
from certcenter.simulators.world import load_world, seed_world
from certcenter.storage import migrate
from certcenter.storage.database import make_engine, make_session_factory
from certcenter.storage.mapping import map_entities
from certcenter.storage.simulator_store import SimulatorStore
from certcenter.storage.uow import SqlUnitOfWorkFactory
from certcenter.usage.approvals import ApprovalService
from certcenter.usage.documents import DocumentSigning
from certcenter.usage.login import LoginService
from certcenter.usage.sessions import SessionService
from certcenter.usage.transfers import TransferService

log = logging.getLogger(__name__)
PEPPER_LABEL = "pepper"
SEAL_LABEL = "data-seal"  # seals OTP secrets stored in the database
CARD_DIGEST_LABEL = "security-card"  # keys the digests of security card slots
WEB_SESSION_LABEL = "web-session"  # signs the web center's session cookie


@dataclass
class Center:
    """Everything a running center needs, built once per process."""

    settings: Settings
    clock: Clock
    engine: Engine
    sim_engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    sim_store: SimulatorStore
    keys: KeyBackend
    providers: Providers
    _cache: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def hasher(self) -> SecretHasher:
        return SecretHasher.from_policy(
            lambda data: self.keys.mac(PEPPER_LABEL, data), self.settings.policy
        )

    def hierarchy(self) -> CaHierarchy:
        if "hierarchy" not in self._cache:
            self._cache["hierarchy"] = load_hierarchy(self.settings)
        hierarchy: CaHierarchy = self._cache["hierarchy"]
        return hierarchy

    def issuer(self) -> Issuer:
        return Issuer(self.keys, self.hierarchy(), self.settings, self.clock)

    def chain_pem(self, family: str = FAMILY) -> list[str]:
        return [certificate_pem(c) for c in self.hierarchy().chain(family)]

    @cached_property
    def audit_trail(self) -> AuditTrail:
        return AuditTrail(self.clock)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.settings, self.clock)

    @cached_property
    def sender(self) -> OutboxSender:
        channels = channels_from_settings(self.settings, self.providers.sms)
        return OutboxSender(self.uow_factory, channels, self.clock, self.settings.policy)

    def deliver_now(self) -> None:
        """Try to send what is due right away (the background sender retries the rest)."""
        self.sender.deliver_due(limit=20, time_budget=1.0)

    @cached_property
    def status(self) -> RevocationStatus:
        return RevocationStatus(
            uow_factory=self.uow_factory,
            backend=self.keys,
            hierarchy=self.hierarchy,
            settings=self.settings,
            clock=self.clock,
        )

    @cached_property
    def issuance(self) -> Issuance:
        return Issuance(
            uow_factory=self.uow_factory,
            issuer=self.issuer,
            audit=self.audit_trail,
            notifier=self.outbox,
            publisher=self.status,
            clock=self.clock,
            deliver=self.deliver_now,
        )

    @cached_property
    def enrollment(self) -> EnrollmentService:
        return EnrollmentService(
            uow_factory=self.uow_factory,
            providers=self.providers,
            issuance=self.issuance,
            hasher=self.hasher,
            settings=self.settings,
            clock=self.clock,
            audit=self.audit_trail,
            publisher=self.status,
            deliver=self.deliver_now,
        )

    @cached_property
    def lifecycle(self) -> LifecycleService:
        return LifecycleService(
            uow_factory=self.uow_factory,
            issuance=self.issuance,
            audit=self.audit_trail,
            notifier=self.outbox,
            publisher=self.status,
            settings=self.settings,
            clock=self.clock,
            deliver=self.deliver_now,
        )

    @cached_property
    def jobs(self) -> JobRunner:
        return JobRunner(
            self.lifecycle,
            self.status,
            self.uow_factory,
            self.settings,
            self.clock,
            financial=self.financial,
        )

    @cached_property
    def customer_actions(self) -> CustomerActions:
        return CustomerActions(self.uow_factory, self.authenticator, self.lifecycle)

    @cached_property
    def authenticator(self) -> DeviceAuthenticator:
        return DeviceAuthenticator(self.hasher, self.clock, self.settings.policy, self.factor_guard)

    @cached_property
    def login(self) -> LoginService:
        return LoginService(
            uow_factory=self.uow_factory,
            authenticator=self.authenticator,
            guard=self.factor_guard,
            hasher=self.hasher,
            sessions=self.sessions,
            issuing_ca=lambda: self.hierarchy().issuing(FAMILY).certificate,
            audit=self.audit_trail,
            clock=self.clock,
            policy=self.settings.policy,
        )

    @cached_property
    def transfers(self) -> TransferService:
        return TransferService(
            uow_factory=self.uow_factory,
            providers=self.providers,
            guard=self.factor_guard,
            hasher=self.hasher,
            otp=lambda: self.otp,
            cards=lambda: self.security_cards,
            chain=lambda: self.hierarchy().chain(FAMILY),
            audit=self.audit_trail,
            notifier=self.outbox,
            deliver=self.deliver_now,
            clock=self.clock,
            policy=self.settings.policy,
            center_signer=self.remote_signer,
        )

    @cached_property
    def documents(self) -> DocumentSigning:
        return DocumentSigning(
            uow_factory=self.uow_factory,
            guard=self.factor_guard,
            hasher=self.hasher,
            chain=lambda: self.hierarchy().chain(FAMILY),
            audit=self.audit_trail,
            clock=self.clock,
        )

    @cached_property
    def lost_reports(self) -> LostPhoneReports:
        return LostPhoneReports(self.uow_factory, self.providers.telco, self.lifecycle, self.clock)

    @cached_property
    def operators(self) -> OperatorDirectory:
        return OperatorDirectory(self.uow_factory, self.clock)

    @cached_property
    def operator_desk(self) -> OperatorDesk:
        return OperatorDesk(
            self.uow_factory,
            self.audit_trail,
            self.clock,
            verifier=self.audit_trail,
            crls=self.status,
            crl_shards=self.settings.policy.crl_shards,
        )

    @cached_property
    def diagnosis(self) -> Diagnosis:
        return Diagnosis(
            uow_factory=self.uow_factory,
            providers=self.providers,
            guard=self.factor_guard,
            policy=self.settings.policy,
            clock=self.clock,
            audit=self.audit_trail,
        )

    @cached_property
    def factor_guard(self) -> FactorGuard:
        return FactorGuard(self.settings.policy, self.clock)

    @cached_property
    def security_cards(self) -> SecurityCardService:
        return SecurityCardService(
            self.uow_factory,
            self.keys,
            CARD_DIGEST_LABEL,
            self.providers,
            self.factor_guard,
            self.clock,
            self.settings.policy,
            self.audit_trail,
        )

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(self.uow_factory, self.clock, self.settings.policy)

    @cached_property
    def otp(self) -> OtpService:
        return OtpService(
            self.uow_factory,
            self.keys,
            SEAL_LABEL,
            self.hasher,
            self.providers,
            self.factor_guard,
            self.clock,
            self.settings.policy,
            self.audit_trail,
        )

    @cached_property
    def approvals(self) -> ApprovalService:
        return ApprovalService(
            uow_factory=self.uow_factory,
            digest=lambda data: self.keys.mac(PEPPER_LABEL, data),
            sessions=self.sessions,
            audit=self.audit_trail,
            clock=self.clock,
            policy=self.settings.policy,
        )

    @cached_property
    def financial_issuance(self) -> FinancialIssuance:
        return FinancialIssuance(
            uow_factory=self.uow_factory,
            providers=self.providers,
            maker=lambda: self.financial,
            approvals=lambda: self.approvals,
            otp=lambda: self.otp,
            cards=lambda: self.security_cards,
            guard=self.factor_guard,
            hasher=self.hasher,
            audit=self.audit_trail,
            settings=self.settings,
            clock=self.clock,
            deliver=self.deliver_now,
        )

    # ------------------------------------------------------------ financial certificate

    @cached_property
    def financial_pin_guard(self) -> FinancialPinGuard:
        return FinancialPinGuard(self.settings.policy, self.clock)

    @cached_property
    def financial_devices(self) -> FinancialDevices:
        return FinancialDevices(
            uow_factory=self.uow_factory,
            hasher=self.hasher,
            sms=self.providers.sms,
            audit=self.audit_trail,
            notifier=self.outbox,
            settings=self.settings,
            clock=self.clock,
            deliver=self.deliver_now,
        )

    @cached_property
    def financial(self) -> CloudCertificates:
        return CloudCertificates(
            uow_factory=self.uow_factory,
            keys=self.keys,
            issuance=self.issuance,
            hasher=self.hasher,
            guard=self.financial_pin_guard,
            devices=self.financial_devices,
            audit=self.audit_trail,
            notifier=self.outbox,
            publisher=self.status,
            settings=self.settings,
            clock=self.clock,
            deliver=self.deliver_now,
        )

    @cached_property
    def remote_signer(self) -> RemoteSigner:
        return RemoteSigner(
            uow_factory=self.uow_factory,
            keys=self.keys,
            hasher=self.hasher,
            guard=self.financial_pin_guard,
            chain=lambda: self.hierarchy().chain(FINANCIAL_FAMILY),
            audit=self.audit_trail,
            clock=self.clock,
            policy=self.settings.policy,
        )

    @cached_property
    def financial_login(self) -> FinancialLogin:
        return FinancialLogin(
            uow_factory=self.uow_factory,
            signer=self.remote_signer,
            cloud=self.financial,
            sessions=self.sessions,
            audit=self.audit_trail,
            clock=self.clock,
        )

    @cached_property
    def financial_pin(self) -> FinancialPinReset:
        return FinancialPinReset(
            uow_factory=self.uow_factory,
            hasher=self.hasher,
            sms=self.providers.sms,
            guard=self.financial_pin_guard,
            audit=self.audit_trail,
            notifier=self.outbox,
            settings=self.settings,
            clock=self.clock,
            deliver=self.deliver_now,
        )

    def close(self) -> None:
        self.engine.dispose()
        self.sim_engine.dispose()


def build_center(settings: Settings, clock: Clock | None = None) -> Center:
    map_entities()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    sim_engine = make_engine(settings.simulator_database_url)
    sim_store = SimulatorStore(sim_engine)
    telco = SimulatedTelco(sim_store, clock)
    banks = SimulatedInterbank(sim_store, clock)
    providers = Providers(
        telco=telco,
        sms=telco,
        accounts=banks,
        id_registry=SimulatedIdRegistry(sim_store),
        banking=banks,
        ars=SimulatedArs(sim_store, clock),
        cards=SimulatedCardDelivery(sim_store, clock),
        identity=telco,
        departures=SimulatedDepartures(sim_store),
    )
    return Center(
        settings=settings,
        clock=clock,
        engine=engine,
        sim_engine=sim_engine,
        uow_factory=SqlUnitOfWorkFactory(make_session_factory(engine)),
        sim_store=sim_store,
        keys=load_key_backend(settings),
        providers=providers,
    )


@dataclass(frozen=True)
class InitReport:
    created_passphrase: bool
    seeded_world: bool
    hierarchy: CaHierarchy


def ensure_passphrase(settings: Settings) -> bool:
    """In the demo, make a random key-store passphrase file if none is configured."""
    if settings.passphrase() is not None:
        return False
    if settings.environment != "demo":
        raise CertCenterError("KEY_PASSPHRASE_MISSING")
    path = settings.demo_passphrase_file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    log.warning("demo: generated a key-store passphrase in %s", path)
    return True


def initialise(settings: Settings, clock: Clock | None = None) -> InitReport:
    """Idempotent set-up: directories, schemas, keys and CA hierarchy, the demo world."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)  # the center's files are the center's alone
    created = ensure_passphrase(settings)
    center = build_center(settings, clock)
    try:
        migrate.upgrade(center.engine)
        migrate.upgrade(center.sim_engine, simulators=True)
        for label in (PEPPER_LABEL, SEAL_LABEL, CARD_DIGEST_LABEL, WEB_SESSION_LABEL):
            center.keys.ensure_secret(label)
        hierarchy = ensure_hierarchy(center.keys, settings, center.clock)
        seeded = False
        if settings.sims_enabled:
            seeded = seed_world(
                load_world(settings.world_file),
                center.sim_store,
                center.uow_factory,
                center.clock,
                seed_existing_device=lambda customer, device: _seed_device(
                    center, customer, device
                ),
            )
        return InitReport(created_passphrase=created, seeded_world=seeded, hierarchy=hierarchy)
    finally:
        center.close()


def _seed_device(center: Center, customer: Customer, facts: dict[str, Any]) -> None:
    """A demo customer who already holds a certificate on another phone: issue it for real
    (no audit entry, no notice: the world is being made, nobody acts)."""
    key = ec.generate_private_key(ec.SECP256R1())  # the old phone's key; it stays on that phone
    seeding = Issuance(
        uow_factory=center.uow_factory,
        issuer=center.issuer,
        audit=center.audit_trail,
        notifier=center.outbox,
        publisher=center.status,
        clock=center.clock,
    )
    seeding.issue(
        IssueRequest(
            profile=FAMILY,
            public_key=key.public_key(),
            customer_id=customer.id,
            actor=None,
            device_id=str(facts["id"]),
        ),
        _SeededPhone(facts),
    )


class _SeededPhone(IssueHooks):
    """The phone that holds a seeded certificate, registered with it."""

    def __init__(self, facts: dict[str, Any]) -> None:
        self.facts = facts

    def on_activate(
        self,
        uow: UnitOfWork,
        customer: Customer,
        record: CertificateRecord,
        retired: Sequence[CertificateRecord],
    ) -> None:
        uow.devices.add(
            Device(
                id=new_id(),
                device_id=str(self.facts["id"]),
                customer_id=customer.id,
                platform=str(self.facts["platform"]),
                model=str(self.facts["model"]),
                app_version=str(self.facts["app_version"]),
                registered_at=record.issued_at or record.created_at,
            )
        )


def is_initialised(settings: Settings) -> bool:
    try:
        load_hierarchy(settings)
    except CertCenterError:
        return False
    return True
