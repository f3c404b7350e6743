"""The ID tokens' signing keys (ES256), kept in the key backend of online signing keys.

    ring = SigningKeyRing(uow_factory, backend, clock)
    ring.ensure()                    # the first key, once (init)
    token = jwt.encode(header, claims, ring.signer(), ["ES256"])
    ring.jwks()                      # {"keys": [current, previous]}
    ring.rotate()                    # a new current key; the old one stays published a while

The private key never leaves the backend: :class:`BackendSigningKey` is a JWK whose signing
operation asks ``backend.sign(label, data)`` (ECDSA, DER); joserfc turns the DER signature
into the JOSE form (r‖s, RFC 7518 §3.4). The key id is the key's RFC 7638 thumbprint. The
JWKS lists the current key and the one before it, so ID tokens signed just before a rotation
still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from certcenter.clock import Clock
from certcenter.entities import OidcSigningKey
from certcenter.errors import CertCenterError
from certcenter.keys.backend import OcspKeys
from certcenter.ports import UnitOfWorkFactory

ALGORITHM = "ES256"
FIRST_LABEL = "oidc-signing"
CURRENT = "current"
PREVIOUS = "previous"
RETIRED = "retired"


@dataclass(frozen=True)
class _BackendSigner:
    """Stands where joserfc expects a private key: signs inside the backend."""

    backend: OcspKeys
    label: str

    def sign(self, data: bytes, _algorithm: Any) -> bytes:
        return self.backend.sign(self.label, data)  # ECDSA P-256 with SHA-256, DER


class BackendSigningKey(ECKey):
    """A public EC JWK that signs through the key backend."""

    signer: _BackendSigner | None = None

    def get_op_key(self, operation: str) -> Any:
        if operation == "sign":
            if self.signer is None:
                raise CertCenterError("KEY_NOT_FOUND", label="oidc")
            return self.signer
        return super().get_op_key(operation)  # type: ignore[call-overload]


def public_jwk(public_key: ec.EllipticCurvePublicKey) -> ECKey:
    key = ECKey.import_key(public_key, {"use": "sig", "alg": ALGORITHM})
    key.ensure_kid()
    return key


class SigningKeyRing:
    def __init__(self, uow_factory: UnitOfWorkFactory, backend: OcspKeys, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.backend = backend
        self.clock = clock

    def ensure(self) -> OidcSigningKey:
        """The current key; made (or found in the backend under the first label) if none."""
        with self.uow_factory() as uow:
            keys = uow.oidc.signing_keys()
            for key in keys:
                if key.state == CURRENT:
                    return key
            if not self.backend.has_key(FIRST_LABEL):
                self.backend.generate_key(FIRST_LABEL, "ec-p256")
            made = OidcSigningKey(
                kid=self._kid(FIRST_LABEL),
                label=FIRST_LABEL,
                state=CURRENT,
                created_at=self.clock.now(),
            )
            uow.oidc.add_signing_key(made)
            uow.commit()
            return made

    def rotate(self) -> OidcSigningKey:
        """A new current key; the current one becomes previous (still in the JWKS), the
        previous one is retired (no longer published)."""
        current = self.ensure()
        now = self.clock.now()
        with self.uow_factory() as uow:
            keys = uow.oidc.signing_keys()
            label = f"{FIRST_LABEL}-{len(keys) + 1}"
            while self.backend.has_key(label):
                label = f"{label}-next"
            self.backend.generate_key(label, "ec-p256")
            for key in keys:
                if key.state == PREVIOUS:
                    key.state = RETIRED
                    key.retired_at = now
                elif key.kid == current.kid:
                    key.state = PREVIOUS
            made = OidcSigningKey(kid=self._kid(label), label=label, state=CURRENT, created_at=now)
            uow.oidc.add_signing_key(made)
            uow.commit()
            return made

    def current(self) -> OidcSigningKey:
        with self.uow_factory(read_only=True) as uow:
            for key in uow.oidc.signing_keys():
                if key.state == CURRENT:
                    return key
        return self.ensure()

    def signer(self) -> BackendSigningKey:
        """The current key as a JWK that signs in the backend (``kid`` set)."""
        current = self.current()
        public = self._public(current.label)
        key = BackendSigningKey.import_key(public, {"use": "sig", "alg": ALGORITHM})
        key.ensure_kid()
        key.signer = _BackendSigner(self.backend, current.label)
        return key

    def published(self) -> list[OidcSigningKey]:
        with self.uow_factory(read_only=True) as uow:
            keys = uow.oidc.signing_keys()
        return [k for k in keys if k.state in (CURRENT, PREVIOUS)]

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The published keys (current first, then previous), public halves only."""
        keys = sorted(self.published(), key=lambda k: k.state != CURRENT)
        return {"keys": [dict(public_jwk(self._public(k.label)).as_dict()) for k in keys]}

    def _public(self, label: str) -> ec.EllipticCurvePublicKey:
        public = self.backend.public_key(label)
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise CertCenterError("KEY_NOT_FOUND", label=label)
        return public

    def _kid(self, label: str) -> str:
        return str(public_jwk(self._public(label)).kid)
