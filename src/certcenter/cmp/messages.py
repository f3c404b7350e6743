"""PKIMessage (RFC 4210, RFC 9480) in and out, with pyasn1's CMP modules: never hand-built DER.

    message = decode_message(body)             # CMP_MESSAGE_MALFORMED when it is not one
    header = read_header(message)              # the fields the server checks, as Python
    answer = encode_message(build_header(...), pkiconf_body(), protection=..., extra_certs=[])

The module knows the shapes, not the rules: which body is allowed, what the nonces must be
and whether the protection verifies are decided in :mod:`certcenter.cmp.server`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, univ
from pyasn1_alt_modules import rfc4211, rfc5280, rfc9480

from certcenter.errors import CertCenterError
from certcenter.pki.vid import ID_KISA_RANDOM_NUM

__all__ = [
    "NULL_DN",
    "UNREADABLE",
    "Header",
    "build_header",
    "cert_rep_body",
    "certificate_of",
    "check_header",
    "cmp_certificate",
    "decode_message",
    "encode",
    "encode_message",
    "error_body",
    "name_of",
    "protected_part",
    "random_num_info",
    "random_num_of",
    "read_header",
    "spki_of_template",
]

MAX_NONCE = 64  # bytes; RFC 9483 asks for 128 bits, more is allowed
MIN_NONCE = 16

# Body names of rfc9480.PKIBody, as RFC 4210 writes them.
KNOWN_BODIES = frozenset(rfc9480.PKIBody.componentType.keys())


# What pyasn1's decoder raises on bytes that are not what they claim (a length too large for
# an index, a nesting too deep, a value of the wrong kind).
UNREADABLE = (
    PyAsn1Error,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    OverflowError,
    RecursionError,
)


def malformed(detail: str) -> CertCenterError:
    return CertCenterError("CMP_MESSAGE_MALFORMED", detail=detail)


def decode_message(data: bytes) -> rfc9480.PKIMessage:
    """The PKIMessage in ``data`` (DER, nothing after it)."""
    if not data:
        raise malformed("empty body")
    try:
        message, rest = der_decoder.decode(data, asn1Spec=rfc9480.PKIMessage())
    except UNREADABLE as exc:
        raise malformed(f"not a PKIMessage ({type(exc).__name__})") from None
    if rest:
        raise malformed("bytes after the PKIMessage")
    if not message["body"].isValue or message["body"].getName() not in KNOWN_BODIES:
        raise malformed("no body")
    return message


def encode(value: object) -> bytes:
    return bytes(der_encoder.encode(value))


@dataclass(frozen=True)
class Header:
    """What the server reads of a PKIHeader, whatever is there (:func:`check_header` says
    whether it is enough), so that even a refusal can name the transaction it answers."""

    pvno: int
    sender: rfc5280.GeneralName
    transaction_id: bytes | None
    sender_nonce: bytes | None
    recip_nonce: bytes | None
    sender_kid: bytes | None
    message_time: datetime | None
    protection_alg: rfc5280.AlgorithmIdentifier | None
    implicit_confirm: bool


def _octets(header: rfc9480.PKIHeader, name: str) -> bytes | None:
    value = header[name]
    return bytes(value) if value.isValue else None


def read_header(message: rfc9480.PKIMessage) -> Header:
    """The header's fields as they are (never raises: see :func:`check_header`)."""
    header = message["header"]
    message_time = None
    if header["messageTime"].isValue:
        try:
            message_time = header["messageTime"].asDateTime
        except UNREADABLE:
            message_time = datetime.min.replace(tzinfo=UTC)  # refused as a wrong time
        if message_time.tzinfo is None:
            message_time = message_time.replace(tzinfo=UTC)
    implicit = False
    if header["generalInfo"].isValue:
        implicit = any(
            info["infoType"] == rfc9480.id_it_implicitConfirm for info in header["generalInfo"]
        )
    return Header(
        pvno=int(header["pvno"]),
        sender=header["sender"],
        transaction_id=_octets(header, "transactionID"),
        sender_nonce=_octets(header, "senderNonce"),
        recip_nonce=_octets(header, "recipNonce"),
        sender_kid=_octets(header, "senderKID"),
        message_time=message_time,
        protection_alg=header["protectionAlg"] if header["protectionAlg"].isValue else None,
        implicit_confirm=implicit,
    )


def check_header(header: Header) -> tuple[bytes, bytes]:
    """(transactionID, senderNonce) when the header has what RFC 9483 requires;
    ``CMP_VERSION_UNSUPPORTED`` for a pvno other than 2 or 3, ``CMP_HEADER_INVALID`` else."""
    if header.pvno not in (2, 3):
        raise CertCenterError("CMP_VERSION_UNSUPPORTED", found=header.pvno)
    tid = header.transaction_id
    if tid is None or not MIN_NONCE <= len(tid) <= MAX_NONCE:
        raise CertCenterError(
            "CMP_HEADER_INVALID", detail="transactionID missing or not 16 to 64 bytes"
        )
    nonce = header.sender_nonce
    if nonce is None or not MIN_NONCE <= len(nonce) <= MAX_NONCE:
        raise CertCenterError(
            "CMP_HEADER_INVALID", detail="senderNonce missing or not 16 to 64 bytes"
        )
    if header.recip_nonce is not None and len(header.recip_nonce) > MAX_NONCE:
        raise CertCenterError("CMP_HEADER_INVALID", detail="recipNonce longer than 64 bytes")
    if header.sender_kid is not None and not 1 <= len(header.sender_kid) <= 64:
        raise CertCenterError("CMP_HEADER_INVALID", detail="senderKID empty or too long")
    return tid, nonce


def protected_part(message: rfc9480.PKIMessage) -> bytes:
    """The DER of ProtectedPart (header and body), what the protection covers."""
    part = rfc9480.ProtectedPart()
    part["header"] = message["header"]
    part["body"] = message["body"]
    return encode(part)


# ---------------------------------------------------------------- the VID's random value

RANDOM_NUM = univ.ObjectIdentifier(ID_KISA_RANDOM_NUM)  # 1.2.410.200004.10.1.1.3 (KISA)


def random_num_info(value: bytes) -> rfc9480.InfoTypeAndValue:
    """The VID's random value R for the ``ip``'s generalInfo: ``randomNum`` with the value as
    a BIT STRING, as it goes into the key file (the answer's protection covers it)."""
    info = rfc9480.InfoTypeAndValue()
    info["infoType"] = RANDOM_NUM
    info["infoValue"] = encode(univ.BitString.fromOctetString(value))
    return info


def random_num_of(message: rfc9480.PKIMessage) -> bytes | None:
    """R from a message's generalInfo (None when it has none); ``CMP_MESSAGE_MALFORMED`` when
    the value is not one BIT STRING of whole bytes."""
    general = message["header"]["generalInfo"]
    if not general.isValue:
        return None
    for info in general:
        if info["infoType"] != RANDOM_NUM:
            continue
        try:
            value, rest = der_decoder.decode(bytes(info["infoValue"]), asn1Spec=univ.BitString())
            octets = bytes(value.asOctets())
        except UNREADABLE:
            raise malformed("randomNum cannot be read") from None
        if rest or len(value) % 8 or not octets:
            raise malformed("randomNum is not a BIT STRING of whole bytes")
        return octets
    return None


# ---------------------------------------------------------------- certificates and names


def cmp_certificate(certificate: x509.Certificate) -> rfc9480.CMPCertificate:
    der = certificate.public_bytes(serialization.Encoding.DER)
    decoded, _ = der_decoder.decode(der, asn1Spec=rfc9480.CMPCertificate())
    return decoded


def certificate_of(value: univ.Sequence) -> x509.Certificate:
    """A CMPCertificate (tagged or not) as a cryptography certificate."""
    plain = rfc5280.Certificate()
    for field in ("tbsCertificate", "signatureAlgorithm", "signature"):
        plain[field] = value[field]
    try:
        return x509.load_der_x509_certificate(encode(plain))
    except ValueError:
        raise malformed("a certificate cannot be read") from None


def _fill_certificate(target: univ.Sequence, certificate: x509.Certificate) -> None:
    source = cmp_certificate(certificate)
    for field in ("tbsCertificate", "signatureAlgorithm", "signature"):
        target[field] = source[field]


_STRING_TYPES: dict[type, x509.name._ASN1Type] = {
    char.UTF8String: x509.name._ASN1Type.UTF8String,
    char.PrintableString: x509.name._ASN1Type.PrintableString,
    char.IA5String: x509.name._ASN1Type.IA5String,
    char.BMPString: x509.name._ASN1Type.BMPString,
    char.TeletexString: x509.name._ASN1Type.T61String,
    char.UniversalString: x509.name._ASN1Type.UniversalString,
}


def name_of(value: univ.Choice) -> x509.Name:
    """An X.509 Name (the Name choice, tagged or not) for cryptography; string attribute
    values only (``CMP_TEMPLATE_INVALID`` otherwise)."""
    if not value.isValue or value.getName() != "rdnSequence":
        raise CertCenterError("CMP_TEMPLATE_INVALID", detail="subject is not an RDN sequence")
    rdns: list[x509.RelativeDistinguishedName] = []
    for rdn in value["rdnSequence"]:
        attributes = []
        for atv in rdn:
            oid = x509.ObjectIdentifier(str(atv["type"]))
            try:
                decoded, rest = der_decoder.decode(bytes(atv["value"]))
            except UNREADABLE:
                raise CertCenterError(
                    "CMP_TEMPLATE_INVALID", detail="subject attribute cannot be read"
                ) from None
            kind = _STRING_TYPES.get(type(decoded))
            if rest or kind is None:
                raise CertCenterError(
                    "CMP_TEMPLATE_INVALID", detail="subject attribute is not a string"
                )
            try:
                attributes.append(x509.NameAttribute(oid, str(decoded), _type=kind))
            except ValueError as exc:
                raise CertCenterError("CMP_TEMPLATE_INVALID", detail=f"subject: {exc}") from None
        if not attributes:
            raise CertCenterError("CMP_TEMPLATE_INVALID", detail="empty RDN in subject")
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


def spki_of_template(template: rfc4211.CertTemplate) -> bytes:
    """The template's public key as SubjectPublicKeyInfo DER (``CMP_TEMPLATE_INVALID`` when
    missing or unreadable)."""
    if not template["publicKey"].isValue:
        raise CertCenterError("CMP_TEMPLATE_INVALID", detail="the template has no public key")
    spki = rfc5280.SubjectPublicKeyInfo()
    spki["algorithm"] = template["publicKey"]["algorithm"]
    spki["subjectPublicKey"] = template["publicKey"]["subjectPublicKey"]
    der = encode(spki)
    try:
        serialization.load_der_public_key(der)
    except (ValueError, TypeError):
        raise CertCenterError(
            "CMP_TEMPLATE_INVALID", detail="the public key cannot be read"
        ) from None
    return der


def directory_name(name: x509.Name, target: rfc5280.GeneralName) -> None:
    decoded, _ = der_decoder.decode(name.public_bytes(), asn1Spec=rfc5280.Name())
    target["directoryName"]["rdnSequence"] = decoded["rdnSequence"]


NULL_DN = x509.Name([])
_PROTECTION = rfc9480.PKIMessage.componentType["protection"].asn1Object  # [0] BIT STRING


# ---------------------------------------------------------------- building answers


def build_header(
    request: Header | None,
    *,
    pvno: int,
    sender: x509.Name,
    sender_kid: bytes | None,
    protection_alg: rfc5280.AlgorithmIdentifier | None,
    nonce: bytes,
    now: datetime,
) -> rfc9480.PKIHeader:
    """The answer's header: the request's sender as recipient, its transactionID and
    senderNonce (as recipNonce), a fresh senderNonce of ours. Without a request (a body that
    was no PKIMessage) the recipient is the empty name and neither is echoed."""
    header = rfc9480.PKIHeader()
    header["pvno"] = pvno
    directory_name(sender, header["sender"])
    if request is not None and request.sender.isValue:
        header["recipient"] = request.sender
    else:
        directory_name(NULL_DN, header["recipient"])
    header["messageTime"] = now.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
    if protection_alg is not None:
        header["protectionAlg"]["algorithm"] = protection_alg["algorithm"]
        if protection_alg["parameters"].isValue:
            header["protectionAlg"]["parameters"] = protection_alg["parameters"]
    if sender_kid is not None:
        header["senderKID"] = sender_kid
    if request is not None and request.transaction_id is not None:
        header["transactionID"] = request.transaction_id
    header["senderNonce"] = nonce
    if request is not None and request.sender_nonce is not None:
        header["recipNonce"] = request.sender_nonce
    return header


def _status_info(target: univ.Sequence, status: int, texts: Sequence[str] = ()) -> None:
    target["status"] = status
    for text in texts:
        target["statusString"].append(text)


def cert_rep_body(
    kind: str, certificate: x509.Certificate, ca_pubs: Sequence[x509.Certificate]
) -> rfc9480.PKIBody:
    """An ``ip`` or ``kup``: one CertResponse (certReqId 0, accepted) with the certificate."""
    body = rfc9480.PKIBody()
    rep = body[kind]
    for ca in ca_pubs:
        rep["caPubs"].append(cmp_certificate(ca))
    response = rfc9480.CertResponse()
    response["certReqId"] = 0
    _status_info(response["status"], 0)
    _fill_certificate(response["certifiedKeyPair"]["certOrEncCert"]["certificate"], certificate)
    rep["response"].append(response)
    return body


def rp_body() -> rfc9480.PKIBody:
    """An ``rp``: the one revocation was done (accepted)."""
    body = rfc9480.PKIBody()
    info = rfc9480.PKIStatusInfo()
    _status_info(info, 0)
    body["rp"]["status"].append(info)
    return body


def pkiconf_body() -> rfc9480.PKIBody:
    body = rfc9480.PKIBody()
    body.setComponentByName("pkiconf", "")
    return body


def error_body(
    failure: str, texts: Sequence[str], error_code: int | None = None
) -> rfc9480.PKIBody:
    """An ``error``: status rejection, the failInfo bit ``failure``, the texts."""
    body = rfc9480.PKIBody()
    content = body["error"]
    _status_info(content["pKIStatusInfo"], 2, texts)
    content["pKIStatusInfo"]["failInfo"] = rfc9480.PKIFailureInfo(failure)
    if error_code is not None:
        content["errorCode"] = error_code
    return body


def encode_message(
    header: rfc9480.PKIHeader,
    body: rfc9480.PKIBody,
    *,
    protect: Callable[[bytes], bytes] | None,
    extra_certs: Sequence[x509.Certificate] = (),
) -> bytes:
    """The DER of a PKIMessage; ``protect(protected_part_der) -> bytes`` makes its
    protection (a MAC or a signature); None leaves it unprotected."""
    message = rfc9480.PKIMessage()
    message["header"] = header
    message["body"] = body
    if protect is not None:
        protection = protect(protected_part(message))
        message["protection"] = _PROTECTION.clone(univ.BitString.fromOctetString(protection))
    for certificate in extra_certs:
        message["extraCerts"].append(cmp_certificate(certificate))
    return encode(message)
