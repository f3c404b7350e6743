"""The identity check of a joint certificate (공동인증서): KISA's VID (가상식별번호).

A joint certificate names its holder's resident registration number without showing it: the
certificate's subjectAltName carries an ``otherName`` of type ``1.2.410.200004.10.1.1``
(KISA identifyData) with the real name and a VID, a double hash over the resident number and
a random value, and the random value stays with the holder, in the private key file
(``randomNum``, ``1.2.410.200004.10.1.1.3``, see :mod:`certcenter.npki`). A bank that knows
the customer's resident number asks the holder for the random value and checks the hash
(본인확인), so the number itself is never in the certificate.

    random_num = new_random_num()
    name = vid_other_name("홍길동", "900101-1234567", random_num)
    builder = builder.add_extension(x509.SubjectAlternativeName([name]), critical=False)
    …
    vid_matches(certificate, "9001011234567", random_num)     # True

The structures, from KISA's "식별번호를 이용한 본인확인 기술규격" (KCAC.TS.SIVID):

    IdentifyData ::= SEQUENCE {
        realName   UTF8String,
        userInfos  SEQUENCE OF UserInfo OPTIONAL }
    UserInfo ::= SEQUENCE {
        idType     OBJECT IDENTIFIER,          -- id-VID 1.2.410.200004.10.1.1.1
        idValue    ANY DEFINED BY idType }     -- VID
    VID ::= SEQUENCE {
        hashAlg    AlgorithmIdentifier,        -- sha256 (sha1 in certificates before 2011)
        virtualID  [0] EXPLICIT OCTET STRING }
    HashContent ::= SEQUENCE {
        idn        PrintableString,            -- the 13 digits, no hyphen
        randomNum  BIT STRING }

    virtualID = H(H(DER(HashContent)))

The hash algorithm is SHA-256 when issuing; SHA-1 and SHA-256 are read. ASN.1 is built and
parsed with asn1crypto. A resident number that is not 13 digits (a hyphen or spaces between
the halves allowed) is refused with ``RRN_INVALID``; no value derived from it is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, core
from cryptography import x509

from certcenter.errors import CertCenterError

__all__ = [
    "ID_KISA_IDENTIFY_DATA",
    "ID_KISA_RANDOM_NUM",
    "ID_KISA_VID",
    "RANDOM_NUM_BYTES",
    "IdentityData",
    "new_random_num",
    "read_identity",
    "vid_matches",
    "vid_other_name",
    "virtual_id",
]

ID_KISA_IDENTIFY_DATA = "1.2.410.200004.10.1.1"
ID_KISA_VID = "1.2.410.200004.10.1.1.1"
ID_KISA_RANDOM_NUM = "1.2.410.200004.10.1.1.3"
RANDOM_NUM_BYTES = 20  # 160 bits, as NPKI software generates it
_MIN_RANDOM_NUM_BYTES = 16

_HASHES = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
_RRN_RE = re.compile(r"([0-9]{6})[ \-]*([0-9]{7})", re.ASCII)


class _HashContent(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [("idn", core.PrintableString), ("random_num", core.OctetBitString)]  # noqa: RUF012


class _HashAlgorithm(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    # AlgorithmIdentifier written without parameters, as KISA's certificates have it
    _fields = [  # noqa: RUF012
        ("algorithm", algos.DigestAlgorithmId),
        ("parameters", core.Any, {"optional": True}),
    ]


class _Vid(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [  # noqa: RUF012
        ("hash_alg", _HashAlgorithm),
        ("virtual_id", core.OctetString, {"explicit": 0}),
    ]


class _UserInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [("id_type", core.ObjectIdentifier), ("id_value", core.Any)]  # noqa: RUF012


class _UserInfos(core.SequenceOf):  # type: ignore[misc]  # asn1crypto has no type hints
    _child_spec = _UserInfo


class _IdentifyData(core.Sequence):  # type: ignore[misc]  # asn1crypto has no type hints
    _fields = [  # noqa: RUF012
        ("real_name", core.UTF8String),
        ("user_infos", _UserInfos, {"optional": True}),
    ]


@dataclass(frozen=True)
class IdentityData:
    """What a certificate's KISA identifyData says: the real name and, if present, the VID."""

    real_name: str
    hash_algorithm: str | None
    virtual_id: bytes | None


def new_random_num() -> bytes:
    """A fresh random value for a new certificate's VID (kept in the private key file)."""
    return os.urandom(RANDOM_NUM_BYTES)


def _idn(rrn: str) -> str:
    match = _RRN_RE.fullmatch(rrn.strip()) if isinstance(rrn, str) else None
    if match is None:
        raise CertCenterError("RRN_INVALID", detail="13 digits expected")
    return match.group(1) + match.group(2)


def virtual_id(rrn: str, random_num: bytes, hash_algorithm: str = "sha256") -> bytes:
    """``H(H(DER(HashContent)))`` for the resident number ``rrn`` and ``random_num``."""
    if hash_algorithm not in _HASHES:
        raise ValueError(f"VID hash algorithm {hash_algorithm!r} is not supported")
    if not isinstance(random_num, bytes) or len(random_num) < _MIN_RANDOM_NUM_BYTES:
        raise ValueError(f"the VID random value must be at least {_MIN_RANDOM_NUM_BYTES} bytes")
    content = _HashContent({"idn": _idn(rrn), "random_num": random_num}).dump()
    digest = _HASHES[hash_algorithm]
    return digest(digest(content).digest()).digest()


def vid_other_name(real_name: str, rrn: str, random_num: bytes) -> x509.OtherName:
    """The subjectAltName ``otherName`` (KISA identifyData) with the real name and the VID."""
    if not real_name or real_name != real_name.strip():
        raise ValueError("the real name must be non-empty without surrounding spaces")
    vid = _Vid(
        {
            "hash_alg": {"algorithm": "sha256"},
            "virtual_id": virtual_id(rrn, random_num, "sha256"),
        }
    )
    data = _IdentifyData(
        {
            "real_name": real_name,
            "user_infos": [{"id_type": ID_KISA_VID, "id_value": core.Any(vid)}],
        }
    )
    return x509.OtherName(x509.ObjectIdentifier(ID_KISA_IDENTIFY_DATA), data.dump(force=True))


def _parse(value: bytes) -> IdentityData | None:
    try:
        data = _IdentifyData.load(value, strict=True)
        real_name = data["real_name"].native
        infos: Any = data["user_infos"]
        algorithm: str | None = None
        vid_bytes: bytes | None = None
        for info in () if isinstance(infos, core.Void) else infos:
            if info["id_type"].dotted != ID_KISA_VID:
                continue
            vid = _Vid.load(info["id_value"].dump(), strict=True)
            algorithm = str(vid["hash_alg"]["algorithm"].native)
            vid_bytes = bytes(vid["virtual_id"].native)
            break
    except (ValueError, TypeError, KeyError):
        return None
    return IdentityData(real_name=str(real_name), hash_algorithm=algorithm, virtual_id=vid_bytes)


def read_identity(certificate: x509.Certificate) -> IdentityData | None:
    """The KISA identifyData of ``certificate`` (None without one, or if it cannot be read)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    for name in san.value.get_values_for_type(x509.OtherName):
        if name.type_id.dotted_string == ID_KISA_IDENTIFY_DATA:
            return _parse(name.value)
    return None


def vid_matches(certificate: x509.Certificate, rrn: str, random_num: bytes) -> bool:
    """Whether ``certificate``'s VID was made from ``rrn`` and ``random_num`` (본인확인).

    False when the certificate has no VID, an unreadable one, a hash algorithm not
    supported, or a random value of the wrong shape; ``RRN_INVALID`` for a malformed number.
    """
    idn = _idn(rrn)
    identity = read_identity(certificate)
    if identity is None or identity.virtual_id is None:
        return False
    if identity.hash_algorithm not in _HASHES:
        return False
    try:
        expected = virtual_id(idn, random_num, identity.hash_algorithm)
    except ValueError:
        return False
    return hmac.compare_digest(expected, identity.virtual_id)
