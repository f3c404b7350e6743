"""The demo's other institution (타기관): a joint-certificate CA that is not this center's.

Korean banks let a customer register a joint certificate another licensed CA issued (타기관
인증서 등록). The demo world has one such CA, "DemoSign", made on first start in
``<data_dir>/other-ca`` (like the center's own CA, kept in the data dir):

    root.der / root-key.der     DemoSign Root CA (RSA-2048, self-signed, 20 years)
    ca.der / ca-key.der         DemoSign CA (RSA-2048, under the root, pathLen 0, 10 years)
    ca.crl                      its CRL (refreshed on every start; next update in 7 days)
    C001.pfx                    a joint certificate of 김민준 (C001) in NPKI's shape, with
                                the VID random value R in the key, password DEMO_PFX_PASSWORD

The center trusts ``root.der`` and ``ca.der`` and reads ``ca.crl`` when
``joint_other_ca_files`` / ``joint_other_crl_files`` are unset and the simulators run. The
keys are files without a passphrase: this is a simulator, not a CA.

    ca = ensure_other_ca(settings.data_dir / "other-ca", clock)
    issued = ca.issue("김민준", "900315-1512541", not_before=..., not_after=...)
    ca.revoke(issued.certificate.serial_number, now)     # rewrites ca.crl
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from certcenter.clock import Clock
from certcenter.npki.pkcs12 import export_pfx
from certcenter.pki.vid import new_random_num, vid_other_name

__all__ = ["DEMO_PERSON", "DEMO_PFX_PASSWORD", "IssuedOther", "OtherCa", "ensure_other_ca"]

DEMO_PFX_PASSWORD = "DemoSign#2026"  # noqa: S105 — the demo certificate's password (shown on /demo)
DEMO_PERSON = ("C001", "김민준", "900315-1512541")  # the demo world's first person
ORGANIZATION = "DemoSign"
POLICY_OID = "1.2.410.200005.1.1.4"  # 은행·신용카드·보험용, as the licensed CAs use
_CRL_DAYS = 7


@dataclass(frozen=True)
class IssuedOther:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    random_num: bytes
    chain: tuple[x509.Certificate, ...]

    def pfx(self, password: str = DEMO_PFX_PASSWORD) -> bytes:
        return export_pfx(
            self.certificate, self.key, password, random_num=self.random_num, chain=self.chain
        )


def _name(common: str, unit: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "KR")]
    parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION))
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(parts)


def _ca_certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey,
    now: datetime,
    years: int,
    path_length: int | None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _read_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(path.read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{path}: not an RSA key")
    return key


class OtherCa:
    """The simulated institution's CA, in its folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = x509.load_der_x509_certificate((directory / "root.der").read_bytes())
        self.ca = x509.load_der_x509_certificate((directory / "ca.der").read_bytes())
        self.ca_key = _read_key(directory / "ca-key.der")

    @property
    def crl_path(self) -> Path:
        return self.directory / "ca.crl"

    def _revoked(self) -> dict[str, str]:
        path = self.directory / "revoked.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def issue(
        self,
        real_name: str,
        rrn: str,
        *,
        not_before: datetime,
        not_after: datetime,
        key_usage: bool = True,
    ) -> IssuedOther:
        """A joint certificate in NPKI's shape: RSA-2048, keyUsage digitalSignature and
        nonRepudiation, the KISA identifyData (real name + VID from ``rrn`` and a fresh R)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        random_num = new_random_num()
        serial = x509.random_serial_number()
        number = format(serial, "d")[:22].rjust(22, "0")
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{real_name}(){number}", "personal4IB"))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName([vid_other_name(real_name, rrn, random_num)]), False
            )
            .add_extension(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier(POLICY_OID), None)]
                ),
                False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                False,
            )
        )
        if key_usage:
            builder = builder.add_extension(
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
        certificate = builder.sign(self.ca_key, hashes.SHA256())
        return IssuedOther(certificate, key, random_num, (self.ca, self.root))

    def revoke(self, serial: int, now: datetime) -> None:
        """Revoke ``serial`` and write the CRL again."""
        revoked = self._revoked()
        revoked[format(serial, "X")] = now.isoformat()
        (self.directory / "revoked.json").write_text(json.dumps(revoked))
        self.write_crl(now)

    def write_crl(self, now: datetime) -> None:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(days=_CRL_DAYS))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                False,
            )
            .add_extension(x509.CRLNumber(int(now.timestamp())), False)
        )
        for serial, at in self._revoked().items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(datetime.fromisoformat(at))
                .build()
            )
        crl = builder.sign(self.ca_key, hashes.SHA256())
        self.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.DER))


def ensure_other_ca(directory: Path, clock: Clock, *, demo_file: bool = True) -> OtherCa:
    """The simulated institution's CA in ``directory``, made if missing (idempotent); its
    CRL written again; the demo person's ``.pfx`` made once (unless ``demo_file`` is
    False)."""
    now = clock.now()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (directory / "ca.der").exists():
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root = _ca_certificate(
            _name(f"{ORGANIZATION} Root CA"), root_key, None, root_key, now, 20, None
        )
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = _ca_certificate(_name(f"{ORGANIZATION} CA"), ca_key, root, root_key, now, 10, 0)
        _write_key(directory / "root-key.der", root_key)
        _write_key(directory / "ca-key.der", ca_key)
        (directory / "root.der").write_bytes(root.public_bytes(serialization.Encoding.DER))
        (directory / "ca.der").write_bytes(ca.public_bytes(serialization.Encoding.DER))
    other = OtherCa(directory)
    other.write_crl(now)
    key, name, rrn = DEMO_PERSON
    demo = directory / f"{key}.pfx"
    if demo_file and not demo.exists():
        issued = other.issue(
            name, rrn, not_before=now - timedelta(days=1), not_after=now + timedelta(days=365)
        )
        demo.write_bytes(issued.pfx())
        demo.chmod(0o600)
    return other
