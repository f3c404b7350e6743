"""The CA hierarchy's key ceremonies (키 생성식): make the root, certify an issuing CA, rotate
an OCSP responder's key. Each returns what its signed record says.

    done = init_root(root_keys, settings, clock)            # ROOT_ALREADY_EXISTS the 2nd time
    done = issue_ca(ca_keys, root_keys, settings, clock, "mobile", responder_keys=ocsp_keys)
    done = rotate_ocsp_signer_key(ca_keys, ocsp_keys, settings, clock, "mobile")
    done.details["certificate"]["key_id"]                   # SHA-256 of the key's SPKI

The root key lives in ``root_keys``: the CA backend, or a backend of its own that is present
only during ceremonies (``key_backend_root``, ``root_key_dir``, ``root_pkcs11_token_label``).
Only :func:`issue_ca`, :func:`rollover_ca` and the root's CRL need it; with it absent they are
refused (``ROOT_KEY_NOT_PRESENT``). :func:`issue_ca` certifies a family's first CA and refuses
a family whose CA is there (``CA_ALREADY_EXISTS``); :func:`rollover_ca` replaces the family's
CA key by a new one:

    done = rollover_ca(ca_keys, root_keys, settings, clock, "mobile", responder_keys=ocsp_keys)

It makes the next generation's key (``mobile-ca.2``) in ``ca_keys`` (the configured CA
backend: software or the HSM's token) and, with the same name as the old CA:

- ``mobile-ca.2.pem``, the new CA certificate signed by the root: with the root unchanged,
  every relying party that trusts the root validates what either CA issued;
- ``mobile-ca.2-cross.pem``, the new key certified by the old CA key (RFC 4210 §4.4's
  NewWithOld, for an issuing CA): a relying party that pinned the old issuing CA rather
  than the root (an app that ships the CA certificate) validates new certificates through
  it until the old CA expires. Its reverse (OldWithNew) is not made: whoever has the new CA
  certificate has the root, which validates the old CA;
- the new generation's chain file and OCSP responder (``mobile.2-ocsp``).

New certificates are issued by the new key from then on; the old key stays to sign the
CRLs and the OCSP responses of what it issued until its certificate expires.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import ensure_directory, write_new, write_replacing
from certcenter.keys.backend import CaKeys, SigningKeys, describe_public_key
from certcenter.pki.builder import certificate_builder, validity_window
from certcenter.pki.hierarchy import (
    ROOT,
    CertificateAuthority,
    backend_name,
    ca_generation,
    ca_generation_path,
    ca_key_label,
    ensure_ocsp_signer,
    family_spec,
    holds_key,
    make_ca,
    require_root_key,
    rotate_ocsp_signer,
    write_chain,
)
from certcenter.pki.pem import certificate_pem, public_key_der
from certcenter.pki.profiles import profile

__all__ = [
    "CeremonyDone",
    "certificate_facts",
    "init_root",
    "issue_ca",
    "read_ca_certificate",
    "rollover_ca",
    "rotate_ocsp_signer_key",
]


@dataclass(frozen=True)
class CeremonyDone:
    """A ceremony's name and the facts its record states (never a secret)."""

    ceremony: str
    details: dict[str, Any]


def certificate_facts(
    certificate: x509.Certificate, label: str, keys: object, path: Path
) -> dict[str, Any]:
    """What a record says of a certificate and its key: key label and id (SHA-256 of the
    SubjectPublicKeyInfo), the backend, the certificate's SHA-256, serial, names, validity."""
    return {
        "key_label": label,
        "key_id": hashlib.sha256(public_key_der(certificate.public_key())).hexdigest(),
        "key_kind": describe_public_key(certificate.public_key()),
        "backend": backend_name(keys),
        "certificate_sha256": hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest(),
        "serial": f"{certificate.serial_number:X}",
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "file": path.name,
    }


def read_ca_certificate(path: Path) -> x509.Certificate | None:
    """The certificate in ``path``, None when there is no file."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        return None


def init_root(root_keys: CaKeys, settings: Settings, clock: Clock) -> CeremonyDone:
    """Make the root key (unless a ceremony cut short left one) and the self-signed root
    certificate; ``ROOT_ALREADY_EXISTS`` when the root certificate is there."""
    ensure_directory(settings.ca_path, 0o755)
    path = settings.ca_path / ROOT.certificate_file
    if path.exists():
        raise CertCenterError("ROOT_ALREADY_EXISTS", path=str(path))
    key_was_there = holds_key(root_keys, ROOT.key_label)
    certificate = make_ca(root_keys, settings, clock, ROOT, None, root_keys=root_keys)
    return CeremonyDone(
        "init-root",
        {
            "root": certificate_facts(certificate, ROOT.key_label, root_keys, path),
            "key_made": not key_was_there,
            "root_key_apart": settings.root_key_apart,
        },
    )


def issue_ca(
    ca_keys: CaKeys,
    root_keys: CaKeys,
    settings: Settings,
    clock: Clock,
    family: str,
    *,
    responder_keys: SigningKeys | None = None,
) -> CeremonyDone:
    """Make ``family``'s issuing CA key and have the root certify it; write its chain and
    its OCSP responder. ``CA_FAMILY_UNKNOWN``, ``CA_NOT_INITIALISED`` (no root yet),
    ``CA_ALREADY_EXISTS`` (no rollover), ``ROOT_KEY_NOT_PRESENT``."""
    spec = family_spec(family)
    root = read_ca_certificate(settings.ca_path / ROOT.certificate_file)
    if root is None:
        raise CertCenterError("CA_NOT_INITIALISED")
    path = settings.ca_path / spec.certificate_file
    if path.exists():
        raise CertCenterError("CA_ALREADY_EXISTS", family=family, path=str(path))
    require_root_key(root_keys, root)
    key_was_there = holds_key(ca_keys, spec.key_label)
    certificate = make_ca(ca_keys, settings, clock, spec, root, root_keys=root_keys)
    write_chain(settings, spec, certificate, root)
    ca = CertificateAuthority(certificate, spec.key_label, spec.family)
    signer = ensure_ocsp_signer(ca_keys, settings, clock, ca, responder_keys=responder_keys)
    return CeremonyDone(
        "issue-ca",
        {
            "family": family,
            "ca": certificate_facts(certificate, spec.key_label, ca_keys, path),
            "key_made": not key_was_there,
            "root_key_id": hashlib.sha256(public_key_der(root.public_key())).hexdigest(),
            "chain_file": spec.chain_file,
            "ocsp_signer": certificate_facts(
                signer.certificate,
                signer.key_label,
                responder_keys if responder_keys is not None else ca_keys,
                settings.ca_path / f"{signer.key_label}.pem",
            ),
        },
    )


def cross_certificate_path(settings: Settings, key_label: str) -> Path:
    """``mobile-ca.2-cross.pem``: the CA key ``key_label`` certified by the one before it."""
    return settings.ca_path / f"{key_label}-cross.pem"


def rollover_ca(
    ca_keys: CaKeys,
    root_keys: CaKeys,
    settings: Settings,
    clock: Clock,
    family: str,
    *,
    responder_keys: SigningKeys | None = None,
) -> CeremonyDone:
    """Roll ``family``'s issuing CA over to a new key (module docstring): the new key in
    ``ca_keys``, its certificate from the root, the cross-certificate from the old key, the
    chain file and an OCSP responder of its own. ``CA_FAMILY_UNKNOWN``,
    ``CA_NOT_INITIALISED`` (no root, or the family's CA was never issued),
    ``ROOT_KEY_NOT_PRESENT``, ``CA_KEY_NOT_PRESENT`` (the old CA key is not in the backend:
    it must sign the cross-certificate and keep signing CRLs)."""
    spec = family_spec(family)
    root = read_ca_certificate(settings.ca_path / ROOT.certificate_file)
    if root is None:
        raise CertCenterError("CA_NOT_INITIALISED")
    generation = ca_generation(settings, spec)
    old_path = ca_generation_path(settings, spec, generation)
    old_certificate = read_ca_certificate(old_path)
    if old_certificate is None:
        raise CertCenterError("CA_NOT_INITIALISED")
    old = CertificateAuthority(
        old_certificate, ca_key_label(spec, generation), spec.family, generation
    )
    require_root_key(root_keys, root)
    if not holds_key(ca_keys, old.key_label) or public_key_der(
        ca_keys.public_key(old.key_label)
    ) != public_key_der(old_certificate.public_key()):
        raise CertCenterError(
            "CA_KEY_NOT_PRESENT", label=old.key_label, backend=backend_name(ca_keys)
        )
    new_generation = generation + 1
    new_label = ca_key_label(spec, new_generation)
    ca_profile = profile(spec.profile, settings)
    key_was_there = holds_key(ca_keys, new_label)  # a ceremony cut short left it
    if not key_was_there:
        ca_keys.generate_key(new_label, ca_profile.allowed_key_kinds[0])
    public_key = ca_keys.public_key(new_label)
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TypeError(f"key {new_label!r} is not a CA key")

    # the cross-certificate first: the new CA's file makes it the current one
    cross_profile = replace(ca_profile, ca_issuers_path=f"/ca/{old.key_label}.der", crl_path=None)
    not_before, not_after = validity_window(cross_profile, clock, old_certificate)
    cross = ca_keys.sign_certificate(
        old.key_label,
        certificate_builder(
            cross_profile,
            settings,
            serial=x509.random_serial_number(),
            subject=old_certificate.subject,
            public_key=public_key,
            issuer_certificate=old_certificate,
            not_before=not_before,
            not_after=not_after,
        ),
    )
    cross_path = cross_certificate_path(settings, new_label)
    write_replacing(cross_path, certificate_pem(cross).encode("ascii"), 0o644)

    not_before, not_after = validity_window(ca_profile, clock, root)
    certificate = root_keys.sign_certificate(
        ROOT.key_label,
        certificate_builder(
            ca_profile,
            settings,
            serial=x509.random_serial_number(),
            subject=old_certificate.subject,  # the same CA, a new key
            public_key=public_key,
            issuer_certificate=root,
            not_before=not_before,
            not_after=not_after,
        ),
    )
    path = ca_generation_path(settings, spec, new_generation)
    try:
        write_new(path, certificate_pem(certificate).encode("ascii"), 0o644)
    except FileExistsError:  # another ceremony made this generation meanwhile
        raise CertCenterError("CA_ALREADY_EXISTS", family=family, path=str(path)) from None
    write_chain(settings, spec, certificate, root)
    ca = CertificateAuthority(certificate, new_label, spec.family, new_generation)
    signer = ensure_ocsp_signer(ca_keys, settings, clock, ca, responder_keys=responder_keys)
    return CeremonyDone(
        "rollover-ca",
        {
            "family": family,
            "generation": new_generation,
            "new": certificate_facts(certificate, new_label, ca_keys, path),
            "old": certificate_facts(old_certificate, old.key_label, ca_keys, old_path),
            "cross": certificate_facts(cross, old.key_label, ca_keys, cross_path),
            "key_made": not key_was_there,
            "root_key_id": hashlib.sha256(public_key_der(root.public_key())).hexdigest(),
            "chain_file": spec.chain_file,
            "old_key_kept_until": old_certificate.not_valid_after_utc.isoformat(),
            "ocsp_signer": certificate_facts(
                signer.certificate,
                signer.key_label,
                responder_keys if responder_keys is not None else ca_keys,
                settings.ca_path / f"{signer.key_label}.pem",
            ),
        },
    )


def rotate_ocsp_signer_key(
    ca_keys: CaKeys,
    responder_keys: SigningKeys,
    settings: Settings,
    clock: Clock,
    family: str,
) -> CeremonyDone:
    """A new key and certificate for ``family``'s OCSP responder (the next generation's
    label); the old key and certificate stay until the old certificate has expired."""
    spec = family_spec(family)
    generation = ca_generation(settings, spec)  # the current CA, after any rollover
    certificate = read_ca_certificate(ca_generation_path(settings, spec, generation))
    if certificate is None:  # the family's CA is made by issue-ca (or init) first
        raise CertCenterError("CA_NOT_INITIALISED")
    ca = CertificateAuthority(certificate, ca_key_label(spec, generation), spec.family, generation)
    old = ensure_ocsp_signer(ca_keys, settings, clock, ca, responder_keys=responder_keys)
    new = rotate_ocsp_signer(ca_keys, settings, clock, ca, responder_keys=responder_keys)
    return CeremonyDone(
        "rotate-ocsp-signer",
        {
            "family": family,
            "new": certificate_facts(
                new.certificate,
                new.key_label,
                responder_keys,
                settings.ca_path / f"{new.key_label}.pem",
            ),
            "old": certificate_facts(
                old.certificate,
                old.key_label,
                responder_keys,
                settings.ca_path / f"{old.key_label}.pem",
            ),
            "old_key_kept_until": old.certificate.not_valid_after_utc.isoformat(),
        },
    )
