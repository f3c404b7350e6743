"""The composition root: builds the center from settings, for the API, the CLI and tests.

    settings = load_settings()
    initialise(settings)            # directories, migrations, CA, demo world (idempotent)
    center = build_center(settings)
    center.mobile_enrollment.start(...)

This is the one module that knows every part (storage, simulators, key backend, services);
the domain packages know none of it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from certcenter.audit import (
    CHECKPOINT_KEY_LABEL,
    AuditCheckpoints,
    AuditTrail,
    FileCheckpointLog,
    ensure_checkpoint_key,
)
from certcenter.audit.ceremony import KeyCeremonies
from certcenter.authn.device_auth import DeviceAuthenticator
from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.authn.held_media import HeldMedia
from certcenter.authn.operators import OperatorDirectory
from certcenter.banking import InternetBankingJoin, UserIdFinder
from certcenter.clock import Clock, SystemClock
from certcenter.cmp import (
    CmpResponderKey,
    CmpServer,
    CmpTransactions,
    ConfirmationTimeout,
    RecordedCertificates,
)
from certcenter.config import KEY_PURPOSES, OTHER_CA_DIR_NAME, Settings, is_installed
from certcenter.custody import KekRotation, KeyMigration, PepperRotation
from certcenter.diagnosis import Diagnosis
from certcenter.enrollment.service import FAMILY, EnrollmentService
from certcenter.entities import CertificateRecord, Customer, Device, new_id
from certcenter.errors import CertCenterError
from certcenter.financial import (
    CloudCertificates,
    FinancialDevices,
    FinancialLogin,
    FinancialPinGuard,
    FinancialPinReset,
    RemoteSigner,
)
from certcenter.financial.cloud import close_cloud_account
from certcenter.financial.issuance import FinancialIssuance
from certcenter.financial.media import AdditionalMedia
from certcenter.financial.pin_change import FinancialPinChange
from certcenter.identity.providers import Providers
from certcenter.issuance import Issuance, IssueHooks, IssueRequest
from certcenter.joint import FeeDesk, JointAuthority, JointLogin, JointRegistrations
from certcenter.joint.other import OtherCaTrust, OtherJointCertificates
from certcenter.keys import KeyBackend, KeyBackends, load_key_backend, load_key_backends
from certcenter.keys.backend import CaKeys
from certcenter.keys.generations import CUSTOMER_KEK, PEPPER, GenerationalPepper, KeyGenerations
from certcenter.lifecycle.customer_actions import CustomerActions
from certcenter.lifecycle.jobs import JobRunner
from certcenter.lifecycle.key_ceremonies import CaCeremonies
from certcenter.lifecycle.lost import LostPhoneReports
from certcenter.lifecycle.operator_desk import OperatorDesk
from certcenter.lifecycle.service import LifecycleService
from certcenter.media.otp import OtpService
from certcenter.media.security_card import SecurityCardService
from certcenter.notifications.channels import SmsChannel, channels_from_settings
from certcenter.notifications.outbox import Outbox
from certcenter.notifications.sender import OutboxSender
from certcenter.oidc.keys import SigningKeyRing
from certcenter.oidc.provider import OidcProvider
from certcenter.pki.hierarchy import (
    FAMILIES,
    FINANCIAL,
    JOINT,
    CaHierarchy,
    StoredHierarchy,
    ensure_hierarchy,
)
from certcenter.pki.issuer import Issuer
from certcenter.pki.pem import certificate_pem
from certcenter.pki.profiles import require_production_identity
from certcenter.ports import UnitOfWork
from certcenter.readiness import (
    Check,
    KeyProbe,
    Readiness,
    all_of,
    audit_check,
    key_backends_check,
    key_check,
    label_check,
    secret_check,
    storage_check,
)
from certcenter.relay import CertificateCopies
from certcenter.revocation import RevocationStatus
from certcenter.simulators.ars import SimulatedArs
from certcenter.simulators.bank import SimulatedInterbank
from certcenter.simulators.cards import SimulatedCardDelivery
from certcenter.simulators.departures import SimulatedDepartures
from certcenter.simulators.id_registry import SimulatedIdRegistry
from certcenter.simulators.other_ca import ensure_other_ca
from certcenter.simulators.relying_party import ensure_demo_site
from certcenter.simulators.telco import SimulatedTelco
from certcenter.simulators.world import load_world, seed_world
from certcenter.storage import migrate
from certcenter.storage.database import PoolOptions, make_engine, make_session_factory
from certcenter.storage.mapping import map_entities
from certcenter.storage.simulator_store import SimulatorStore
from certcenter.storage.uow import SqlUnitOfWorkFactory
from certcenter.tsa import TimeStampAuthority, TsaKey
from certcenter.usage.approvals import ApprovalService
from certcenter.usage.documents import DocumentSigning
from certcenter.usage.login import LoginService
from certcenter.usage.overseas_access import OverseasAccess
from certcenter.usage.reconciliation import TransferReconciliation
from certcenter.usage.sessions import SessionService
from certcenter.usage.transfers import TransferService

log = logging.getLogger(__name__)
PEPPER_LABEL = PEPPER.first_label  # generation 1; rotated: pepper.2, … (keys.generations)
SEAL_LABEL = "data-seal"  # seals OTP secrets stored in the database
CARD_DIGEST_LABEL = "security-card"  # keys the digests of security card slots
WEB_SESSION_LABEL = "web-session"  # signs the web center's session cookie


@dataclass(frozen=True)
class Center:
    """Everything a running center needs, built once per process by :func:`build_center`.

    The fields are listed in the order they are built: each service is made from what stands
    above it, so nothing is constructed late and no service reaches back up.
    """

    # what the center runs on
    settings: Settings
    clock: Clock
    engine: Engine
    sim_engine: Engine
    uow_factory: SqlUnitOfWorkFactory
    sim_store: SimulatorStore
    keys: KeyBackend  # the default backend (key_backend): every purpose not put elsewhere
    key_backends: KeyBackends  # the backend of each purpose
    providers: Providers
    # foundations: secrets, the CA, the audit trail, notifications, certificate status
    hasher: SecretHasher
    hierarchy: StoredHierarchy
    issuer: Issuer
    audit_checkpoints: AuditCheckpoints
    audit_trail: AuditTrail
    ceremonies: KeyCeremonies  # signed records of key ceremonies, in the trail
    ca_ceremonies: CaCeremonies  # the CA's key ceremonies (the root key opened only there)
    pepper_generations: KeyGenerations  # which pepper new hashes are made under
    kek_generations: KeyGenerations  # which key-encryption key new cloud keys are wrapped under
    pepper_rotation: PepperRotation
    kek_rotation: KekRotation
    key_migration: KeyMigration  # software -> PKCS#11 (certcenter keys migrate)
    sender: OutboxSender
    outbox: Outbox
    revocation: RevocationStatus
    tsa: TimeStampAuthority
    issuance: Issuance
    # authentication and sessions
    factor_guard: FactorGuard
    authenticator: DeviceAuthenticator
    sessions: SessionService
    operators: OperatorDirectory
    # the certificates' lifecycle
    lifecycle: LifecycleService
    customer_actions: CustomerActions
    overseas_access: OverseasAccess
    lost_reports: LostPhoneReports
    certificate_copies: CertificateCopies
    operator_desk: OperatorDesk
    # security media and approvals in the app
    otp: OtpService
    security_cards: SecurityCardService
    approvals: ApprovalService
    # the mobile certificate (국민인증서): issuance, login, document signing
    mobile_enrollment: EnrollmentService
    login: LoginService
    documents: DocumentSigning
    # the financial certificate (금융인증서)
    financial_pin_guard: FinancialPinGuard
    financial_devices: FinancialDevices
    cloud_certificates: CloudCertificates
    remote_signer: RemoteSigner
    financial_login: FinancialLogin
    financial_pin: FinancialPinReset
    financial_pin_change: FinancialPinChange
    # internet banking (인터넷뱅킹): joining online, finding the user ID
    banking_join: InternetBankingJoin
    user_id_finder: UserIdFinder
    financial_issuance: FinancialIssuance
    # the joint certificate (공동인증서): registration (RA) and the CA side of CMP
    joint_fees: FeeDesk
    joint_authority: JointAuthority
    joint_registrations: JointRegistrations
    joint_login: JointLogin
    other_joint: OtherJointCertificates
    # what uses both certificates
    transfers: TransferService
    transfer_reconciliation: TransferReconciliation
    diagnosis: Diagnosis
    # the joint certificate's CMP server (공동인증서 발급 프로토콜) and its confirmation timeout
    cmp: CmpServer
    cmp_timeout: ConfirmationTimeout
    jobs: JobRunner
    # operations: is the center ready to take a change (/readyz)
    readiness: Readiness
    # the OpenID provider: other sites log their visitors in with the certificates here
    oidc: OidcProvider

    def chain_pem(self, family: str = FAMILY) -> list[str]:
        return [certificate_pem(c) for c in self.hierarchy.chain(family)]

    def reconfigured(self, settings: Settings) -> Center:
        """The same databases, keys and providers with other settings (a test's policy)."""
        return compose(
            settings,
            self.clock,
            engine=self.engine,
            sim_engine=self.sim_engine,
            sim_store=self.sim_store,
            keys=self.key_backends,
            providers=self.providers,
        )

    def close(self) -> None:
        self.revocation.ocsp.close()  # its background reads use the engine
        self.engine.dispose()
        self.sim_engine.dispose()


def pool_options(settings: Settings) -> PoolOptions:
    """Each process's PostgreSQL connection pool, from the ``database_pool_*`` settings."""
    return PoolOptions(
        size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        timeout=settings.database_pool_timeout_seconds,
        recycle=settings.database_pool_recycle_seconds,
        pre_ping=settings.database_pool_pre_ping,
    )


def build_center(settings: Settings, clock: Clock | None = None) -> Center:
    """Connect to the databases, open the key backend, start the simulators, and compose."""
    map_entities()
    clock = clock or SystemClock()
    pool = pool_options(settings)
    engine = make_engine(settings.database_url, pool=pool)
    sim_engine = make_engine(settings.simulator_database_url, pool=pool)
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
    return compose(
        settings,
        clock,
        engine=engine,
        sim_engine=sim_engine,
        sim_store=sim_store,
        keys=load_key_backends(settings),
        providers=providers,
    )


def compose(
    settings: Settings,
    clock: Clock,
    *,
    engine: Engine,
    sim_engine: Engine,
    sim_store: SimulatorStore,
    keys: KeyBackends,
    providers: Providers,
) -> Center:
    """Build every service, top to bottom: each from what is built before it."""
    policy = settings.policy
    uow_factory = SqlUnitOfWorkFactory(make_session_factory(engine))
    # generation 1 of the pepper: the keyed lookup digests stay under it for good
    pepper = partial(keys.secrets.mac, PEPPER_LABEL)
    pepper_generations = KeyGenerations(uow_factory, PEPPER, clock)
    kek_generations = KeyGenerations(uow_factory, CUSTOMER_KEK, clock)

    # foundations
    hasher = SecretHasher.from_policy(GenerationalPepper(pepper_generations, keys.secrets), policy)
    hierarchy = StoredHierarchy(settings)  # read when first used: init may not have run yet
    issuer = Issuer(keys.ca, hierarchy, settings, clock)
    checkpoint_log = FileCheckpointLog(settings.audit_checkpoint_path)
    audit_checkpoints = AuditCheckpoints(
        uow_factory,
        keys.ocsp,
        clock,
        publishers=[checkpoint_log],
        published=checkpoint_log,
        every=policy.audit_checkpoint_every,
        gap=timedelta(seconds=policy.audit_seal_gap_seconds),
    )
    audit_trail = AuditTrail(clock)
    ceremonies = KeyCeremonies(uow_factory, audit_trail, keys.ocsp, clock)
    ca_ceremonies = CaCeremonies(
        uow_factory=uow_factory,
        ca_keys=keys.ca,
        responder_keys=keys.ocsp,
        root_keys=partial(open_root_keys, settings, keys.ca),
        records=ceremonies,
        settings=settings,
        clock=clock,
    )
    pepper_rotation = PepperRotation(
        uow_factory, keys.secrets, pepper_generations, ceremonies, clock
    )
    kek_rotation = KekRotation(uow_factory, keys.customer, kek_generations, ceremonies, clock)
    key_migration = KeyMigration(
        uow_factory,
        keys,
        pepper_generations,
        kek_generations,
        ceremonies,
        clock,
        secret_labels=(SEAL_LABEL, CARD_DIGEST_LABEL, WEB_SESSION_LABEL),
    )
    channels = channels_from_settings(settings, providers.sms)
    sender = OutboxSender(uow_factory, channels, clock, policy)
    # a request writes its messages with its change and only wakes the sender after the
    # commit; the server's sender thread sends them (a command drains the sender itself)
    outbox = Outbox(settings, clock, wake=sender.wake)
    revocation = RevocationStatus(
        uow_factory=uow_factory,
        backend=keys.ca,
        ocsp_backend=keys.ocsp,
        hierarchy=hierarchy,
        settings=settings,
        clock=clock,
        change_feed=uow_factory,
    )
    # the time-stamping authority (RFC 3161): /tsa, and a token in every piece of evidence
    tsa = TimeStampAuthority(
        TsaKey(
            keys.ocsp,
            settings,
            clock,
            issuer=partial(hierarchy.issuing, FAMILY),
            chain=partial(hierarchy.chain, FAMILY),
            ca_backend=keys.ca,
        ),
        settings,
        clock,
    )
    issuance = Issuance(
        uow_factory=uow_factory,
        issuer=issuer,
        audit=audit_trail,
        notifier=outbox,
        publisher=revocation,
        clock=clock,
    )

    # authentication and sessions
    factor_guard = FactorGuard(policy, clock)
    authenticator = DeviceAuthenticator(hasher, clock, policy, factor_guard)
    sessions = SessionService(uow_factory, clock, policy)
    operators = OperatorDirectory(uow_factory, clock)

    # the certificates' lifecycle
    lifecycle = LifecycleService(
        uow_factory=uow_factory,
        issuance=issuance,
        audit=audit_trail,
        notifier=outbox,
        publisher=revocation,
        settings=settings,
        clock=clock,
        # a revoked financial certificate closes its cloud account and key in its transaction
        on_revoke={FINANCIAL: partial(close_cloud_account, keys.customer)},
    )
    customer_actions = CustomerActions(uow_factory, authenticator, lifecycle)
    overseas_access = OverseasAccess(
        uow_factory=uow_factory,
        authenticator=authenticator,
        audit=audit_trail,
        notifier=outbox,
        settings=settings,
        clock=clock,
    )
    operator_desk = OperatorDesk(
        uow_factory,
        audit_trail,
        clock,
        verifier=audit_checkpoints,
        crls=revocation,
        crl_shards=policy.crl_shards,
    )

    # security media and approvals in the app
    otp = OtpService(
        uow_factory,
        keys.secrets,
        SEAL_LABEL,
        hasher,
        providers,
        factor_guard,
        clock,
        policy,
        audit_trail,
    )
    security_cards = SecurityCardService(
        uow_factory,
        keys.secrets,
        CARD_DIGEST_LABEL,
        providers,
        factor_guard,
        clock,
        policy,
        audit_trail,
        hasher,
    )
    lost_reports = LostPhoneReports(
        uow_factory=uow_factory,
        telco=providers.telco,
        media=HeldMedia(providers, otp=otp, cards=security_cards),
        guard=factor_guard,
        hasher=hasher,
        digest=pepper,
        lifecycle=lifecycle,
        audit=audit_trail,
        # codes go straight out: the SMS always, the e-mail where the bank has configured it
        code_channels={
            "sms": SmsChannel(providers.sms, policy.sms_sender_number),
            **{name: channel for name, channel in channels.items() if name == "email"},
        },
        settings=settings,
        clock=clock,
    )
    # 인증서 복사: the relay of a joint certificate's sealed files between two devices
    certificate_copies = CertificateCopies(uow_factory, audit_trail, policy, clock)
    approvals = ApprovalService(
        uow_factory=uow_factory,
        digest=pepper,
        sessions=sessions,
        audit=audit_trail,
        clock=clock,
        policy=policy,
    )

    # the mobile certificate
    mobile_enrollment = EnrollmentService(
        uow_factory=uow_factory,
        providers=providers,
        issuance=issuance,
        hasher=hasher,
        settings=settings,
        clock=clock,
        audit=audit_trail,
        publisher=revocation,
    )
    login = LoginService(
        uow_factory=uow_factory,
        authenticator=authenticator,
        guard=factor_guard,
        hasher=hasher,
        sessions=sessions,
        hierarchy=hierarchy,
        audit=audit_trail,
        clock=clock,
        policy=policy,
    )
    documents = DocumentSigning(
        uow_factory=uow_factory,
        guard=factor_guard,
        hasher=hasher,
        hierarchy=hierarchy,
        audit=audit_trail,
        clock=clock,
        timestamps=tsa,
    )

    # the financial certificate
    financial_pin_guard = FinancialPinGuard(policy, clock)
    financial_media = AdditionalMedia(
        providers=providers, approvals=approvals, otp=otp, cards=security_cards, clock=clock
    )
    financial_devices = FinancialDevices(
        uow_factory=uow_factory,
        hasher=hasher,
        providers=providers,
        media=financial_media,
        guard=factor_guard,
        audit=audit_trail,
        notifier=outbox,
        settings=settings,
        clock=clock,
    )
    cloud_certificates = CloudCertificates(
        uow_factory=uow_factory,
        keys=keys.customer,
        issuance=issuance,
        hasher=hasher,
        guard=financial_pin_guard,
        devices=financial_devices,
        audit=audit_trail,
        notifier=outbox,
        publisher=revocation,
        settings=settings,
        clock=clock,
        wrapping_label=kek_generations.current_label,
    )
    remote_signer = RemoteSigner(
        uow_factory=uow_factory,
        keys=keys.customer,
        hasher=hasher,
        guard=financial_pin_guard,
        hierarchy=hierarchy,
        audit=audit_trail,
        clock=clock,
        policy=policy,
    )
    financial_login = FinancialLogin(
        uow_factory=uow_factory,
        signer=remote_signer,
        cloud=cloud_certificates,
        sessions=sessions,
        audit=audit_trail,
        clock=clock,
    )
    financial_pin = FinancialPinReset(
        uow_factory=uow_factory,
        hasher=hasher,
        providers=providers,
        media=financial_media,
        factors=factor_guard,
        guard=financial_pin_guard,
        audit=audit_trail,
        notifier=outbox,
        settings=settings,
        clock=clock,
    )
    financial_pin_change = FinancialPinChange(
        uow_factory=uow_factory,
        signer=remote_signer,
        hasher=hasher,
        guard=financial_pin_guard,
        audit=audit_trail,
        notifier=outbox,
        settings=settings,
        clock=clock,
    )
    banking_join = InternetBankingJoin(
        uow_factory=uow_factory,
        hasher=hasher,
        providers=providers,
        media=financial_media,
        guard=factor_guard,
        audit=audit_trail,
        notifier=outbox,
        settings=settings,
        clock=clock,
    )
    user_id_finder = UserIdFinder(
        uow_factory=uow_factory,
        hasher=hasher,
        providers=providers,
        media=financial_media,
        guard=factor_guard,
        audit=audit_trail,
        settings=settings,
        clock=clock,
    )
    financial_issuance = FinancialIssuance(
        uow_factory=uow_factory,
        providers=providers,
        maker=cloud_certificates,
        approvals=approvals,
        otp=otp,
        cards=security_cards,
        guard=factor_guard,
        hasher=hasher,
        audit=audit_trail,
        settings=settings,
        clock=clock,
    )

    # the joint certificate (공동인증서)
    joint_fees = FeeDesk(
        uow_factory=uow_factory,
        banking=providers.banking,
        accounts=providers.accounts,
        audit=audit_trail,
        settings=settings,
        clock=clock,
    )
    joint_authority = JointAuthority(
        uow_factory=uow_factory,
        issuance=issuance,
        lifecycle=lifecycle,
        keys=keys.secrets,
        seal_label=SEAL_LABEL,
        audit=audit_trail,
        settings=settings,
        clock=clock,
        fees=joint_fees,
    )
    joint_registrations = JointRegistrations(
        uow_factory=uow_factory,
        providers=providers,
        approvals=approvals,
        otp=otp,
        cards=security_cards,
        guard=factor_guard,
        hasher=hasher,
        keys=keys.secrets,
        seal_label=SEAL_LABEL,
        fees=joint_fees,
        audit=audit_trail,
        settings=settings,
        clock=clock,
    )

    # 타기관 인증서: joint certificates of other institutions' CAs, registered to customers
    other_joint = OtherJointCertificates(
        uow_factory=uow_factory,
        authenticator=authenticator,
        trust=OtherCaTrust(
            settings.joint_other_ca_files or [], settings.joint_other_crl_files or []
        ),
        identity=providers.identity,
        notifier=outbox,
        audit=audit_trail,
        clock=clock,
        policy=policy,
        bank_name=settings.bank_name,
    )
    joint_login = JointLogin(
        uow_factory=uow_factory,
        authenticator=authenticator,
        sessions=sessions,
        hierarchy=hierarchy,
        audit=audit_trail,
        clock=clock,
        policy=policy,
        other=other_joint,
    )

    # what uses the certificates
    transfers = TransferService(
        uow_factory=uow_factory,
        providers=providers,
        guard=factor_guard,
        hasher=hasher,
        otp=otp,
        cards=security_cards,
        hierarchy=hierarchy,
        audit=audit_trail,
        notifier=outbox,
        clock=clock,
        policy=policy,
        center_signer=remote_signer,
        timestamps=tsa,
    )
    transfer_reconciliation = TransferReconciliation(
        transfers=transfers,
        banking=providers.banking,
        uow_factory=uow_factory,
        audit=audit_trail,
        clock=clock,
        policy=policy,
    )
    diagnosis = Diagnosis(
        uow_factory=uow_factory,
        providers=providers,
        guard=factor_guard,
        policy=policy,
        clock=clock,
        audit=audit_trail,
        hasher=hasher,
    )
    # the joint certificate's CMP server: the protocol here, the decisions the authority's
    cmp_transactions = CmpTransactions(uow_factory, keys.secrets, SEAL_LABEL, clock)
    cmp = CmpServer(
        authority=joint_authority,
        transactions=cmp_transactions,
        issued=RecordedCertificates(uow_factory, families=(JOINT,)),
        responder=CmpResponderKey(
            keys.ca,
            settings,
            clock,
            issuer=partial(hierarchy.issuing, JOINT),
            chain=partial(hierarchy.chain, JOINT),
        ),
        policy=policy,
        clock=clock,
    )
    cmp_timeout = ConfirmationTimeout(cmp_transactions, joint_authority)

    jobs = JobRunner(
        lifecycle,
        revocation,
        uow_factory,
        settings,
        clock,
        financial=cloud_certificates,
        audit=audit_checkpoints,
        cmp=cmp_timeout,
        joint=joint_fees,
        copies=certificate_copies,
        transfers=transfer_reconciliation,
    )
    readiness = Readiness(
        {
            "storage": storage_check(uow_factory, clock),
            "audit": audit_check(uow_factory, audit_checkpoints),
            "keys": key_backends_check(key_probes(keys)),
            "ca": hierarchy,
        }
    )

    # the OpenID provider: ID tokens signed in the online signing keys' backend
    oidc = OidcProvider(
        uow_factory=uow_factory,
        keys=SigningKeyRing(uow_factory, keys.ocsp, clock),
        digest=pepper,
        approvals=approvals,
        audit=audit_trail,
        clock=clock,
        issuer=settings.public_base_url,
    )

    return Center(
        settings=settings,
        clock=clock,
        engine=engine,
        sim_engine=sim_engine,
        uow_factory=uow_factory,
        sim_store=sim_store,
        keys=keys.default,
        key_backends=keys,
        providers=providers,
        hasher=hasher,
        hierarchy=hierarchy,
        issuer=issuer,
        audit_checkpoints=audit_checkpoints,
        audit_trail=audit_trail,
        ceremonies=ceremonies,
        ca_ceremonies=ca_ceremonies,
        pepper_generations=pepper_generations,
        kek_generations=kek_generations,
        pepper_rotation=pepper_rotation,
        kek_rotation=kek_rotation,
        key_migration=key_migration,
        sender=sender,
        outbox=outbox,
        revocation=revocation,
        tsa=tsa,
        issuance=issuance,
        factor_guard=factor_guard,
        authenticator=authenticator,
        sessions=sessions,
        operators=operators,
        lifecycle=lifecycle,
        customer_actions=customer_actions,
        overseas_access=overseas_access,
        lost_reports=lost_reports,
        certificate_copies=certificate_copies,
        operator_desk=operator_desk,
        otp=otp,
        security_cards=security_cards,
        approvals=approvals,
        mobile_enrollment=mobile_enrollment,
        login=login,
        documents=documents,
        financial_pin_guard=financial_pin_guard,
        financial_devices=financial_devices,
        cloud_certificates=cloud_certificates,
        remote_signer=remote_signer,
        financial_login=financial_login,
        financial_pin=financial_pin,
        financial_pin_change=financial_pin_change,
        banking_join=banking_join,
        user_id_finder=user_id_finder,
        financial_issuance=financial_issuance,
        joint_fees=joint_fees,
        joint_authority=joint_authority,
        joint_registrations=joint_registrations,
        joint_login=joint_login,
        other_joint=other_joint,
        transfers=transfers,
        transfer_reconciliation=transfer_reconciliation,
        diagnosis=diagnosis,
        cmp=cmp,
        cmp_timeout=cmp_timeout,
        jobs=jobs,
        readiness=readiness,
        oidc=oidc,
    )


def key_probes(keys: KeyBackends) -> list[KeyProbe]:
    """The readiness probe of each key backend a purpose uses, with those purposes; for each
    purpose it serves, a cheap call that reaches its store: the OCSP purpose's signs with the
    audit checkpoint key (and the signature is verified), the secrets' computes an HMAC with
    the pepper, the CA keys' finds the mobile issuing CA's key, the customer keys' looks the
    key-encryption key up (a secret: no key pair to find, only the store to reach)."""
    probes: list[KeyProbe] = []
    for backend in keys.in_use():
        purposes = tuple(p for p in KEY_PURPOSES if getattr(keys, p) is backend)
        checks = [_purpose_probe(backend, purpose) for purpose in purposes]
        probes.append(KeyProbe(purposes, all_of(checks)))
    return probes


def _purpose_probe(backend: KeyBackend, purpose: str) -> Check:
    if purpose == "ocsp":
        return key_check(backend, CHECKPOINT_KEY_LABEL)
    if purpose == "secrets":
        return secret_check(backend, PEPPER_LABEL)
    if purpose == "ca":
        # an issuing CA's key: the root's may be kept apart, on a token present only in a
        # ceremony (key_backend_root)
        return label_check(backend, FAMILIES[0].key_label)
    # the first key-encryption key: not required (a rotation may have retired it), the call
    # only has to reach the store
    return label_check(backend, CUSTOMER_KEK.first_label, required=False)


@dataclass(frozen=True)
class InitReport:
    created_passphrase: bool
    seeded_world: bool
    hierarchy: CaHierarchy


def ensure_passphrase(settings: Settings) -> bool:
    """In the demo, make a random key-store passphrase file if none is configured (only the
    software backend uses one)."""
    if settings.passphrase() is not None or "software" not in settings.key_backend_names():
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


def open_root_keys(settings: Settings, ca_keys: CaKeys) -> CaKeys:
    """The root key's backend: ``ca_keys``, unless the root is kept apart (an offline root:
    ``key_backend_root``, ``root_key_dir``, ``root_pkcs11_token_label``); then that backend,
    opened now (nothing is read from it until it is asked)."""
    if not settings.root_key_apart:
        return ca_keys
    return load_key_backend(settings.root_key_settings())


def prepare(settings: Settings, clock: Clock | None = None) -> bool:
    """Idempotent set-up of everything but the CA hierarchy and the demo world: directories,
    schemas, secrets, the audit checkpoint key (what a key ceremony needs to keep its
    record). True when a demo passphrase file was made."""
    created = _prepare_directories(settings)
    center = build_center(settings, clock)
    try:
        _prepare_center(center)
    finally:
        center.close()
    return created


def initialise(settings: Settings, clock: Clock | None = None) -> InitReport:
    """Idempotent set-up: directories, schemas, keys and CA hierarchy, the demo world. With
    the root kept apart, the root is made only by the ``init-root`` key ceremony
    (``ROOT_CEREMONY_NEEDED`` until then); once the hierarchy is there, the root key is not
    needed."""
    created = _prepare_directories(settings)
    center = build_center(settings, clock)
    try:
        keys = center.key_backends
        _prepare_center(center)
        if settings.root_key_apart and not is_installed(settings):
            raise CertCenterError("ROOT_CEREMONY_NEEDED")
        hierarchy = ensure_hierarchy(
            keys.ca,
            settings,
            center.clock,
            responder_keys=keys.ocsp,
            root_keys=open_root_keys(settings, keys.ca),
        )
        keys.verify_passphrase()  # a wrong passphrase, PIN or module: refused first
        migrate.upgrade(center.engine)
        migrate.upgrade(center.sim_engine, simulators=True)
        for label in (PEPPER_LABEL, SEAL_LABEL, CARD_DIGEST_LABEL, WEB_SESSION_LABEL):
            keys.secrets.ensure_secret(label)
        # the current generation (customer-kek until a rotation: custody.kek)
        keys.customer.ensure_wrapping_key(center.kek_generations.current_label())
        hierarchy = ensure_hierarchy(keys.ca, settings, center.clock, responder_keys=keys.ocsp)
        ensure_checkpoint_key(keys.ocsp)
        seeded = False
        if settings.sims_enabled:
            seeded = seed_world(
                load_world(settings.world_file),
                center.sim_store,
                center.uow_factory,
                center.clock,
                seed_existing_device=partial(_seed_device, center),
            )
            # 타기관 (데모): the simulated other institution's CA and its demo certificate
            ensure_other_ca(settings.data_dir / OTHER_CA_DIR_NAME, center.clock)
            # 정부24 (데모): the demo world's site that logs in through the OpenID provider
            ensure_demo_site(center.oidc.clients, settings.public_base_url)
        return InitReport(created_passphrase=created, seeded_world=seeded, hierarchy=hierarchy)
    finally:
        center.close()


def _prepare_directories(settings: Settings) -> bool:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)  # the center's files are the center's alone
    created = ensure_passphrase(settings)
    require_production_identity(settings)  # before any CA certificate is made or used
    return created


def _prepare_center(center: Center) -> None:
    keys = center.key_backends
    keys.verify_passphrase()  # a wrong passphrase, PIN or module: refused first
    migrate.upgrade(center.engine)
    migrate.upgrade(center.sim_engine, simulators=True)
    for label in (PEPPER_LABEL, SEAL_LABEL, CARD_DIGEST_LABEL, WEB_SESSION_LABEL):
        keys.secrets.ensure_secret(label)
    keys.customer.ensure_wrapping_key(center.kek_generations.current_label())
    ensure_checkpoint_key(keys.ocsp)
    center.oidc.keys.ensure()  # the ID tokens' signing key (ES256)


def _seed_device(center: Center, customer: Customer, facts: dict[str, Any]) -> None:
    """A demo customer who already holds a certificate on another phone: issue it for real
    (no audit entry, no notice: the world is being made, nobody acts)."""
    key = ec.generate_private_key(ec.SECP256R1())  # the old phone's key; it stays on that phone
    seeding = Issuance(
        uow_factory=center.uow_factory,
        issuer=center.issuer,
        audit=center.audit_trail,
        notifier=center.outbox,
        publisher=center.revocation,
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
