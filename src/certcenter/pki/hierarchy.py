"""The CA hierarchy: a root CA and one issuing CA per certificate family, made once.

    hierarchy = ensure_hierarchy(backend, settings, SystemClock())   # certcenter init
    hierarchy = load_hierarchy(settings)                              # everyone else
    hierarchy.issuing("mobile").key_label                             # 'mobile-ca'

:func:`ensure_hierarchy` is idempotent. The first time it makes the root (key ``root-ca``,
ECDSA P-384, self-signed) and the mobile issuing CA (key ``mobile-ca``, ECDSA P-256, signed
by the root); later it loads them and checks that the backend holds their keys. It picks up
where an interrupted run stopped (a key made but no certificate written yet). Files in
``settings.ca_path``, each written atomically:

``root-ca.pem``, ``mobile-ca.pem``
    The CA certificates (written once, never replaced).
``mobile-chain.pem``
    The chain an end-entity certificate needs: issuing CA first, then the root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import ensure_directory, write_new, write_replacing
from certcenter.keys.backend import KeyBackend
from certcenter.pki.builder import certificate_builder, validity_window
from certcenter.pki.names import ca_subject
from certcenter.pki.pem import certificate_pem, chain_pem, public_key_der
from certcenter.pki.profiles import profile

__all__ = [
    "FAMILIES",
    "ROOT",
    "CaHierarchy",
    "CaSpec",
    "CertificateAuthority",
    "IssuingCa",
    "ensure_hierarchy",
    "load_hierarchy",
]


@dataclass(frozen=True)
class CaSpec:
    """One CA of the hierarchy: its key label (also its file name), profile and name."""

    key_label: str
    profile: str
    common_name_suffix: str  # CN = "<bank_name> <suffix>"
    family: str | None  # None for the root

    @property
    def certificate_file(self) -> str:
        return f"{self.key_label}.pem"

    @property
    def chain_file(self) -> str:
        return f"{self.family}-chain.pem"


ROOT = CaSpec("root-ca", "root-ca", "Root CA", None)
FAMILIES: tuple[CaSpec, ...] = (
    CaSpec("mobile-ca", "issuing-ca", "Mobile Certificate CA", "mobile"),
)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate and the label of its key in the key backend."""

    certificate: x509.Certificate
    key_label: str
    family: str | None = None


IssuingCa = CertificateAuthority


@dataclass(frozen=True)
class CaHierarchy:
    """The root and the issuing CAs, by family."""

    root: CertificateAuthority
    issuing_cas: tuple[IssuingCa, ...]

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(ca.family for ca in self.issuing_cas if ca.family is not None)

    def issuing(self, family: str = "mobile") -> IssuingCa:
        for ca in self.issuing_cas:
            if ca.family == family:
                return ca
        raise ValueError(f"no issuing CA for family {family!r}; known: {', '.join(self.families)}")

    def chain(self, family: str = "mobile") -> list[x509.Certificate]:
        """The certificates above an end-entity certificate: issuing CA first, root last."""
        return [self.issuing(family).certificate, self.root.certificate]


def load_hierarchy(settings: Settings) -> CaHierarchy:
    """The hierarchy from ``settings.ca_path``; ``CA_NOT_INITIALISED`` if a file is missing."""
    directory = settings.ca_path
    root = _read_certificate(directory / ROOT.certificate_file)
    if root is None:
        raise CertCenterError("CA_NOT_INITIALISED")
    issuing = []
    for spec in FAMILIES:
        certificate = _read_certificate(directory / spec.certificate_file)
        if certificate is None:
            raise CertCenterError("CA_NOT_INITIALISED")
        _check_issued_by(certificate, root, spec)
        issuing.append(CertificateAuthority(certificate, spec.key_label, spec.family))
    return CaHierarchy(CertificateAuthority(root, ROOT.key_label), tuple(issuing))


def ensure_hierarchy(backend: KeyBackend, settings: Settings, clock: Clock) -> CaHierarchy:
    """Make whatever part of the hierarchy is missing, then return all of it."""
    directory = settings.ca_path
    ensure_directory(directory, 0o755)
    root = _ensure_ca(backend, settings, clock, ROOT, issuer=None)
    issuing = []
    for spec in FAMILIES:
        certificate = _ensure_ca(backend, settings, clock, spec, issuer=root)
        _check_issued_by(certificate, root, spec)
        chain = chain_pem([certificate, root]).encode("ascii")
        chain_path = directory / spec.chain_file
        if not chain_path.is_file() or chain_path.read_bytes() != chain:
            write_replacing(chain_path, chain, 0o644)
        issuing.append(CertificateAuthority(certificate, spec.key_label, spec.family))
    return CaHierarchy(CertificateAuthority(root, ROOT.key_label), tuple(issuing))


def _read_certificate(path: Path) -> x509.Certificate | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ValueError(f"{path} is not a PEM certificate ({exc})") from None


def _check_issued_by(certificate: x509.Certificate, root: x509.Certificate, spec: CaSpec) -> None:
    try:
        certificate.verify_directly_issued_by(root)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise RuntimeError(
            f"{spec.certificate_file} is not issued by {ROOT.certificate_file}: {exc!r}"
        ) from None


def _ensure_ca(
    backend: KeyBackend,
    settings: Settings,
    clock: Clock,
    spec: CaSpec,
    issuer: x509.Certificate | None,
) -> x509.Certificate:
    path = settings.ca_path / spec.certificate_file
    existing = _read_certificate(path)
    if existing is not None:
        _check_key_matches(backend, spec, existing)
        return existing

    ca_profile = profile(spec.profile, settings)
    if not backend.has_key(spec.key_label):
        try:
            backend.generate_key(spec.key_label, ca_profile.allowed_key_kinds[0])
        except CertCenterError as error:
            if error.code != "KEY_ALREADY_EXISTS":  # made meanwhile: use it
                raise
    public_key = backend.public_key(spec.key_label)
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise TypeError(f"key {spec.key_label!r} is not an EC key")
    not_before, not_after = validity_window(ca_profile, clock, issuer)
    builder = certificate_builder(
        ca_profile,
        settings,
        serial=x509.random_serial_number(),
        subject=ca_subject(settings, f"{settings.bank_name} {spec.common_name_suffix}"),
        public_key=public_key,
        issuer_certificate=issuer,
        not_before=not_before,
        not_after=not_after,
    )
    signer = ROOT.key_label if issuer is not None else spec.key_label
    certificate = backend.sign_certificate(signer, builder)
    try:
        write_new(path, certificate_pem(certificate).encode("ascii"), 0o644)
    except FileExistsError:  # another process was quicker: keep its certificate
        winner = _read_certificate(path)
        if winner is None:
            raise RuntimeError(f"{path} vanished while being written") from None
        _check_key_matches(backend, spec, winner)
        return winner
    return certificate


def _check_key_matches(backend: KeyBackend, spec: CaSpec, certificate: x509.Certificate) -> None:
    if public_key_der(backend.public_key(spec.key_label)) != public_key_der(
        certificate.public_key()
    ):
        raise RuntimeError(
            f"{spec.certificate_file} does not belong to key {spec.key_label!r} "
            f"of the {backend.name} key backend"
        )
