"""Login with the mobile certificate (인증서 로그인): challenge–response from the device.

    login = LoginService(...)
    issued = login.challenge(device_id)          # ≥ 256 random bits, single use, 120 s
    # the app signs challenge_message("login", issued.challenge) with its certificate key after
    # the customer types the PIN (or draws the pattern) — or with the biometric-bound key
    result = login.login(LoginAttempt(device_id, challenge, signature, method="pin", secret=PIN))
    result.token                                 # the session's bearer token

The PIN or pattern is checked by the server, so the lockout holds whatever the app does. The
device's signature over the challenge is checked first (a bad one is counted against the
client's address, never the owner's PIN); then the attempt is counted before the slow hash
(:class:`~certcenter.authn.factors.FactorGuard`) and the hash runs outside any transaction.
The biometric path has no slow check: taking its challenge, checking the signature and opening
the session are one transaction. A device nobody registered gets a challenge too, and its
tries are counted and timed like a real customer's: the answer does not tell the two apart.
The certificate must be active, chain to the issuing CA and be within its validity; the login
records its use (inactivity and auto-renewal rules) and opens a session.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certcenter.audit.trail import AuditTrail
from certcenter.authn.device_auth import (
    DeviceAuthenticator,
    challenge_message,
    key_signature_valid,
    signature_valid,
)
from certcenter.authn.factors import PATTERN, PIN, FactorGuard, unknown_subject
from certcenter.authn.hashing import SecretHasher
from certcenter.certificates.records import require_active
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import (
    Actor,
    CertificateRecord,
    CertificateStatus,
    Customer,
    Device,
    DeviceChallenge,
)
from certcenter.errors import CertCenterError
from certcenter.pki.hierarchy import MOBILE, Hierarchy
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.usage.sessions import OpenedSession, SessionService

METHODS = ("pin", "pattern", "biometric")
PURPOSE = "login"
# Session.method of a login with the financial certificate (certcenter.financial.login): the
# session's device_id is then a registered browser (BrowserDevice.id) and its certificate the
# cloud-held one, signed for by the center's remote signer.
FINANCIAL_METHOD = "financial"
# Session.method of a login with the joint certificate (certcenter.joint.login): no registered
# device; the session's device_id is JOINT_CLIENT and its certificate a joint one, whose
# RSA key in the customer's NPKI folder signs transfers and documents (signing.JointSigner).
JOINT_METHOD = "joint"
# not a device id ([A-Za-z0-9._-] only): deregistering an app never ends a joint session
JOINT_CLIENT = "joint:npki"
# the certificate a joint session names when another institution's CA issued it (타기관
# 인증서, certcenter.joint.other): this prefix, then the id of its registration
OTHER_JOINT_SERIAL_PREFIX = "other:"


@dataclass(frozen=True)
class LoginAttempt:
    device_id: str
    challenge: str
    signature: str  # base64 ECDSA-SHA256 over challenge_message("login", challenge)
    method: str  # pin | pattern | biometric
    secret: str | None = None  # the PIN, or the pattern as text ("0-1-2-5-8")
    source_ip: str | None = None

    def __repr__(self) -> str:
        return f"LoginAttempt(device_id={self.device_id!r}, method={self.method!r}, secret=…)"


@dataclass(frozen=True)
class LoginResult:
    opened: OpenedSession
    customer: Customer
    certificate_serial: str
    method: str

    @property
    def token(self) -> str:
        return self.opened.token

    @property
    def idle_expires_at(self) -> datetime:
        return self.opened.session.last_seen_at


@dataclass(frozen=True)
class _Subject:
    """Who the login claims to be: a registered device, or nobody (then ``device`` is None)."""

    key: str
    customer: Customer | None
    device: Device | None
    certificate: CertificateRecord | None


class LoginService:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        authenticator: DeviceAuthenticator,
        guard: FactorGuard,
        hasher: SecretHasher,
        sessions: SessionService,
        hierarchy: Hierarchy,
        audit: AuditTrail,
        clock: Clock,
        policy: Policy,
    ) -> None:
        self.uow_factory = uow_factory
        self.authenticator = authenticator
        self.guard = guard
        self.hasher = hasher
        self.sessions = sessions
        self.hierarchy = hierarchy
        self.audit = audit
        self.clock = clock
        self.policy = policy

    def challenge(self, device_id: str) -> DeviceChallenge:
        """A login challenge, for a registered device or not (the answer looks the same):
        nothing is read or written until it is used."""
        if not 0 < len(device_id) <= 64:
            raise CertCenterError("INVALID_REQUEST", detail="device_id: 1 to 64 characters")
        return self.authenticator.new_challenge(device_id=device_id, purpose=PURPOSE)

    def login(self, attempt: LoginAttempt) -> LoginResult:
        if attempt.method not in METHODS:
            raise CertCenterError("INVALID_REQUEST", detail=f"method: {', '.join(METHODS)}")
        if attempt.method != "biometric" and not attempt.secret:
            raise CertCenterError("INVALID_REQUEST", detail=f"{attempt.method} is required")
        factor = PATTERN if attempt.method == "pattern" else PIN
        message = challenge_message(PURPOSE, attempt.challenge)

        if attempt.method == "biometric":
            return self._biometric_login(attempt, message)

        attempts: dict[str, int] = {}
        # 1. who the login claims to be and the device key's signature, then the challenge
        # taken and the try counted — committed before any slow check
        with self.uow_factory() as uow:
            subject, refusal = self._examine(uow, attempt)
            proven = (
                refusal is None
                and subject.certificate is not None
                and signature_valid(subject.certificate, message, attempt.signature)
            )
            self._take_challenge(uow, attempt, subject, refusal)
            if subject.device is None:
                self._count_unknown(uow, subject.key, factor)
            # possession of the device key first: a stranger's bogus signature is counted
            # against their address, never against the owner's PIN
            self.authenticator.prove_possession(uow, proven=proven, client_ip=attempt.source_ip)
            try:
                attempts = self.guard.reserve(uow, subject.key, [factor])
            except CertCenterError:
                uow.commit()
                raise
            uow.commit()

        # 2. the slow checks, outside any transaction (and a new hash of the secret when its
        # hash is of an older pepper generation or cost)
        ok = self._check(subject, attempt, message, signed=proven)
        rehash = self._rehash(subject, attempt) if ok else None

        # 3. book the outcome; open the session
        with self.uow_factory() as uow:
            refusal = self.guard.settle(
                uow, subject.key, {factor: ok}, failed="DEVICE_AUTH_FAILED", attempts=attempts
            )
            if refusal is not None:
                uow.commit()
                raise refusal
            result = self._open_session(uow, subject, attempt, rehash)
            uow.commit()
        return result

    def _biometric_login(self, attempt: LoginAttempt, message: bytes) -> LoginResult:
        """The biometric path in one transaction: nothing slow is checked (two ECDSA
        verifications, no secret to hash). The subject is read and its signature checked
        first, then the challenge is taken and the session opened — or, for a refusal, the
        challenge is taken and committed used."""
        with self.uow_factory() as uow:
            subject, refusal = self._examine(uow, attempt)
            device = subject.device
            if refusal is None and device is not None and not device.biometric_public_key:
                refusal = CertCenterError("BIOMETRIC_NOT_REGISTERED")
            if refusal is None and not self._check(subject, attempt, message):
                refusal = CertCenterError("BIOMETRIC_AUTH_FAILED")
            self._take_challenge(uow, attempt, subject, refusal)
            try:
                result = self._open_session(uow, subject, attempt, None)
            except CertCenterError:
                uow.commit()  # changed since it was read: the challenge stays used
                raise
            uow.commit()
        return result

    def _examine(
        self, uow: UnitOfWork, attempt: LoginAttempt
    ) -> tuple[_Subject, CertCenterError | None]:
        """The login's subject and the refusal it earns before any proof is looked at (a
        revoked or expired certificate, …), read before anything is written in ``uow``:
        where writers queue for one lock (SQLite) in a read-only unit of work of its own,
        which does not hold it. The challenge is not taken here: whatever the outcome,
        :meth:`_take_challenge` takes it next."""
        reading = self.uow_factory(read_only=True) if self.uow_factory.writers_queue else None
        with reading or contextlib.nullcontext(uow) as reads:
            try:
                subject = self._subject(reads, attempt.device_id)
                if subject.device is not None and subject.certificate is not None:
                    self._require_usable(subject.certificate)
            except CertCenterError as err:
                return _Subject(unknown_subject(attempt.device_id), None, None, None), err
        return subject, None

    def _take_challenge(
        self,
        uow: UnitOfWork,
        attempt: LoginAttempt,
        subject: _Subject,
        refusal: CertCenterError | None,
    ) -> None:
        """Take the login's challenge in ``uow``: a challenge that is not this device's,
        unused and unexpired is refused as such; else ``refusal``, when there is one, is
        raised with the challenge committed as used."""
        self.authenticator.take_challenge(
            uow,
            device_id=attempt.device_id,
            purpose=PURPOSE,
            challenge=attempt.challenge,
            customer_id=subject.customer.id if subject.customer is not None else "",
        )
        if refusal is not None:
            uow.commit()
            raise refusal

    def _open_session(
        self,
        uow: UnitOfWork,
        subject: _Subject,
        attempt: LoginAttempt,
        rehash: tuple[str, str] | None,
    ) -> LoginResult:
        """A proven login: the certificate's use, a new hash when due, the session and the
        audit entry, in ``uow`` (the caller commits)."""
        if subject.customer is None or subject.certificate is None or subject.device is None:
            raise CertCenterError("DEVICE_NOT_REGISTERED")  # not reached: the check failed
        serial = subject.certificate.serial
        # the last use feeds inactivity and auto-renewal; stamped only while the certificate
        # is still usable and the device still registered (both were read before this
        # transaction: revoked, or the device deregistered, meanwhile?)
        if not uow.certificates.mark_used(
            serial, device=subject.device.id, device_id=attempt.device_id, now=self.clock.now()
        ):
            raise self._no_longer_usable(uow, serial)
        if rehash is not None and subject.device is not None:
            uow.secret_hashes.replace(f"device-{attempt.method}", subject.device.id, *rehash)
        opened = self.sessions.start(
            uow,
            customer_id=subject.customer.id,
            device_id=attempt.device_id,
            certificate_serial=serial,
            method=attempt.method,
        )
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor=subject.customer.customer_number,
            action="login",
            subject_kind="certificate",
            subject=serial,
            source_ip=attempt.source_ip,
            details={"method": attempt.method, "device": attempt.device_id},
        )
        return LoginResult(
            opened=opened,
            customer=subject.customer,
            certificate_serial=serial,
            method=attempt.method,
        )

    def _no_longer_usable(self, uow: UnitOfWork, serial: str) -> CertCenterError:
        """Why a certificate read as usable could not be used in ``uow``: revoked, suspended
        or expired since, by name; else its device was deregistered."""
        certificate = uow.certificates.get(serial, for_update=True)
        if certificate is not None:
            try:
                self._require_usable(certificate)
            except CertCenterError as err:
                return err
        return CertCenterError("DEVICE_NOT_REGISTERED")

    # ------------------------------------------------------------------ internals

    def _subject(self, uow: UnitOfWork, device_id: str) -> _Subject:
        try:
            device, certificate = self.authenticator.registered(uow, device_id)
        except CertCenterError as err:
            if err.code == "DEVICE_NOT_REGISTERED":
                err = self._why_not_usable(uow, device_id) or err
            if err.code != "DEVICE_NOT_REGISTERED":
                raise err from None
            return _Subject(unknown_subject(device_id), None, None, None)
        customer = uow.customers.get(device.customer_id)
        if customer is None:
            return _Subject(unknown_subject(device_id), None, None, None)
        return _Subject(customer.id, customer, device, certificate)

    def _count_unknown(self, uow: UnitOfWork, key: str, factor: str) -> None:
        """A try against a device nobody registered is counted under its own key (there is no
        owner to lock out); it is answered like a real device's unproven try."""
        try:
            attempts = self.guard.reserve(uow, key, [factor])
        except CertCenterError:
            return  # at its limit already: the address's count answers
        self.guard.settle(uow, key, {factor: False}, attempts=attempts)

    def _why_not_usable(self, uow: UnitOfWork, device_id: str) -> CertCenterError | None:
        """A registered device whose certificate was revoked or superseded: say so."""
        device = uow.devices.active_by_device_id(device_id)
        if device is None:
            return None
        mine = [
            c
            for c in uow.certificates.for_customer(device.customer_id, family="mobile")
            if c.device_id == device_id and c.der is not None
        ]
        latest = max(mine, key=lambda c: c.created_at, default=None)
        if latest is not None and latest.status in (
            CertificateStatus.REVOKED,
            CertificateStatus.SUPERSEDED,
        ):
            return CertCenterError("CERTIFICATE_REVOKED", reason=latest.revocation_reason or "-")
        return None

    def _require_usable(self, certificate: CertificateRecord) -> None:
        require_active(certificate, self.clock.now())

    def _check(
        self, subject: _Subject, attempt: LoginAttempt, message: bytes, *, signed: bool = False
    ) -> bool:
        """The login's proof: the biometric key's signature, or the secret (``signed``: the
        certificate key's signature was verified already, in the first transaction)."""
        device, certificate = subject.device, subject.certificate
        if device is None or certificate is None:
            if attempt.method != "biometric":
                self.hasher.dummy_verify(attempt.secret or "")  # timed like a real one
            return False
        if attempt.method == "biometric":
            if device.biometric_public_key is None:
                return False
            key = serialization.load_pem_public_key(device.biometric_public_key.encode())
            return key_signature_valid(key, message, attempt.signature) and self._chained(
                certificate
            )
        stored = device.pattern_hash if attempt.method == "pattern" else device.pin_hash
        purpose = "pattern" if attempt.method == "pattern" else "pin"
        secret_ok = stored is not None and self.hasher.verify(
            stored, attempt.secret or "", purpose=purpose
        )
        return (
            secret_ok and (signed or signature_valid(certificate, message, attempt.signature))
        ) and self._chained(certificate)

    def _rehash(self, subject: _Subject, attempt: LoginAttempt) -> tuple[str, str] | None:
        """(stored hash, its replacement) when the verified secret's hash is due a new one."""
        device = subject.device
        if device is None or attempt.method == "biometric":
            return None
        stored = device.pattern_hash if attempt.method == "pattern" else device.pin_hash
        if stored is None:
            return None
        fresh = self.hasher.rehashed(stored, attempt.secret or "", purpose=attempt.method)
        return (stored, fresh) if fresh is not None else None

    def _chained(self, certificate: CertificateRecord) -> bool:
        """The certificate was signed by the family's issuing CA, or by an earlier generation
        of it before a key rollover (not just found in a table)."""
        if certificate.der is None:
            return False
        try:
            presented = x509.load_der_x509_certificate(certificate.der)
        except ValueError:
            return False
        return self.hierarchy.issuer_of(MOBILE, presented) is not None
