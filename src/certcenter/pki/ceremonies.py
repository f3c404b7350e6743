"""The CA hierarchy's key ceremonies (키 생성식): make the root, certify an issuing CA, rotate
an OCSP responder's key. Each returns what its signed record says.

    done = init_root(root_keys, settings, clock)            # ROOT_ALREADY_EXISTS the 2nd time
    done = issue_ca(ca_keys, root_keys, settings, clock, "mobile", responder_keys=ocsp_keys)
    done = rotate_ocsp_signer_key(ca_keys, ocsp_keys, settings, clock, "mobile")
    done.details["certificate"]["key_id"]                   # SHA-256 of the key's SPKI

The root key lives in ``root_keys``: the CA backend, or a backend of its own that is present
only during ceremonies (``key_backend_root``, ``root_key_dir``, ``root_pkcs11_token_label``).
Only :func:`issue_ca` and the root's CRL need it; with it absent they are refused
(``ROOT_KEY_NOT_PRESENT``). An issuing CA is certified once: :func:`issue_ca` refuses a
family whose CA is there (``CA_ALREADY_EXISTS``); a CA key rollover is not done here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import ensure_directory
from certcenter.keys.backend import CaKeys, SigningKeys, describe_public_key
from certcenter.pki.hierarchy import (
    ROOT,
    CertificateAuthority,
    backend_name,
    ensure_ocsp_signer,
    family_spec,
    holds_key,
    make_ca,
    require_root_key,
    rotate_ocsp_signer,
    write_chain,
)
from certcenter.pki.pem import public_key_der

__all__ = [
    "CeremonyDone",
    "certificate_facts",
    "init_root",
    "issue_ca",
    "read_ca_certificate",
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
    certificate = read_ca_certificate(settings.ca_path / spec.certificate_file)
    if certificate is None:  # the family's CA is made by issue-ca (or init) first
        raise CertCenterError("CA_NOT_INITIALISED")
    ca = CertificateAuthority(certificate, spec.key_label, spec.family)
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
