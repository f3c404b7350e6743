"""How the CMP server (:class:`certcenter.cmp.server.CmpServer`) of the joint certificate
(공동인증서) answers: RFC 4210 with the lightweight profile of RFC 9483, for the customer's
software that holds a reference number (참조번호) and an authorization code (인가코드). This
module reads and writes the messages with pyasn1; the server loads it with its first message.

    exchange = Exchange(authority=center.joint_authority, transactions=..., ...)
    answer = exchange.handle(request_der)    # CmpAnswer: DER PKIMessage and its HTTP status

What it answers:

``ir``        MAC-protected with the authorization code (PasswordBasedMac or PBMAC1; the
              senderKID is the reference number): one request, POP by signature → ``ip`` with
              the certificate, the chain in extraCerts and the root in caPubs, MAC-protected.
``kur``       signed with the key of a joint certificate this center issued and that is
              valid (its certificate first in extraCerts) → ``kup``, signed by the CMP
              responder key (:mod:`certcenter.cmp.responder`).
``certConf``  for the certificate of an ``ip``/``kup``, protected as its request was: the
              certHash must match → ``pkiConf``; the authority's ``confirm`` is called.
``rr``        signed by the certificate to revoke (only one's own) → ``rp``, signed.

Everything else, and every refusal, is an ``error`` message: PKIStatus rejection, the
PKIFailureInfo bit of :mod:`certcenter.cmp.failures` and the catalog's words in English
and Korean. It is MAC-protected when the request's MAC verified, else signed by the
responder; a body that is no PKIMessage gets an error with HTTP 400 (RFC 6712 §3.3).

Transactions are kept in ``cmp_transactions`` (:mod:`certcenter.cmp.transactions`): a
reused transactionID, a replayed senderNonce or a certConf whose recipNonce is not the
``ip``'s senderNonce is refused; a certificate whose certConf never comes is rejected by the
job runner after ``cmp_confirm_wait_seconds``. The authority is never called while a
transaction of ours is open (on SQLite that would wait for our own write lock).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pyasn1_alt_modules import rfc4211, rfc9480

from certcenter.clock import Clock
from certcenter.cmp import messages
from certcenter.cmp.authority import CmpAuthority, Enrolled
from certcenter.cmp.failures import failure_info
from certcenter.cmp.messages import UNREADABLE, Header
from certcenter.cmp.protection import (
    MacAlgorithm,
    MacBounds,
    is_mac,
    signature_algorithm,
    verify_signature,
)
from certcenter.cmp.responder import CmpResponderKey
from certcenter.cmp.server import CmpAnswer
from certcenter.cmp.transactions import CmpTransactions, IssuedCertificates
from certcenter.config import Policy
from certcenter.errors import CertCenterError

__all__ = ["Exchange"]

log = logging.getLogger(__name__)

# The authority's refusal of a reference number it does not know: answered as a wrong code.
UNKNOWN_REFERENCE = frozenset({"JOINT_REFERENCE_UNKNOWN"})
REASON_CODE = univ.ObjectIdentifier("2.5.29.21")  # id-ce-cRLReasons
_REASONS: dict[int, x509.ReasonFlags] = {
    0: x509.ReasonFlags.unspecified,
    1: x509.ReasonFlags.key_compromise,
    3: x509.ReasonFlags.affiliation_changed,
    4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation,
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}


@dataclass
class _Request:
    message: rfc9480.PKIMessage
    header: Header
    kind: str
    mac: MacAlgorithm | None = None  # set once the request's MAC verified
    secret: bytes | None = None
    reference: str | None = None


class Exchange:
    """Answers one PKIMessage at a time; safe to call from many threads and processes."""

    def __init__(
        self,
        *,
        authority: CmpAuthority | None,
        transactions: CmpTransactions,
        issued: IssuedCertificates,
        responder: CmpResponderKey,
        policy: Policy,
        clock: Clock,
    ) -> None:
        self._authority = authority
        self._transactions = transactions
        self._issued = issued
        self._responder = responder
        self._clock = clock
        self._confirm_wait = timedelta(seconds=policy.cmp_confirm_wait_seconds)
        self._skew = timedelta(seconds=policy.cmp_max_clock_skew_seconds)
        self._bounds = MacBounds(
            pbm_min=policy.cmp_mac_min_iterations,
            pbm_max=policy.cmp_mac_max_iterations,
            pbkdf2_min=policy.cmp_pbkdf2_min_iterations,
            pbkdf2_max=policy.cmp_pbkdf2_max_iterations,
        )

    # ------------------------------------------------------------------ entry point

    def handle(self, data: bytes) -> CmpAnswer:
        try:
            message = messages.decode_message(data)
        except CertCenterError as error:
            return self._error(None, error, http_status=400)
        header = messages.read_header(message)
        request = _Request(message, header, message["body"].getName())
        try:
            self._check_time(header)
            messages.check_header(header)
            route = self._routes().get(request.kind)
            if route is None:
                raise CertCenterError("CMP_BODY_UNSUPPORTED", found=request.kind)
            return route(request)
        except CertCenterError as error:
            return self._error(request, error)
        except PyAsn1Error as exc:  # a part read late (a certificate, a parameter) is broken
            malformed = CertCenterError("CMP_MESSAGE_MALFORMED", detail=type(exc).__name__)
            return self._error(request, malformed)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("CMP %s failed (incident %s)", request.kind, incident)
            return self._error(request, CertCenterError("INTERNAL_ERROR", incident=incident))

    def handle_fault(self, incident: str) -> CmpAnswer:
        """The answer to a request whose handling failed outside :meth:`handle`: a CMP
        error (systemFailure), status 200 like every PKIMessage (RFC 6712 §3.3)."""
        return self._error(None, CertCenterError("INTERNAL_ERROR", incident=incident))

    def _routes(self) -> dict[str, Callable[[_Request], CmpAnswer]]:
        return {
            "ir": self._initial,
            "kur": self._key_update,
            "certConf": self._cert_conf,
            "rr": self._revocation,
        }

    def _check_time(self, header: Header) -> None:
        if header.message_time is None:
            return
        if abs(header.message_time - self._clock.now()) > self._skew:
            raise CertCenterError("CMP_MESSAGE_TIME_WRONG", limit=int(self._skew.total_seconds()))

    def _require_authority(self) -> CmpAuthority:
        if self._authority is None:
            raise CertCenterError("CMP_UNAVAILABLE")
        return self._authority

    # ------------------------------------------------------------------ ir: initial request

    def _initial(self, request: _Request) -> CmpAnswer:
        authority = self._require_authority()
        reference = self._reference(request.header)
        mac = self._mac_of(request)
        data, protection = messages.protected_part(request.message), self._protection(request)
        try:
            secret = authority.shared_secret(reference)
        except CertCenterError as error:
            if error.code not in UNKNOWN_REFERENCE:
                raise
            # answered like a wrong code, after the same work: the answer does not tell
            # which reference numbers exist
            mac.verify(secrets.token_bytes(16), data, protection)
            raise CertCenterError("CMP_PROTECTION_INVALID") from None
        if not mac.verify(secret, data, protection):
            authority.record_bad_mac(reference)
            log.info("CMP ir: bad MAC for a reference")
            raise CertCenterError("CMP_PROTECTION_INVALID")
        request.mac, request.secret, request.reference = mac, secret, reference
        certificate_request = self._single_request(request.message["body"]["ir"])
        template = certificate_request["certReq"]["certTemplate"]
        public_key_der = messages.spki_of_template(template)
        subject = messages.name_of(template["subject"]) if template["subject"].isValue else None
        self._check_pop(certificate_request, public_key_der)
        tid, nonce = messages.check_header(request.header)
        self._transactions.begin(
            tid,
            nonce,
            kind="ir",
            protection="mac",
            pvno=request.header.pvno,
            reference=reference,
            signer_key=None,
            expires_in=self._confirm_wait,
        )
        try:
            enrolled = authority.enroll(
                reference,
                public_key_der=public_key_der,
                requested_subject=subject,
                transaction_id=tid,
            )
        except CertCenterError:
            self._transactions.refused(tid)
            raise
        return self._issued_answer(request, "ip", enrolled, secret=secret)

    # ------------------------------------------------------------------ kur: key update

    def _key_update(self, request: _Request) -> CmpAnswer:
        authority = self._require_authority()
        signer = self._verify_signed(request)
        certificate_request = self._single_request(request.message["body"]["kur"])
        self._check_old_cert_id(certificate_request, signer)
        public_key_der = messages.spki_of_template(certificate_request["certReq"]["certTemplate"])
        self._check_pop(certificate_request, public_key_der)
        tid, nonce = messages.check_header(request.header)
        signer_key = signer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._transactions.begin(
            tid,
            nonce,
            kind="kur",
            protection="signature",
            pvno=request.header.pvno,
            reference=None,
            signer_key=signer_key,
            expires_in=self._confirm_wait,
        )
        try:
            enrolled = authority.renew(signer, public_key_der=public_key_der, transaction_id=tid)
        except CertCenterError:
            self._transactions.refused(tid)
            raise
        return self._issued_answer(request, "kup", enrolled, secret=None)

    def _issued_answer(
        self, request: _Request, kind: str, enrolled: Enrolled, *, secret: bytes | None
    ) -> CmpAnswer:
        tid, _ = messages.check_header(request.header)
        nonce = secrets.token_bytes(16)
        chain = list(enrolled.chain)
        self._transactions.await_confirmation(
            tid, enrolled.certificate, server_nonce=nonce, secret=secret
        )
        body = messages.cert_rep_body(kind, enrolled.certificate, chain[-1:])
        # R, the VID's random value, goes to the software that keeps the key (ip only: a
        # renewal keeps the R of the key file); the answer's MAC covers it
        general = [messages.random_num_info(enrolled.vid_random)] if enrolled.vid_random else []
        return self._answer(request, body, nonce=nonce, extra=chain, general_info=general)

    # ------------------------------------------------------------------ certConf

    def _cert_conf(self, request: _Request) -> CmpAnswer:
        authority = self._require_authority()
        tid, nonce = messages.check_header(request.header)
        transaction = self._transactions.get(tid)
        if transaction is None:
            raise CertCenterError("CMP_TRANSACTION_UNKNOWN")
        if transaction.protection == "mac":
            request.reference = transaction.reference
            secret = self._transactions.secret(transaction)
            mac = self._mac_of(request)
            data = messages.protected_part(request.message)
            if not mac.verify(secret, data, self._protection(request)):
                if transaction.reference is not None:
                    authority.record_bad_mac(transaction.reference)
                raise CertCenterError("CMP_PROTECTION_INVALID")
            request.mac, request.secret = mac, secret
        else:
            self._verify_with_key(request, transaction.signer_key)
        cert_status = self._cert_status(request)
        answer_nonce = secrets.token_bytes(16)
        certificate_der = self._transactions.claim_confirmation(
            tid,
            nonce,
            recip_nonce=request.header.recip_nonce,
            server_nonce=answer_nonce,
            expired_seconds=int(self._confirm_wait.total_seconds()),
        )
        hash_ok = self._cert_hash_matches(certificate_der, cert_status, request.header.pvno)
        info = cert_status["statusInfo"]
        rejected = info.isValue and int(info["status"]) == 2
        accepted = hash_ok and not rejected
        try:
            authority.confirm(tid, accepted=accepted)
        finally:
            outcome = "accepted" if accepted else "rejected"
            self._transactions.finish(tid, outcome)
        if not hash_ok:
            raise CertCenterError("CMP_CERT_HASH_WRONG")
        return self._answer(request, messages.pkiconf_body(), nonce=answer_nonce)

    def _cert_status(self, request: _Request) -> rfc9480.CertStatus:
        content = request.message["body"]["certConf"]
        if len(content) != 1:
            raise CertCenterError(
                "CMP_MESSAGE_MALFORMED", detail="certConf must hold exactly one CertStatus"
            )
        status = content[0]
        if int(status["certReqId"]) != 0:
            raise CertCenterError("CMP_MESSAGE_MALFORMED", detail="certReqId must be 0")
        return status

    def _cert_hash_matches(
        self, certificate_der: bytes, status: rfc9480.CertStatus, pvno: int
    ) -> bool:
        certificate = x509.load_der_x509_certificate(certificate_der)
        algorithm: hashes.HashAlgorithm | None = certificate.signature_hash_algorithm
        if status["hashAlg"].isValue:
            if pvno < 3:
                raise CertCenterError(
                    "CMP_MESSAGE_MALFORMED", detail="hashAlg needs pvno 3 (RFC 9480)"
                )
            known = _HASHES.get(str(status["hashAlg"]["algorithm"]))
            if known is None:
                raise CertCenterError(
                    "CMP_PROTECTION_UNSUPPORTED", detail="the certConf's hashAlg is not accepted"
                )
            algorithm = known()
        if algorithm is None:
            algorithm = hashes.SHA512()  # Ed25519-signed certificates (RFC 9481 §2)
        digest = hashes.Hash(algorithm)
        digest.update(certificate_der)
        return secrets.compare_digest(digest.finalize(), bytes(status["certHash"]))

    # ------------------------------------------------------------------ rr: revocation

    def _revocation(self, request: _Request) -> CmpAnswer:
        authority = self._require_authority()
        signer = self._verify_signed(request, revoking=True)
        content = request.message["body"]["rr"]
        if len(content) != 1:
            raise CertCenterError(
                "CMP_MESSAGE_MALFORMED", detail="rr must hold exactly one RevDetails"
            )
        details = content[0]
        template = details["certDetails"]
        if not template["serialNumber"].isValue or not template["issuer"].isValue:
            raise CertCenterError(
                "CMP_TEMPLATE_INVALID", detail="certDetails must name issuer and serialNumber"
            )
        if (
            int(template["serialNumber"]) != signer.serial_number
            or messages.name_of(template["issuer"]) != signer.issuer
        ):
            raise CertCenterError(
                "CMP_NOT_AUTHORIZED", detail="a certificate may only revoke itself"
            )
        reason = self._reason(details)
        tid, nonce = messages.check_header(request.header)
        self._transactions.begin(
            tid,
            nonce,
            kind="rr",
            protection="signature",
            pvno=request.header.pvno,
            reference=None,
            signer_key=None,
            expires_in=timedelta(0),
        )
        try:
            authority.revoke(signer, reason=reason)
        except CertCenterError:
            self._transactions.refused(tid)
            raise
        self._transactions.finish(tid, "revoked", serial=format(signer.serial_number, "X"))
        return self._answer(request, messages.rp_body(), nonce=secrets.token_bytes(16))

    def _reason(self, details: univ.Sequence) -> x509.ReasonFlags | None:
        if not details["crlEntryDetails"].isValue:
            return None
        for extension in details["crlEntryDetails"]:
            if extension["extnID"] != REASON_CODE:
                continue
            try:
                code, rest = der_decoder.decode(bytes(extension["extnValue"]))
                reason = _REASONS.get(int(code))
            except UNREADABLE:
                reason = None
                rest = b""
            if reason is None or rest:
                raise CertCenterError(
                    "CMP_TEMPLATE_INVALID", detail="reasonCode is not one a holder may give"
                )
            return reason
        return None

    # ------------------------------------------------------------------ protection checks

    def _protection(self, request: _Request) -> bytes:
        protection = request.message["protection"]
        if not protection.isValue or request.header.protection_alg is None:
            raise CertCenterError("CMP_PROTECTION_MISSING")
        return bytes(protection.asOctets())

    def _mac_of(self, request: _Request) -> MacAlgorithm:
        self._protection(request)
        algorithm = request.header.protection_alg
        if algorithm is None or not is_mac(algorithm):
            raise CertCenterError(
                "CMP_PROTECTION_UNSUPPORTED",
                detail="this message must carry a MAC made with the authorization code",
            )
        return MacAlgorithm.parse(algorithm, self._bounds)

    def _reference(self, header: Header) -> str:
        kid = header.sender_kid
        if kid is None:
            raise CertCenterError(
                "CMP_HEADER_INVALID", detail="senderKID (the reference number) is missing"
            )
        try:
            reference = kid.decode("ascii")
        except UnicodeDecodeError:
            raise CertCenterError(
                "CMP_HEADER_INVALID", detail="senderKID is not a reference number"
            ) from None
        if not reference.isprintable() or not reference.strip():
            raise CertCenterError(
                "CMP_HEADER_INVALID", detail="senderKID is not a reference number"
            )
        return reference

    def _verify_signed(self, request: _Request, *, revoking: bool = False) -> x509.Certificate:
        """The certificate whose key signed the request: first in extraCerts, issued by
        this center, valid and neither revoked nor suspended (an ``rr`` of a revoked one is
        ``CERTIFICATE_ALREADY_REVOKED``: its holder asked again)."""
        protection = self._protection(request)
        algorithm = request.header.protection_alg
        if algorithm is None or is_mac(algorithm):
            raise CertCenterError(
                "CMP_NOT_AUTHORIZED",
                detail="renewal and revocation must be signed with the certificate's key",
            )
        extra = request.message["extraCerts"]
        if not extra.isValue or len(extra) == 0:
            raise CertCenterError("CMP_SIGNER_NOT_TRUSTED")
        signer = messages.certificate_of(extra[0])
        data = messages.protected_part(request.message)
        if not verify_signature(algorithm, signer.public_key(), protection, data):
            raise CertCenterError("CMP_PROTECTION_INVALID")
        now = self._clock.now()
        if not signer.not_valid_before_utc <= now < signer.not_valid_after_utc:
            raise CertCenterError("CMP_SIGNER_NOT_TRUSTED")
        status = self._issued.status_of(signer)
        if revoking and status == "revoked":
            raise CertCenterError("CERTIFICATE_ALREADY_REVOKED", reason="-")
        if status in ("revoked", "suspended"):
            raise CertCenterError("CMP_CERTIFICATE_REVOKED")
        if status != "active":
            raise CertCenterError("CMP_SIGNER_NOT_TRUSTED")
        return signer

    def _verify_with_key(self, request: _Request, signer_key: bytes | None) -> None:
        protection = self._protection(request)
        algorithm = request.header.protection_alg
        if algorithm is None or is_mac(algorithm) or signer_key is None:
            raise CertCenterError(
                "CMP_NOT_AUTHORIZED", detail="the confirmation must be signed as its request was"
            )
        public_key = serialization.load_der_public_key(signer_key)
        data = messages.protected_part(request.message)
        if not verify_signature(algorithm, public_key, protection, data):
            raise CertCenterError("CMP_PROTECTION_INVALID")

    def _single_request(self, content: rfc4211.CertReqMessages) -> rfc4211.CertReqMsg:
        if len(content) != 1:
            raise CertCenterError(
                "CMP_MESSAGE_MALFORMED", detail="exactly one certificate request is accepted"
            )
        certificate_request = content[0]
        if int(certificate_request["certReq"]["certReqId"]) != 0:
            raise CertCenterError("CMP_MESSAGE_MALFORMED", detail="certReqId must be 0")
        return certificate_request

    def _check_pop(self, certificate_request: rfc4211.CertReqMsg, public_key_der: bytes) -> None:
        """Proof of possession by signature (RFC 4211 §4.1): over the DER of certReq, made
        with the requested key; no poposkInput (the template names the public key)."""
        pop = certificate_request["popo"]
        if not pop.isValue or pop.getName() != "signature":
            raise CertCenterError("CMP_POP_INVALID")
        signing = pop["signature"]
        if signing["poposkInput"].isValue:
            raise CertCenterError("CMP_POP_INVALID")
        data = messages.encode(certificate_request["certReq"])
        public_key = serialization.load_der_public_key(public_key_der)
        try:
            ok = verify_signature(
                signing["algorithmIdentifier"],
                public_key,
                bytes(signing["signature"].asOctets()),
                data,
            )
        except CertCenterError:
            raise CertCenterError("CMP_POP_INVALID") from None
        if not ok:
            raise CertCenterError("CMP_POP_INVALID")

    def _check_old_cert_id(
        self, certificate_request: rfc4211.CertReqMsg, signer: x509.Certificate
    ) -> None:
        """An oldCertID control (RFC 4211 §6.5), when given, must name the signer."""
        controls = certificate_request["certReq"]["controls"]
        if not controls.isValue:
            return
        for control in controls:
            if control["type"] != rfc4211.id_regCtrl_oldCertID:
                continue
            try:
                cert_id, _ = der_decoder.decode(
                    bytes(control["value"]), asn1Spec=rfc4211.OldCertId()
                )
                issuer = cert_id["issuer"]
                same_issuer = (
                    issuer.getName() == "directoryName"
                    and messages.name_of(issuer["directoryName"]) == signer.issuer
                )
            except UNREADABLE:
                raise CertCenterError(
                    "CMP_TEMPLATE_INVALID", detail="oldCertID cannot be read"
                ) from None
            if int(cert_id["serialNumber"]) != signer.serial_number or not same_issuer:
                raise CertCenterError(
                    "CMP_NOT_AUTHORIZED", detail="oldCertID does not name the signing certificate"
                )

    # ------------------------------------------------------------------ answers

    def _answer(
        self,
        request: _Request | None,
        body: rfc9480.PKIBody,
        *,
        nonce: bytes,
        extra: Sequence[x509.Certificate] = (),
        general_info: Sequence[rfc9480.InfoTypeAndValue] = (),
    ) -> CmpAnswer:
        header = request.header if request is not None else None
        pvno = header.pvno if header is not None and header.pvno in (2, 3) else 2
        now = self._clock.now()
        if request is not None and request.mac is not None and request.secret is not None:
            mac, secret = request.mac.fresh(), request.secret
            kid = request.reference.encode("ascii") if request.reference else None
            sender = self._sender_name()
            cmp_header = messages.build_header(
                header,
                pvno=pvno,
                sender=sender,
                sender_kid=kid,
                protection_alg=mac.algorithm_identifier(),
                nonce=nonce,
                now=now,
            )
            for info in general_info:
                cmp_header["generalInfo"].append(info)
            der = messages.encode_message(
                cmp_header,
                body,
                protect=lambda data: mac.mac(secret, data),
                extra_certs=_unique(extra),
            )
            return CmpAnswer(der)
        responder = self._responder.current()
        algorithm_oid = self._responder.algorithm_oid()
        cmp_header = messages.build_header(
            header,
            pvno=pvno,
            sender=responder.name,
            sender_kid=responder.key_id,
            protection_alg=signature_algorithm(algorithm_oid),
            nonce=nonce,
            now=now,
        )
        for info in general_info:
            cmp_header["generalInfo"].append(info)
        der = messages.encode_message(
            cmp_header,
            body,
            protect=lambda data: self._responder.sign(data)[1],
            extra_certs=_unique([responder.certificate, *responder.chain, *extra]),
        )
        return CmpAnswer(der)

    def _sender_name(self) -> x509.Name:
        try:
            return self._responder.current().name
        except Exception:
            log.warning("CMP responder certificate unavailable", exc_info=True)
            return messages.NULL_DN

    def _error(
        self, request: _Request | None, error: CertCenterError, http_status: int = 200
    ) -> CmpAnswer:
        failure = failure_info(error.code)
        texts = [
            f"{error.code}: {error.message('en')} {error.cause('en')}",
            f"{error.message('ko')} {error.cause('ko')} {error.remedy('ko')}",
        ]
        body = messages.error_body(failure, texts)
        nonce = secrets.token_bytes(16)
        log.info("CMP %s refused: %s (%s)", request.kind if request else "-", error.code, failure)
        try:
            answer = self._answer(request, body, nonce=nonce)
        except Exception:
            log.warning("CMP error answer sent unprotected", exc_info=True)
            header = messages.build_header(
                request.header if request is not None else None,
                pvno=2,
                sender=messages.NULL_DN,
                sender_kid=None,
                protection_alg=None,
                nonce=nonce,
                now=self._clock.now(),
            )
            answer = CmpAnswer(messages.encode_message(header, body, protect=None))
        return CmpAnswer(answer.der, http_status, error.code, failure)


def _unique(certificates: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[bytes] = set()
    unique = []
    for certificate in certificates:
        fingerprint = certificate.fingerprint(hashes.SHA256())
        if fingerprint not in seen:
            seen.add(fingerprint)
            unique.append(certificate)
    return unique
