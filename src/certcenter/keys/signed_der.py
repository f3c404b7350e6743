"""Certificates, CRLs and OCSP responses signed by a key that cryptography cannot hold.

cryptography's builders sign only with a private key object in memory. A key in a token
(PKCS#11) signs bytes. So the builder signs once with a throwaway key of the same kind
(same signature algorithm in the to-be-signed part), the to-be-signed bytes are taken
from that, signed by the real key, and the signature replaces the throwaway one:

    tbs_signer = lambda tbs: token_sign(label, tbs)      # DER ECDSA or RSA PKCS#1 v1.5
    certificate = sign_certificate(builder, "ec-p256", tbs_signer)

The to-be-signed bytes never change: only the outer structure's signature BIT STRING is
replaced (RFC 5280 ``Certificate`` and ``CertificateList``, RFC 6960 ``BasicOCSPResponse``
inside ``OCSPResponse``). The throwaway keys are made once per process and per kind; they
sign nothing that leaves this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from certcenter.keys.backend import (
    RSA_BITS,
    RSA_PUBLIC_EXPONENT,
    KeyKind,
    curve_for_kind,
    hash_for_kind,
)

__all__ = ["TbsSigner", "sign_certificate", "sign_crl", "sign_ocsp"]

TbsSigner = Callable[[bytes], bytes]
_Placeholder = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_placeholders: dict[KeyKind, _Placeholder] = {}
_placeholder_lock = threading.Lock()
_DER = Encoding.DER
_stand_ins: dict[tuple[KeyKind, bytes], x509.Certificate] = {}
_STAND_INS_KEPT = 64


def sign_certificate(
    builder: x509.CertificateBuilder, kind: KeyKind, signer: TbsSigner
) -> x509.Certificate:
    draft = builder.sign(_placeholder(kind), hash_for_kind(kind))
    der = _replace_signature(draft.public_bytes(_DER), signer(draft.tbs_certificate_bytes))
    return x509.load_der_x509_certificate(der)


def sign_crl(
    builder: x509.CertificateRevocationListBuilder, kind: KeyKind, signer: TbsSigner
) -> x509.CertificateRevocationList:
    draft = builder.sign(_placeholder(kind), hash_for_kind(kind))
    der = _replace_signature(draft.public_bytes(_DER), signer(draft.tbs_certlist_bytes))
    return x509.load_der_x509_crl(der)


def sign_ocsp(
    builder: ocsp.OCSPResponseBuilder, kind: KeyKind, signer: TbsSigner
) -> ocsp.OCSPResponse:
    """OCSPResponse ::= SEQUENCE { status, [0] EXPLICIT SEQUENCE { type, OCTET STRING
    (BasicOCSPResponse) } }: the signature inside the basic response is replaced.

    cryptography refuses to sign for a responder certificate whose key is not the signing
    key, so the draft names a stand-in responder (the same subject, the throwaway key): by
    name that is the same ResponderID, by key hash the stand-in's hash is put back to the
    real one's before the real key signs. The certificates the response carries are the
    builder's own.
    """
    responder, encoding = builder._responder_id or (None, None)
    if responder is None or encoding is None:
        raise ValueError("You must add a responder_id before signing")
    key = _placeholder(kind)
    stand_in = _stand_in(responder, kind)
    draft = ocsp.OCSPResponseBuilder(
        builder._response,
        (stand_in, encoding),
        builder._certs,
        builder._extensions,
    ).sign(key, hash_for_kind(kind))
    tbs = draft.tbs_response_bytes
    if encoding is ocsp.OCSPResponderEncoding.HASH:
        drafted = _key_hash(stand_in)
        if tbs.count(drafted) != 1:
            raise ValueError("the responder's key hash is not once in the response")
        tbs = tbs.replace(drafted, _key_hash(responder))
    status, tagged = _elements(draft.public_bytes(_DER))
    (response_bytes,) = _elements(tagged)
    response_type, octets = _elements(response_bytes)
    basic = _replace_signature(_contents(octets), signer(tbs), tbs=tbs)
    rebuilt = _tlv(0x30, status + _tlv(0xA0, _tlv(0x30, response_type + _tlv(0x04, basic))))
    return ocsp.load_der_ocsp_response(rebuilt)


# ---------------------------------------------------------------------- internals


def _placeholder(kind: KeyKind) -> _Placeholder:
    with _placeholder_lock:
        key = _placeholders.get(kind)
        if key is None:
            bits = RSA_BITS.get(kind)
            if bits is None:
                key = ec.generate_private_key(curve_for_kind(kind))
            else:
                key = rsa.generate_private_key(RSA_PUBLIC_EXPONENT, bits)
            _placeholders[kind] = key
        return key


def _replace_signature(signed: bytes, signature: bytes, *, tbs: bytes | None = None) -> bytes:
    """``SEQUENCE { tbs, algorithm, BIT STRING, … }`` with the BIT STRING's signature
    replaced (and the to-be-signed part, when given) and everything else byte for byte
    as it was."""
    parts = _elements(signed)
    if len(parts) < 3 or parts[2][0] != 0x03:
        raise ValueError("not a signed structure (no signature BIT STRING third)")
    if tbs is not None:
        parts[0] = tbs
    parts[2] = _tlv(0x03, b"\x00" + signature)
    return _tlv(0x30, b"".join(parts))


def _stand_in(responder: x509.Certificate, kind: KeyKind) -> x509.Certificate:
    """A certificate of the responder's subject for the throwaway key (made once)."""
    cache_key = (kind, responder.subject.public_bytes())
    with _placeholder_lock:
        found = _stand_ins.get(cache_key)
    if found is not None:
        return found
    key = _placeholder(kind)
    made = (
        x509.CertificateBuilder()
        .subject_name(responder.subject)
        .issuer_name(responder.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(responder.not_valid_before_utc)
        .not_valid_after(responder.not_valid_after_utc)
        .sign(key, hash_for_kind(kind))
    )
    with _placeholder_lock:
        if len(_stand_ins) > _STAND_INS_KEPT:
            _stand_ins.clear()
        _stand_ins[cache_key] = made
    return made


def _key_hash(certificate: x509.Certificate) -> bytes:
    """SHA-1 of the subjectPublicKey BIT STRING's value: RFC 6960's ResponderID byKey."""
    return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + header + content


def _header(der: bytes, offset: int) -> tuple[int, int]:
    """(offset of the content, length of the content) of the element at ``offset``."""
    first = der[offset + 1]
    if first < 0x80:
        return offset + 2, first
    count = first & 0x7F
    start = offset + 2 + count
    return start, int.from_bytes(der[offset + 2 : start], "big")


def _contents(element: bytes) -> bytes:
    start, length = _header(element, 0)
    return element[start : start + length]


def _elements(element: bytes) -> list[bytes]:
    """The whole encodings (tag, length, content) of the elements inside ``element``."""
    inner = _contents(element)
    parts = []
    offset = 0
    while offset < len(inner):
        start, length = _header(inner, offset)
        parts.append(inner[offset : start + length])
        offset = start + length
    return parts
