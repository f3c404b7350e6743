"""The device signed: the signature the customer's app presents, accepted only when it is over
exactly the bytes asked for and made by the key of the customer's certificate.

    signer = DeviceSigner(confirmation.signature, chain=mobile_chain)
    signature = signer.sign(SigningRequest(document, certificate.der, ...))  # or refused

The device signs with its certificate key after the customer typed the PIN or used the
biometric key on the phone; the server checks the PIN itself (``stands_for_pin`` is False).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509

from certcenter.authn.device_auth import key_signature_valid
from certcenter.errors import CertCenterError
from certcenter.signing.signer import Signature, SignedBy, SigningRequest


@dataclass(frozen=True)
class DeviceSigner:
    """The signature a device made (base64 DER ECDSA-SHA256), checked when it is asked for:
    ``SIGNATURE_INVALID`` unless it verifies over the request's data with the key of the
    request's certificate."""

    presented: str = field(repr=False)
    chain: Sequence[x509.Certificate] = ()  # the CA certificates above the device's

    @property
    def stands_for_pin(self) -> bool:
        return False

    @property
    def lacks(self) -> tuple[str, ...]:
        return () if self.presented else ("signature",)

    def sign(self, request: SigningRequest) -> Signature:
        certificate = (
            x509.load_der_x509_certificate(request.certificate_der)
            if request.certificate_der
            else None
        )
        if certificate is None or not key_signature_valid(
            certificate.public_key(), request.data, self.presented
        ):
            raise CertCenterError(
                "SIGNATURE_INVALID", detail="the device's signature does not verify"
            )
        return Signature(
            value=base64.b64decode(self.presented, validate=True),
            certificate=certificate,
            chain=tuple(self.chain),
            signed_by=SignedBy.DEVICE,
        )
