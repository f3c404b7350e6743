"""Signing for a customer (전자서명): one interface whether the customer's device signed or the
center signed with the customer's cloud key after the activation and the PIN.

    signer = DeviceSigner(presented_signature, chain)          # the app's signature, checked
    signer = JointSigner(presented_signature, chain)           # the joint certificate's (RSA)
    signer = center.remote_signer.signer(grant)                # the center, under a grant
    signature = signer.sign(SigningRequest(data, certificate_der, ...))
    signature.verifies(data), signature.certificate, signature.chain
    signature.cms(data, timestamps=tsa)       # `openssl cms -verify` it; time-stamped

Modules: :mod:`.signer` (the :class:`Signer` Protocol and the :class:`Signature` it returns),
:mod:`.device` (the signature a device presents, accepted only over exactly the bytes and by
its certificate's key), :mod:`.joint` (the same for the joint certificate: RSA PKCS#1 v1.5
with SHA-256, made by the customer's certificate software with the key of its NPKI folder,
whose password stands for the PIN). The center's signer is ``financial.signing.RemoteSigner``, which
implements :class:`CenterSigning`; the services that sign (transfers, documents) see only
this package.
"""

from certcenter.signing.device import DeviceSigner
from certcenter.signing.joint import JointSigner, rsa_signature_valid
from certcenter.signing.signer import (
    CenterSigning,
    Signature,
    SignedBy,
    Signer,
    SigningRequest,
    TimeStamping,
)

__all__ = [
    "CenterSigning",
    "DeviceSigner",
    "JointSigner",
    "Signature",
    "SignedBy",
    "Signer",
    "SigningRequest",
    "TimeStamping",
    "rsa_signature_valid",
]
