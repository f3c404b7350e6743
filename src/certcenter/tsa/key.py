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

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.keys.backend import CaKeys, SigningKeys
from certcenter.pki.delegated import DelegatedSpec, ensure_delegated
from certcenter.pki.hierarchy import CertificateAuthority

__all__ = ["TSA_LABEL", "TsaCertificate", "TsaKey"]

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
        self._spec = DelegatedSpec(
            label=TSA_LABEL,
            profile="tsa",
            common_name_suffix="Time-Stamping",
            path=settings.ca_path / f"{TSA_LABEL}.pem",
            description="time-stamping",
        )
        self._current: TsaCertificate | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._spec.path

    def current(self) -> TsaCertificate:
        with self._lock:
            ca = self._issuer()
            held = self._current
            certificate = ensure_delegated(
                self._spec,
                self._backend,
                self._certifier(),
                self._settings,
                self._clock,
                ca,
                held=held.certificate if held is not None else None,
            )
            if held is None or certificate is not held.certificate:
                held = TsaCertificate(certificate, tuple(self._chain()))
                self._current = held
            return held

    def sign(self, data: bytes) -> bytes:
        """A DER ECDSA-SHA256 signature over ``data`` with the authority's key."""
        return self._backend.sign(TSA_LABEL, data)

    def _certifier(self) -> CaKeys:
        if self._ca_backend is not None:
            return self._ca_backend
        if not isinstance(self._backend, CaKeys):
            raise TypeError(f"{type(self._backend).__name__} cannot sign certificates")
        return self._backend
