"""Joint certificates of other institutions (타기관 인증서 등록).

A customer may log in here with a joint certificate another licensed CA issued, once they
have registered it while logged in. The center trusts the CAs named in
``joint_other_ca_files`` (roots and intermediates) and reads their CRLs from
``joint_other_crl_files``; both are read at start (the demo: the simulated institution in
``<data_dir>/other-ca``, see :mod:`certcenter.simulators.other_ca`).

    other = OtherJointCertificates(...)
    issued = other.challenge()
    # the browser opens the .pfx with its password, signs
    # challenge_message("joint-other-register", issued.challenge) with the key, and sends the
    # certificate, the signature, the random value R from the key file and the resident
    # number the customer typed
    other.register(customer_id, OtherRegistration(...))
    other.registered(customer_id)                    # the customer's registered certificates
    other.deregister(customer_id, registration_id)   # 해지

:meth:`OtherCaTrust.check` is every check of the certificate itself, in this order: an
issuer among the configured CAs whose signature verifies (``JOINT_OTHER_CA_UNTRUSTED``), the
validity period (``JOINT_OTHER_CERTIFICATE_EXPIRED``), the path to a configured root by
``cryptography``'s X.509 verifier at the current time (``JOINT_OTHER_CA_UNTRUSTED``), an RSA
key of at least 2,048 bits with keyUsage digitalSignature or nonRepudiation
(``JOINT_OTHER_CERTIFICATE_UNSUITABLE``), and the issuer's CRL: signed by the issuer, current
(``JOINT_OTHER_REVOCATION_UNKNOWN``), not listing the serial
(``JOINT_OTHER_CERTIFICATE_REVOKED``).

Registration then checks the key's signature over the single-use challenge
(``JOINT_SIGNATURE_INVALID``), that the resident number typed is the customer's own (the
identity provider's CI of it is the customer's CI) and, with R, makes the certificate's VID
(``JOINT_VID_MISMATCH`` for either: someone else's certificate), and that no customer has it
yet (``JOINT_OTHER_CERTIFICATE_ALREADY_REGISTERED``). The resident number is used for the
comparison only, never stored or logged. A registration is audited
(``joint.other_registered`` / ``joint.other_deregistered``) and the customer told.
:class:`certcenter.joint.login.JointLogin` accepts a registered certificate after the same
checks of the certificate; a trusted one nobody registered is
``JOINT_OTHER_CERTIFICATE_NOT_REGISTERED``.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from certcenter.audit.trail import AuditTrail
from certcenter.authn.device_auth import DeviceAuthenticator
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Actor, Customer, DeviceChallenge, OtherJointCertificate
from certcenter.errors import CertCenterError
from certcenter.identity.providers import IdentityAgency
from certcenter.identity.rrn import parse_rrn
from certcenter.joint.challenge import joint_challenge, require_signature
from certcenter.notifications.messages import compose
from certcenter.notifications.outbox import Outbox
from certcenter.pki.vid import vid_matches
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.usage.login import JOINT_CLIENT, OTHER_JOINT_SERIAL_PREFIX

__all__ = [
    "PURPOSE",
    "OtherCaTrust",
    "OtherJointCertificates",
    "OtherRegistration",
    "fingerprint",
    "session_serial",
]

PURPOSE = "joint-other-register"  # bound into the signed bytes
_MIN_RSA_BITS = 2048


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def session_serial(registered: OtherJointCertificate) -> str:
    """What a session records as its certificate: ``other:<registration id>``."""
    return OTHER_JOINT_SERIAL_PREFIX + registered.id


def _load_certificates(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _load_crl(path: Path) -> x509.CertificateRevocationList:
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    public = issuer.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return False
    try:
        return crl.is_signature_valid(public)
    except (ValueError, TypeError):
        return False


class OtherCaTrust:
    """The other institutions' CAs and CRLs, from the configured files (read on first use,
    then kept; the CRL files are read again when they change on disk)."""

    def __init__(self, ca_files: Sequence[Path], crl_files: Sequence[Path]) -> None:
        self.ca_files = list(ca_files)
        self.crl_files = list(crl_files)
        self._lock = threading.Lock()
        self._cas: list[x509.Certificate] | None = None
        self._crls: dict[Path, tuple[tuple[int, int], x509.CertificateRevocationList]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.ca_files)

    def certificates(self) -> list[x509.Certificate]:
        with self._lock:
            if self._cas is None:
                cas: list[x509.Certificate] = []
                for path in self.ca_files:
                    if path.exists():
                        cas.extend(_load_certificates(path))
                if cas or all(path.exists() for path in self.ca_files):
                    self._cas = cas
                return cas
            return self._cas

    def _roots(self) -> list[x509.Certificate]:
        return [c for c in self.certificates() if c.issuer == c.subject and _signed_by(c, c)]

    def issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        """The configured CA that signed ``certificate``, if any."""
        for ca in self.certificates():
            if ca.subject == certificate.issuer and _signed_by(certificate, ca):
                return ca
        return None

    def _crl_for(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        found = None
        for path in self.crl_files:
            try:
                facts = path.stat()
                stamp = (facts.st_mtime_ns, facts.st_size)
            except OSError:
                continue
            with self._lock:
                cached = self._crls.get(path)
                if cached is None or cached[0] != stamp:
                    try:
                        cached = (stamp, _load_crl(path))
                    except (OSError, ValueError):
                        continue
                    self._crls[path] = cached
            crl = cached[1]
            if crl.issuer == issuer.subject and _crl_signed_by(crl, issuer):
                found = crl
        return found

    def check(self, certificate: x509.Certificate, now: datetime) -> x509.Certificate:
        """Every check of a certificate of another institution (see the module); answers
        its issuing CA."""
        issuer = self.issuer_of(certificate)
        if issuer is None:
            raise CertCenterError("JOINT_OTHER_CA_UNTRUSTED")
        if not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
            raise CertCenterError("JOINT_OTHER_CERTIFICATE_EXPIRED")
        intermediates = [c for c in self.certificates() if c.issuer != c.subject]
        verifier = (
            PolicyBuilder()
            .store(Store(self._roots()))
            .time(now.astimezone(UTC).replace(tzinfo=None))
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(certificate, intermediates)
        except (VerificationError, ValueError) as exc:
            raise CertCenterError("JOINT_OTHER_CA_UNTRUSTED", detail=str(exc)[:120]) from None
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < _MIN_RSA_BITS:
            raise CertCenterError("JOINT_OTHER_CERTIFICATE_UNSUITABLE", detail="RSA-2048")
        try:
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            raise CertCenterError("JOINT_OTHER_CERTIFICATE_UNSUITABLE", detail="keyUsage") from None
        if not (usage.digital_signature or usage.content_commitment):
            raise CertCenterError("JOINT_OTHER_CERTIFICATE_UNSUITABLE", detail="keyUsage")
        crl = self._crl_for(issuer)
        next_update = crl.next_update_utc if crl is not None else None
        if crl is None or next_update is None or next_update < now:
            raise CertCenterError("JOINT_OTHER_REVOCATION_UNKNOWN")
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            raise CertCenterError("JOINT_OTHER_CERTIFICATE_REVOKED")
        return issuer


@dataclass(frozen=True)
class OtherRegistration:
    challenge: str
    signature: str  # base64 RSA PKCS#1 v1.5 SHA-256 over challenge_message(PURPOSE, challenge)
    certificate_der: bytes = field(repr=False)
    rrn: str = field(repr=False)  # 주민등록번호, for the VID check (never kept)
    random_num: bytes = field(repr=False)  # the VID random value R from the key file
    source_ip: str | None = None


def _load(der: bytes) -> x509.Certificate:
    if not der or len(der) > 16 * 1024:
        raise CertCenterError("JOINT_OTHER_CA_UNTRUSTED", detail="not a certificate")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise CertCenterError("JOINT_OTHER_CA_UNTRUSTED", detail="not a certificate") from None


class OtherJointCertificates:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        authenticator: DeviceAuthenticator,
        trust: OtherCaTrust,
        identity: IdentityAgency,
        notifier: Outbox,
        audit: AuditTrail,
        clock: Clock,
        policy: Policy,
        bank_name: str,
    ) -> None:
        self.uow_factory = uow_factory
        self.authenticator = authenticator
        self.trust = trust
        self.identity = identity
        self.notifier = notifier
        self.audit = audit
        self.clock = clock
        self.policy = policy
        self.bank_name = bank_name

    def challenge(self) -> DeviceChallenge:
        """A single-use challenge for the certificate's key to sign at registration."""
        return joint_challenge(self.authenticator, purpose=PURPOSE)

    def registered(self, customer_id: str) -> list[OtherJointCertificate]:
        with self.uow_factory(read_only=True) as uow:
            return list(uow.other_joint_certificates.for_customer(customer_id))

    def register(self, customer_id: str, attempt: OtherRegistration) -> OtherJointCertificate:
        """Register the certificate to the customer (every check of the module's text)."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            customer = uow.customers.get(customer_id)
            if customer is None:
                raise CertCenterError("SESSION_INVALID")
            self.authenticator.take_challenge(
                uow, device_id=JOINT_CLIENT, purpose=PURPOSE, challenge=attempt.challenge
            )
            uow.commit()  # the challenge is used whatever follows
            certificate = _load(attempt.certificate_der)
            self.trust.check(certificate, now)
            require_signature(certificate, PURPOSE, attempt.challenge, attempt.signature)
            number = parse_rrn(attempt.rrn, today=now.astimezone(UTC).date())
            own = self.identity.ci_for(number) == customer.ci
            if not own or not vid_matches(certificate, number.digits, attempt.random_num or b""):
                raise CertCenterError("JOINT_VID_MISMATCH")
            print_ = fingerprint(attempt.certificate_der)
            if uow.other_joint_certificates.by_fingerprint(print_) is not None:
                raise CertCenterError("JOINT_OTHER_CERTIFICATE_ALREADY_REGISTERED")
            registered = OtherJointCertificate(
                id=str(uuid.uuid4()),
                customer_id=customer.id,
                fingerprint=print_,
                issuer=certificate.issuer.rfc4514_string(),
                serial=format(certificate.serial_number, "X"),
                subject=certificate.subject.rfc4514_string(),
                der=attempt.certificate_der,
                not_after=certificate.not_valid_after_utc,
                registered_at=now,
            )
            uow.other_joint_certificates.add(registered)
            self._record(uow, customer, "joint.other_registered", registered, attempt.source_ip)
            uow.commit()
        return registered

    def deregister(
        self, customer_id: str, registration_id: str, *, source_ip: str | None = None
    ) -> None:
        """해지: the certificate no longer logs in here."""
        with self.uow_factory() as uow:
            customer = uow.customers.get(customer_id)
            mine = {r.id: r for r in uow.other_joint_certificates.for_customer(customer_id)}
            registered = mine.get(registration_id)
            if customer is None or registered is None:
                raise CertCenterError("JOINT_OTHER_REGISTRATION_NOT_FOUND")
            uow.other_joint_certificates.delete(registered.id)
            self._record(uow, customer, "joint.other_deregistered", registered, source_ip)
            uow.commit()

    def _record(
        self,
        uow: UnitOfWork,
        customer: Customer,
        action: str,
        registered: OtherJointCertificate,
        source_ip: str | None,
    ) -> None:
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor=customer.customer_number,
            action=action,
            subject_kind="certificate",
            subject=session_serial(registered),
            source_ip=source_ip,
            details={"issuer": registered.issuer, "serial": registered.serial},
        )
        event = action.replace(".", "_")
        told = compose(
            event,
            {"bank": self.bank_name, "time": self.clock.now(), "issuer": _short_issuer(registered)},
        )
        self.notifier.notify(
            uow,
            event=event,
            customer=customer,
            subject=told.subject,
            text_ko=told.text_ko,
            text_en=told.text_en,
        )

    def for_login(self, uow: UnitOfWork, certificate_der: bytes) -> OtherJointCertificate:
        """The registration of a certificate of another institution presented to log in,
        after every check of the certificate itself. ``JOINT_CERTIFICATE_UNKNOWN`` for one no
        configured CA issued, ``JOINT_OTHER_CERTIFICATE_NOT_REGISTERED`` for a trusted one
        nobody registered."""
        certificate = _load(certificate_der)
        if self.trust.issuer_of(certificate) is None:
            raise CertCenterError("JOINT_CERTIFICATE_UNKNOWN")
        registered = uow.other_joint_certificates.by_fingerprint(fingerprint(certificate_der))
        if registered is None:
            raise CertCenterError("JOINT_OTHER_CERTIFICATE_NOT_REGISTERED")
        return registered

    def check_certificate(self, registered: OtherJointCertificate) -> None:
        """The registered certificate still usable: path, validity, revocation."""
        self.trust.check(x509.load_der_x509_certificate(registered.der), self.clock.now())


def _short_issuer(registered: OtherJointCertificate) -> str:
    for part in x509.Name.from_rfc4514_string(registered.issuer):
        if part.oid == x509.NameOID.ORGANIZATION_NAME:
            return str(part.value)
    return registered.issuer
