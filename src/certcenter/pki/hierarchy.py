"""The CA hierarchy: a root CA and one issuing CA per certificate family, made once.

    hierarchy = ensure_hierarchy(backend, settings, SystemClock())   # certcenter init
    hierarchy = load_hierarchy(settings)                              # everyone else
    hierarchy.issuing("mobile").key_label                             # 'mobile-ca'

:func:`ensure_hierarchy` is idempotent. The first time it makes the root (key ``root-ca``,
ECDSA P-384, self-signed) and an issuing CA per family (:data:`FAMILIES`: the mobile CA, key
``mobile-ca``, and the financial-certificate CA, key ``financial-ca``, ECDSA P-256; the
joint-certificate CA, key ``joint-ca``, RSA-2048 with SHA-256; each signed by the root);
later it loads them and checks that the backend holds their keys. It picks up where an
interrupted run stopped (a key made but no certificate written yet), and it adds a family's
CA to a data directory made before that family existed (the root and the other CAs are left
as they are). Files in ``settings.ca_path``, each written atomically:

``root-ca.pem``, ``mobile-ca.pem``, ``financial-ca.pem``, ``joint-ca.pem``
    The CA certificates (written once, never replaced).
``mobile-chain.pem``, ``financial-chain.pem``, ``joint-chain.pem``
    The chain an end-entity certificate needs: issuing CA first, then the root.
``mobile-ocsp.pem``, ``financial-ocsp.pem``, ``joint-ocsp.pem``
    The delegated OCSP responder certificate of each issuing CA (keys ``mobile-ocsp``,
    ``financial-ocsp``, ``joint-ocsp``: EC P-256 each, profile ``ocsp-signer``): made when
    missing (also in data directories made before it existed), and replaced when it has less
    than 30 days left, no longer matches its key or the CA, or cannot be read.
    :func:`ensure_ocsp_signer` does that alone, for a long-running responder.
``mobile-ocsp.2.pem``, ``mobile-ocsp.3.pem``, …
    The responder after each key rotation (:func:`rotate_ocsp_signer`, key ``mobile-ocsp.2``,
    …): the highest generation is the current one; older files and keys are kept.
``mobile-ca.2.pem``, ``mobile-ca.3.pem``, … and ``mobile-ca.2-cross.pem``
    An issuing CA after each key rollover (``certcenter keys ceremony rollover-ca``, key
    ``mobile-ca.2``, …, see :func:`certcenter.pki.ceremonies.rollover_ca`): the highest
    generation is the family's current CA, which issues; the earlier ones are *retired*
    (:attr:`CaHierarchy.retired_cas`): they issue nothing more but keep signing the CRLs and
    OCSP responses of what they issued until their own certificate expires. A generation
    goes by its *scope* (:attr:`CertificateAuthority.scope`: ``mobile``, ``mobile.2``): its
    CRLs (``/crl/mobile.2-3.crl``), its OCSP responder (``mobile.2-ocsp.pem``) and its file
    under ``/ca/`` (``mobile-ca.2.der``) are its own, so what the earlier generation issued
    keeps pointing at the right places. ``-cross.pem`` is the new key certified by the
    previous generation's key (same name: a self-issued certificate).

The root key may live apart from the CA keys (``root_keys``: an offline root, present only
during key ceremonies, see :mod:`certcenter.pki.ceremonies`): once ``root-ca.pem`` is there,
only certifying a missing issuing CA needs it (``ROOT_KEY_NOT_PRESENT`` without it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import ensure_directory, write_new, write_replacing
from certcenter.keys.backend import CaKeys, SigningKeys, key_kind_of
from certcenter.pki.builder import certificate_builder, validity_window
from certcenter.pki.delegated import (
    DelegatedSpec,
    ensure_delegated,
    issue_delegated,
    issued_by,
    renewal_due,
)
from certcenter.pki.names import ca_subject
from certcenter.pki.pem import certificate_pem, chain_pem, public_key_der
from certcenter.pki.profiles import profile

__all__ = [
    "FAMILIES",
    "FINANCIAL",
    "JOINT",
    "MOBILE",
    "ROOT",
    "CaHierarchy",
    "CaSpec",
    "CertificateAuthority",
    "Hierarchy",
    "IssuingCa",
    "OcspSigner",
    "StoredHierarchy",
    "backend_name",
    "ca_generation",
    "ca_generation_path",
    "ca_key_label",
    "ensure_hierarchy",
    "ensure_ocsp_signer",
    "family_spec",
    "generation_scope",
    "holds_key",
    "load_hierarchy",
    "load_ocsp_signer",
    "make_ca",
    "ocsp_signer_due",
    "ocsp_signer_generation",
    "ocsp_signer_label",
    "require_root_key",
    "rotate_ocsp_signer",
    "split_scope",
    "write_chain",
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


MOBILE = "mobile"  # the mobile certificate (국민인증서): its family, CA and profile name
FINANCIAL = "financial"  # the financial certificate (금융인증서)
JOINT = "joint"  # the joint certificate (공동인증서): an RSA-2048 CA, NPKI readers want RSA
ROOT = CaSpec("root-ca", "root-ca", "Root CA", None)
FAMILIES: tuple[CaSpec, ...] = (
    CaSpec("mobile-ca", "issuing-ca", "Mobile Certificate CA", MOBILE),
    CaSpec("financial-ca", "financial-ca", "Financial Certificate CA", FINANCIAL),
    CaSpec("joint-ca", "joint-ca", "Joint Certificate CA", JOINT),
)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate and the label of its key in the key backend; ``generation`` counts
    the family's key rollovers (1: the CA made by ``issue-ca``)."""

    certificate: x509.Certificate
    key_label: str
    family: str | None = None
    generation: int = 1

    @property
    def scope(self) -> str:
        """What its CRLs and OCSP responder go by: ``mobile``, ``mobile.2`` after a rollover."""
        if self.family is None:
            return self.key_label
        return generation_scope(self.family, self.generation)


def generation_scope(family: str, generation: int) -> str:
    """``mobile`` for a family's first CA, ``mobile.2`` for the CA of its first rollover."""
    return family if generation == 1 else f"{family}.{generation}"


def ca_key_label(spec: CaSpec, generation: int = 1) -> str:
    """``mobile-ca``, then ``mobile-ca.2``, ``mobile-ca.3`` for the keys of later rollovers
    (also the file name stem: ``mobile-ca.2.pem``)."""
    return spec.key_label if generation == 1 else f"{spec.key_label}.{generation}"


def split_scope(scope: str) -> tuple[str, int]:
    """``("mobile", 2)`` for ``mobile.2``; ``("mobile", 1)`` for ``mobile``."""
    family, _, number = scope.partition(".")
    return (family, int(number)) if number.isdigit() else (family, 1)


IssuingCa = CertificateAuthority


@dataclass(frozen=True)
class OcspSigner:
    """An issuing CA's delegated OCSP responder: its certificate and key label."""

    certificate: x509.Certificate
    key_label: str
    family: str


def ocsp_signer_label(family: str, generation: int = 1) -> str:
    """The key label (and file name stem) of a family's OCSP responder: ``mobile-ocsp``,
    then ``mobile-ocsp.2``, ``mobile-ocsp.3`` for the keys of later rotations; a CA
    generation's scope in place of the family after a rollover (``mobile.2-ocsp``)."""
    return f"{family}-ocsp" if generation == 1 else f"{family}-ocsp.{generation}"


@dataclass(frozen=True)
class CaHierarchy:
    """The root and the issuing CAs, by family, and the CAs' OCSP responders."""

    root: CertificateAuthority
    issuing_cas: tuple[IssuingCa, ...]
    ocsp_signers: tuple[OcspSigner, ...] = ()
    # earlier generations of issuing CAs, still valid: they sign CRLs and OCSP responses
    # for what they issued (never a new certificate)
    retired_cas: tuple[CertificateAuthority, ...] = ()

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

    def ocsp_signer(self, family: str = "mobile") -> OcspSigner | None:
        """The family's OCSP responder, None when it is missing (see ensure_ocsp_signer)."""
        for signer in self.ocsp_signers:
            if signer.family == family:
                return signer
        return None

    @property
    def authorities(self) -> tuple[CertificateAuthority, ...]:
        """Every issuing CA that answers for certificates: current ones, then retired ones."""
        return self.issuing_cas + self.retired_cas

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scope of every issuing CA generation still valid (``mobile``, ``mobile.2``)."""
        return tuple(ca.scope for ca in self.authorities)

    def authority(self, key_label: str) -> CertificateAuthority | None:
        """The issuing CA (current or retired) whose key is ``key_label``."""
        for ca in self.authorities:
            if ca.key_label == key_label:
                return ca
        return None

    def in_scope(self, scope: str) -> CertificateAuthority | None:
        """The issuing CA generation of ``scope`` (``mobile.2``), None if there is none."""
        for ca in self.authorities:
            if ca.scope == scope:
                return ca
        return None

    def generations(self, family: str) -> tuple[CertificateAuthority, ...]:
        """The family's issuing CAs still valid, the current one first."""
        return tuple(ca for ca in self.authorities if ca.family == family)

    def issuer_of(self, family: str, certificate: x509.Certificate) -> CertificateAuthority | None:
        """Which of the family's CA generations signed ``certificate``, if one did."""
        for ca in self.generations(family):
            if issued_by(certificate, ca.certificate):
                return ca
        return None

    def chain_of(self, family: str, certificate: x509.Certificate) -> list[x509.Certificate]:
        """The chain above ``certificate``: its own CA generation, then the root (the
        current CA's chain when none of them signed it)."""
        ca = self.issuer_of(family, certificate) or self.issuing(family)
        return [ca.certificate, self.root.certificate]

    def ca_certificates(self, family: str) -> list[x509.Certificate]:
        """Every CA certificate above a certificate of the family, whichever generation
        issued it: the current CA, the retired ones, then the root (a signer picks the path
        of its certificate out of them, :func:`certcenter.signing.signer.chain_above`)."""
        return [ca.certificate for ca in self.generations(family)] + [self.root.certificate]


class Hierarchy(Protocol):
    """What services read of the hierarchy: :class:`CaHierarchy` or :class:`StoredHierarchy`."""

    @property
    def families(self) -> tuple[str, ...]: ...
    def issuing(self, family: str = "mobile") -> IssuingCa: ...
    def chain(self, family: str = "mobile") -> list[x509.Certificate]: ...
    def ocsp_signer(self, family: str = "mobile") -> OcspSigner | None: ...
    def authority(self, key_label: str) -> CertificateAuthority | None: ...
    def issuer_of(
        self, family: str, certificate: x509.Certificate
    ) -> CertificateAuthority | None: ...
    def chain_of(self, family: str, certificate: x509.Certificate) -> list[x509.Certificate]: ...
    def ca_certificates(self, family: str) -> list[x509.Certificate]: ...


class StoredHierarchy:
    """The hierarchy of ``settings.ca_path``, read on first use and kept for the process.

        hierarchy = StoredHierarchy(settings)   # nothing is read yet
        hierarchy.chain("financial")            # reads the CA files once
        hierarchy()                             # the loaded CaHierarchy

    The composition root builds every service before ``initialise`` may have made the CA;
    services hold this and read it when they first sign, verify or publish.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loaded: CaHierarchy | None = None
        self._lock = threading.Lock()

    def __call__(self) -> CaHierarchy:
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = load_hierarchy(self._settings)
                loaded = self._loaded
        return loaded

    @property
    def families(self) -> tuple[str, ...]:
        return self().families

    def issuing(self, family: str = "mobile") -> IssuingCa:
        return self().issuing(family)

    def chain(self, family: str = "mobile") -> list[x509.Certificate]:
        return self().chain(family)

    def ocsp_signer(self, family: str = "mobile") -> OcspSigner | None:
        return self().ocsp_signer(family)

    def authority(self, key_label: str) -> CertificateAuthority | None:
        return self().authority(key_label)

    def issuer_of(self, family: str, certificate: x509.Certificate) -> CertificateAuthority | None:
        return self().issuer_of(family, certificate)

    def chain_of(self, family: str, certificate: x509.Certificate) -> list[x509.Certificate]:
        return self().chain_of(family, certificate)

    def ca_certificates(self, family: str) -> list[x509.Certificate]:
        return self().ca_certificates(family)

    def forget(self) -> None:
        """Read the CA files again on next use (after a key ceremony changed them)."""
        with self._lock:
            self._loaded = None


def load_hierarchy(settings: Settings) -> CaHierarchy:
    """The hierarchy from ``settings.ca_path``; ``CA_NOT_INITIALISED`` if a CA file is
    missing. An OCSP responder certificate that is missing or not issued by its CA is left
    out (``ocsp_signer(family)`` is None): :func:`ensure_ocsp_signer` makes it."""
    directory = settings.ca_path
    root = _read_certificate(directory / ROOT.certificate_file)
    if root is None:
        raise CertCenterError("CA_NOT_INITIALISED")
    issuing = []
    signers = []
    retired: list[CertificateAuthority] = []
    for spec in FAMILIES:
        certificate = _read_certificate(directory / spec.certificate_file)
        if certificate is None:
            raise CertCenterError("CA_NOT_INITIALISED")
        _check_issued_by(certificate, root, spec)
        generations = _later_generations(
            settings, spec, root, CertificateAuthority(certificate, spec.key_label, spec.family)
        )
        ca = generations[-1]
        issuing.append(ca)
        signer = load_ocsp_signer(settings, ca)
        if signer is not None:
            signers.append(signer)
        retired += generations[:-1]
    return CaHierarchy(
        CertificateAuthority(root, ROOT.key_label),
        tuple(issuing),
        tuple(signers),
        tuple(retired),
    )


def ca_generation(settings: Settings, spec: CaSpec) -> int:
    """The generation of ``spec``'s current CA: the highest ``N`` of a ``mobile-ca.N.pem``
    in the CA folder, else 1 (``mobile-ca.pem``)."""
    found = 1
    for path in settings.ca_path.glob(f"{spec.key_label}.*.pem"):
        number = path.name.removeprefix(f"{spec.key_label}.").removesuffix(".pem")
        if number.isdigit() and int(number) > found:
            found = int(number)
    return found


def ca_generation_path(settings: Settings, spec: CaSpec, generation: int) -> Path:
    """``mobile-ca.pem``, ``mobile-ca.2.pem``, …"""
    return settings.ca_path / f"{ca_key_label(spec, generation)}.pem"


def _later_generations(
    settings: Settings, spec: CaSpec, root: x509.Certificate, first: CertificateAuthority
) -> list[CertificateAuthority]:
    """The family's CA generations, first to current (a missing file ends the list)."""
    found = [first]
    for generation in range(2, ca_generation(settings, spec) + 1):
        certificate = _read_certificate(ca_generation_path(settings, spec, generation))
        if certificate is None:
            break
        _check_issued_by(certificate, root, spec)
        found.append(
            CertificateAuthority(
                certificate, ca_key_label(spec, generation), spec.family, generation
            )
        )
    return found


def ensure_hierarchy(
    backend: CaKeys,
    settings: Settings,
    clock: Clock,
    *,
    responder_keys: SigningKeys | None = None,
    root_keys: CaKeys | None = None,
) -> CaHierarchy:
    """Make whatever part of the hierarchy is missing, then return all of it (the OCSP
    responders' keys in ``responder_keys``, else in ``backend`` with the CAs'; the root's
    key in ``root_keys``, else in ``backend``). Once the root certificate is there, the root
    key is needed only to certify a missing issuing CA (``ROOT_KEY_NOT_PRESENT`` without
    it): an offline root stays away from the running center."""
    directory = settings.ca_path
    ensure_directory(directory, 0o755)
    root_keys = root_keys if root_keys is not None else backend
    root = _read_certificate(directory / ROOT.certificate_file)
    if root is None:
        root = _ensure_ca(root_keys, settings, clock, ROOT, issuer=None, root_keys=root_keys)
    elif root_keys is backend and holds_key(root_keys, ROOT.key_label):
        _check_key_matches(root_keys, ROOT, root)  # a root apart is opened only when needed
    issuing = []
    signers = []
    retired: list[CertificateAuthority] = []
    for spec in FAMILIES:
        certificate = _ensure_ca(backend, settings, clock, spec, issuer=root, root_keys=root_keys)
        _check_issued_by(certificate, root, spec)
        generations = _later_generations(
            settings, spec, root, CertificateAuthority(certificate, spec.key_label, spec.family)
        )
        ca = generations[-1]
        write_chain(settings, spec, ca.certificate, root)
        issuing.append(ca)
        signers.append(
            ensure_ocsp_signer(backend, settings, clock, ca, responder_keys=responder_keys)
        )
        retired += generations[:-1]
    return CaHierarchy(
        CertificateAuthority(root, ROOT.key_label),
        tuple(issuing),
        tuple(signers),
        tuple(retired),
    )


def write_chain(
    settings: Settings, spec: CaSpec, certificate: x509.Certificate, root: x509.Certificate
) -> None:
    """The family's chain file (issuing CA, then root), rewritten when it differs."""
    chain = chain_pem([certificate, root]).encode("ascii")
    chain_path = settings.ca_path / spec.chain_file
    if not chain_path.is_file() or chain_path.read_bytes() != chain:
        write_replacing(chain_path, chain, 0o644)


def family_spec(family: str) -> CaSpec:
    """The CA of ``family``; ``CA_FAMILY_UNKNOWN`` for a family the center does not have."""
    for spec in FAMILIES:
        if spec.family == family:
            return spec
    raise CertCenterError(
        "CA_FAMILY_UNKNOWN",
        family=family,
        known=", ".join(str(spec.family) for spec in FAMILIES),
    )


def require_root_key(root_keys: CaKeys, root: x509.Certificate) -> None:
    """``ROOT_KEY_NOT_PRESENT`` unless ``root_keys`` holds the key of ``root`` (the offline
    root's token or medium is there and is the right one)."""
    if not holds_key(root_keys, ROOT.key_label) or public_key_der(
        root_keys.public_key(ROOT.key_label)
    ) != public_key_der(root.public_key()):
        raise CertCenterError("ROOT_KEY_NOT_PRESENT", backend=backend_name(root_keys))


def backend_name(keys: object) -> str:
    """The name a key backend goes by in records and messages (``software``, ``pkcs11``)."""
    return str(getattr(keys, "name", type(keys).__name__))


def holds_key(keys: SigningKeys, label: str) -> bool:
    """Whether ``keys`` holds ``label``; False too when its token is not there."""
    try:
        return keys.has_key(label)
    except CertCenterError as error:
        if error.code in ("KEY_TOKEN_NOT_FOUND", "KEY_TOKEN_UNAVAILABLE"):
            return False
        raise


# ---------------------------------------------------------------------- OCSP responders


def _ocsp_signer_path(settings: Settings, family: str, generation: int = 1) -> Path:
    return settings.ca_path / f"{ocsp_signer_label(family, generation)}.pem"


def ocsp_signer_generation(settings: Settings, family: str) -> int:
    """The generation of ``family``'s current OCSP responder key: the highest ``N`` of a
    ``<family>-ocsp.N.pem`` in the CA folder, else 1 (``<family>-ocsp.pem``). A rotation
    writes the next generation's file once its certificate is made, in one step."""
    found = 1
    for path in settings.ca_path.glob(f"{family}-ocsp.*.pem"):
        number = path.name.removeprefix(f"{family}-ocsp.").removesuffix(".pem")
        if number.isdigit() and int(number) > found:
            found = int(number)
    return found


def load_ocsp_signer(settings: Settings, ca: CertificateAuthority) -> OcspSigner | None:
    """The OCSP responder of ``ca`` from its file, or None when it is missing, unreadable or
    not issued by ``ca`` (validity and key are checked by :func:`ensure_ocsp_signer`)."""
    if ca.family is None:
        raise ValueError("only issuing CAs have OCSP responders")
    generation = ocsp_signer_generation(settings, ca.scope)
    try:
        certificate = _read_certificate(_ocsp_signer_path(settings, ca.scope, generation))
    except ValueError:
        return None
    if certificate is None or not issued_by(certificate, ca.certificate):
        return None
    return OcspSigner(certificate, ocsp_signer_label(ca.scope, generation), ca.family)


def ocsp_signer_due(signer: OcspSigner, ca: CertificateAuthority, now: datetime) -> bool:
    """Whether ``signer`` should be replaced: not valid at ``now``, or within the renewal
    margin of its end while a new one would last longer (it never outlives its CA)."""
    return renewal_due(signer.certificate, ca, now)


def _ocsp_signer_spec(settings: Settings, family: str, generation: int) -> DelegatedSpec:
    return DelegatedSpec(
        label=ocsp_signer_label(family, generation),
        profile="ocsp-signer",
        common_name_suffix=f"{split_scope(family)[0].capitalize()} OCSP Responder",
        path=_ocsp_signer_path(settings, family, generation),
        description=f"OCSP responder ({family})",  # the family, or a CA generation's scope
    )


def ensure_ocsp_signer(
    backend: CaKeys,
    settings: Settings,
    clock: Clock,
    ca: CertificateAuthority,
    *,
    responder_keys: SigningKeys | None = None,
) -> OcspSigner:
    """The OCSP responder of issuing CA ``ca``, made (key and certificate) or re-issued when
    :func:`ocsp_signer_due` or when its certificate does not match its key
    (:func:`certcenter.pki.delegated.ensure_delegated`). Several processes may do this at
    once: each uses the certificate it made, all are valid."""
    if ca.family is None:
        raise ValueError("only issuing CAs have OCSP responders")
    keys = responder_keys if responder_keys is not None else backend  # the responder's key
    spec = _ocsp_signer_spec(settings, ca.scope, ocsp_signer_generation(settings, ca.scope))
    certificate = ensure_delegated(spec, keys, backend, settings, clock, ca)
    return OcspSigner(certificate, spec.label, ca.family)


def rotate_ocsp_signer(
    backend: CaKeys,
    settings: Settings,
    clock: Clock,
    ca: CertificateAuthority,
    *,
    responder_keys: SigningKeys | None = None,
) -> OcspSigner:
    """A new OCSP responder for ``ca``: a new key under the next generation's label
    (``mobile-ocsp.2``) and its certificate, whose file makes it the current one. The old
    key and certificate stay (responses it signed still verify until they expire)."""
    if ca.family is None:
        raise ValueError("only issuing CAs have OCSP responders")
    keys = responder_keys if responder_keys is not None else backend
    generation = ocsp_signer_generation(settings, ca.scope) + 1
    spec = _ocsp_signer_spec(settings, ca.scope, generation)
    # a key under the new label is made here (one left by a rotation cut short is used)
    certificate = issue_delegated(spec, keys, backend, settings, clock, ca)
    return OcspSigner(certificate, spec.label, ca.family)


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
    backend: CaKeys,
    settings: Settings,
    clock: Clock,
    spec: CaSpec,
    issuer: x509.Certificate | None,
    *,
    root_keys: CaKeys,
) -> x509.Certificate:
    path = settings.ca_path / spec.certificate_file
    existing = _read_certificate(path)
    if existing is not None:
        _check_key_matches(backend, spec, existing)
        return existing
    return make_ca(backend, settings, clock, spec, issuer, root_keys=root_keys)


def make_ca(
    backend: CaKeys,
    settings: Settings,
    clock: Clock,
    spec: CaSpec,
    issuer: x509.Certificate | None,
    *,
    root_keys: CaKeys,
) -> x509.Certificate:
    """Make the CA ``spec`` (its key in ``backend`` unless one is there, its certificate
    signed by the root key in ``root_keys``, or self-signed for the root) and write its
    file, never replacing one: another process's certificate wins."""
    path = settings.ca_path / spec.certificate_file
    if issuer is not None:
        require_root_key(root_keys, issuer)
    ca_profile = profile(spec.profile, settings)
    if not backend.has_key(spec.key_label):
        try:
            backend.generate_key(spec.key_label, ca_profile.allowed_key_kinds[0])
        except CertCenterError as error:
            if error.code != "KEY_ALREADY_EXISTS":  # made meanwhile: use it
                raise
    public_key = backend.public_key(spec.key_label)
    if key_kind_of(public_key) not in ca_profile.allowed_key_kinds or not isinstance(
        public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    ):
        raise TypeError(f"key {spec.key_label!r} is not of the kind {spec.profile} takes")
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
    certificate = root_keys.sign_certificate(signer, builder)
    try:
        write_new(path, certificate_pem(certificate).encode("ascii"), 0o644)
    except FileExistsError:  # another process was quicker: keep its certificate
        winner = _read_certificate(path)
        if winner is None:
            raise RuntimeError(f"{path} vanished while being written") from None
        _check_key_matches(backend, spec, winner)
        return winner
    return certificate


def _check_key_matches(backend: CaKeys, spec: CaSpec, certificate: x509.Certificate) -> None:
    if public_key_der(backend.public_key(spec.key_label)) != public_key_der(
        certificate.public_key()
    ):
        raise RuntimeError(
            f"{spec.certificate_file} does not belong to key {spec.key_label!r} "
            f"of the {getattr(backend, 'name', type(backend).__name__)} key backend"
        )
