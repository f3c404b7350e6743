"""The signer interface: "sign these bytes for this certificate", answered with the signature,
the signer's certificate and the CA certificates above it.

    signature = signer.sign(SigningRequest(document, certificate_der, customer_id=...,
                                           device_id=..., purpose="transfer", subject=id))
    signature.value          # DER ECDSA-SHA256, or RSA PKCS#1 v1.5, over the request's
                             # signed attributes (``to_be_signed``) or the document itself
    signature.signed_by      # SignedBy.DEVICE, SignedBy.SOFTWARE or SignedBy.CENTER
    signature.cms(document, timestamps=tsa)  # CMS SignedData: certificate, chain, time-stamp

A request with a ``signing_time`` is signed in the CMS way (RFC 5652 §5.4): the key signs
the DER of the signed attributes contentType, signingTime and messageDigest (SHA-256 of the
document), :attr:`SigningRequest.to_be_signed`; the evidence then carries them, so it says
when it was signed. The device and the joint software may still sign the document itself
(an app from before): that signature is accepted too, and its evidence has no signed
attributes. Either way :meth:`Signature.cms` asks the center's time-stamping authority
(:class:`TimeStamping`) for a token over the signature value and keeps it in the evidence.

Three signers implement it: :class:`~certcenter.signing.device.DeviceSigner` (the customer's
device signed; its signature is checked against the certificate's key),
:class:`~certcenter.signing.joint.JointSigner` (the customer's joint-certificate software
signed with the RSA key of its NPKI folder; checked the same way) and the center's
remote signer (``financial.signing``: the customer's cloud key, under a one-time grant the
customer released with a registered browser and the PIN for exactly these bytes). A signer
refuses with a catalog error (:class:`~certcenter.errors.CertCenterError`) of its own: the
device's and the joint software's signature ``SIGNATURE_INVALID``, the center's
``FINANCIAL_ACTIVATION_*`` and others.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from certcenter.errors import CertCenterError
from certcenter.pki.cms import signed_attributes, signed_data


class SignedBy(StrEnum):
    DEVICE = "device"  # the customer's device, with the key of its certificate
    SOFTWARE = "software"  # the customer's joint-certificate software, with the NPKI key
    CENTER = "center"  # the center, with the customer's cloud key, after the activation


@dataclass(frozen=True)
class SigningRequest:
    """What to sign and for whom. ``certificate_der`` is the certificate the customer uses
    (the session's); the center's signer signs with the customer's cloud key and its answer
    names the certificate of that key. The rest binds the signature to its use (the center's
    grant must have been released for the same customer, device, purpose and subject)."""

    data: bytes = field(repr=False)
    certificate_der: bytes = field(repr=False)
    customer_id: str
    device_id: str
    purpose: str  # "transfer", "document"
    subject: str | None = None  # e.g. the transfer's id
    source_ip: str | None = None
    signing_time: datetime | None = None  # signed as an attribute (see to_be_signed)

    @property
    def to_be_signed(self) -> bytes:
        """What the key signs: the DER of the signed attributes (contentType, signingTime,
        messageDigest of :attr:`data`) when there is a signing time, else :attr:`data`."""
        if self.signing_time is None:
            return self.data
        return signed_attributes(self.data, self.signing_time)


class TimeStamping(Protocol):
    """The center's time-stamping authority (RFC 3161): a token over some bytes."""

    def token(self, data: bytes) -> bytes:
        """A DER time-stamp token (ContentInfo) whose message imprint is SHA-256 of ``data``."""
        ...


@dataclass(frozen=True)
class Signature:
    """A signature over some bytes, the certificate whose key made it, and its chain."""

    value: bytes = field(repr=False)  # DER ECDSA-SHA256 or RSA PKCS#1 v1.5
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # the CA certificates above ``certificate``
    signed_by: SignedBy
    signing_time: datetime | None = None  # the value is over the signed attributes with it

    def verifies(self, data: bytes) -> bool:
        """The signature covers exactly ``data`` (through the signed attributes when it has a
        signing time), by the key of :attr:`certificate` (ECDSA-SHA256 for an EC key, RSA
        PKCS#1 v1.5 with SHA-256 for an RSA key)."""
        if self.signing_time is not None:
            data = signed_attributes(data, self.signing_time)
        public_key = self.certificate.public_key()
        try:
            if isinstance(public_key, ec.EllipticCurvePublicKey):
                public_key.verify(self.value, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(public_key, rsa.RSAPublicKey):
                public_key.verify(self.value, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                return False
        except InvalidSignature:
            return False
        return True

    def cms(
        self, data: bytes, *, detached: bool = False, timestamps: TimeStamping | None = None
    ) -> bytes:
        """CMS SignedData (DER) with the certificate and its chain, ``data`` inside unless
        ``detached``, the signed attributes when the signature has a signing time, and a
        time-stamp token over the signature value from ``timestamps``: ``openssl cms
        -verify`` checks it against the root."""
        return signed_data(
            data,
            self.value,
            self.certificate,
            list(self.chain),
            detached=detached,
            signing_time=self.signing_time,
            timestamp=None if timestamps is None else timestamps.token(self.value),
        )


class Signer(Protocol):
    """Signs bytes for a customer's certificate, once per request."""

    @property
    def stands_for_pin(self) -> bool:
        """True when the signer had the customer's PIN checked for exactly these bytes before
        it signs (the center's activation): the caller then asks no PIN of its own."""
        ...

    @property
    def lacks(self) -> tuple[str, ...]:
        """The request fields the signer needs and did not get (nothing can be signed)."""
        ...

    def sign(self, request: SigningRequest) -> Signature:
        """The signature over exactly ``request.data``, or the signer's own refusal."""
        ...


@dataclass(frozen=True)
class PresentedSigner:
    """A signature the customer's own software made and presents (base64), checked when it is
    asked for: ``SIGNATURE_INVALID`` unless it verifies over exactly the request's data with
    the key of the request's certificate. A kind of certificate says how its signatures are
    checked (:meth:`valid`), who signed, and whether having the key sign stands for the PIN
    (:class:`~certcenter.signing.device.DeviceSigner`,
    :class:`~certcenter.signing.joint.JointSigner`).
    """

    presented: str = field(repr=False)
    chain: Sequence[x509.Certificate] = ()  # the CA certificates above the signer's

    signed_by: ClassVar[SignedBy]
    whose: ClassVar[str]  # for the refusal: "the device's", …

    @property
    def stands_for_pin(self) -> bool:
        return False

    @property
    def lacks(self) -> tuple[str, ...]:
        return () if self.presented else ("signature",)

    def valid(self, public_key: object, data: bytes) -> bool:
        raise NotImplementedError

    def sign(self, request: SigningRequest) -> Signature:
        certificate = (
            x509.load_der_x509_certificate(request.certificate_der)
            if request.certificate_der
            else None
        )
        if certificate is None:
            raise CertCenterError(
                "SIGNATURE_INVALID", detail=f"{self.whose} signature does not verify"
            )
        public_key = certificate.public_key()
        if request.signing_time is not None and self.valid(public_key, request.to_be_signed):
            signing_time: datetime | None = request.signing_time
        elif self.valid(public_key, request.data):  # over the document itself (older apps)
            signing_time = None
        else:
            raise CertCenterError(
                "SIGNATURE_INVALID", detail=f"{self.whose} signature does not verify"
            )
        return Signature(
            value=base64.b64decode(self.presented, validate=True),
            certificate=certificate,
            chain=chain_above(certificate, self.chain),
            signed_by=self.signed_by,
            signing_time=signing_time,
        )


def chain_above(
    certificate: x509.Certificate, bag: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The certificates of ``bag`` above ``certificate``, its issuer first, then the
    issuer's: out of a family's CA generations and the root
    (``hierarchy.ca_certificates(family)``), the path of a certificate issued before or after
    a key rollover. ``bag`` as it is when none of them issued it."""
    path: list[x509.Certificate] = []
    remaining = list(bag)
    current = certificate
    while remaining:
        issuer = next((c for c in remaining if _issued(current, c)), None)
        if issuer is None:
            break
        path.append(issuer)
        remaining.remove(issuer)
        current = issuer
    return tuple(path) if path else tuple(bag)


def _issued(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


class CenterSigning(Protocol):
    """The center's signer for keys it holds for customers: a :class:`Signer` under the
    one-time grant the customer released (``financial.signing.RemoteSigner``)."""

    def signer(self, grant: str) -> Signer: ...
