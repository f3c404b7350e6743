"""OCSP (RFC 6960) messages: reading requests, building responses. No storage, no keys.

    request = parse_request(der)              # a StatusRequest, or the error status to send
    if isinstance(request, OCSPResponseStatus):
        return unsuccessful(request)
    builder = response_builder(request, CertAnswer.good(), signer_certificate,
                               this_update=now, next_update=now + validity)
    response = backend.sign_ocsp("mobile-ocsp", builder)

Responses name the responder by key hash, carry the responder's certificate, echo the
request's CertID exactly (hash algorithm, issuer hashes, serial: a client matches on it) and
its nonce (RFC 8954: 1 to 32 octets, else ``malformedRequest``). One certificate per
request here: that is what OpenSSL, browsers and RFC 5019 clients send, and all
``cryptography`` reads and builds; a request for several is read and answered by
:mod:`certcenter.pki.ocsp_batch`.

:func:`decode_get_request` reads the base64 path segment of ``GET /ocsp/{request}``
(RFC 6960 appendix A.1), forgiving URL-safe base64 and missing padding.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPCertStatus, OCSPResponseStatus

__all__ = [
    "CACHED_HASH",
    "CERTID_HASHES",
    "MAX_NONCE_BYTES",
    "MAX_REQUEST_BYTES",
    "CertAnswer",
    "StatusRequest",
    "decode_get_request",
    "issuer_hashes",
    "parse_request",
    "response_builder",
    "unsuccessful",
    "whole_seconds",
]

# Pre-computed responses use SHA-1 CertIDs: what OpenSSL and RFC 5019 clients ask with.
CACHED_HASH = hashes.SHA1()  # noqa: S303 - CertID hashes identify, they do not protect
MAX_NONCE_BYTES = 32  # RFC 8954 §2.1
MAX_REQUEST_BYTES = 8 * 1024  # one CertID, a nonce, maybe a signature: far below this

# The CertID hashes a request may use, by name (those ``cryptography`` can answer with).
CERTID_HASHES: dict[str, hashes.HashAlgorithm] = {
    h.name: h
    for h in (hashes.SHA1(), hashes.SHA224(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512())  # noqa: S303
}


def whole_seconds(when: datetime) -> datetime:
    """UTC, microseconds dropped: how times appear in CRLs and OCSP responses."""
    return when.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class StatusRequest:
    """The one certificate a request asks about (its CertID) and the request's nonce."""

    hash_algorithm: hashes.HashAlgorithm
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int
    nonce: bytes | None

    @property
    def serial_hex(self) -> str:
        """The serial as the certificate records store it (upper-case hex)."""
        return f"{self.serial:X}"


@dataclass(frozen=True)
class CertAnswer:
    """What the responder says about one certificate."""

    status: OCSPCertStatus
    revocation_time: datetime | None = None
    revocation_reason: x509.ReasonFlags | None = None

    @classmethod
    def good(cls) -> CertAnswer:
        return cls(OCSPCertStatus.GOOD)

    @classmethod
    def unknown(cls) -> CertAnswer:
        return cls(OCSPCertStatus.UNKNOWN)

    @classmethod
    def revoked(cls, at: datetime, reason: x509.ReasonFlags | None) -> CertAnswer:
        if reason is x509.ReasonFlags.unspecified:
            reason = None  # as in the CRL entry: no reason rather than "unspecified"
        return cls(OCSPCertStatus.REVOKED, whole_seconds(at), reason)


def parse_request(der: bytes) -> StatusRequest | OCSPResponseStatus:
    """The request, or the unsuccessful status to answer it with. Never raises."""
    if not der or len(der) > MAX_REQUEST_BYTES:
        return OCSPResponseStatus.MALFORMED_REQUEST
    try:
        request = ocsp.load_der_ocsp_request(der)
        algorithm = CERTID_HASHES.get(request.hash_algorithm.name)
        name_hash = request.issuer_name_hash
        key_hash = request.issuer_key_hash
        serial = request.serial_number
        nonce = None
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                nonce = extension.value.nonce
    except Exception:  # noqa: BLE001 - whatever the bytes are, the answer is malformedRequest
        return OCSPResponseStatus.MALFORMED_REQUEST
    if algorithm is None:
        return OCSPResponseStatus.MALFORMED_REQUEST
    if len(name_hash) != algorithm.digest_size or len(key_hash) != algorithm.digest_size:
        return OCSPResponseStatus.MALFORMED_REQUEST
    if serial <= 0 or serial.bit_length() > 20 * 8:
        return OCSPResponseStatus.MALFORMED_REQUEST  # RFC 5280 §4.1.2.2: positive, ≤ 20 octets
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE_BYTES:
        return OCSPResponseStatus.MALFORMED_REQUEST
    return StatusRequest(algorithm, name_hash, key_hash, serial, nonce)


def unsuccessful(status: OCSPResponseStatus) -> bytes:
    """The DER of an unsigned error response (malformedRequest, unauthorized, …)."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """(issuerNameHash, issuerKeyHash) of a CertID naming certificates ``issuer`` issued:
    the hash of the issuer's DER subject and of its public key's BIT STRING value."""
    name = hashes.Hash(algorithm)
    name.update(issuer.subject.public_bytes())
    key = hashes.Hash(algorithm)
    key.update(_public_key_bits(issuer))
    return name.finalize(), key.finalize()


def _public_key_bits(certificate: x509.Certificate) -> bytes:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT
    # STRING }: skip the outer header and the algorithm, then the BIT STRING's header and its
    # unused-bits octet.
    offset = _skip_header(spki, 0)
    offset = _skip_element(spki, offset)
    offset = _skip_header(spki, offset)
    return spki[offset + 1 :]


def _skip_header(der: bytes, offset: int) -> int:
    first = der[offset + 1]
    if first < 0x80:
        return offset + 2
    return offset + 2 + (first & 0x7F)


def _skip_element(der: bytes, offset: int) -> int:
    start = _skip_header(der, offset)
    first = der[offset + 1]
    length = first if first < 0x80 else int.from_bytes(der[offset + 2 : start], "big")
    return start + length


def response_builder(
    request: StatusRequest,
    answer: CertAnswer,
    signer: x509.Certificate,
    *,
    this_update: datetime,
    next_update: datetime,
    include_nonce: bool = True,
) -> ocsp.OCSPResponseBuilder:
    """An unsigned response for ``request`` (CertID echoed, nonce echoed when
    ``include_nonce``), responder ID by key hash, ``signer``'s certificate included."""
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial,
            algorithm=request.hash_algorithm,
            cert_status=answer.status,
            this_update=whole_seconds(this_update),
            next_update=whole_seconds(next_update),
            revocation_time=answer.revocation_time,
            revocation_reason=answer.revocation_reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signer)
        .certificates([signer])
    )
    if include_nonce and request.nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(request.nonce), critical=False)
    return builder


def decode_get_request(segment: str) -> bytes | None:
    """The DER request in the path of ``GET /ocsp/{segment}`` (already %-decoded), or None.

    Accepts standard and URL-safe base64, with or without padding; a ``+`` that arrived as a
    space is read as ``+``.
    """
    text = segment.replace(" ", "+").replace("-", "+").replace("_", "/").strip("\r\n\t")
    if not text or len(text) > MAX_REQUEST_BYTES * 2:
        return None
    # "/" is a base64 digit: a request may start or end with it. Only when the whole does not
    # decode is a trailing "/" read as a slash after the path segment (GET /ocsp/…/).
    for candidate in (text, text[:-1] if text.endswith("/") else None):
        if not candidate:
            continue
        try:
            padded = candidate + "=" * (-len(candidate) % 4)
            return base64.b64decode(padded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            continue
    return None
