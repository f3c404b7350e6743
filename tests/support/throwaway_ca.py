"""A throwaway RSA CA and RSA-2048 leaves for tests of the joint certificate's files.

The joint certificate's own CA is made elsewhere; the file formats only need a certificate
of the right shape: an RSA-2048 key, a Korean-style subject and, when asked, the KISA
identifyData otherName (VID) in the subjectAltName.

    ca = ThrowawayCa.make()
    leaf = ca.issue("홍길동", vid=vid_other_name("홍길동", "9001011234567", random_num))
    leaf.certificate, leaf.key
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Leaf:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class ThrowawayCa:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    name: str

    @classmethod
    def make(cls, name: str = "TestCA") -> ThrowawayCa:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{name} Class 1"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(NOT_BEFORE + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate=certificate, key=key, name=name)

    def issue(
        self,
        common_name: str,
        *,
        vid: x509.OtherName | None = None,
        key: rsa.RSAPrivateKey | None = None,
        units: tuple[str, ...] = ("personal4IB", "KMB"),
    ) -> Leaf:
        """An RSA-2048 leaf ``cn=<common_name>,ou=…,o=<CA name>,c=kr`` issued by this CA."""
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.name),
                *(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit) for unit in units),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(NOT_BEFORE + timedelta(days=365))
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        if vid is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName([vid]), critical=False)
        return Leaf(certificate=builder.sign(self.key, hashes.SHA256()), key=key)
