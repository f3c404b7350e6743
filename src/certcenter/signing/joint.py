"""The joint certificate signed (공동인증서 전자서명): the signature the customer's certificate
software presents, made with the RSA key of the NPKI folder (``signPri.key``, opened with the
certificate's password), accepted only over exactly the bytes asked for and by the key of the
customer's joint certificate.

    signer = JointSigner(confirmation.signature, chain=hierarchy.chain(JOINT))
    signature = signer.sign(SigningRequest(document, certificate.der, ...))  # or refused

The scheme is what Korean NPKI software uses: RSA PKCS#1 v1.5 with SHA-256
(``sha256WithRSAEncryption``), base64 in the request. The password that opens the key file is
checked by the customer's software, never sent: having the key sign stands for the PIN
(``stands_for_pin`` is True), as the certificate password does at every Korean bank.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certcenter.signing.signer import PresentedSigner, SignedBy

# base64 of an RSA signature up to 4096 bits (the joint certificate's is 2048: 344 characters)
MAX_SIGNATURE_CHARS = 700


def rsa_signature_valid(public_key: object, message: bytes, signature: str) -> bool:
    """An RSA PKCS#1 v1.5 SHA-256 signature (base64) by ``public_key`` over ``message``."""
    if not isinstance(public_key, rsa.RSAPublicKey) or len(signature) > MAX_SIGNATURE_CHARS:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class JointSigner(PresentedSigner):
    """The signature the joint certificate's software made (base64 RSA PKCS#1 v1.5 SHA-256)
    with the key of the NPKI folder; the password that opened it stands for the PIN."""

    signed_by: ClassVar[SignedBy] = SignedBy.SOFTWARE
    whose: ClassVar[str] = "the joint certificate's"

    @property
    def stands_for_pin(self) -> bool:
        return True  # the certificate password opened the key that signed

    def valid(self, public_key: object, data: bytes) -> bool:
        return rsa_signature_valid(public_key, data, self.presented)
