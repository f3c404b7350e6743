"""A stand-in authority for the protocol tests: a throwaway RSA CA in memory that issues,
renews and revokes, and remembers what the CMP server asked of it. The tests against the real
joint certificate authority are in test_openssl_cmp.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certcenter.clock import Clock
from certcenter.errors import CertCenterError


@dataclass(frozen=True)
class Enrolled:
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    vid_random: bytes = b"\x00" * 20


@dataclass
class ThrowawayAuthority:
    clock: Clock
    codes: dict[str, bytes] = field(default_factory=dict)
    bad_macs: dict[str, int] = field(default_factory=dict)
    issued: dict[bytes, x509.Certificate] = field(default_factory=dict)
    confirmed: dict[bytes, bool] = field(default_factory=dict)
    revoked: dict[int, x509.ReasonFlags | None] = field(default_factory=dict)
    statuses: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name.from_rfc4514_string("CN=Throwaway Joint CA,O=Test,C=KR")
        now = self.clock.now()
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    # CmpAuthority
    def shared_secret(self, reference: str) -> bytes:
        if reference not in self.codes:
            raise CertCenterError("JOINT_REFERENCE_UNKNOWN")
        return self.codes[reference]

    def record_bad_mac(self, reference: str) -> None:
        self.bad_macs[reference] = self.bad_macs.get(reference, 0) + 1

    def enroll(
        self,
        reference: str,
        *,
        public_key_der: bytes,
        requested_subject: x509.Name | None,
        transaction_id: bytes,
    ) -> Enrolled:
        subject = requested_subject or x509.Name.from_rfc4514_string(f"CN={reference}")
        return self._issue(subject, public_key_der, transaction_id)

    def confirm(self, transaction_id: bytes, *, accepted: bool) -> None:
        if transaction_id in self.confirmed:
            raise CertCenterError("CMP_TRANSACTION_FINISHED")
        self.confirmed[transaction_id] = accepted
        certificate = self.issued[transaction_id]
        self.statuses[certificate.serial_number] = "active" if accepted else "revoked"

    def renew(
        self, old_certificate: x509.Certificate, *, public_key_der: bytes, transaction_id: bytes
    ) -> Enrolled:
        self.statuses[old_certificate.serial_number] = "superseded"
        return self._issue(old_certificate.subject, public_key_der, transaction_id)

    def revoke(self, certificate: x509.Certificate, *, reason: x509.ReasonFlags | None) -> None:
        self.revoked[certificate.serial_number] = reason
        self.statuses[certificate.serial_number] = "revoked"

    # IssuedCertificates
    def status_of(self, certificate: x509.Certificate) -> str | None:
        if certificate.issuer != self.ca.subject:
            return None
        return self.statuses.get(certificate.serial_number)

    def _issue(self, subject: x509.Name, public_key_der: bytes, tid: bytes) -> Enrolled:
        now = self.clock.now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca.subject)
            .public_key(serialization.load_der_public_key(public_key_der))  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        self.issued[tid] = certificate
        self.statuses[certificate.serial_number] = "pending"
        return Enrolled(certificate, [self.ca])
