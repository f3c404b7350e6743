"""The device signed: the signature the customer's app presents, accepted only when it is over
exactly the bytes asked for and made by the key of the customer's certificate.

    signer = DeviceSigner(confirmation.signature, chain=mobile_chain)
    signature = signer.sign(SigningRequest(document, certificate.der, ...))  # or refused

The device signs with its certificate key after the customer typed the PIN or used the
biometric key on the phone; the server checks the PIN itself (``stands_for_pin`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from certcenter.authn.device_auth import key_signature_valid
from certcenter.signing.signer import PresentedSigner, SignedBy


@dataclass(frozen=True)
class DeviceSigner(PresentedSigner):
    """The signature a device made (base64 DER ECDSA-SHA256) with its certificate key."""

    signed_by: ClassVar[SignedBy] = SignedBy.DEVICE
    whose: ClassVar[str] = "the device's"

    def valid(self, public_key: object, data: bytes) -> bool:
        return key_signature_valid(public_key, data, self.presented)
