"""Delegated signers' certificates: made for a key of their own, kept up by the issuing CA.

The OCSP responders, the time-stamping authority and the CMP server each sign with a key of
their own, certified by an issuing CA. Their certificates are kept in the same way, here:

    spec = DelegatedSpec(label="tsa", profile="tsa", common_name_suffix="Time-Stamping",
                         path=settings.ca_path / "tsa.pem", description="time-stamping")
    certificate = ensure_delegated(spec, keys, ca_keys, settings, clock, ca)
    certificate = ensure_delegated(spec, keys, ca_keys, settings, clock, ca, held=certificate)

:func:`ensure_delegated` returns the certificate held in memory (``held``) while it is good,
else the one in the file while that is good, else makes one: the key (under ``spec.label``,
of the profile's first key kind) when there is none, and a certificate from ``ca``, written
atomically to ``spec.path``. A certificate is good (:func:`delegated_due` says no) while it
is valid now, issued by ``ca``, belongs to the key under its label, and is not within
:data:`~certcenter.pki.profiles.OCSP_SIGNER_RENEWAL` (30 days) of its end, unless a new one
would end no later (it never outlives its CA). Several processes may do this at once: each
uses the certificate it made, all are valid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import write_replacing
from certcenter.keys.backend import CaKeys, SigningKeys
from certcenter.pki.builder import certificate_builder, check_key_allowed, validity_window
from certcenter.pki.names import ca_subject
from certcenter.pki.pem import certificate_pem, public_key_der
from certcenter.pki.profiles import OCSP_SIGNER_RENEWAL, profile

if TYPE_CHECKING:  # the hierarchy keeps its OCSP responders with this module
    from certcenter.pki.hierarchy import CertificateAuthority

__all__ = [
    "DelegatedSpec",
    "delegated_due",
    "ensure_delegated",
    "issue_delegated",
    "issued_by",
    "read_delegated",
    "renewal_due",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DelegatedSpec:
    """One delegated signer: its key's label, profile, subject and file."""

    label: str  # the key's label in the signer's backend
    profile: str  # the certificate profile (``ocsp-signer``, ``tsa``, ``cmp-responder``)
    common_name_suffix: str  # CN = "<bank_name> <suffix>"
    path: Path  # where its certificate is kept (PEM)
    description: str  # words for the log: "time-stamping"


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key signed ``certificate`` (and the names chain)."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def read_delegated(path: Path) -> x509.Certificate | None:
    """The certificate in ``path``; None when it is missing or unreadable."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def delegated_due(
    certificate: x509.Certificate,
    ca: CertificateAuthority,
    keys: SigningKeys,
    label: str,
    now: datetime,
) -> bool:
    """Whether ``certificate`` should be replaced (module docstring)."""
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        return True
    if not issued_by(certificate, ca.certificate):
        return True
    if not keys.has_key(label) or public_key_der(keys.public_key(label)) != public_key_der(
        certificate.public_key()
    ):
        return True
    return renewal_due(certificate, ca, now)


def renewal_due(certificate: x509.Certificate, ca: CertificateAuthority, now: datetime) -> bool:
    """Whether ``certificate`` is not valid at ``now``, or within the renewal margin of its
    end while a new one would last longer (it never outlives its CA)."""
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        return True
    return (
        certificate.not_valid_after_utc - now < OCSP_SIGNER_RENEWAL
        and certificate.not_valid_after_utc < ca.certificate.not_valid_after_utc
    )


def ensure_delegated(
    spec: DelegatedSpec,
    keys: SigningKeys,
    ca_keys: CaKeys,
    settings: Settings,
    clock: Clock,
    ca: CertificateAuthority,
    *,
    held: x509.Certificate | None = None,
) -> x509.Certificate:
    """``held`` while it is good, else the file's, else a new certificate (module
    docstring). The caller tells a new one from ``held`` by identity (``is not held``)."""
    now = clock.now()
    if held is not None and not delegated_due(held, ca, keys, spec.label, now):
        return held
    stored = read_delegated(spec.path)
    if stored is not None and not delegated_due(stored, ca, keys, spec.label, now):
        return stored
    return issue_delegated(spec, keys, ca_keys, settings, clock, ca)


def issue_delegated(
    spec: DelegatedSpec,
    keys: SigningKeys,
    ca_keys: CaKeys,
    settings: Settings,
    clock: Clock,
    ca: CertificateAuthority,
) -> x509.Certificate:
    """A new certificate from ``ca`` for the key under ``spec.label`` (made when there is
    none), written to ``spec.path``."""
    signer_profile = profile(spec.profile, settings)
    if not keys.has_key(spec.label):
        try:
            keys.generate_key(spec.label, signer_profile.allowed_key_kinds[0])
        except CertCenterError as error:
            if error.code != "KEY_ALREADY_EXISTS":  # made meanwhile: use it
                raise
    try:
        public_key = check_key_allowed(signer_profile, keys.public_key(spec.label))
    except CertCenterError:
        raise TypeError(f"key {spec.label!r} is not of the kind {spec.profile} takes") from None
    not_before, not_after = validity_window(signer_profile, clock, ca.certificate)
    builder = certificate_builder(
        signer_profile,
        settings,
        serial=x509.random_serial_number(),
        subject=ca_subject(settings, f"{settings.bank_name} {spec.common_name_suffix}"),
        public_key=public_key,
        issuer_certificate=ca.certificate,
        not_before=not_before,
        not_after=not_after,
    )
    if signer_profile.ocsp_no_check:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    certificate = ca_keys.sign_certificate(ca.key_label, builder)
    write_replacing(spec.path, certificate_pem(certificate).encode("ascii"), 0o644)
    log.info(
        "%s certificate issued (key %s, serial %X, until %s)",
        spec.description,
        spec.label,
        certificate.serial_number,
        certificate.not_valid_after_utc.isoformat(),
    )
    return certificate
