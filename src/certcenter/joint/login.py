"""Login with the joint certificate (공동인증서 로그인): a single-use challenge signed by the
RSA key of the customer's NPKI folder, then a session.

    login = JointLogin(...)
    issued = login.challenge()                        # ≥ 256 random bits, single use, 120 s
    # the customer's software opens signPri.key with the certificate password and signs
    # challenge_message("joint-login", issued.challenge): RSA PKCS#1 v1.5 with SHA-256
    result = login.login(JointLoginAttempt(challenge, signature, certificate_der=der))
    result.token                                      # the session (method "joint")
    proof = login.authenticate(attempt)               # the same checks, no session

The scheme is PKCS#1 v1.5 (``sha256WithRSAEncryption``): what Korean NPKI software (and
PyPinkSign) signs with. The center takes the challenge (the device challenges' machinery:
single use, expiring, bound to its purpose), then checks, in this order, that the certificate
is one it issued under ``joint-ca`` (``JOINT_CERTIFICATE_UNKNOWN`` for any other, a foreign
CA's included), that its key signed exactly the challenge (``JOINT_SIGNATURE_INVALID``), that
it is active (``CERTIFICATE_REVOKED``, ``CERTIFICATE_SUSPENDED``, ``CERTIFICATE_EXPIRED``:
:func:`~certcenter.certificates.records.require_active`) and, when the customer typed their
resident number, that it and the random value from ``signPri.key`` make the certificate's VID
(본인확인, ``JOINT_VID_MISMATCH``; the number is used for the comparison only, never stored or
logged). A certificate another institution's CA issued (타기관 인증서) logs in once the customer
registered it (:mod:`certcenter.joint.other`: ``JOINT_OTHER_CERTIFICATE_NOT_REGISTERED`` before;
its path, validity and the issuer's CRL checked again at every login; the session names it
``other:<registration id>``). Every refusal is counted by the risk rules (step
``joint_login``) under the client address, and under the certificate's owner once its key
signed the challenge (a certificate is public: naming someone's certificate with a bad
signature blocks nothing of theirs); too many in the window block the address, or the owner.

:meth:`JointLogin.authenticate` is every check and count above, with no session: the OpenID
provider's ``/oidc/authorize`` logs the customer in to another site with it;
:meth:`JointLogin.login` is that, then the web center's (or the API's) session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from certcenter.audit.trail import AuditTrail
from certcenter.authn.device_auth import DeviceAuthenticator
from certcenter.certificates.records import require_active
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import (
    Actor,
    CertificateRecord,
    Customer,
    DeviceChallenge,
    OtherJointCertificate,
)
from certcenter.errors import CertCenterError
from certcenter.joint.challenge import joint_challenge, require_signature
from certcenter.joint.other import OtherJointCertificates, session_serial
from certcenter.pki.hierarchy import JOINT, Hierarchy
from certcenter.pki.vid import vid_matches
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules, client_address
from certcenter.usage.login import JOINT_CLIENT, JOINT_METHOD
from certcenter.usage.sessions import OpenedSession, SessionService

__all__ = ["PURPOSE", "JointLogin", "JointLoginAttempt", "JointLoginResult", "JointProof"]

PURPOSE = "joint-login"  # bound into the signed bytes: certcenter:joint-login:<challenge>
STEP = "joint_login"  # the risk rules' step
_MAX_CERTIFICATE_BYTES = 16 * 1024


@dataclass(frozen=True)
class JointLoginAttempt:
    challenge: str
    signature: str  # base64 RSA PKCS#1 v1.5 SHA-256 over challenge_message(PURPOSE, challenge)
    certificate_der: bytes | None = field(default=None, repr=False)  # signCert.der …
    serial: str | None = None  # … or its serial (hex)
    rrn: str | None = field(default=None, repr=False)  # 주민등록번호, for the VID check
    random_num: bytes | None = field(default=None, repr=False)  # the VID random (signPri.key)
    source_ip: str | None = None

    def __repr__(self) -> str:
        return f"JointLoginAttempt(serial={self.serial!r}, rrn=…, random_num=…)"


@dataclass(frozen=True)
class JointProof:
    """The joint certificate proven just now: its key signed the challenge, it is active."""

    customer: Customer
    certificate_serial: str
    identity_checked: bool  # the resident number matched the VID
    at: datetime


@dataclass(frozen=True)
class JointLoginResult:
    opened: OpenedSession
    customer: Customer
    certificate_serial: str
    identity_checked: bool  # the resident number matched the VID

    @property
    def token(self) -> str:
        return self.opened.token


class JointLogin:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        authenticator: DeviceAuthenticator,
        sessions: SessionService,
        hierarchy: Hierarchy,
        audit: AuditTrail,
        clock: Clock,
        policy: Policy,
        other: OtherJointCertificates | None = None,
    ) -> None:
        self.other = other  # 타기관 인증서: the registered certificates of other CAs
        self.uow_factory = uow_factory
        self.authenticator = authenticator
        self.sessions = sessions
        self.hierarchy = hierarchy
        self.risk = RiskRules(policy, clock)
        self.audit = audit
        self.clock = clock
        self.policy = policy

    def challenge(self) -> DeviceChallenge:
        """A login challenge for the joint certificate's software (no device to name)."""
        return joint_challenge(self.authenticator, purpose=PURPOSE)

    def authenticate(self, attempt: JointLoginAttempt) -> JointProof:
        """Every check of a joint login, each refusal counted by the risk rules; the
        certificate's last use recorded. Opens no session."""
        if (attempt.certificate_der is None) == (attempt.serial is None):
            raise CertCenterError("INVALID_REQUEST", detail="certificate or serial: one of them")
        if attempt.rrn is not None and not attempt.random_num:
            raise CertCenterError("INVALID_REQUEST", detail="random_num: needed with the rrn")
        marks = [client_address(attempt.source_ip)]
        with self.uow_factory() as uow:
            self.risk.check_blocks(uow, customer_id=None, device_id=None, marks=marks)
            record: CertificateRecord | None = None
            foreign: OtherJointCertificate | None = None
            owner: str | None = None
            proven = False  # the certificate's key signed the challenge
            try:
                self.authenticator.take_challenge(
                    uow, device_id=JOINT_CLIENT, purpose=PURPOSE, challenge=attempt.challenge
                )
                try:
                    record = self._ours(uow, attempt)
                except CertCenterError as unknown:  # perhaps another institution's (타기관)
                    foreign = self._foreign(uow, attempt)
                    if foreign is None:
                        raise unknown from None
                if foreign is None and record is not None:
                    owner, der = record.customer_id, record.der or b""
                elif foreign is not None:
                    owner, der = foreign.customer_id, foreign.der
                self.risk.check_blocks(uow, customer_id=owner, device_id=None)
                certificate = x509.load_der_x509_certificate(der)
                require_signature(certificate, PURPOSE, attempt.challenge, attempt.signature)
                proven = True
                if foreign is not None and self.other is not None:
                    self.other.check_certificate(foreign)
                elif record is not None:
                    require_active(record, self.clock.now())
                identity_checked = False
                if attempt.rrn is not None:
                    if not vid_matches(certificate, attempt.rrn, attempt.random_num or b""):
                        raise CertCenterError("JOINT_VID_MISMATCH")
                    identity_checked = True
                customer = uow.customers.get(owner or "")
                if customer is None:
                    raise CertCenterError("JOINT_CERTIFICATE_UNKNOWN")
            except CertCenterError as err:
                if err.code != "TOO_MANY_ATTEMPTS":
                    self.risk.record_failure(
                        uow,
                        step=STEP,
                        code=err.code,
                        customer_id=owner if proven else None,
                        enrollment_id=None,
                        device_id=None,
                        client_ip=attempt.source_ip,
                        marks=marks,
                    )
                uow.commit()  # the challenge stays used, the failure counted
                raise
            now = self.clock.now()
            if foreign is not None:
                foreign.last_used_at = now
                serial = session_serial(foreign)
            else:
                serial = record.serial if record is not None else ""
                stored = uow.certificates.get(serial, for_update=True)
                if stored is not None:
                    stored.last_used_at = now
            uow.commit()
        return JointProof(
            customer=customer,
            certificate_serial=serial,
            identity_checked=identity_checked,
            at=now,
        )

    def login(self, attempt: JointLoginAttempt) -> JointLoginResult:
        proof = self.authenticate(attempt)
        customer = proof.customer
        with self.uow_factory() as uow:
            opened = self.sessions.start(
                uow,
                customer_id=customer.id,
                device_id=JOINT_CLIENT,
                certificate_serial=proof.certificate_serial,
                method=JOINT_METHOD,
            )
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="login",
                subject_kind="certificate",
                subject=proof.certificate_serial,
                source_ip=attempt.source_ip,
                details={"method": JOINT_METHOD, "identity_checked": proof.identity_checked},
            )
            uow.commit()
        return JointLoginResult(
            opened=opened,
            customer=customer,
            certificate_serial=proof.certificate_serial,
            identity_checked=proof.identity_checked,
        )

    def _foreign(self, uow: UnitOfWork, attempt: JointLoginAttempt) -> OtherJointCertificate | None:
        """The registration of a certificate another institution's CA issued (None for one of
        this center's joint CA, or when no other CA is trusted)."""
        if attempt.certificate_der is None or self.other is None or not self.other.trust.configured:
            return None
        if len(attempt.certificate_der) > _MAX_CERTIFICATE_BYTES:
            return None
        try:
            presented = x509.load_der_x509_certificate(attempt.certificate_der)
        except ValueError:
            return None
        if self.hierarchy.issuer_of(JOINT, presented) is not None:
            return None
        return self.other.for_login(uow, attempt.certificate_der)

    def _ours(self, uow: UnitOfWork, attempt: JointLoginAttempt) -> CertificateRecord:
        """The joint certificate the attempt names, issued by this center's ``joint-ca``:
        ``JOINT_CERTIFICATE_UNKNOWN`` for a certificate of any other CA, or none."""
        unknown = CertCenterError("JOINT_CERTIFICATE_UNKNOWN")
        if attempt.certificate_der is not None:
            if len(attempt.certificate_der) > _MAX_CERTIFICATE_BYTES:
                raise unknown
            try:
                presented = x509.load_der_x509_certificate(attempt.certificate_der)
            except ValueError:
                raise unknown from None
            if self.hierarchy.issuer_of(JOINT, presented) is None:  # any CA generation's
                raise unknown
            serial = format(presented.serial_number, "X")
        else:
            serial = (attempt.serial or "").upper().lstrip("0") or "0"
            if len(serial) > 40 or any(c not in "0123456789ABCDEF" for c in serial):
                raise unknown
        record = uow.certificates.get(serial)
        if (
            record is None
            or record.family != JOINT
            or record.der is None
            or (attempt.certificate_der is not None and record.der != attempt.certificate_der)
        ):
            raise unknown
        return record
