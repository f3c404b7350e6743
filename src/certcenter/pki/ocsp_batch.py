"""OCSP requests about several certificates (RFC 6960 §4.1.1: ``requestList`` is a SEQUENCE
OF Request) and the one response that answers them all. No storage, no keys.

    batch = parse_batch(der, limit=10)        # a BatchRequest, or the status to answer with
    tbs = response_data(batch, answers, signer_certificate, produced_at=now,
                        this_update=now, next_update=now + validity)
    der = basic_response(tbs, signer_certificate, backend.sign("mobile-ocsp", tbs))

``cryptography`` reads and builds one certificate per message (what OpenSSL sends by
default, and all RFC 5019 clients send); :func:`certcenter.pki.ocsp.parse_request` answers
those. A request for several (``openssl ocsp -cert a.pem -cert b.pem``) is read here with
pyasn1 and answered with one SingleResponse per Request, in the request's order, each
echoing its CertID byte for byte (a client matches on it), and the request's nonce
extension echoed as it came. More than ``limit`` certificates is ``malformedRequest``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.ocsp import OCSPCertStatus, OCSPResponseStatus
from pyasn1.codec.der import decoder, encoder
from pyasn1_alt_modules import rfc6960

from certcenter.pki import der
from certcenter.pki.ocsp import (
    CERTID_HASHES,
    MAX_NONCE_BYTES,
    MAX_REQUEST_BYTES,
    CertAnswer,
    StatusRequest,
)

__all__ = ["BatchRequest", "basic_response", "parse_batch", "response_data"]

_NONCE = "1.3.6.1.5.5.7.48.1.2"  # id-pkix-ocsp-nonce
_BASIC = "1.3.6.1.5.5.7.48.1.1"  # id-pkix-ocsp-basic
_HASH_OIDS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


@dataclass(frozen=True)
class BatchRequest:
    """The certificates a request asks about, each with its CertID's DER, and its nonce
    extension (DER, echoed as it came) if it has one."""

    requests: tuple[StatusRequest, ...]
    cert_ids: tuple[bytes, ...]
    nonce_extension: bytes | None


def parse_batch(request_der: bytes, *, limit: int) -> BatchRequest | OCSPResponseStatus:
    """The request's certificates, or the unsuccessful status to answer with (never
    raises): ``malformedRequest`` for bytes that are not a request, a CertID hash other than
    SHA-1/SHA-2, a nonce outside 1–32 octets, or more than ``limit`` certificates."""
    if not request_der or len(request_der) > MAX_REQUEST_BYTES:
        return OCSPResponseStatus.MALFORMED_REQUEST
    try:
        decoded, rest = decoder.decode(request_der, asn1Spec=rfc6960.OCSPRequest())
        if rest:
            return OCSPResponseStatus.MALFORMED_REQUEST
        tbs = decoded["tbsRequest"]
        listed = list(tbs["requestList"])
        if not listed or len(listed) > limit:
            return OCSPResponseStatus.MALFORMED_REQUEST
        nonce, nonce_extension = _nonce(tbs)
        requests, cert_ids = [], []
        for request in listed:
            cert_id = request["reqCert"]
            name = _HASH_OIDS.get(str(cert_id["hashAlgorithm"]["algorithm"]))
            algorithm = CERTID_HASHES.get(name or "")
            if algorithm is None:
                return OCSPResponseStatus.MALFORMED_REQUEST
            name_hash = bytes(cert_id["issuerNameHash"])
            key_hash = bytes(cert_id["issuerKeyHash"])
            serial = int(cert_id["serialNumber"])
            if len(name_hash) != algorithm.digest_size or len(key_hash) != algorithm.digest_size:
                return OCSPResponseStatus.MALFORMED_REQUEST
            if serial <= 0 or serial.bit_length() > 20 * 8:
                return OCSPResponseStatus.MALFORMED_REQUEST
            requests.append(StatusRequest(algorithm, name_hash, key_hash, serial, nonce))
            cert_ids.append(bytes(encoder.encode(cert_id)))
    except Exception:  # noqa: BLE001 - pyasn1 raises more than PyAsn1Error on bad lengths
        return OCSPResponseStatus.MALFORMED_REQUEST
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_BYTES:
        return OCSPResponseStatus.MALFORMED_REQUEST
    return BatchRequest(tuple(requests), tuple(cert_ids), nonce_extension)


def _nonce(tbs: rfc6960.TBSRequest) -> tuple[bytes | None, bytes | None]:
    extensions = tbs["requestExtensions"]
    if not extensions.isValue:
        return None, None
    for extension in extensions:
        if str(extension["extnID"]) != _NONCE:
            continue
        value = bytes(extension["extnValue"])  # RFC 8954: the DER of an OCTET STRING
        inner, rest = decoder.decode(value)
        if rest:
            raise ValueError("trailing bytes in the nonce")
        return bytes(inner), bytes(encoder.encode(extension))
    return None, None


def _status(answer: CertAnswer) -> bytes:
    if answer.status is OCSPCertStatus.GOOD:
        return b"\x80\x00"  # good [0] IMPLICIT NULL
    if answer.status is OCSPCertStatus.UNKNOWN:
        return b"\x82\x00"  # unknown [2] IMPLICIT NULL
    if answer.revocation_time is None:
        raise ValueError("a revoked answer has a revocation time")
    parts = [der.generalized_time(answer.revocation_time)]
    if answer.revocation_reason is not None:
        code = x509.CRLReason(answer.revocation_reason).public_bytes()  # ENUMERATED
        parts.append(der.tlv(0xA0, code))  # revocationReason [0] EXPLICIT CRLReason
    return der.tlv(0xA1, b"".join(parts))  # revoked [1] IMPLICIT RevokedInfo


def response_data(
    batch: BatchRequest,
    answers: Sequence[CertAnswer],
    signer: x509.Certificate,
    *,
    produced_at: datetime,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """The DER ResponseData (what is signed): responder by key hash, one SingleResponse per
    request in order, the nonce echoed."""
    if len(answers) != len(batch.cert_ids):
        raise ValueError("one answer per certificate asked about")
    key_hash = x509.SubjectKeyIdentifier.from_public_key(signer.public_key()).digest
    singles = [
        der.sequence(
            cert_id,
            _status(answer),
            der.generalized_time(this_update),
            der.tlv(0xA0, der.generalized_time(next_update)),  # nextUpdate [0] EXPLICIT
        )
        for cert_id, answer in zip(batch.cert_ids, answers, strict=True)
    ]
    parts = [
        der.tlv(0xA2, der.tlv(0x04, key_hash)),  # responderID byKey [2] EXPLICIT KeyHash
        der.generalized_time(produced_at),
        der.sequence(*singles),
    ]
    if batch.nonce_extension is not None:
        parts.append(der.tlv(0xA1, der.sequence(batch.nonce_extension)))  # [1] EXPLICIT
    return der.sequence(*parts)


def basic_response(tbs: bytes, signer: x509.Certificate, signature: bytes) -> bytes:
    """The DER OCSPResponse (successful) around a signed ResponseData: the BasicOCSPResponse
    with the signature and the responder's certificate."""
    certificate = signer.public_bytes(serialization.Encoding.DER)
    basic = der.sequence(
        tbs,
        der.signature_algorithm(signer),
        der.tlv(0x03, b"\x00" + signature),
        der.tlv(0xA0, der.sequence(certificate)),  # certs [0] EXPLICIT SEQUENCE OF
    )
    response_bytes = der.sequence(der.oid(_BASIC), der.tlv(0x04, basic))
    return der.sequence(b"\x0a\x01\x00", der.tlv(0xA0, response_bytes))  # successful
