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

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.keys.backend import CaKeys
from certcenter.pki.delegated import DelegatedSpec, ensure_delegated
from certcenter.pki.hierarchy import CertificateAuthority

__all__ = [
    "ECDSA_WITH_SHA256",
    "ECDSA_WITH_SHA384",
    "RESPONDER_LABEL",
    "CmpResponderKey",
    "Responder",
]

RESPONDER_LABEL = "cmp-responder"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"  # the responder's signature algorithms
ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3"


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
        self._spec = DelegatedSpec(
            label=RESPONDER_LABEL,
            profile="cmp-responder",
            common_name_suffix="CMP Responder",
            path=settings.ca_path / f"{RESPONDER_LABEL}.pem",
            description="CMP responder",
        )
        self._current: Responder | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._spec.path

    def current(self) -> Responder:
        with self._lock:
            ca = self._issuer()
            held = self._current
            certificate = ensure_delegated(
                self._spec,
                self._backend,
                self._backend,
                self._settings,
                self._clock,
                ca,
                held=held.certificate if held is not None else None,
            )
            if held is None or certificate is not held.certificate:
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
