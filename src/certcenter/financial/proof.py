"""The device proof of the financial certificate: a registered browser's key signs a challenge.

A browser (or app) that is registered for the financial certificate keeps an ECDSA P-256 key
made by WebCrypto (``extractable: false``, in the browser's own storage); the center knows
its SubjectPublicKeyInfo. To activate the cloud key once, the device signs
:func:`activation_message` — the activation's id, purpose, challenge and the SHA-256 of the
exact bytes to be signed — so a device signature made for one activation (or one document)
serves no other.

    key = device_key(spki_der)                         # FINANCIAL_DEVICE_KEY_INVALID if not P-256
    message = activation_message(activation)           # what the device signs
    ok = device_signature_valid(key, message, "MEUCIQ…" or raw r||s in base64)

WebCrypto's ``ECDSA`` signatures are the raw ``r || s`` form (IEEE P1363: 64 bytes for
P-256), not DER; both forms are accepted here (DER is what other clients send).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from certcenter.entities import SigningActivation
from certcenter.errors import CertCenterError

__all__ = [
    "MAX_SIGNATURE_TEXT",
    "activation_message",
    "canonical_spki",
    "device_key",
    "device_signature_valid",
    "key_digest",
    "signature_der",
]

MAX_SPKI_BYTES = 512
MAX_SIGNATURE_TEXT = 400  # base64 of a DER P-256 signature is at most 96 characters
_RAW_P256 = 64


def device_key(spki: bytes) -> ec.EllipticCurvePublicKey:
    """The device's public key from its DER SubjectPublicKeyInfo (what WebCrypto's
    ``exportKey("spki")`` gives); ``FINANCIAL_DEVICE_KEY_INVALID`` unless EC P-256."""
    if not isinstance(spki, bytes) or not 0 < len(spki) <= MAX_SPKI_BYTES:
        raise CertCenterError("FINANCIAL_DEVICE_KEY_INVALID", detail="not a public key")
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, TypeError):
        raise CertCenterError(
            "FINANCIAL_DEVICE_KEY_INVALID", detail="not a DER SubjectPublicKeyInfo"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CertCenterError("FINANCIAL_DEVICE_KEY_INVALID", detail="must be an EC P-256 key")
    return key


def key_digest(key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 (hex) of the key's canonical SubjectPublicKeyInfo: one registration per key."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def canonical_spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def activation_message(activation: SigningActivation) -> bytes:
    """What the device signs to authorize ``activation``: bound to its id, purpose, challenge
    and the hash of the data the cloud key will sign."""
    return (
        "certcenter-financial-activation:v1\n"
        f"activation: {activation.id}\n"
        f"purpose: {activation.purpose}\n"
        f"data-sha256: {activation.data_sha256}\n"
        f"challenge: {activation.challenge}\n"
    ).encode("ascii")


def signature_der(signature: str) -> bytes | None:
    """The DER ECDSA signature in ``signature`` (base64 of DER, or of raw ``r || s`` as
    WebCrypto makes it); None when it is neither."""
    if not isinstance(signature, str) or not 0 < len(signature) <= MAX_SIGNATURE_TEXT:
        return None
    text = signature.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:  # WebCrypto callers often send base64url
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
    if len(raw) == _RAW_P256:
        r = int.from_bytes(raw[:32], "big")
        s = int.from_bytes(raw[32:], "big")
        if r == 0 or s == 0:
            return None
        return encode_dss_signature(r, s)
    try:
        r, s = decode_dss_signature(raw)
    except ValueError:
        return None
    if encode_dss_signature(r, s) != raw:  # not strict DER
        return None
    return raw


def device_signature_valid(key: ec.EllipticCurvePublicKey, message: bytes, signature: str) -> bool:
    """An ECDSA-SHA256 signature by ``key`` over ``message`` (DER or raw, base64)."""
    der = signature_der(signature)
    if der is None:
        return False
    try:
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
