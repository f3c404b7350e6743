"""The financial certificate (금융인증서): a certificate whose key the center keeps (cloud) and
uses on the customer's behalf once a registered device and the PIN say so (remote signing).

    issued = center.cloud_certificates.create(customer.id, "480213", device_public_key=spki,
                                     device_label="집 PC", actor=actor, source_ip=ip)
    request = center.remote_signer.begin(issued.device_id, "document", data)
    # the browser signs request.message with its non-extractable WebCrypto key
    grant = center.remote_signer.authorize(request.activation_id, device_signature, "480213")
    signed = center.remote_signer.sign(grant.token, data)       # once, for these bytes only
    center.remote_signer.cms(signed, data)                      # `openssl cms -verify` it

Modules: :mod:`.cloud` (the account, its key and certificate; renewal, deletion, the
inactivity rule), :mod:`.signing` (one-time signature activations), :mod:`.devices`
(browsers registered by SMS code; list, remove, limit), :mod:`.login` (a session opened with
the certificate), :mod:`.pin` (a locked PIN released by verifying the customer again),
:mod:`.proof` (the device key and its signatures), :mod:`.notices` (what the customer is
told). See ``docs/financial-certificate.md``.
"""

from certcenter.financial.access import FAMILY, FINANCIAL_PIN, FinancialPinGuard
from certcenter.financial.cloud import (
    CloudCertificates,
    FinancialIssued,
    FinancialJobReport,
    FinancialOverview,
)
from certcenter.financial.devices import FinancialDevices, RegistrationStarted
from certcenter.financial.login import FinancialLogin, FinancialLoginResult
from certcenter.financial.pin import FinancialPinReset, PinResetStarted
from certcenter.financial.proof import activation_message
from certcenter.financial.signing import (
    ActivationRequest,
    Grant,
    RemoteSignature,
    RemoteSigner,
)

__all__ = [
    "FAMILY",
    "FINANCIAL_PIN",
    "ActivationRequest",
    "CloudCertificates",
    "FinancialDevices",
    "FinancialIssued",
    "FinancialJobReport",
    "FinancialLogin",
    "FinancialLoginResult",
    "FinancialOverview",
    "FinancialPinGuard",
    "FinancialPinReset",
    "Grant",
    "PinResetStarted",
    "RegistrationStarted",
    "RemoteSignature",
    "RemoteSigner",
    "activation_message",
]
