"""Remote signing with the financial certificate: one-time signature activations (서명 활성화).

The customer's key never leaves the center's key backend. To have it sign, the customer
proves possession of a registered device and knowledge of the PIN, for exactly the bytes to
be signed; the center then releases a one-time grant and signs those bytes, once:

    signer = RemoteSigner(...)
    request = signer.begin(device_id, "transfer", document, subject=transfer.id)
    # the device signs request.message with its WebCrypto key (activation_message)
    grant = signer.authorize(request.activation_id, device_signature, pin)
    signed = signer.sign(grant.token, document)          # RemoteSignature: DER ECDSA + cert
    signer.cms(signed, document)                         # CMS SignedData, content inside
    signer.signer(grant.token).sign(SigningRequest(document, ...))   # as a signing.Signer

The last form is how the services that sign for a customer (transfers, documents) see the
center: a :class:`~certcenter.signing.Signer` like the device's, whose ``stands_for_pin``
says the activation already counted the PIN.

Rules: an activation is bound to one device, one purpose and the SHA-256 of the data; it
expires after ``policy.financial_activation_ttl_seconds``; it is authorized once (a failed
authorization burns it); its grant signs once, only those bytes, only while the device is
still registered and the account and certificate active. The PIN is counted before it is
compared (``financial_pin``, locked at ``policy.financial_pin_max_failures``), and a wrong
device signature counts like a wrong PIN (which one failed is not told). Every use records
itself (the inactivity rule reads it).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.audit.trail import AuditTrail
from certcenter.authn.hashing import SecretHasher
from certcenter.certificates.records import require_active
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Actor, BrowserDevice, SigningActivation, new_id
from certcenter.errors import CertCenterError
from certcenter.financial.access import (
    FAMILY,
    FINANCIAL_PIN,
    PIN_PURPOSE,
    FinancialPinGuard,
    holding,
    new_token,
    token_digest,
)
from certcenter.financial.proof import activation_message, device_key, device_signature_valid
from certcenter.keys.backend import CustomerKeys
from certcenter.pki.cms import signed_attributes
from certcenter.pki.hierarchy import Hierarchy
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.signing.signer import Signature, SignedBy, SigningRequest

__all__ = [
    "PURPOSES",
    "ActivationRequest",
    "CloudKeySigner",
    "Grant",
    "RemoteSignature",
    "RemoteSigner",
]

log = logging.getLogger(__name__)
PURPOSES = ("login", "transfer", "document")
MAX_DATA = 64 * 1024


@dataclass(frozen=True)
class ActivationRequest:
    """What the device must answer: sign ``message`` (UTF-8 text) with its key."""

    activation_id: str
    challenge: str
    purpose: str
    data_sha256: str
    message: bytes
    expires_at: datetime


@dataclass(frozen=True)
class Grant:
    """The one-time signature activation, released after the device proof and the PIN."""

    activation_id: str
    token: str = field(repr=False)  # handed to the caller once; only its SHA-256 is stored
    expires_at: datetime


@dataclass(frozen=True)
class RemoteSignature:
    """A signature the center made with the customer's cloud key."""

    activation_id: str
    customer_id: str
    device_id: str
    purpose: str
    signature: bytes  # DER ECDSA-SHA256 over the signed attributes of the data
    certificate_serial: str
    certificate_der: bytes = field(repr=False)
    signing_time: datetime | None = None  # the signed attribute signingTime


def data_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RemoteSigner:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        keys: CustomerKeys,
        hasher: SecretHasher,
        guard: FinancialPinGuard,
        hierarchy: Hierarchy,
        audit: AuditTrail,
        clock: Clock,
        policy: Policy,
    ) -> None:
        self.uow_factory = uow_factory
        self.keys = keys
        self.hasher = hasher
        self.guard = guard
        self.hierarchy = hierarchy
        self.audit = audit
        self.clock = clock
        self.policy = policy

    # ------------------------------------------------------------------ 1. begin

    def begin(
        self,
        device_id: str,
        purpose: str,
        data: bytes,
        *,
        subject: str | None = None,
        customer_id: str | None = None,
    ) -> ActivationRequest:
        """A new activation of the device's customer's cloud key for exactly ``data``.
        ``customer_id``, when given, must be the device's owner (a session's customer)."""
        if purpose not in PURPOSES:
            raise CertCenterError("INVALID_REQUEST", detail=f"purpose: {', '.join(PURPOSES)}")
        if not isinstance(data, bytes) or not 0 < len(data) <= MAX_DATA:
            raise CertCenterError("INVALID_REQUEST", detail="data: 1 byte to 64 KiB")
        if subject is not None and len(subject) > 36:
            raise CertCenterError("INVALID_REQUEST", detail="subject: at most 36 characters")
        now = self.clock.now()
        with self.uow_factory() as uow:
            device = self._device(uow, device_id)
            if customer_id is not None and device.customer_id != customer_id:
                raise CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED")
            _, certificate = holding(uow, device.customer_id)
            require_active(certificate, now)
            activation = SigningActivation(
                id=new_id(),
                customer_id=device.customer_id,
                device_id=device.id,
                purpose=purpose,
                data_sha256=data_digest(data),
                challenge=new_token(),
                created_at=now,
                expires_at=now + timedelta(seconds=self.policy.financial_activation_ttl_seconds),
                subject=subject,
            )
            uow.activations.add(activation)
            uow.commit()
        return ActivationRequest(
            activation_id=activation.id,
            challenge=activation.challenge,
            purpose=purpose,
            data_sha256=activation.data_sha256,
            message=activation_message(activation),
            expires_at=activation.expires_at,
        )

    # ------------------------------------------------------------------ 2. authorize

    def authorize(
        self,
        activation_id: str,
        device_signature: str,
        pin: str,
        *,
        source_ip: str | None = None,
    ) -> Grant:
        """The device's signature over the activation message and the PIN; the one-time
        grant when both are right. Any failure burns the activation."""
        now = self.clock.now()
        # a. the activation, its device and account; count the PIN try — committed first
        with self.uow_factory() as uow:
            activation = self._activation(uow, activation_id)
            if activation.authorized_at is not None or activation.used_at is not None:
                raise CertCenterError("FINANCIAL_ACTIVATION_USED")
            if activation.expires_at <= now:
                raise CertCenterError(
                    "FINANCIAL_ACTIVATION_EXPIRED",
                    seconds=self.policy.financial_activation_ttl_seconds,
                )
            try:
                device = self._device(uow, activation.device_id)
                account, certificate = holding(uow, activation.customer_id)
                require_active(certificate, now)
                attempts = self.guard.reserve(uow, activation.customer_id, [FINANCIAL_PIN])
            except CertCenterError:
                uow.activations.consume(activation.id, now)  # burnt
                uow.commit()
                raise
            uow.commit()
            pin_hash = account.pin_hash

        # b. the slow checks, outside any transaction
        pin_ok = (
            isinstance(pin, str)
            and len(pin) <= 12
            and self.hasher.verify(pin_hash, pin, purpose=PIN_PURPOSE)
        )
        device_ok = device_signature_valid(
            device_key(device.public_key), activation_message(activation), device_signature
        )
        fresh = (  # a hash of an older pepper generation or cost: a new one
            self.hasher.rehashed(pin_hash, pin, purpose=PIN_PURPOSE)
            if pin_ok and device_ok
            else None
        )

        # c. book the outcome; release the grant once
        token = new_token()
        with self.uow_factory() as uow:
            refusal = self.guard.settle(
                uow,
                activation.customer_id,
                {FINANCIAL_PIN: pin_ok and device_ok},
                failed="FINANCIAL_AUTH_FAILED",
                attempts=attempts,
            )
            if refusal is not None:
                uow.activations.consume(activation.id, self.clock.now())
                self._audit(uow, activation, "financial_activation_refused", source_ip)
                uow.commit()
                raise refusal
            if not uow.activations.authorize(activation.id, token_digest(token), self.clock.now()):
                raise CertCenterError("FINANCIAL_ACTIVATION_USED")
            if fresh is not None:
                uow.secret_hashes.replace("cloud-pin", account.id, pin_hash, fresh)
            self._audit(uow, activation, "financial_activation", source_ip)
            uow.commit()
        return Grant(activation_id=activation.id, token=token, expires_at=activation.expires_at)

    # ------------------------------------------------------------------ 3. sign

    def sign(
        self,
        grant: str,
        data: bytes,
        *,
        customer_id: str | None = None,
        device_id: str | None = None,
        purpose: str | None = None,
        subject: str | None = None,
        source_ip: str | None = None,
    ) -> RemoteSignature:
        """Sign ``data`` with the customer's cloud key under the one-time ``grant``: refused
        for other data, a second time, after expiry, or once the device was removed. The
        keyword arguments, when given, must match the activation (a caller's own checks)."""
        if not isinstance(grant, str) or not 0 < len(grant) <= 200:
            raise CertCenterError("FINANCIAL_ACTIVATION_INVALID")
        now = self.clock.now()
        with self.uow_factory() as uow:
            activation = uow.activations.by_grant_hash(token_digest(grant))
            if activation is None or activation.authorized_at is None:
                raise CertCenterError("FINANCIAL_ACTIVATION_INVALID")
            expected = {
                "customer": (customer_id, activation.customer_id),
                "device": (device_id, activation.device_id),
                "purpose": (purpose, activation.purpose),
                "subject": (subject, activation.subject),
            }
            if any(want is not None and want != have for want, have in expected.values()):
                raise CertCenterError("FINANCIAL_ACTIVATION_INVALID")
            if activation.used_at is not None:
                raise CertCenterError("FINANCIAL_ACTIVATION_USED")
            if activation.expires_at <= now:
                raise CertCenterError(
                    "FINANCIAL_ACTIVATION_EXPIRED",
                    seconds=self.policy.financial_activation_ttl_seconds,
                )
            if not isinstance(data, bytes) or data_digest(data) != activation.data_sha256:
                raise CertCenterError("FINANCIAL_ACTIVATION_DATA_MISMATCH")
            device = self._device(uow, activation.device_id)
            account, certificate = holding(uow, activation.customer_id)
            require_active(certificate, now)
            if not uow.activations.consume(activation.id, now):
                raise CertCenterError("FINANCIAL_ACTIVATION_USED")
            uow.cloud_accounts.touch(account.id, now)
            used = uow.certificates.get(certificate.serial, for_update=True)
            if used is not None:
                used.last_used_at = now
            stored_device = uow.browser_devices.get(device.id)
            if stored_device is not None:
                stored_device.last_used_at = now
            self._audit(
                uow,
                activation,
                "financial_remote_sign",
                source_ip,
                {"certificate": certificate.serial},
            )
            uow.commit()
            key = _CloudKey(account.key_label, account.wrapping_key_label, account.wrapped_key)
            certificate_der = certificate.der or b""
        # the CMS way (RFC 5652 §5.4): the key signs contentType, signingTime and the
        # data's messageDigest, so the evidence says when the center signed
        signing_time = now.replace(microsecond=0)
        to_be_signed = signed_attributes(data, signing_time)
        try:
            signature = self._sign_with(key, to_be_signed, certificate_der)
        except CertCenterError as err:
            # re-wrapped under a new key-encryption key (and the old one destroyed) between
            # reading the row and signing: the row read again holds the key under the new one
            again = (
                self._reread(activation.customer_id, key) if err.code == "KEY_NOT_FOUND" else None
            )
            if again is None:
                raise
            signature = self._sign_with(again, to_be_signed, certificate_der)
        return RemoteSignature(
            activation_id=activation.id,
            customer_id=activation.customer_id,
            device_id=activation.device_id,
            purpose=activation.purpose,
            signature=signature,
            certificate_serial=certificate.serial,
            certificate_der=certificate_der,
            signing_time=signing_time,
        )

    def authorize_and_sign(
        self,
        activation_id: str,
        device_signature: str,
        pin: str,
        data: bytes,
        *,
        source_ip: str | None = None,
    ) -> RemoteSignature:
        """Steps 2 and 3 in one call (for the web pages): the grant never leaves the center."""
        grant = self.authorize(activation_id, device_signature, pin, source_ip=source_ip)
        return self.sign(grant.token, data, source_ip=source_ip)

    def signer(self, grant: str) -> CloudKeySigner:
        """The center as a :class:`~certcenter.signing.Signer` under the one-time ``grant``
        (:class:`~certcenter.signing.CenterSigning`)."""
        return CloudKeySigner(self, grant)

    def signature(self, signed: RemoteSignature) -> Signature:
        """The remote signature with its certificate and the chain above it."""
        certificate = x509.load_der_x509_certificate(signed.certificate_der)
        return Signature(
            value=signed.signature,
            certificate=certificate,
            chain=tuple(self.hierarchy.chain_of(FAMILY, certificate)),
            signed_by=SignedBy.CENTER,
            signing_time=signed.signing_time,
        )

    def cms(self, signed: RemoteSignature, data: bytes, *, detached: bool = False) -> bytes:
        """The signature as CMS SignedData (DER) with the certificate and its chain, the data
        inside unless ``detached``: ``openssl cms -verify`` checks it against the root."""
        return self.signature(signed).cms(data, detached=detached)

    # ------------------------------------------------------------------ internals

    def _reread(self, customer_id: str, key: _CloudKey) -> _CloudKey | None:
        """The account's key as stored now, if it is the same account's, re-wrapped."""
        if key.wrapped is None:
            return None
        with self.uow_factory(read_only=True) as uow:
            account = uow.cloud_accounts.active_for_customer(customer_id)
        if account is None or account.key_label != key.label or account.wrapped_key is None:
            return None
        if account.wrapping_key_label == key.wrapping_label:
            return None  # the same blob: it does not unwrap for another reason
        return _CloudKey(account.key_label, account.wrapping_key_label, account.wrapped_key)

    def _sign_with(self, key: _CloudKey, data: bytes, certificate_der: bytes) -> bytes:
        key_label = key.label
        if key.wrapped is not None and key.wrapping_label is not None:
            # unwrapped inside the key backend for this one signature
            signature = self.keys.sign_wrapped(key.wrapping_label, key.wrapped, data)
        else:  # an account made before keys were wrapped: its key under its own label
            if not self.keys.has_key(key_label):  # destroyed (account deleted meanwhile)
                raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
            signature = self.keys.sign(key_label, data)
        public_key = x509.load_der_x509_certificate(certificate_der).public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise RuntimeError(f"cloud key {key_label} does not match its certificate")
        try:
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise RuntimeError(f"cloud key {key_label} does not match its certificate") from None
        return signature

    def _activation(self, uow: UnitOfWork, activation_id: str) -> SigningActivation:
        activation = uow.activations.get(activation_id) if len(activation_id) <= 36 else None
        if activation is None:
            raise CertCenterError("FINANCIAL_ACTIVATION_INVALID")
        return activation

    def _device(self, uow: UnitOfWork, device_id: str) -> BrowserDevice:
        device = uow.browser_devices.get(device_id) if 0 < len(device_id) <= 36 else None
        if device is None or device.status != "active":
            raise CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED")
        return device

    def _audit(
        self,
        uow: UnitOfWork,
        activation: SigningActivation,
        action: str,
        source_ip: str | None,
        details: dict[str, object] | None = None,
    ) -> None:
        customer = uow.customers.get(activation.customer_id)
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor=customer.customer_number if customer else activation.customer_id,
            action=action,
            subject_kind="signing_activation",
            subject=activation.id,
            source_ip=source_ip,
            details={
                "purpose": activation.purpose,
                "device": activation.device_id,
                "data_sha256": activation.data_sha256,
                **(details or {}),
            },
        )


@dataclass(frozen=True)
class CloudKeySigner:
    """The center signs with the customer's cloud key under one grant: the activation behind
    it was released by a registered browser and the PIN for exactly the bytes, so it stands
    for the PIN. Refuses with :meth:`RemoteSigner.sign`'s codes."""

    remote: RemoteSigner = field(repr=False)
    grant: str = field(repr=False)

    @property
    def stands_for_pin(self) -> bool:
        return True

    @property
    def lacks(self) -> tuple[str, ...]:
        return () if self.grant else ("activation_grant",)

    def sign(self, request: SigningRequest) -> Signature:
        signed = self.remote.sign(
            self.grant,
            request.data,
            customer_id=request.customer_id,
            device_id=request.device_id,
            purpose=request.purpose,
            subject=request.subject,
            source_ip=request.source_ip,
        )
        return self.remote.signature(signed)


@dataclass(frozen=True)
class _CloudKey:
    """The cloud key an account signs with: wrapped (read with the account), or under its
    own label in the key backend (accounts made before wrapping)."""

    label: str
    wrapping_label: str | None
    wrapped: bytes | None = field(repr=False)
