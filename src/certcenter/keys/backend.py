"""The key backend contract: private keys stay inside, callers ask the backend to sign.

A backend holds the CA keys and the secrets (the PIN pepper) under short labels chosen by
code (``root-ca``, ``mobile-ca``, ``pin-pepper``). It hands out public keys, signatures,
signed certificates, CRLs and OCSP responses, and HMACs, never a private key or a secret.
Backends: software (:mod:`certcenter.keys.software`) and PKCS#11 (:mod:`certcenter.keys.hsm`).

Each consumer asks for its purpose only: :class:`CaKeys` (certificates, CRLs),
:class:`OcspKeys` (OCSP responses, and the audit checkpoints' signatures),
:class:`CustomerKeys` (the financial certificate's cloud keys), :class:`Secrets` (HMAC and
sealing). Configuration may put each purpose on its own backend (:class:`KeyBackends`
in :mod:`certcenter.keys`); :class:`KeyBackend` is a whole backend, all four at once.

    backend = load_key_backend(settings)              # certcenter.keys
    backend.generate_key("mobile-ca", "ec-p256")
    certificate = backend.sign_certificate("mobile-ca", builder)

The hash follows the curve, everywhere: SHA-256 for P-256, SHA-384 for P-384. An RSA key
(``rsa-2048``: the joint certificate's CA, which NPKI readers expect to be RSA) signs with
RSASSA-PKCS1-v1_5 and SHA-256 (:func:`hash_for_key`, :func:`verify_signature`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509 import ocsp

__all__ = [
    "KEY_KINDS",
    "LABEL_PATTERN",
    "CaKeys",
    "CustomerKeys",
    "KeyBackend",
    "KeyKind",
    "OcspKeys",
    "SecretImporter",
    "Secrets",
    "SignatureHash",
    "SigningKeys",
    "WrappedKey",
    "check_label",
    "curve_for_kind",
    "describe_key_kind",
    "describe_public_key",
    "hash_for_curve",
    "hash_for_key",
    "hash_for_kind",
    "key_kind_of",
    "signature_valid",
]

KeyKind = Literal["ec-p256", "ec-p384", "rsa-2048"]
RSA_BITS: dict[KeyKind, int] = {"rsa-2048": 2048}
RSA_PUBLIC_EXPONENT = 65537
KEY_KINDS: tuple[KeyKind, ...] = get_args(KeyKind)

# Labels are chosen by code, never by users; they also name files, so no path characters.
LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

_CURVES: dict[KeyKind, type[ec.EllipticCurve]] = {
    "ec-p256": ec.SECP256R1,
    "ec-p384": ec.SECP384R1,
}
SignatureHash = hashes.SHA256 | hashes.SHA384
_HASHES: dict[KeyKind, type[SignatureHash]] = {
    "ec-p256": hashes.SHA256,
    "ec-p384": hashes.SHA384,
    "rsa-2048": hashes.SHA256,
}
_KIND_NAMES: dict[KeyKind, str] = {
    "ec-p256": "EC P-256",
    "ec-p384": "EC P-384",
    "rsa-2048": "RSA-2048",
}


@runtime_checkable
class SigningKeys(Protocol):
    """Key pairs under labels that sign bytes: what every signing purpose has in common."""

    def has_key(self, label: str) -> bool:
        """Whether a private key is stored under ``label``."""
        ...

    def generate_key(self, label: str, kind: KeyKind = "ec-p256") -> PublicKeyTypes:
        """Create a key; ``KEY_ALREADY_EXISTS`` if ``label`` is taken (never overwrites)."""
        ...

    def public_key(self, label: str) -> PublicKeyTypes:
        """The public half of a stored key; ``KEY_NOT_FOUND`` if there is none."""
        ...

    def sign(self, label: str, data: bytes) -> bytes:
        """An ECDSA signature (DER) over ``data`` (hash by curve); an RSA key's is
        RSASSA-PKCS1-v1_5 with SHA-256."""
        ...


@runtime_checkable
class CaKeys(SigningKeys, Protocol):
    """The CAs' keys (root, issuing CAs, the CMP responder): certificates and CRLs."""

    def sign_certificate(self, label: str, builder: x509.CertificateBuilder) -> x509.Certificate:
        """Sign a certificate with the key under ``label`` (hash by curve)."""
        ...

    def sign_crl(
        self, label: str, builder: x509.CertificateRevocationListBuilder
    ) -> x509.CertificateRevocationList:
        """Sign a CRL with the key under ``label`` (hash by curve)."""
        ...


@runtime_checkable
class OcspKeys(SigningKeys, Protocol):
    """The keys that sign online, often: the OCSP responders' (and the audit checkpoints')."""

    def sign_ocsp(self, label: str, builder: ocsp.OCSPResponseBuilder) -> ocsp.OCSPResponse:
        """Sign an OCSP response with the key under ``label`` (hash by curve)."""
        ...


@dataclass(frozen=True)
class WrappedKey:
    """A key pair whose private half left its backend only wrapped (AES key wrap with
    padding, RFC 5649) under a key-encryption key that never leaves it."""

    public_key: PublicKeyTypes
    wrapped: bytes = field(repr=False)  # opens only inside the backend that made it


@runtime_checkable
class CustomerKeys(SigningKeys, Protocol):
    """The financial certificate's cloud keys (클라우드 키): one per customer, destroyable.

    At scale they are wrapped: each private key is stored by the caller (in the database)
    wrapped under the key-encryption key ``wrapping_label``, and is unwrapped only inside
    the backend to sign. Deleting the wrapped blob destroys the key. Keys kept under their
    own label (``generate_key``, ``sign``, ``delete_key``) are those of older accounts.
    """

    def delete_key(self, label: str) -> bool:
        """Destroy the key under ``label`` (a customer's cloud key whose account is deleted);
        True if there was one, False if there was none (idempotent). Never for CA keys."""
        ...

    def ensure_wrapping_key(self, label: str) -> None:
        """Create the key-encryption key ``label`` (AES-256) unless it is there."""
        ...

    def generate_wrapped_key(self, wrapping_label: str, kind: KeyKind = "ec-p256") -> WrappedKey:
        """A new key pair, its private key wrapped under ``wrapping_label`` (nothing of it is
        kept by the backend); ``KEY_NOT_FOUND`` without that wrapping key."""
        ...

    def sign_wrapped(self, wrapping_label: str, wrapped: bytes, data: bytes) -> bytes:
        """Unwrap inside the backend and sign ``data`` as :meth:`sign` does; the unwrapped
        key is gone when this returns. ``KEY_NOT_FOUND`` when the blob does not unwrap."""
        ...

    def rewrap(self, old_label: str, new_label: str, wrapped: bytes) -> bytes:
        """The same private key wrapped under ``new_label`` instead of ``old_label``:
        unwrapped and wrapped again inside the backend, never in clear outside it (a
        key-encryption key rotation). ``KEY_NOT_FOUND`` when it does not unwrap."""
        ...

    def delete_wrapping_key(self, label: str) -> bool:
        """Destroy the key-encryption key ``label`` (no wrapped key uses it any more): True
        if there was one. Every key still wrapped under it is lost with it."""
        ...


@runtime_checkable
class SecretImporter(Protocol):
    """A backend that takes secrets in (an HSM token: ``certcenter keys migrate``)."""

    def import_secret(self, label: str, value: bytes, *, wrapping: bool = False) -> None:
        """Store ``value`` under ``label`` as sensitive, not extractable: for HMAC and
        sealing, or (``wrapping``) as a key-encryption key that only unwraps. If ``label``
        is there already with the same value, nothing changes; with another value,
        ``KEY_MIGRATION_CONFLICT``."""
        ...


@runtime_checkable
class Secrets(Protocol):
    """Secrets that never leave: the PIN pepper, code digests, the sealing keys."""

    def ensure_secret(self, label: str) -> None:
        """Create a random 32-byte secret under ``label`` unless one is there."""
        ...

    def mac(self, label: str, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under the secret ``label``; ``KEY_NOT_FOUND`` if none."""
        ...

    def delete_secret(self, label: str) -> bool:
        """Destroy the secret ``label`` (an old pepper generation nothing uses any more):
        True if there was one. What was made with it can no longer be checked."""
        ...

    def encrypt(self, label: str, plaintext: bytes, context: bytes) -> bytes:
        """Seal data for storage outside the backend (AES-256-GCM under the secret ``label``;
        ``context`` is bound as associated data: the same context is needed to open it)."""
        ...

    def decrypt(self, label: str, sealed: bytes, context: bytes) -> bytes:
        """Open what :meth:`encrypt` sealed; ``KEY_NOT_FOUND`` when it does not open."""
        ...


@runtime_checkable
class KeyBackend(CaKeys, OcspKeys, CustomerKeys, Secrets, Protocol):
    """A whole backend: every purpose (each consumer asks for its purpose's Protocol only)."""

    name: str

    def verify_passphrase(self) -> None:
        """Open one stored object, so a wrong or missing passphrase (or token PIN) shows at
        start-up; does nothing while the store is empty."""
        ...


def check_label(label: str) -> str:
    """``label`` itself if it is a valid key label, else :class:`ValueError`."""
    if not isinstance(label, str) or LABEL_PATTERN.fullmatch(label) is None:
        raise ValueError(
            f"invalid key label {label!r}: use 1-64 of a-z 0-9 . _ - starting with a-z or 0-9"
        )
    return label


def curve_for_kind(kind: KeyKind) -> ec.EllipticCurve:
    try:
        return _CURVES[kind]()
    except KeyError:
        known = ", ".join(k for k in KEY_KINDS if k in _CURVES)
        raise ValueError(f"unknown EC key kind {kind!r}; known: {known}") from None


def hash_for_key(public_key: PublicKeyTypes) -> SignatureHash:
    """The hash a CA key of ours signs with: by curve for EC, SHA-256 for RSA-2048
    (ValueError for any other key)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return hash_for_curve(public_key.curve)
    kind = key_kind_of(public_key)
    if kind is None:
        raise ValueError(f"no signature hash for a {describe_public_key(public_key)} key")
    return hash_for_kind(kind)


def signature_valid(public_key: PublicKeyTypes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` (what :meth:`KeyBackend.sign` made) verifies over ``data``:
    ECDSA with the curve's hash, or RSASSA-PKCS1-v1_5 with SHA-256 (False for other keys)."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_for_curve(public_key.curve)))
        elif isinstance(public_key, rsa.RSAPublicKey) and key_kind_of(public_key) is not None:
            public_key.verify(signature, data, padding.PKCS1v15(), hash_for_key(public_key))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def hash_for_kind(kind: KeyKind) -> SignatureHash:
    return _HASHES[kind]()


def hash_for_curve(curve: ec.EllipticCurve) -> SignatureHash:
    """The signature hash used with a key on ``curve`` (ValueError for other curves)."""
    for kind, curve_type in _CURVES.items():
        if isinstance(curve, curve_type):
            return hash_for_kind(kind)
    raise ValueError(f"unsupported curve {curve.name}")


def key_kind_of(public_key: PublicKeyTypes) -> KeyKind | None:
    """The :data:`KeyKind` of a public key, or None when it is none of them."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        for kind, curve_type in _CURVES.items():
            if isinstance(public_key.curve, curve_type):
                return kind
    if isinstance(public_key, rsa.RSAPublicKey):
        for kind, bits in RSA_BITS.items():
            if public_key.key_size == bits and public_key.public_numbers().e == RSA_PUBLIC_EXPONENT:
                return kind
    return None


def describe_key_kind(kind: KeyKind) -> str:
    """Words for people: ``"EC P-256"``."""
    return _KIND_NAMES[kind]


def describe_public_key(public_key: PublicKeyTypes) -> str:
    """Words for people naming any key's type: ``"RSA-2048"``, ``"Ed25519"``, ``"EC P-384"``."""
    kind = key_kind_of(public_key)
    if kind is not None:
        return describe_key_kind(kind)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"EC {public_key.curve.name}"
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA-{public_key.key_size}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    return type(public_key).__name__.removesuffix("PublicKey").lstrip("_") or "unknown"
