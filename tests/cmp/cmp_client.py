"""A CMP client for tests, built with pyasn1 (never hand-written DER), independent of the
server's code: it makes ir/certConf/kur/rr messages with a PasswordBasedMac or PBMAC1 made
here from RFC 4210 §5.1.3.1 and RFC 9481 §6.1.2, or signed, and reads the answers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from pyasn1.codec.der import decoder, encoder
from pyasn1.type import univ
from pyasn1_alt_modules import rfc4210, rfc4211, rfc5280, rfc8018, rfc9480

SHA256 = univ.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
HMAC_SHA1 = univ.ObjectIdentifier("1.3.6.1.5.5.8.1.2")
HMAC_SHA256 = univ.ObjectIdentifier("1.2.840.113549.2.9")
SHA256_RSA = univ.ObjectIdentifier("1.2.840.113549.1.1.11")
ECDSA_SHA256 = univ.ObjectIdentifier("1.2.840.10045.4.3.2")


def enc(value: object) -> bytes:
    return bytes(encoder.encode(value))


def _name_into(name: x509.Name, target: univ.Choice) -> None:
    decoded, _ = decoder.decode(name.public_bytes(), asn1Spec=rfc5280.Name())
    target["rdnSequence"] = decoded["rdnSequence"]


def pbm(secret: bytes, salt: bytes, iterations: int, data: bytes) -> bytes:
    key = hashlib.sha256(secret + salt).digest()
    for _ in range(iterations - 1):
        key = hashlib.sha256(key).digest()
    return hmac.new(key, data, "sha1").digest()


def pbmac1(secret: bytes, salt: bytes, iterations: int, data: bytes) -> bytes:
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(secret)
    return hmac.new(key, data, "sha256").digest()


@dataclass
class Mac:
    secret: bytes
    kind: str = "pbm"  # pbm | pbmac1
    iterations: int = 500
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def algorithm(self) -> rfc5280.AlgorithmIdentifier:
        identifier = rfc5280.AlgorithmIdentifier()
        if self.kind == "pbm":
            params = rfc4210.PBMParameter()
            params["salt"] = self.salt
            params["owf"]["algorithm"] = SHA256
            params["iterationCount"] = self.iterations
            params["mac"]["algorithm"] = HMAC_SHA1
            identifier["algorithm"] = rfc4210.id_PasswordBasedMac
            identifier["parameters"] = enc(params)
            return identifier
        kdf = rfc8018.PBKDF2_params()
        kdf["salt"]["specified"] = self.salt
        kdf["iterationCount"] = self.iterations
        kdf["keyLength"] = 32
        kdf["prf"]["algorithm"] = HMAC_SHA256
        kdf["prf"]["parameters"] = enc(univ.Null(""))
        params = rfc8018.PBMAC1_params()
        params["keyDerivationFunc"]["algorithm"] = rfc8018.id_PBKDF2
        params["keyDerivationFunc"]["parameters"] = enc(kdf)
        params["messageAuthScheme"]["algorithm"] = HMAC_SHA256
        params["messageAuthScheme"]["parameters"] = enc(univ.Null(""))
        identifier["algorithm"] = rfc8018.id_PBMAC1
        identifier["parameters"] = enc(params)
        return identifier

    def protect(self, data: bytes) -> bytes:
        if self.kind == "pbm":
            return pbm(self.secret, self.salt, self.iterations, data)
        return pbmac1(self.secret, self.salt, self.iterations, data)


def sign(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def sig_alg(key: object) -> univ.ObjectIdentifier:
    return SHA256_RSA if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256


@dataclass
class Sent:
    der: bytes
    transaction_id: bytes
    nonce: bytes


class CmpClient:
    """Messages of one client; each knows its transaction and nonces."""

    def __init__(self, *, pvno: int = 2, now: datetime | None = None) -> None:
        self.pvno = pvno
        self.now = now

    def header(
        self,
        *,
        transaction_id: bytes,
        nonce: bytes,
        recip_nonce: bytes | None,
        kid: bytes | None,
        algorithm: rfc5280.AlgorithmIdentifier | None,
        sender: x509.Name,
    ) -> rfc9480.PKIHeader:
        header = rfc9480.PKIHeader()
        header["pvno"] = self.pvno
        _name_into(sender, header["sender"]["directoryName"])
        _name_into(x509.Name([]), header["recipient"]["directoryName"])
        if self.now is not None:
            header["messageTime"] = self.now.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
        if algorithm is not None:
            header["protectionAlg"]["algorithm"] = algorithm["algorithm"]
            if algorithm["parameters"].isValue:
                header["protectionAlg"]["parameters"] = algorithm["parameters"]
        if kid is not None:
            header["senderKID"] = kid
        header["transactionID"] = transaction_id
        header["senderNonce"] = nonce
        if recip_nonce is not None:
            header["recipNonce"] = recip_nonce
        return header

    def finish(
        self,
        header: rfc9480.PKIHeader,
        body: rfc9480.PKIBody,
        *,
        mac: Mac | None = None,
        key: object | None = None,
        certs: list[x509.Certificate] | None = None,
        protection: bytes | None = None,
    ) -> bytes:
        message = rfc9480.PKIMessage()
        message["header"] = header
        message["body"] = body
        part = rfc9480.ProtectedPart()
        part["header"] = header
        part["body"] = body
        data = enc(part)
        if protection is None:
            if mac is not None:
                protection = mac.protect(data)
            elif key is not None:
                protection = sign(key, data)  # type: ignore[arg-type]
        if protection is not None:
            slot = rfc9480.PKIMessage.componentType["protection"].asn1Object
            message["protection"] = slot.clone(univ.BitString.fromOctetString(protection))
        for certificate in certs or []:
            decoded, _ = decoder.decode(
                certificate.public_bytes(serialization.Encoding.DER),
                asn1Spec=rfc9480.CMPCertificate(),
            )
            message["extraCerts"].append(decoded)
        return enc(message)

    def cert_request(
        self, body_name: str, key: object, subject: x509.Name | None, *, bad_pop: bool = False
    ) -> rfc9480.PKIBody:
        body = rfc9480.PKIBody()
        msg = rfc4211.CertReqMsg()
        request = msg["certReq"]
        request["certReqId"] = 0
        template = request["certTemplate"]
        if subject is not None:
            _name_into(subject, template["subject"])
        spki_der = key.public_key().public_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        spki, _ = decoder.decode(spki_der, asn1Spec=rfc5280.SubjectPublicKeyInfo())
        template["publicKey"]["algorithm"] = spki["algorithm"]
        template["publicKey"]["subjectPublicKey"] = spki["subjectPublicKey"]
        signed = enc(request) + (b"x" if bad_pop else b"")
        pop = msg["popo"]["signature"]
        pop["algorithmIdentifier"]["algorithm"] = sig_alg(key)
        pop["signature"] = univ.BitString.fromOctetString(sign(key, signed))  # type: ignore[arg-type]
        body[body_name].append(msg)
        return body

    def ir(
        self,
        reference: str,
        mac: Mac,
        key: object,
        subject: x509.Name | None = None,
        *,
        transaction_id: bytes | None = None,
        nonce: bytes | None = None,
        bad_pop: bool = False,
        protection: bytes | None = None,
    ) -> Sent:
        tid = transaction_id or secrets.token_bytes(16)
        nonce = nonce or secrets.token_bytes(16)
        header = self.header(
            transaction_id=tid,
            nonce=nonce,
            recip_nonce=None,
            kid=reference.encode(),
            algorithm=mac.algorithm(),
            sender=subject or x509.Name([]),
        )
        body = self.cert_request("ir", key, subject, bad_pop=bad_pop)
        return Sent(self.finish(header, body, mac=mac, protection=protection), tid, nonce)

    def cert_conf(
        self,
        transaction_id: bytes,
        recip_nonce: bytes,
        certificate: x509.Certificate,
        *,
        mac: Mac | None = None,
        reference: str | None = None,
        key: object | None = None,
        signer: x509.Certificate | None = None,
        cert_hash: bytes | None = None,
        nonce: bytes | None = None,
        reject: bool = False,
    ) -> Sent:
        nonce = nonce or secrets.token_bytes(16)
        algorithm = mac.algorithm() if mac is not None else _signature(key)
        header = self.header(
            transaction_id=transaction_id,
            nonce=nonce,
            recip_nonce=recip_nonce,
            kid=reference.encode() if reference else None,
            algorithm=algorithm,
            sender=signer.subject if signer else x509.Name([]),
        )
        body = rfc9480.PKIBody()
        status = rfc9480.CertStatus()
        digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()
        status["certHash"] = cert_hash if cert_hash is not None else digest
        status["certReqId"] = 0
        if reject:
            status["statusInfo"]["status"] = 2
        body["certConf"].append(status)
        der = self.finish(header, body, mac=mac, key=key, certs=[signer] if signer else None)
        return Sent(der, transaction_id, nonce)

    def kur(self, old_key: object, old_cert: x509.Certificate, new_key: object) -> Sent:
        tid, nonce = secrets.token_bytes(16), secrets.token_bytes(16)
        header = self.header(
            transaction_id=tid,
            nonce=nonce,
            recip_nonce=None,
            kid=None,
            algorithm=_signature(old_key),
            sender=old_cert.subject,
        )
        body = self.cert_request("kur", new_key, None)
        return Sent(self.finish(header, body, key=old_key, certs=[old_cert]), tid, nonce)

    def rr(
        self,
        key: object,
        signer: x509.Certificate,
        target: x509.Certificate | None = None,
        *,
        reason: int | None = None,
    ) -> Sent:
        target = target or signer
        tid, nonce = secrets.token_bytes(16), secrets.token_bytes(16)
        header = self.header(
            transaction_id=tid,
            nonce=nonce,
            recip_nonce=None,
            kid=None,
            algorithm=_signature(key),
            sender=signer.subject,
        )
        body = rfc9480.PKIBody()
        details = rfc4210.RevDetails()
        template = details["certDetails"]
        template["serialNumber"] = target.serial_number
        _name_into(target.issuer, template["issuer"])
        if reason is not None:
            extension = rfc5280.Extension()
            extension["extnID"] = univ.ObjectIdentifier("2.5.29.21")
            extension["extnValue"] = enc(univ.Enumerated(reason))
            details["crlEntryDetails"].append(extension)
        body["rr"].append(details)
        return Sent(self.finish(header, body, key=key, certs=[signer]), tid, nonce)

    def genm(self, mac: Mac, reference: str) -> Sent:
        tid, nonce = secrets.token_bytes(16), secrets.token_bytes(16)
        header = self.header(
            transaction_id=tid,
            nonce=nonce,
            recip_nonce=None,
            kid=reference.encode(),
            algorithm=mac.algorithm(),
            sender=x509.Name([]),
        )
        body = rfc9480.PKIBody()
        body.setComponentByName("genm")
        return Sent(self.finish(header, body, mac=mac), tid, nonce)


def _signature(key: object) -> rfc5280.AlgorithmIdentifier:
    identifier = rfc5280.AlgorithmIdentifier()
    identifier["algorithm"] = sig_alg(key)
    return identifier


@dataclass
class Answer:
    """What a test reads of the server's answer."""

    message: rfc9480.PKIMessage
    body: str
    failure: set[str]
    texts: list[str]
    certificate: x509.Certificate | None
    ca_pubs: list[x509.Certificate]
    extra: list[x509.Certificate]
    transaction_id: bytes | None
    nonce: bytes | None
    recip_nonce: bytes | None
    protection_alg: str | None

    def mac_ok(self, secret: bytes) -> bool:
        algorithm = self.message["header"]["protectionAlg"]
        part = rfc9480.ProtectedPart()
        part["header"] = self.message["header"]
        part["body"] = self.message["body"]
        data = enc(part)
        protection = self.message["protection"].asOctets()
        if algorithm["algorithm"] == rfc4210.id_PasswordBasedMac:
            params, _ = decoder.decode(
                bytes(algorithm["parameters"]), asn1Spec=rfc4210.PBMParameter()
            )
            mac = pbm(secret, bytes(params["salt"]), int(params["iterationCount"]), data)
        else:
            params, _ = decoder.decode(
                bytes(algorithm["parameters"]), asn1Spec=rfc8018.PBMAC1_params()
            )
            kdf, _ = decoder.decode(
                bytes(params["keyDerivationFunc"]["parameters"]), asn1Spec=rfc8018.PBKDF2_params()
            )
            mac = pbmac1(secret, bytes(kdf["salt"]["specified"]), int(kdf["iterationCount"]), data)
        return hmac.compare_digest(mac, protection)

    def signed_by(self, certificate: x509.Certificate) -> bool:
        part = rfc9480.ProtectedPart()
        part["header"] = self.message["header"]
        part["body"] = self.message["body"]
        key = certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        try:
            key.verify(self.message["protection"].asOctets(), enc(part), ec.ECDSA(hashes.SHA256()))
        except Exception:  # noqa: BLE001 - any failure is "not signed by it"
            return False
        return True


def _cert(value: univ.Sequence) -> x509.Certificate:
    plain = rfc5280.Certificate()
    for name in ("tbsCertificate", "signatureAlgorithm", "signature"):
        plain[name] = value[name]
    return x509.load_der_x509_certificate(enc(plain))


def read(der: bytes) -> Answer:
    message, rest = decoder.decode(der, asn1Spec=rfc9480.PKIMessage())
    assert rest == b""
    body = message["body"]
    name = body.getName()
    failure: set[str] = set()
    texts: list[str] = []
    certificate = None
    ca_pubs: list[x509.Certificate] = []
    if name == "error":
        info = body["error"]["pKIStatusInfo"]
        assert int(info["status"]) == 2
        bits = info["failInfo"]
        failure = {
            n
            for n, position in rfc9480.PKIFailureInfo.namedValues.items()
            if position < len(bits) and bits[position]
        }
        texts = [str(t) for t in info["statusString"]]
    if name in ("ip", "kup"):
        rep = body[name]
        response = rep["response"][0]
        assert int(response["status"]["status"]) == 0
        certificate = _cert(response["certifiedKeyPair"]["certOrEncCert"]["certificate"])
        if rep["caPubs"].isValue:
            ca_pubs = [_cert(c) for c in rep["caPubs"]]
    header = message["header"]

    def octets(field_name: str) -> bytes | None:
        return bytes(header[field_name]) if header[field_name].isValue else None

    extra = [_cert(c) for c in message["extraCerts"]] if message["extraCerts"].isValue else []
    algorithm = (
        str(header["protectionAlg"]["algorithm"]) if header["protectionAlg"].isValue else None
    )
    return Answer(
        message,
        name,
        failure,
        texts,
        certificate,
        ca_pubs,
        extra,
        octets("transactionID"),
        octets("senderNonce"),
        octets("recipNonce"),
        algorithm,
    )
