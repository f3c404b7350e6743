"""Private keys as encrypted PKCS#8 with scrypt: what ``openssl pkcs8 -topk8 -scrypt`` writes.

    pem = seal_private_key(key, b"passphrase", ScryptCost(n=2**14, r=8, p=2))
    kdf_of(pem)                      # Kdf(name="scrypt", n=16384, r=8, p=2)
    load_pem_private_key(pem, b"passphrase")        # cryptography reads it, and so does
    # openssl pkey -in key.pem -passin env:PASS     # OpenSSL

The file is an ``ENCRYPTED PRIVATE KEY`` (RFC 5958) whose algorithm is PBES2 (RFC 8018) with
scrypt (RFC 7914) as the key derivation and AES-256-CBC as the cipher. cryptography's own
``BestAvailableEncryption`` uses PBKDF2 with 2048 rounds, cheap to guess against; files
written that way are still read (:func:`kdf_of` tells them apart, so the key backend can
rewrite them).

OpenSSL refuses scrypt parameters needing more than 32 MiB while it decrypts, so the
memory cost stops at N = 2^14 with r = 8 (16 MiB); ``p`` multiplies the work instead.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from asn1crypto import core
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = ["Kdf", "ScryptCost", "kdf_of", "seal_private_key"]

_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_AES_256_CBC = "2.16.840.1.101.3.4.1.42"
_PEM_LABEL = b"ENCRYPTED PRIVATE KEY"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost: ``n`` (CPU and memory, a power of two), ``r`` (block size), ``p``."""

    n: int
    r: int
    p: int


@dataclass(frozen=True)
class Kdf:
    """How an encrypted PKCS#8 file derives its key: ``scrypt`` (with its cost), ``pbkdf2``
    (with its rounds in ``n``), or another name we do not write."""

    name: str
    n: int = 0
    r: int = 0
    p: int = 0


def seal_private_key(key: PrivateKeyTypes, passphrase: bytes, cost: ScryptCost) -> bytes:
    """``key`` as an encrypted PKCS#8 PEM: PBES2, scrypt with ``cost``, AES-256-CBC."""
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, iv = os.urandom(16), os.urandom(16)
    secret = Scrypt(salt=salt, length=32, n=cost.n, r=cost.r, p=cost.p).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    kdf = _sequence(
        _oid(_SCRYPT),
        _sequence(
            core.OctetString(salt).dump(),
            core.Integer(cost.n).dump(),
            core.Integer(cost.r).dump(),
            core.Integer(cost.p).dump(),
        ),
    )
    cipher = _sequence(_oid(_AES_256_CBC), core.OctetString(iv).dump())
    der = _sequence(
        _sequence(_oid(_PBES2), _sequence(kdf, cipher)),
        core.OctetString(encrypted).dump(),
    )
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"".join(
        [b"-----BEGIN " + _PEM_LABEL + b"-----\n"]
        + [line + b"\n" for line in lines]
        + [b"-----END " + _PEM_LABEL + b"-----\n"]
    )


def kdf_of(pem: bytes) -> Kdf:
    """The key derivation an encrypted PKCS#8 PEM names; :class:`ValueError` for anything
    that is no encrypted PKCS#8 with PBES2."""
    try:
        der = _pem_body(pem)
        info = core.load(der)
        algorithm = info[0]
        if algorithm[0].dotted != _PBES2:
            raise ValueError(f"not PBES2 ({algorithm[0].dotted})")
        kdf = algorithm[1][0]
        name, params = kdf[0].dotted, kdf[1].native
        if name == _SCRYPT:
            return Kdf("scrypt", int(params["1"]), int(params["2"]), int(params["3"]))
        if name == _PBKDF2:
            return Kdf("pbkdf2", int(params["1"]))
        return Kdf(name)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"not an encrypted PKCS#8 key ({exc})") from None


def _pem_body(pem: bytes) -> bytes:
    begin, end = b"-----BEGIN " + _PEM_LABEL + b"-----", b"-----END " + _PEM_LABEL + b"-----"
    start = pem.find(begin)
    stop = pem.find(end, start + 1)
    if start < 0 or stop < 0:
        raise ValueError("no ENCRYPTED PRIVATE KEY block")
    return base64.b64decode(b"".join(pem[start + len(begin) : stop].split()), validate=True)


def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def _sequence(*parts: bytes) -> bytes:
    body = b"".join(parts)
    size = len(body)
    if size < 0x80:
        length = bytes([size])
    else:
        digits = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(digits)]) + digits
    return b"\x30" + length + body
