"""The content of a certificate, from its profile: the one place extensions are decided.

:func:`certificate_builder` turns a profile plus the particulars (serial, names, key,
validity) into an unsigned :class:`~cryptography.x509.CertificateBuilder`; the same inputs
give the same to-be-signed bytes, which is what lets :mod:`certcenter.pki.issuer` record an
intent before signing. :func:`validity_window` decides notBefore/notAfter.

    builder = certificate_builder(
        profile("mobile", settings), settings, serial=serial, subject=subject,
        public_key=key, issuer_certificate=issuing_ca, not_before=nb, not_after=na)
    certificate = backend.sign_certificate("mobile-ca", builder)

Extensions, in this order: basicConstraints (critical), keyUsage (critical),
extendedKeyUsage (if the profile has one), certificatePolicies (if the profile has a
policy), subjectKeyIdentifier, authorityKeyIdentifier, authorityInfoAccess and
cRLDistributionPoints (if the profile points to them). A subjectAltName (the joint
certificate's VID, an otherName) is added after the policies when one is given. Key
identifiers are the SHA-1 of the subject public key bits (RFC 5280 §4.2.1.2 method 1);
the authority key identifier copies the issuer's subjectKeyIdentifier, or is computed for
a self-signed certificate.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import AuthorityInformationAccessOID

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.backend import (
    SignatureHash,
    describe_key_kind,
    describe_public_key,
    hash_for_key,
    key_kind_of,
)
from certcenter.pki.profiles import CertificateProfile

__all__ = [
    "CLOCK_SKEW_ALLOWANCE",
    "certificate_builder",
    "check_key_allowed",
    "signature_hash_for",
    "throwaway_key_like",
    "validity_window",
]

# notBefore is set this far before "now" so that a phone whose clock runs a little slow
# does not see a certificate that is not valid yet. notAfter counts from notBefore.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)


def check_key_allowed(
    profile: CertificateProfile, public_key: PublicKeyTypes
) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """The key, if ``profile`` takes its kind; else ``CSR_KEY_TYPE_NOT_ALLOWED``."""
    kind = key_kind_of(public_key)
    if (
        kind is None
        or kind not in profile.allowed_key_kinds
        or not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    ):
        raise CertCenterError(
            "CSR_KEY_TYPE_NOT_ALLOWED",
            allowed=", ".join(describe_key_kind(k) for k in profile.allowed_key_kinds),
            found=describe_public_key(public_key),
        )
    return public_key


def validity_window(
    profile: CertificateProfile, clock: Clock, issuer: x509.Certificate | None
) -> tuple[datetime, datetime]:
    """(notBefore, notAfter): now less the skew allowance, whole seconds, plus the validity.

    notAfter never passes the issuer's own notAfter; an issuer that is not valid at
    notBefore is a :class:`RuntimeError` (a CA must be renewed before that happens).
    """
    now = clock.now()
    not_before = (now - CLOCK_SKEW_ALLOWANCE).replace(microsecond=0)
    not_after = not_before + profile.validity
    if issuer is not None:
        if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
            raise RuntimeError(
                f"CA certificate {issuer.subject.rfc4514_string()} is not valid at {now:%Y-%m-%d}"
            )
        not_after = min(not_after, issuer.not_valid_after_utc)
    return not_before, not_after


def signature_hash_for(issuer_public_key: PublicKeyTypes) -> SignatureHash:
    """The hash an issuer's key signs with (it fixes the TBS signature algorithm)."""
    if key_kind_of(issuer_public_key) is None:
        raise TypeError(
            f"CA keys are EC or RSA-2048 keys, not {describe_public_key(issuer_public_key)}"
        )
    return hash_for_key(issuer_public_key)


_THROWAWAY_RSA: dict[int, rsa.RSAPrivateKey] = {}
_THROWAWAY_LOCK = threading.Lock()


def throwaway_key_like(issuer_public_key: PublicKeyTypes) -> CertificateIssuerPrivateKeyTypes:
    """A key of the issuer key's type: signs a builder only to learn its TBS bytes (the TBS
    names the signature algorithm, never the key). EC keys are fresh each time; an RSA key
    costs tens of milliseconds to make, so one per size is made once per process."""
    if isinstance(issuer_public_key, ec.EllipticCurvePublicKey):
        return ec.generate_private_key(issuer_public_key.curve)
    if isinstance(issuer_public_key, rsa.RSAPublicKey) and key_kind_of(issuer_public_key):
        size = issuer_public_key.key_size
        with _THROWAWAY_LOCK:
            key = _THROWAWAY_RSA.get(size)
            if key is None:
                key = _THROWAWAY_RSA[size] = rsa.generate_private_key(65537, size)
        return key
    raise TypeError(
        f"CA keys are EC or RSA-2048 keys, not {describe_public_key(issuer_public_key)}"
    )


def _url(settings: Settings, path: str) -> x509.UniformResourceIdentifier:
    return x509.UniformResourceIdentifier(settings.public_base_url.rstrip("/") + path)


def certificate_builder(
    profile: CertificateProfile,
    settings: Settings,
    *,
    serial: int,
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer_certificate: x509.Certificate | None,
    not_before: datetime,
    not_after: datetime,
    subject_alt_name: x509.SubjectAlternativeName | None = None,
) -> x509.CertificateBuilder:
    """The unsigned certificate; ``issuer_certificate`` None means self-signed."""
    if issuer_certificate is None:
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise TypeError(f"a self-signed CA key is EC or RSA, not {type(public_key).__name__}")
        issuer_name = subject
        authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key)
    else:
        issuer_name = issuer_certificate.subject
        issuer_ski = issuer_certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            issuer_ski
        )

    builder = (
        x509.CertificateBuilder()
        .serial_number(serial)
        .issuer_name(issuer_name)
        .subject_name(subject)
        .public_key(public_key)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=profile.is_ca, path_length=profile.path_length),
            critical=True,
        )
        .add_extension(profile.key_usage_extension(), critical=True)
    )
    if profile.extended_key_usage is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(profile.extended_key_usage)),
            critical=profile.extended_key_usage_critical,
        )
    if profile.policy_oid is not None:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [
                    x509.PolicyInformation(
                        profile.policy_oid, [settings.cps_url] if settings.cps_url else None
                    )
                ]
            ),
            critical=False,
        )
    if subject_alt_name is not None:
        builder = builder.add_extension(subject_alt_name, critical=False)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
    ).add_extension(authority_key_id, critical=False)
    if profile.has_aia:
        descriptions = []
        if profile.ocsp_path is not None:
            descriptions.append(
                x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP, _url(settings, profile.ocsp_path)
                )
            )
        if profile.ca_issuers_path is not None:
            descriptions.append(
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS,
                    _url(settings, profile.ca_issuers_path),
                )
            )
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(descriptions), critical=False
        )
    if profile.crl_path is not None:
        point = x509.DistributionPoint(
            full_name=[_url(settings, profile.crl_path)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return builder
