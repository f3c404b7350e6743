"""Login with the financial certificate (금융인증서 로그인): the device proof and the PIN, then
a signature by the cloud key over a server-made login statement, then a session.

    login = FinancialLogin(...)
    request = login.begin(device_id)                 # the browser signs request.message
    result = login.login(request.activation_id, device_signature, pin, source_ip=ip)
    result.token                                     # the session (method "financial")
    proof = login.authenticate(request.activation_id, device_signature, pin)  # no session

:meth:`FinancialLogin.authenticate` is the check alone — the device's signature, the PIN
(counted by the same lockout), the cloud key's signature over the login statement, the
certificate active — for a login that keeps no session here (the OpenID provider's
``/oidc/authorize``); :meth:`FinancialLogin.login` is that check, then the renewal and the
web center's session.

The browser must be registered (name, phone, birth date and SMS code the first time, see
:mod:`certcenter.financial.devices`). The session names the browser device and the
certificate, so transfers prepared in it are signed by the remote signer. A certificate in
its last month is renewed at login, and the session carries the new one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from certcenter.audit.trail import AuditTrail
from certcenter.clock import Clock
from certcenter.entities import Actor, Customer
from certcenter.errors import CertCenterError
from certcenter.financial.cloud import CloudCertificates
from certcenter.financial.signing import ActivationRequest, RemoteSigner
from certcenter.ports import UnitOfWorkFactory
from certcenter.usage.login import FINANCIAL_METHOD
from certcenter.usage.sessions import OpenedSession, SessionService

__all__ = ["FinancialLogin", "FinancialLoginResult", "FinancialProof", "login_statement"]

PURPOSE = "login"


def login_statement(device_id: str, nonce: str) -> bytes:
    """What the cloud key signs at login: the device and a fresh nonce, nothing else."""
    return (
        "certcenter 금융인증서 로그인 / financial certificate login v1\n"
        f"device: {device_id}\n"
        f"nonce: {nonce}\n"
    ).encode()


@dataclass(frozen=True)
class FinancialProof:
    """The financial certificate proven just now: the registered browser's key signed the
    activation, the PIN was right, the cloud key signed the login statement."""

    customer: Customer
    certificate_serial: str
    device_id: str
    at: datetime  # when the cloud key signed


@dataclass(frozen=True)
class FinancialLoginResult:
    opened: OpenedSession
    customer: Customer
    certificate_serial: str
    device_id: str
    renewed: bool  # the certificate was renewed at this login

    @property
    def token(self) -> str:
        return self.opened.token


class FinancialLogin:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        signer: RemoteSigner,
        cloud: CloudCertificates,
        sessions: SessionService,
        audit: AuditTrail,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.signer = signer
        self.cloud = cloud
        self.sessions = sessions
        self.audit = audit
        self.clock = clock

    def begin(self, device_id: str) -> ActivationRequest:
        """A login activation for the registered browser ``device_id``."""
        nonce = secrets.token_urlsafe(24)  # 32 characters: kept as the activation's subject
        return self.signer.begin(
            device_id, PURPOSE, login_statement(device_id, nonce), subject=nonce
        )

    def authenticate(
        self,
        activation_id: str,
        device_signature: str,
        pin: str,
        *,
        source_ip: str | None = None,
    ) -> FinancialProof:
        """The device's signature and the PIN (a wrong one counted, as at every use of the
        cloud key), then the cloud key's signature over the login statement; the certificate
        must be active at each step. Opens no session."""
        grant = self.signer.authorize(activation_id, device_signature, pin, source_ip=source_ip)
        with self.uow_factory() as uow:
            activation = uow.activations.get(grant.activation_id)
        if activation is None or activation.purpose != PURPOSE or activation.subject is None:
            raise CertCenterError("FINANCIAL_ACTIVATION_INVALID")
        signed = self.signer.sign(
            grant.token,
            login_statement(activation.device_id, activation.subject),
            purpose=PURPOSE,
            source_ip=source_ip,
        )
        with self.uow_factory(read_only=True) as uow:
            customer = uow.customers.get(signed.customer_id)
        if customer is None:
            raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
        return FinancialProof(
            customer=customer,
            certificate_serial=signed.certificate_serial,
            device_id=signed.device_id,
            at=self.clock.now(),
        )

    def login(
        self,
        activation_id: str,
        device_signature: str,
        pin: str,
        *,
        source_ip: str | None = None,
    ) -> FinancialLoginResult:
        proof = self.authenticate(activation_id, device_signature, pin, source_ip=source_ip)
        customer = proof.customer
        renewed = self.cloud.renew_if_due(customer.id)
        serial = renewed or proof.certificate_serial
        with self.uow_factory() as uow:
            opened = self.sessions.start(
                uow,
                customer_id=customer.id,
                device_id=proof.device_id,
                certificate_serial=serial,
                method=FINANCIAL_METHOD,
            )
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="login",
                subject_kind="certificate",
                subject=serial,
                source_ip=source_ip,
                details={"method": FINANCIAL_METHOD, "device": proof.device_id},
            )
            uow.commit()
        return FinancialLoginResult(
            opened=opened,
            customer=customer,
            certificate_serial=serial,
            device_id=proof.device_id,
            renewed=renewed is not None,
        )
