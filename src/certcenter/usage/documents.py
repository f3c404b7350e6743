"""Signing documents with the mobile or the joint certificate (전자서명), and checking such
signatures for relying parties.

    documents = DocumentSigning(...)
    signed = documents.sign(session, SignRequest(name, content, signature, pin))
    signed.cms                           # detached CMS SignedData (DER)
    checked = documents.verify(cms, content)   # for anyone: signer, certificate status

The device signs the document's bytes with its certificate key after the customer types the
PIN; the server checks the PIN (counted first, like every PIN try), takes the signature
through the one signer interface (:class:`~certcenter.signing.DeviceSigner`: only over exactly
the document, only by the certificate's key), and wraps it into a detached CMS that OpenSSL
and other CMS tools verify. In a session opened with the joint certificate the customer's
certificate software signs with the RSA key of its NPKI folder (no PIN: the certificate's
password opened the key; :class:`~certcenter.signing.JointSigner`), and the CMS carries the
joint CA's chain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from certcenter.audit.trail import AuditTrail
from certcenter.authn.factors import PIN, FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.entities import Actor, CertificateStatus, Session, SignedDocument, new_id
from certcenter.errors import CertCenterError
from certcenter.pki.cms import CmsError, verify_signed_data
from certcenter.pki.hierarchy import JOINT, MOBILE, Hierarchy
from certcenter.ports import UnitOfWorkFactory
from certcenter.signing import (
    DeviceSigner,
    JointSigner,
    Signature,
    Signer,
    SigningRequest,
    TimeStamping,
)
from certcenter.usage.free_text import require_plain
from certcenter.usage.login import JOINT_METHOD


@dataclass(frozen=True)
class SignRequest:
    name: str
    content: bytes = field(repr=False)
    signature: str  # base64 over ``content`` by the certificate key (ECDSA, or RSA PKCS#1 v1.5)
    pin: str = field(default="", repr=False)  # none in a joint-certificate session
    source_ip: str | None = None


@dataclass(frozen=True)
class Checked:
    signer_subject: str
    serial: str
    certificate_status: str  # the center's view now: active, revoked, … or "unknown"
    issued_by_us: bool
    sha256: str
    signing_time: datetime | None

    @property
    def trustworthy(self) -> bool:
        return self.issued_by_us and self.certificate_status == CertificateStatus.ACTIVE


class DocumentSigning:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        guard: FactorGuard,
        hasher: SecretHasher,
        hierarchy: Hierarchy,
        audit: AuditTrail,
        clock: Clock,
        timestamps: TimeStamping | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.timestamps = timestamps  # the evidence's time-stamp over the signature
        self.guard = guard
        self.hasher = hasher
        self.hierarchy = hierarchy
        self.audit = audit
        self.clock = clock

    def sign(self, session: Session, request: SignRequest) -> SignedDocument:
        if not request.content:
            raise CertCenterError("INVALID_REQUEST", detail="document: empty")
        require_plain("name", request.name)
        joint = session.method == JOINT_METHOD
        if not joint and not request.pin:
            raise CertCenterError("INVALID_REQUEST", detail="pin is required")
        attempts: dict[str, int] = {}
        with self.uow_factory() as uow:
            customer = uow.customers.get(session.customer_id)
            device = None if joint else uow.devices.active_by_device_id(session.device_id)
            certificate = uow.certificates.get(session.certificate_serial)
            if (
                customer is None
                or certificate is None
                or (device is None and not joint)
                or (joint and certificate.family != JOINT)
            ):
                raise CertCenterError("SESSION_INVALID")
            if certificate.status != CertificateStatus.ACTIVE or (
                certificate.not_after <= self.clock.now()
            ):
                raise CertCenterError("CERTIFICATE_NOT_USABLE", status=certificate.status)
            if not joint:  # the joint certificate's password opened the key that signs
                attempts = self.guard.reserve(uow, customer.id, [PIN])
            uow.commit()
        pin_ok = joint or (
            device is not None
            and device.pin_hash is not None
            and self.hasher.verify(device.pin_hash, request.pin, purpose="pin")
        )
        fresh = (  # a hash of an older pepper generation or cost: a new one
            self.hasher.rehashed(device.pin_hash, request.pin, purpose="pin")
            if pin_ok and device is not None and device.pin_hash is not None
            else None
        )
        signed = self._sign(
            self._signer_for(session, request),
            SigningRequest(
                data=request.content,
                certificate_der=certificate.der or b"",
                customer_id=customer.id,
                device_id=device.device_id if device is not None else session.device_id,
                purpose="document",
                source_ip=request.source_ip,
            ),
        )
        with self.uow_factory() as uow:
            refusal = (
                None
                if joint
                else self.guard.settle(uow, customer.id, {PIN: pin_ok}, attempts=attempts)
            )
            if refusal is not None:
                uow.commit()
                raise refusal
            if fresh is not None and device is not None and device.pin_hash is not None:
                uow.secret_hashes.replace("device-pin", device.id, device.pin_hash, fresh)
            if isinstance(signed, CertCenterError):
                uow.commit()
                raise signed
            cms = signed.cms(request.content, detached=True, timestamps=self.timestamps)
            document = SignedDocument(
                id=new_id(),
                customer_id=customer.id,
                certificate_serial=certificate.serial,
                name=request.name[:200],
                sha256=hashlib.sha256(request.content).hexdigest(),
                cms=cms,
                created_at=self.clock.now(),
            )
            uow.signed_documents.add(document)
            stored = uow.certificates.get(certificate.serial, for_update=True)
            if stored is not None:
                stored.last_used_at = document.created_at
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="sign_document",
                subject_kind="document",
                subject=document.id,
                source_ip=request.source_ip,
                details={"sha256": document.sha256, "certificate": certificate.serial},
            )
            uow.commit()
        return document

    def _signer_for(self, session: Session, request: SignRequest) -> Signer:
        """Documents are signed on the customer's side: the signature comes with the request,
        from the device (mobile certificate) or the joint certificate's software."""
        if session.method == JOINT_METHOD:
            return JointSigner(
                request.signature, chain=tuple(self.hierarchy.ca_certificates(JOINT))
            )
        return DeviceSigner(request.signature, chain=tuple(self.hierarchy.ca_certificates(MOBILE)))

    @staticmethod
    def _sign(signer: Signer, request: SigningRequest) -> Signature | CertCenterError:
        """The signature, outside any transaction, or the signer's refusal."""
        try:
            return signer.sign(request)
        except CertCenterError as err:
            return err

    def verify(self, cms: bytes, content: bytes | None) -> Checked:
        """Check a CMS signature (detached with ``content``, or with the content inside)."""
        try:
            verified = verify_signed_data(cms, content)
        except CmsError as err:
            raise CertCenterError("SIGNATURE_INVALID", detail=str(err)) from None
        ours = any(self._issued_by(verified.signer, family) for family in (MOBILE, JOINT))
        serial = f"{verified.signer.serial_number:X}"
        status = "unknown"
        if ours:
            with self.uow_factory() as uow:
                record = uow.certificates.get(serial)
                if record is not None:
                    status = record.status
                    if status == CertificateStatus.ACTIVE and record.not_after <= self.clock.now():
                        status = CertificateStatus.EXPIRED.value
        return Checked(
            signer_subject=verified.signer.subject.rfc4514_string(),
            serial=serial,
            certificate_status=status,
            issued_by_us=ours,
            sha256=hashlib.sha256(verified.content).hexdigest(),
            signing_time=verified.signing_time,
        )

    def _issued_by(self, certificate: x509.Certificate, family: str) -> bool:
        """Signed by the family's issuing CA (the mobile or the joint certificate's), or by
        an earlier generation of it before a key rollover."""
        if family not in self.hierarchy.families:
            return False
        return self.hierarchy.issuer_of(family, certificate) is not None


def decode_b64(text: str, field_name: str, *, limit: int = 48 * 1024) -> bytes:
    """Base64 from a request, refused clearly when it is not."""
    if len(text) > limit * 4 // 3 + 4:
        raise CertCenterError("INVALID_REQUEST", detail=f"{field_name}: too large")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CertCenterError("INVALID_REQUEST", detail=f"{field_name}: not base64") from None
