"""The time-stamping authority's own key and certificate (RFC 3161 §2.3).

    key = TsaKey(backend, settings, clock, issuer=lambda: hierarchy.issuing("mobile"),
                 chain=lambda: hierarchy.chain("mobile"))
    key.current().certificate        # made (or re-issued) on first use
    signature = key.sign(signed_attributes_der)

The key (``tsa``, EC P-256) never leaves the key backend. Its certificate (profile ``tsa``:
digitalSignature + nonRepudiation, extendedKeyUsage id-kp-timeStamping, critical and alone)
is issued by the mobile issuing CA, so anyone who trusts the root checks a token with the
chain the token carries (``openssl ts -verify -CAfile root-ca.pem``). It is kept in
``<ca_path>/tsa.pem`` and re-issued when it has less than 30 days left, no longer matches its
key or its CA, or cannot be read — as the CMP responder's and the OCSP responders' are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import write_replacing
from certcenter.keys.backend import CaKeys, SigningKeys
from certcenter.pki.builder import certificate_builder, validity_window
from certcenter.pki.hierarchy import CertificateAuthority
from certcenter.pki.names import ca_subject
from certcenter.pki.pem import certificate_pem, public_key_der
from certcenter.pki.profiles import OCSP_SIGNER_RENEWAL, profile

__all__ = ["TSA_LABEL", "TsaCertificate", "TsaKey"]

log = logging.getLogger(__name__)
TSA_LABEL = "tsa"


@dataclass(frozen=True)
class TsaCertificate:
    """The authority's certificate and the chain above it (issuing CA first, root last)."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


class TsaKey:
    """Makes and keeps the authority's certificate; signs with its key."""

    def __init__(
        self,
        backend: SigningKeys,
        settings: Settings,
        clock: Clock,
        *,
        issuer: Callable[[], CertificateAuthority],
        chain: Callable[[], Sequence[x509.Certificate]],
        ca_backend: CaKeys | None = None,
    ) -> None:
        self._backend = backend  # the authority's own key (an online signing key, as OCSP's)
        # the issuing CA's key, which certifies it: the same backend unless CA keys are apart
        self._ca_backend: CaKeys | None = ca_backend
        self._settings = settings
        self._clock = clock
        self._issuer = issuer
        self._chain = chain
        self._current: TsaCertificate | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._settings.ca_path / f"{TSA_LABEL}.pem"

    def current(self) -> TsaCertificate:
        with self._lock:
            ca = self._issuer()
            held = self._current
            if held is None or self._due(held.certificate, ca):
                certificate = self._load()
                if certificate is None or self._due(certificate, ca):
                    certificate = self._issue(ca)
                held = TsaCertificate(certificate, tuple(self._chain()))
                self._current = held
            return held

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA-SHA256 signature over ``data`` with the authority's key."""
        return self._backend.sign(TSA_LABEL, data)

    def _due(self, certificate: x509.Certificate, ca: CertificateAuthority) -> bool:
        now = self._clock.now()
        if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
            return True
        try:
            certificate.verify_directly_issued_by(ca.certificate)
        except (InvalidSignature, ValueError, TypeError):
            return True
        if not self._backend.has_key(TSA_LABEL) or public_key_der(
            self._backend.public_key(TSA_LABEL)
        ) != public_key_der(certificate.public_key()):
            return True
        return (
            certificate.not_valid_after_utc - now < OCSP_SIGNER_RENEWAL
            and certificate.not_valid_after_utc < ca.certificate.not_valid_after_utc
        )

    def _load(self) -> x509.Certificate | None:
        try:
            return x509.load_pem_x509_certificate(self.path.read_bytes())
        except (FileNotFoundError, ValueError):
            return None

    def _issue(self, ca: CertificateAuthority) -> x509.Certificate:
        tsa_profile = profile("tsa", self._settings)
        if not self._backend.has_key(TSA_LABEL):
            try:
                self._backend.generate_key(TSA_LABEL, tsa_profile.allowed_key_kinds[0])
            except CertCenterError as error:
                if error.code != "KEY_ALREADY_EXISTS":  # made meanwhile: use it
                    raise
        public_key = self._backend.public_key(TSA_LABEL)
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise TypeError(f"key {TSA_LABEL!r} is not an EC key")
        not_before, not_after = validity_window(tsa_profile, self._clock, ca.certificate)
        builder = certificate_builder(
            tsa_profile,
            self._settings,
            serial=x509.random_serial_number(),
            subject=ca_subject(self._settings, f"{self._settings.bank_name} Time-Stamping"),
            public_key=public_key,
            issuer_certificate=ca.certificate,
            not_before=not_before,
            not_after=not_after,
        )
        ca_backend = self._ca_backend
        if ca_backend is None:
            if not isinstance(self._backend, CaKeys):
                raise TypeError(f"{type(self._backend).__name__} cannot sign certificates")
            ca_backend = self._backend
        certificate = ca_backend.sign_certificate(ca.key_label, builder)
        write_replacing(self.path, certificate_pem(certificate).encode("ascii"), 0o644)
        log.info(
            "time-stamping certificate issued (serial %X, until %s)",
            certificate.serial_number,
            certificate.not_valid_after_utc.isoformat(),
        )
        return certificate
