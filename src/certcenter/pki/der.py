"""A few lines of DER (X.690): definite lengths, SEQUENCE, INTEGER, OBJECT IDENTIFIER,
times, extensions and the signature AlgorithmIdentifier of a CA or responder key, for the
structures built here around pre-encoded parts (CRLs in :mod:`.crl`, OCSP responses about
several certificates in :mod:`.ocsp_batch`).

    sequence(integer(1), tlv(0x04, b"value"))    # SEQUENCE { INTEGER 1, OCTET STRING }
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certcenter.keys.backend import hash_for_curve, key_kind_of

__all__ = [
    "extension",
    "generalized_time",
    "header",
    "integer",
    "length",
    "oid",
    "sequence",
    "signature_algorithm",
    "time",
    "tlv",
]


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + length(len(content)) + content


def header(tag: int, size: int) -> bytes:
    """The tag and length octets of an element whose content is ``size`` octets."""
    return bytes([tag]) + length(size)


def sequence(*parts: bytes) -> bytes:
    content = b"".join(parts)
    return tlv(0x30, content)


def integer(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are encoded here")
    # one more bit than needed for the value, so a set high bit gets a leading 0x00
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    first = [40 * arcs[0] + arcs[1], *arcs[2:]]
    body = bytearray()
    for arc in first:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


def time(when: datetime) -> bytes:
    """RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, Z."""
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    utc = when.astimezone(UTC)
    if 1950 <= utc.year <= 2049:
        return tlv(0x17, utc.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return tlv(0x18, f"{utc.year:04d}{utc:%m%d%H%M%S}Z".encode("ascii"))


def extension(extension: x509.ExtensionType, critical: bool) -> bytes:
    value = extension.public_bytes()
    flag = b"\x01\x01\xff" if critical else b""  # DEFAULT FALSE: encoded only when TRUE
    return sequence(oid(extension.oid.dotted_string), flag, tlv(0x04, value))


_SIGNATURE_OIDS = {
    hashes.SHA256.name: "1.2.840.10045.4.3.2",  # ecdsa-with-SHA256
    hashes.SHA384.name: "1.2.840.10045.4.3.3",  # ecdsa-with-SHA384
}
_RSA_SHA256 = "1.2.840.113549.1.1.11"  # sha256WithRSAEncryption


def signature_algorithm(issuer: x509.Certificate) -> bytes:
    key = issuer.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key_kind_of(key) == "rsa-2048":
        # RSA PKCS#1 v1.5 AlgorithmIdentifiers carry NULL parameters (RFC 4055 §5)
        return sequence(oid(_RSA_SHA256), b"\x05\x00")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise TypeError("CA keys are EC or RSA-2048 keys")
    # ECDSA AlgorithmIdentifiers have no parameters (RFC 5758 §3.2)
    return sequence(oid(_SIGNATURE_OIDS[hash_for_curve(key.curve).name]))


def generalized_time(when: datetime) -> bytes:
    """GeneralizedTime, whole seconds, Z (what OCSP uses for every time)."""
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    utc = when.astimezone(UTC)
    return tlv(0x18, f"{utc.year:04d}{utc:%m%d%H%M%S}Z".encode("ascii"))
