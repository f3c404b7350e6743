"""The private key file of a joint certificate, ``signPri.key``: an encrypted PKCS#8 with SEED.

    data = write_key_file(key, "kb-Joint#2026", random_num=random_num)      # PBES2 form
    legacy = write_key_file(key, "kb-Joint#2026", random_num=random_num,
                            form=KeyFileForm.SEED_CBC_WITH_SHA1)
    opened = read_key_file(data, "kb-Joint#2026")
    opened.key, opened.random_num, opened.form

The file is a DER ``EncryptedPrivateKeyInfo`` (RFC 5958) in one of the forms NPKI programs
write (KISA's "암호 알고리즘 규격" KCAC.TS.ENC and the PKCS#5 profile of KCAC.TS.CERTMNG):

``seedCBCWithSHA1`` (``1.2.410.200004.1.15``), the form of most files in use:
    parameters ``SEQUENCE { salt OCTET STRING (8), iterationCount INTEGER }``;
    ``DK = PBKDF1-SHA1(password, salt, iterations)`` (20 bytes), the SEED key is ``DK[0:16]``
    and the IV ``SHA1(DK[16:20])[0:16]``. Written with 2048 iterations, as NPKI programs do.

PBES2 (``1.2.840.113549.1.5.13``, RFC 8018), the newer form:
    PBKDF2 with HMAC-SHA256 (``prf`` written out) or HMAC-SHA1 (the default, ``prf``
    absent), a 16-byte salt, and SEED-CBC (``1.2.410.200004.1.4``) with its IV as the
    parameter. Written with HMAC-SHA256 and :data:`PBES2_ITERATIONS` by default.

``seedCBC`` (``1.2.410.200004.1.4`` with PBES1 parameters), the oldest form, is read only:
    the key as for ``seedCBCWithSHA1``, the IV the fixed ``"0123456789012345"``.

Inside, the ``PrivateKeyInfo`` holds the RSA key and, as an attribute, the VID's random value
(``randomNum``, ``1.2.410.200004.10.1.1.3``, a BIT STRING; see :mod:`certcenter.pki.vid`):
``attributes [0] IMPLICIT SET { SEQUENCE { randomNum, SET { BIT STRING } } }``.

Refusals (:class:`~certcenter.errors.CertCenterError`), never a traceback:

- ``NPKI_PASSWORD_WRONG``: the file decrypts to something that is not a private key from
  its first block on, which is what a wrong password gives;
- ``NPKI_KEY_FILE_CORRUPT``: not DER, truncated, bytes after the end, a cipher text that is not
  whole blocks, or a plaintext that starts like a private key and then breaks (a damaged
  file: the password was right). A file damaged in its first cipher block reads as a wrong
  password: nothing in the format tells the two apart there;
- ``NPKI_KEY_FILE_UNSUPPORTED``: an encryption, key derivation or key type NPKI does not use
  (only RSA keys and the forms above), or an iteration count above :data:`MAX_ITERATIONS`;
- ``NPKI_PASSWORD_TOO_WEAK`` when writing with a password that breaks the rule
  (:mod:`certcenter.npki.password`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from asn1crypto import core
from cryptography.hazmat.decrepit.ciphers.algorithms import SEED
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from certcenter.errors import CertCenterError
from certcenter.npki.asn1 import (
    EncryptedPrivateKeyInfo,
    PbeParameter,
    Pbes2Params,
    Pbkdf2Params,
    PrivateKeyInfo,
)
from certcenter.npki.password import check_new_password, password_bytes
from certcenter.pki.vid import ID_KISA_RANDOM_NUM

__all__ = [
    "MAX_ITERATIONS",
    "MAX_KEY_FILE_BYTES",
    "PBES2_ITERATIONS",
    "SEED_CBC_WITH_SHA1_ITERATIONS",
    "KeyFileForm",
    "NpkiKey",
    "private_key_info",
    "read_key_file",
    "read_private_key_info",
    "write_key_file",
]

OID_SEED_CBC_WITH_SHA1 = "1.2.410.200004.1.15"
OID_SEED_CBC = "1.2.410.200004.1.4"
OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_HMAC_SHA1 = "1.2.840.113549.2.7"
OID_HMAC_SHA256 = "1.2.840.113549.2.9"

SEED_CBC_WITH_SHA1_ITERATIONS = 2048
PBES2_ITERATIONS = 100_000
MAX_ITERATIONS = 1_000_000  # a file is read in well under a second; NPKI writes 2048
MAX_KEY_FILE_BYTES = 64 * 1024
_OLD_SEED_IV = b"0123456789012345"
_BLOCK = 16
_PRFS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "sha256": (OID_HMAC_SHA256, hashes.SHA256),
    "sha1": (OID_HMAC_SHA1, hashes.SHA1),
}


class KeyFileForm(StrEnum):
    """How a ``signPri.key`` is encrypted (see the module's text)."""

    SEED_CBC_WITH_SHA1 = "seedCBCWithSHA1"
    PBES2 = "pbes2"
    SEED_CBC = "seedCBC"  # read only


@dataclass(frozen=True)
class NpkiKey:
    """An opened key file: the key, the VID random value (None if the file has none), and
    how the file was encrypted."""

    key: rsa.RSAPrivateKey
    random_num: bytes | None
    form: KeyFileForm
    iterations: int
    prf: str | None = None  # PBES2's HMAC hash


# ---------------------------------------------------------------- the plain PrivateKeyInfo


def private_key_info(key: rsa.RSAPrivateKey, random_num: bytes | None) -> bytes:
    """The DER ``PrivateKeyInfo`` of ``key`` with the ``randomNum`` attribute (if given)."""
    plain = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if random_num is None:
        return plain
    info = PrivateKeyInfo.load(plain)
    attribute = {
        "type": ID_KISA_RANDOM_NUM,
        "values": [core.Any(core.OctetBitString(random_num))],
    }
    rebuilt = PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": info["private_key_algorithm"],
            "private_key": info["private_key"].native,
            "attributes": [attribute],
        }
    )
    return bytes(rebuilt.dump(force=True))


def read_private_key_info(plain: bytes) -> tuple[rsa.RSAPrivateKey, bytes | None]:
    """The RSA key and the ``randomNum`` attribute of a DER ``PrivateKeyInfo``; ValueError
    (with a short reason) if it is not one, UNSUPPORTED for a key that is not RSA."""
    try:
        info = PrivateKeyInfo.load(plain, strict=True)
        algorithm = info["private_key_algorithm"]["algorithm"].native
        attributes: Any = info["attributes"]
        random_num: bytes | None = None
        for attribute in () if isinstance(attributes, core.Void) else attributes:
            if attribute["type"].dotted == ID_KISA_RANDOM_NUM:
                (value,) = list(attribute["values"])
                bits = core.OctetBitString.load(value.dump(), strict=True)
                random_num = bytes(bits.native)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("not a PrivateKeyInfo") from exc
    if algorithm != "rsa":
        raise CertCenterError("NPKI_KEY_FILE_UNSUPPORTED", detail=f"key type {algorithm}")
    try:
        key = serialization.load_der_private_key(plain, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("the RSA key does not load") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertCenterError("NPKI_KEY_FILE_UNSUPPORTED", detail="key type")
    return key, random_num


# ---------------------------------------------------------------- key derivation


def _pbkdf1_sha1(secret: bytes, salt: bytes, iterations: int) -> bytes:
    """PBKDF1 (RFC 8018 §5.1) with SHA-1: 20 bytes."""
    derived = hashlib.sha1(secret + salt).digest()  # noqa: S324  # the format's KDF
    for _ in range(iterations - 1):
        derived = hashlib.sha1(derived).digest()  # noqa: S324
    return derived


def _seed_with_sha1_key(secret: bytes, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    derived = _pbkdf1_sha1(secret, salt, iterations)
    return derived[:16], hashlib.sha1(derived[16:20]).digest()[:16]  # noqa: S324


def _pbkdf2(secret: bytes, salt: bytes, iterations: int, prf: str) -> bytes:
    algorithm = _PRFS[prf][1]()
    return PBKDF2HMAC(algorithm=algorithm, length=16, salt=salt, iterations=iterations).derive(
        secret
    )


def _seed_encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(SEED(key), modes.CBC(iv)).encryptor()
    padded = padder.update(plain) + padder.finalize()
    return encryptor.update(padded) + encryptor.finalize()


def _seed_decrypt(key: bytes, iv: bytes, encrypted: bytes) -> bytes:
    decryptor = Cipher(SEED(key), modes.CBC(iv)).decryptor()
    return decryptor.update(encrypted) + decryptor.finalize()


# ---------------------------------------------------------------- writing


def write_key_file(
    key: rsa.RSAPrivateKey,
    password: str,
    *,
    random_num: bytes | None,
    form: KeyFileForm = KeyFileForm.PBES2,
    iterations: int | None = None,
    prf: str = "sha256",
) -> bytes:
    """``key`` (and the VID random value) as a ``signPri.key`` in ``form``, encrypted under
    ``password`` (which must keep the rule: ``NPKI_PASSWORD_TOO_WEAK``)."""
    check_new_password(password)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertCenterError("NPKI_KEY_FILE_UNSUPPORTED", detail="key type")
    secret = password_bytes(password)
    plain = private_key_info(key, random_num)
    if form is KeyFileForm.SEED_CBC_WITH_SHA1:
        rounds = iterations or SEED_CBC_WITH_SHA1_ITERATIONS
        salt = os.urandom(8)
        seed_key, iv = _seed_with_sha1_key(secret, salt, rounds)
        algorithm = {
            "algorithm": OID_SEED_CBC_WITH_SHA1,
            "parameters": PbeParameter({"salt": salt, "iterations": rounds}),
        }
    elif form is KeyFileForm.PBES2:
        if prf not in _PRFS:
            raise ValueError(f"PBKDF2 with HMAC-{prf} is not written")
        rounds = iterations or PBES2_ITERATIONS
        salt, iv = os.urandom(16), os.urandom(_BLOCK)
        seed_key = _pbkdf2(secret, salt, rounds, prf)
        kdf_params: dict[str, object] = {"salt": salt, "iterations": rounds}
        if prf != "sha1":  # hmacWithSHA1 is the DEFAULT, left out in DER
            kdf_params["prf"] = {"algorithm": _PRFS[prf][0], "parameters": core.Null()}
        params = Pbes2Params(
            {
                "key_derivation_func": {
                    "algorithm": OID_PBKDF2,
                    "parameters": Pbkdf2Params(kdf_params),
                },
                "encryption_scheme": {
                    "algorithm": OID_SEED_CBC,
                    "parameters": core.OctetString(iv),
                },
            }
        )
        algorithm = {"algorithm": OID_PBES2, "parameters": params}
    else:
        raise ValueError(f"key files are not written in the {form} form")
    if not 1 <= rounds <= MAX_ITERATIONS:
        raise ValueError("iteration count out of range")
    encrypted = _seed_encrypt(seed_key, iv, plain)
    info = EncryptedPrivateKeyInfo({"encryption_algorithm": algorithm, "encrypted_data": encrypted})
    return bytes(info.dump())


# ---------------------------------------------------------------- reading


def _corrupt(detail: str) -> CertCenterError:
    return CertCenterError("NPKI_KEY_FILE_CORRUPT", detail=detail)


def _unsupported(detail: str) -> CertCenterError:
    return CertCenterError("NPKI_KEY_FILE_UNSUPPORTED", detail=detail)


def _iterations(value: int) -> int:
    if not 1 <= value <= MAX_ITERATIONS:
        raise _unsupported(f"iteration count {value}")
    return value


@dataclass(frozen=True)
class _Cipher:
    form: KeyFileForm
    key: bytes
    iv: bytes
    iterations: int
    prf: str | None = None


def _pbe_cipher(algorithm: Any, secret: bytes, form: KeyFileForm) -> _Cipher:
    params = PbeParameter.load(algorithm["parameters"].dump(), strict=True)
    salt = bytes(params["salt"].native)
    rounds = _iterations(int(params["iterations"].native))
    if not 8 <= len(salt) <= 64:
        raise _corrupt("salt length")
    key, iv = _seed_with_sha1_key(secret, salt, rounds)
    return _Cipher(
        form, key, iv if form is KeyFileForm.SEED_CBC_WITH_SHA1 else _OLD_SEED_IV, rounds
    )


def _pbes2_cipher(algorithm: Any, secret: bytes) -> _Cipher:
    params = Pbes2Params.load(algorithm["parameters"].dump(), strict=True)
    kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
    if kdf["algorithm"].dotted != OID_PBKDF2:
        raise _unsupported(f"key derivation {kdf['algorithm'].dotted}")
    if scheme["algorithm"].dotted != OID_SEED_CBC:
        raise _unsupported(f"cipher {scheme['algorithm'].dotted}")
    kdf_params = Pbkdf2Params.load(kdf["parameters"].dump(), strict=True)
    prf = "sha1"
    if not isinstance(kdf_params["prf"], core.Void):
        by_oid = {oid: name for name, (oid, _) in _PRFS.items()}
        prf_oid = kdf_params["prf"]["algorithm"].dotted
        if prf_oid not in by_oid:
            raise _unsupported(f"PBKDF2 PRF {prf_oid}")
        prf = by_oid[prf_oid]
    key_length = kdf_params["key_length"]
    if not isinstance(key_length, core.Void) and key_length.native != 16:
        raise _corrupt("SEED key length")
    salt = bytes(kdf_params["salt"].native)
    rounds = _iterations(int(kdf_params["iterations"].native))
    iv = bytes(core.OctetString.load(scheme["parameters"].dump(), strict=True).native)
    if len(iv) != _BLOCK or not 1 <= len(salt) <= 64:
        raise _corrupt("IV or salt length")
    return _Cipher(KeyFileForm.PBES2, _pbkdf2(secret, salt, rounds, prf), iv, rounds, prf)


def _looks_like_private_key_info(first_block: bytes) -> bool:
    """Whether a decrypted first block starts as a PrivateKeyInfo does:
    ``30 len`` then ``02 01 00`` (version 0) then ``30`` (the algorithm)."""
    if len(first_block) < _BLOCK or first_block[0] != 0x30:
        return False
    size = first_block[1]
    offset = 2 if size < 0x80 else 2 + (size & 0x7F)
    if size == 0x80 or offset > 5:
        return False
    return first_block[offset : offset + 4] == b"\x02\x01\x00\x30"


def read_key_file(data: bytes, password: str | bytes) -> NpkiKey:
    """Open a ``signPri.key`` with ``password`` (see the module's text for the refusals)."""
    if not isinstance(data, bytes) or not data or len(data) > MAX_KEY_FILE_BYTES:
        raise _corrupt("empty or too large")
    secret = password_bytes(password)
    try:
        info = EncryptedPrivateKeyInfo.load(data, strict=True)
        algorithm = info["encryption_algorithm"]
        oid = algorithm["algorithm"].dotted
        encrypted = bytes(info["encrypted_data"].native)
        if oid == OID_SEED_CBC_WITH_SHA1:
            cipher = _pbe_cipher(algorithm, secret, KeyFileForm.SEED_CBC_WITH_SHA1)
        elif oid == OID_SEED_CBC:
            cipher = _pbe_cipher(algorithm, secret, KeyFileForm.SEED_CBC)
        elif oid == OID_PBES2:
            cipher = _pbes2_cipher(algorithm, secret)
        else:
            raise _unsupported(f"encryption {oid}")
    except CertCenterError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise _corrupt("not an encrypted private key") from exc
    if not encrypted or len(encrypted) % _BLOCK:
        raise _corrupt("cipher text is not whole blocks")
    padded = _seed_decrypt(cipher.key, cipher.iv, encrypted)
    if not _looks_like_private_key_info(padded[:_BLOCK]):
        raise CertCenterError("NPKI_PASSWORD_WRONG")
    try:
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        key, random_num = read_private_key_info(plain)
    except CertCenterError:
        raise
    except ValueError as exc:
        raise _corrupt("the decrypted key is damaged") from exc
    return NpkiKey(key, random_num, cipher.form, cipher.iterations, cipher.prf)
