"""The CMP server's own signing key and certificate (RFC 9483 §3.1): it signs the answers to
signed requests (``kup``, ``rp``, and errors where no MAC can be made).

    responder = CmpResponderKey(backend, settings, clock, issuer=lambda: hierarchy.issuing("joint"),
                                chain=lambda: hierarchy.chain("joint"))
    responder.current().certificate      # made (or re-issued) on first use
    algorithm, signature = responder.sign(protected_part)

The key (``cmp-responder``, EC P-256) never leaves the key backend. Its certificate (profile
``cmp-responder``: digitalSignature, id-kp-cmcRA) is issued by the CA the server issues for,
so a client that trusts the root (``openssl cmp -trusted root-ca.pem``) checks the answer
with the chain in extraCerts; it is kept in ``<ca_path>/cmp-responder.pem`` and re-issued
when it has less than 30 days left, no longer matches its key or its CA, or cannot be read.
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
from certcenter.cmp.protection import ECDSA_WITH_SHA256, ECDSA_WITH_SHA384
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.atomic import write_replacing
from certcenter.keys.backend import CaKeys
from certcenter.pki.builder import certificate_builder, validity_window
from certcenter.pki.hierarchy import CertificateAuthority
from certcenter.pki.names import ca_subject
from certcenter.pki.pem import certificate_pem, public_key_der
from certcenter.pki.profiles import OCSP_SIGNER_RENEWAL, profile

__all__ = ["RESPONDER_LABEL", "CmpResponderKey", "Responder"]

log = logging.getLogger(__name__)
RESPONDER_LABEL = "cmp-responder"


@dataclass(frozen=True)
class Responder:
    """The responder's certificate and the chain above it (issuing CA first, root last)."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    @property
    def key_id(self) -> bytes:
        return self.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest


class CmpResponderKey:
    """Makes and keeps the responder's certificate; signs with its key."""

    def __init__(
        self,
        backend: CaKeys,
        settings: Settings,
        clock: Clock,
        *,
        issuer: Callable[[], CertificateAuthority],
        chain: Callable[[], Sequence[x509.Certificate]],
    ) -> None:
        self._backend = backend
        self._settings = settings
        self._clock = clock
        self._issuer = issuer
        self._chain = chain
        self._current: Responder | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._settings.ca_path / f"{RESPONDER_LABEL}.pem"

    def current(self) -> Responder:
        with self._lock:
            ca = self._issuer()
            held = self._current
            if held is None or self._due(held.certificate, ca):
                certificate = self._load(ca)
                if certificate is None or self._due(certificate, ca):
                    certificate = self._issue(ca)
                held = Responder(certificate, tuple(self._chain()))
                self._current = held
            return held

    def algorithm_oid(self) -> str:
        """The signature algorithm of :meth:`sign` (ECDSA, the hash by the curve)."""
        public_key = self.current().certificate.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise TypeError(f"key {RESPONDER_LABEL!r} is not an EC key")
        return ECDSA_WITH_SHA384 if public_key.curve.key_size >= 384 else ECDSA_WITH_SHA256

    def sign(self, data: bytes) -> tuple[str, bytes]:
        """(signature algorithm OID, signature) over ``data`` with the responder's key."""
        algorithm = self.algorithm_oid()
        return algorithm, self._backend.sign(RESPONDER_LABEL, data)

    def _due(self, certificate: x509.Certificate, ca: CertificateAuthority) -> bool:
        now = self._clock.now()
        if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
            return True
        try:
            certificate.verify_directly_issued_by(ca.certificate)
        except (InvalidSignature, ValueError, TypeError):
            return True
        if not self._backend.has_key(RESPONDER_LABEL) or public_key_der(
            self._backend.public_key(RESPONDER_LABEL)
        ) != public_key_der(certificate.public_key()):
            return True
        return (
            certificate.not_valid_after_utc - now < OCSP_SIGNER_RENEWAL
            and certificate.not_valid_after_utc < ca.certificate.not_valid_after_utc
        )

    def _load(self, ca: CertificateAuthority) -> x509.Certificate | None:
        try:
            return x509.load_pem_x509_certificate(self.path.read_bytes())
        except (FileNotFoundError, ValueError):
            return None

    def _issue(self, ca: CertificateAuthority) -> x509.Certificate:
        responder_profile = profile("cmp-responder", self._settings)
        if not self._backend.has_key(RESPONDER_LABEL):
            try:
                self._backend.generate_key(RESPONDER_LABEL, responder_profile.allowed_key_kinds[0])
            except CertCenterError as error:
                if error.code != "KEY_ALREADY_EXISTS":  # made meanwhile: use it
                    raise
        public_key = self._backend.public_key(RESPONDER_LABEL)
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise TypeError(f"key {RESPONDER_LABEL!r} is not an EC key")
        not_before, not_after = validity_window(responder_profile, self._clock, ca.certificate)
        builder = certificate_builder(
            responder_profile,
            self._settings,
            serial=x509.random_serial_number(),
            subject=ca_subject(self._settings, f"{self._settings.bank_name} CMP Responder"),
            public_key=public_key,
            issuer_certificate=ca.certificate,
            not_before=not_before,
            not_after=not_after,
        )
        certificate = self._backend.sign_certificate(ca.key_label, builder)
        write_replacing(self.path, certificate_pem(certificate).encode("ascii"), 0o644)
        log.info(
            "CMP responder certificate issued (serial %X, until %s)",
            certificate.serial_number,
            certificate.not_valid_after_utc.isoformat(),
        )
        return certificate
