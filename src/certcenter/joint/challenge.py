"""The joint certificate's key proving itself: it signs a fresh single-use challenge, with the
purpose bound into the signed bytes (``certcenter:<purpose>:<challenge>``), for logging in
(:mod:`.login`) and for registering another institution's certificate (:mod:`.other`).

    challenge = joint_challenge(authenticator, purpose="joint-login")
    require_signature(certificate, "joint-login", challenge.challenge, signature)
"""

from __future__ import annotations

from cryptography import x509

from certcenter.authn.device_auth import DeviceAuthenticator, challenge_message
from certcenter.entities import DeviceChallenge
from certcenter.errors import CertCenterError
from certcenter.signing import rsa_signature_valid
from certcenter.usage.login import JOINT_CLIENT

__all__ = ["joint_challenge", "require_signature"]


def joint_challenge(authenticator: DeviceAuthenticator, *, purpose: str) -> DeviceChallenge:
    """A single-use challenge for the joint certificate's software (no device to name)."""
    return authenticator.new_challenge(device_id=JOINT_CLIENT, purpose=purpose)


def require_signature(
    certificate: x509.Certificate, purpose: str, challenge: str, signature: str
) -> None:
    """``JOINT_SIGNATURE_INVALID`` unless the certificate's key signed the challenge for
    ``purpose`` (RSA PKCS#1 v1.5, SHA-256, base64)."""
    message = challenge_message(purpose, challenge)
    if not rsa_signature_valid(certificate.public_key(), message, signature):
        raise CertCenterError("JOINT_SIGNATURE_INVALID")
