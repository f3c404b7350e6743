"""The customer's side of CMP: what the certificate software sends to the center's CMP server
(:mod:`certcenter.cmp.server`) and how it reads and checks the answers.

    client = CmpClient(send)                       # send(der) -> der: the HTTP POST /cmp
    pending = client.initial("4821937560", b"Ab3dEf6hJk9mNp2q", new_key)     # ir → ip
    ... write the NPKI folder with pending.certificate, pending.random_num ...
    pending.confirm()                              # certConf (certHash) → pkiConf
    pending = client.key_update(certificate, old_key, new_key, trusted=root)  # kur → kup
    client.revoke(certificate, key, trusted=root, reason=x509.ReasonFlags.key_compromise)  # rr

The messages are the server's own shapes (:mod:`certcenter.cmp.messages`) and MACs
(:mod:`certcenter.cmp.protection`). Every answer is checked before anything in it is used:
its transactionID and recipNonce, and its protection — the MAC with the authorization code
for the answers to ``ir`` (the root the ``ip`` carries in caPubs is trusted through that MAC),
the CMP responder's signature for the others, the responder's certificate chaining to the
root and naming id-kp-cmcRA. The issued certificate must hold the key that was sent and chain
to the root. A refusal of the server becomes a :class:`CertCenterError` with the catalog code
the server wrote into its statusString (``CMP_REFUSED`` with the failInfo bits when the code
is not one this side knows); an answer that cannot be read is ``CMP_ANSWER_INVALID``, one
whose protection does not verify ``CMP_ANSWER_UNTRUSTED``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.type import univ
from pyasn1_alt_modules import rfc4210, rfc4211, rfc5280, rfc9480

from certcenter.cmp import messages
from certcenter.cmp.messages import UNREADABLE
from certcenter.cmp.protection import (
    PASSWORD_BASED_MAC,
    MacAlgorithm,
    MacBounds,
    is_mac,
    verify_signature,
)
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import catalog

__all__ = ["CmpClient", "Issued", "PendingCertificate", "Transport"]

Transport = Callable[[bytes], bytes]  # one DER PKIMessage out, the DER answer back

SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
SHA256 = "2.16.840.1.101.3.4.2.1"
HMAC_SHA256 = "1.2.840.113549.2.9"
MAC_ITERATIONS = 10_000  # PasswordBasedMac's OWF rounds (the server takes 100 to 100,000)
CMC_RA = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.28")  # id-kp-cmcRA
REASON_CODE = univ.ObjectIdentifier("2.5.29.21")
_CODE = re.compile(r"([A-Z][A-Z0-9_]{2,}):\s*(.*)", re.DOTALL)
_PVNO = 2


def _invalid(detail: str) -> CertCenterError:
    return CertCenterError("CMP_ANSWER_INVALID", detail=detail)


def _untrusted(detail: str) -> CertCenterError:
    return CertCenterError("CMP_ANSWER_UNTRUSTED", detail=detail)


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _spki(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> bytes:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _rsa_signature_algorithm() -> rfc5280.AlgorithmIdentifier:
    identifier = rfc5280.AlgorithmIdentifier()
    identifier["algorithm"] = univ.ObjectIdentifier(SHA256_WITH_RSA)
    identifier["parameters"] = messages.encode(univ.Null(""))  # RFC 4055: NULL for RSA
    return identifier


def _sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):  # also a key it cannot check
        return False
    return True


def _chain_to(
    certificate: x509.Certificate,
    pool: Sequence[x509.Certificate],
    root: x509.Certificate,
    now: datetime,
) -> list[x509.Certificate]:
    """The path from ``certificate`` up to ``root`` through ``pool`` (the CAs between, issuing
    one first, root last), every certificate valid at ``now``; ``CMP_ANSWER_UNTRUSTED`` when
    there is none."""
    path: list[x509.Certificate] = []
    current = certificate
    for _ in range(len(pool) + 1):
        if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
            raise _untrusted(f"{current.subject.rfc4514_string()} is not valid now")
        if _issued_by(current, root):
            if not root.not_valid_before_utc <= now <= root.not_valid_after_utc:
                raise _untrusted("the root certificate is not valid now")
            return [*path, root]
        parent = next(
            (ca for ca in pool if ca not in path and ca != current and _issued_by(current, ca)),
            None,
        )
        if parent is None:
            break
        path.append(parent)
        current = parent
    raise _untrusted(f"{certificate.subject.rfc4514_string()} does not chain to the root")


@dataclass(frozen=True)
class Issued:
    """A certificate the server issued: the chain above it (issuing CA first, root last) and
    the VID's random value R when the server sent one (in the ``ip``; a renewal keeps the R
    of the key file)."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    random_num: bytes | None = field(default=None, repr=False)

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1]


@dataclass
class _Protection:
    """How this transaction's messages are protected: the MAC keyed by the authorization
    code (with the reference number as senderKID), or the signature of a certificate's key."""

    secret: bytes | None = field(default=None, repr=False)
    reference: str | None = None
    key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    certificate: x509.Certificate | None = None
    iterations: int = MAC_ITERATIONS

    def algorithm(self) -> tuple[rfc5280.AlgorithmIdentifier, Callable[[bytes], bytes]]:
        if self.secret is not None:
            secret = self.secret
            mac = MacAlgorithm(
                "pbm",
                secrets.token_bytes(16),
                self.iterations,
                "sha256",
                "sha256",
                owf_oid=SHA256,
                mac_oid=HMAC_SHA256,
            )
            return mac.algorithm_identifier(), lambda data: mac.mac(secret, data)
        key = self.key
        if key is None:
            raise ValueError("a message needs a MAC secret or a signing key")
        return _rsa_signature_algorithm(), lambda data: _sign(key, data)


@dataclass(frozen=True)
class _Answer:
    message: rfc9480.PKIMessage
    kind: str
    nonce: bytes


class PendingCertificate:
    """An issued certificate waiting for its confirmation (certConf): keep it (write the
    files), then :meth:`confirm`; :meth:`reject` if it cannot be kept (the center revokes
    it). A certificate never confirmed is revoked by the center after a few minutes."""

    def __init__(
        self,
        client: CmpClient,
        issued: Issued,
        *,
        transaction_id: bytes,
        recip_nonce: bytes,
        protection: _Protection,
        root: x509.Certificate,
    ) -> None:
        self.issued = issued
        self._client = client
        self._tid = transaction_id
        self._recip_nonce = recip_nonce
        self._protection = protection
        self._root = root
        self.done = False

    @property
    def certificate(self) -> x509.Certificate:
        return self.issued.certificate

    @property
    def random_num(self) -> bytes | None:
        return self.issued.random_num

    def confirm(self) -> None:
        self._send(accepted=True)

    def reject(self) -> None:
        self._send(accepted=False)

    def _send(self, *, accepted: bool) -> None:
        if self.done:
            raise ValueError("this certificate was confirmed or rejected already")
        self.done = True
        body = rfc9480.PKIBody()
        status = rfc9480.CertStatus()
        digest = hashes.Hash(self.certificate.signature_hash_algorithm or hashes.SHA256())
        digest.update(_der(self.certificate))
        status["certHash"] = digest.finalize()
        status["certReqId"] = 0
        if not accepted:
            status["statusInfo"]["status"] = 2  # rejection
        body["certConf"].append(status)
        self._client._exchange(
            body,
            self._protection,
            transaction_id=self._tid,
            recip_nonce=self._recip_nonce,
            expect="pkiconf",
            root=self._root,
        )


class CmpClient:
    """The certificate software's CMP client: one method per transaction kind."""

    def __init__(
        self,
        send: Transport,
        *,
        now: Callable[[], datetime] | None = None,
        mac_iterations: int = MAC_ITERATIONS,
    ) -> None:
        self._send = send
        self._now = now or (lambda: datetime.now(UTC))
        self._mac_iterations = mac_iterations

    # ------------------------------------------------------------------ transactions

    def initial(self, reference: str, code: bytes, key: rsa.RSAPrivateKey) -> PendingCertificate:
        """``ir`` for ``key`` with the registration's reference number and authorization
        code: the certificate, its chain and R, waiting for :meth:`PendingCertificate.confirm`.
        The root comes in the ``ip``'s caPubs, trusted because the code's MAC covers it."""
        protection = _Protection(secret=code, reference=reference, iterations=self._mac_iterations)
        body = self._cert_request("ir", key)
        tid = secrets.token_bytes(16)
        answer = self._exchange(body, protection, transaction_id=tid, expect="ip", root=None)
        rep = answer.message["body"]["ip"]
        if not rep["caPubs"].isValue or len(rep["caPubs"]) != 1:
            raise _invalid("the ip carries no root certificate (caPubs)")
        root = messages.certificate_of(rep["caPubs"][0])
        if not _issued_by(root, root):
            raise _untrusted("the root in caPubs is not self-signed")
        issued = self._issued(answer, "ip", key, root)
        return PendingCertificate(
            self,
            issued,
            transaction_id=tid,
            recip_nonce=answer.nonce,
            protection=protection,
            root=root,
        )

    def key_update(
        self,
        certificate: x509.Certificate,
        key: rsa.RSAPrivateKey,
        new_key: rsa.RSAPrivateKey,
        *,
        trusted: x509.Certificate,
    ) -> PendingCertificate:
        """``kur``: a new certificate for ``new_key``, asked with the old certificate's key;
        the answer must be signed by the CMP responder under ``trusted`` (the root)."""
        protection = _Protection(key=key, certificate=certificate)
        body = self._cert_request("kur", new_key)
        tid = secrets.token_bytes(16)
        answer = self._exchange(body, protection, transaction_id=tid, expect="kup", root=trusted)
        issued = self._issued(answer, "kup", new_key, trusted)
        return PendingCertificate(
            self,
            issued,
            transaction_id=tid,
            recip_nonce=answer.nonce,
            protection=protection,
            root=trusted,
        )

    def revoke(
        self,
        certificate: x509.Certificate,
        key: rsa.RSAPrivateKey,
        *,
        trusted: x509.Certificate,
        reason: x509.ReasonFlags | None = None,
    ) -> None:
        """``rr``: revoke ``certificate`` with its own key; returns once the ``rp`` (signed
        by the CMP responder under ``trusted``) says it is done."""
        body = rfc9480.PKIBody()
        details = rfc4210.RevDetails()
        template = details["certDetails"]
        template["serialNumber"] = certificate.serial_number
        decoded, _ = der_decoder.decode(certificate.issuer.public_bytes(), asn1Spec=rfc5280.Name())
        template["issuer"]["rdnSequence"] = decoded["rdnSequence"]
        if reason is not None:
            extension = rfc5280.Extension()
            extension["extnID"] = REASON_CODE
            extension["extnValue"] = messages.encode(univ.Enumerated(_REASON_VALUES[reason]))
            details["crlEntryDetails"].append(extension)
        body["rr"].append(details)
        protection = _Protection(key=key, certificate=certificate)
        answer = self._exchange(
            body,
            protection,
            transaction_id=secrets.token_bytes(16),
            expect="rp",
            root=trusted,
        )
        statuses = answer.message["body"]["rp"]["status"]
        if len(statuses) != 1 or int(statuses[0]["status"]) not in (0, 1):
            raise _invalid("the rp does not say the certificate was revoked")

    # ------------------------------------------------------------------ building

    def _cert_request(self, kind: str, key: rsa.RSAPrivateKey) -> rfc9480.PKIBody:
        """One CertReqMsg (certReqId 0) with the key in the template and POP by signature
        over the DER of certReq (RFC 4211 §4.1)."""
        body = rfc9480.PKIBody()
        request_message = rfc4211.CertReqMsg()
        request = request_message["certReq"]
        request["certReqId"] = 0
        spki, _ = der_decoder.decode(_spki(key), asn1Spec=rfc5280.SubjectPublicKeyInfo())
        request["certTemplate"]["publicKey"]["algorithm"] = spki["algorithm"]
        request["certTemplate"]["publicKey"]["subjectPublicKey"] = spki["subjectPublicKey"]
        pop = request_message["popo"]["signature"]
        pop["algorithmIdentifier"] = _rsa_signature_algorithm()
        pop["signature"] = univ.BitString.fromOctetString(_sign(key, messages.encode(request)))
        body[kind].append(request_message)
        return body

    def _message(
        self,
        body: rfc9480.PKIBody,
        protection: _Protection,
        *,
        transaction_id: bytes,
        nonce: bytes,
        recip_nonce: bytes | None,
    ) -> bytes:
        algorithm, protect = protection.algorithm()
        sender = protection.certificate.subject if protection.certificate else messages.NULL_DN
        kid = protection.reference.encode("ascii") if protection.reference else None
        header = messages.build_header(
            None,
            pvno=_PVNO,
            sender=sender,
            sender_kid=kid,
            protection_alg=algorithm,
            nonce=nonce,
            now=self._now(),
        )
        header["transactionID"] = transaction_id
        if recip_nonce is not None:
            header["recipNonce"] = recip_nonce
        extra = [protection.certificate] if protection.certificate is not None else []
        return messages.encode_message(header, body, protect=protect, extra_certs=extra)

    # ------------------------------------------------------------------ one exchange

    def _exchange(
        self,
        body: rfc9480.PKIBody,
        protection: _Protection,
        *,
        transaction_id: bytes,
        expect: str,
        root: x509.Certificate | None,
        recip_nonce: bytes | None = None,
    ) -> _Answer:
        nonce = secrets.token_bytes(16)
        der = self._message(
            body,
            protection,
            transaction_id=transaction_id,
            nonce=nonce,
            recip_nonce=recip_nonce,
        )
        try:
            message = messages.decode_message(self._send(der))
        except CertCenterError as error:
            if error.code != "CMP_MESSAGE_MALFORMED":
                raise
            raise _invalid(str(error.context.get("detail", "not a PKIMessage"))) from None
        kind = message["body"].getName()
        header = messages.read_header(message)
        if kind == "error":
            raise _refusal(message)
        try:
            _, answer_nonce = messages.check_header(header)
        except CertCenterError as error:
            raise _invalid(str(error.context.get("detail", "the header"))) from None
        if header.transaction_id != transaction_id:
            raise _invalid("the answer names another transaction")
        if header.recip_nonce != nonce:
            raise _invalid("the answer's recipNonce is not our senderNonce")
        self._check_protection(message, header, protection, root)
        if kind != expect:
            raise _invalid(f"a {kind} came where a {expect} was expected")
        return _Answer(message, kind, answer_nonce)

    def _check_protection(
        self,
        message: rfc9480.PKIMessage,
        header: messages.Header,
        protection: _Protection,
        root: x509.Certificate | None,
    ) -> None:
        """The MAC with our authorization code (answers to ir and its certConf), else the
        CMP responder's signature under ``root``."""
        if not message["protection"].isValue or header.protection_alg is None:
            raise _untrusted("the answer is not protected")
        value = bytes(message["protection"].asOctets())
        data = messages.protected_part(message)
        algorithm = header.protection_alg
        if protection.secret is not None:
            if not is_mac(algorithm) or algorithm["algorithm"] != PASSWORD_BASED_MAC:
                raise _untrusted("the answer to a MAC-protected request must carry the MAC")
            try:
                mac = MacAlgorithm.parse(algorithm, MacBounds())
            except CertCenterError as error:
                raise _untrusted(str(error.context.get("detail", "MAC parameters"))) from None
            if not mac.verify(protection.secret, data, value):
                raise _untrusted("the MAC does not verify with the authorization code")
            return
        if root is None or is_mac(algorithm):
            raise _untrusted("the answer must be signed by the center's CMP responder")
        extra = _extra_certs(message)
        if not extra:
            raise _untrusted("the answer carries no responder certificate")
        responder = extra[0]
        _chain_to(responder, extra[1:], root, self._now())
        try:
            usage = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        if usage is None or CMC_RA not in list(usage):
            raise _untrusted("the signer is not the center's CMP responder (id-kp-cmcRA)")
        try:
            ok = verify_signature(algorithm, responder.public_key(), value, data)
        except CertCenterError:
            ok = False
        if not ok:
            raise _untrusted("the responder's signature does not verify")

    def _issued(
        self,
        answer: _Answer,
        kind: str,
        key: rsa.RSAPrivateKey,
        root: x509.Certificate,
    ) -> Issued:
        rep = answer.message["body"][kind]
        if len(rep["response"]) != 1:
            raise _invalid(f"the {kind} does not hold exactly one response")
        response = rep["response"][0]
        if int(response["certReqId"]) != 0:
            raise _invalid("the response is not for certReqId 0")
        status = response["status"]
        if int(status["status"]) not in (0, 1):
            raise _refusal_of_status(status)
        pair = response["certifiedKeyPair"]
        if not pair.isValue or pair["certOrEncCert"].getName() != "certificate":
            raise _invalid("the response holds no certificate")
        certificate = messages.certificate_of(pair["certOrEncCert"]["certificate"])
        if _spki(certificate.public_key()) != _spki(key):  # type: ignore[arg-type]
            raise _invalid("the certificate is not for the key that was sent")
        extra = [c for c in _extra_certs(answer.message) if _der(c) != _der(certificate)]
        chain = _chain_to(certificate, extra, root, self._now())
        random_num = messages.random_num_of(answer.message)
        return Issued(certificate, tuple(chain), random_num)


_REASON_VALUES: dict[x509.ReasonFlags, int] = {
    x509.ReasonFlags.unspecified: 0,
    x509.ReasonFlags.key_compromise: 1,
    x509.ReasonFlags.affiliation_changed: 3,
    x509.ReasonFlags.superseded: 4,
    x509.ReasonFlags.cessation_of_operation: 5,
}


def _extra_certs(message: rfc9480.PKIMessage) -> list[x509.Certificate]:
    extra = message["extraCerts"]
    if not extra.isValue:
        return []
    try:
        return [messages.certificate_of(value) for value in extra]
    except CertCenterError:
        raise _invalid("a certificate in extraCerts cannot be read") from None


def _refusal(message: rfc9480.PKIMessage) -> CertCenterError:
    try:
        info = message["body"]["error"]["pKIStatusInfo"]
        return _refusal_of_status(info)
    except UNREADABLE:
        return _invalid("the error message cannot be read")


def _refusal_of_status(info: univ.Sequence) -> CertCenterError:
    """The server's refusal as the catalog error it named: its statusString starts with the
    code (``JOINT_…: words``); another server's words become ``CMP_REFUSED``."""
    texts = [str(text) for text in info["statusString"]] if info["statusString"].isValue else []
    failure = ",".join(_failure_bits(info)) or "rejection"
    found = _CODE.match(texts[0]) if texts else None
    if found is not None and found.group(1) in catalog():
        return CertCenterError(found.group(1), detail=found.group(2).strip(), failure=failure)
    detail = " / ".join(texts)[:500] or "-"
    return CertCenterError("CMP_REFUSED", failure=failure, detail=detail)


def _failure_bits(info: univ.Sequence) -> list[str]:
    bits = info["failInfo"]
    if not bits.isValue:
        return []
    return [
        name
        for name, position in rfc9480.PKIFailureInfo.namedValues.items()
        if position < len(bits) and bits[position]
    ]
