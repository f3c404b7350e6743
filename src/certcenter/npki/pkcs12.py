"""A joint certificate as a PKCS#12 file (``.pfx`` / ``.p12``): export and import.

    data = export_pfx(certificate, key, "kb-Joint#2026", random_num=random_num)
    opened = import_pfx(data, "kb-Joint#2026")
    opened.certificate, opened.key, opened.random_num, opened.chain

Written by ``cryptography``'s ``pkcs12.serialize_key_and_certificates`` with modern
encryption: certificates and key under PBES2 (PBKDF2-HMAC-SHA256, :data:`PFX_ITERATIONS`
rounds, AES-256-CBC), the file's MAC with HMAC-SHA256. OpenSSL 3 reads it without
``-legacy``. cryptography (like OpenSSL) keys the MAC with 2048 rounds whatever the
encryption's count, which would make the MAC the cheap way to guess the password; the MAC is
therefore computed again here (RFC 7292 appendix B) with as many rounds as the encryption.

**Where the VID random value goes.** In ``signPri.key`` the random value is an attribute of
the encrypted ``PrivateKeyInfo`` (``randomNum``, ``1.2.410.200004.10.1.1.3``), and it stays
there in the PKCS#12 file: the key bag's ``PrivateKeyInfo`` carries the same attribute, so it
is as protected as the key. It is not a bag attribute, which PKCS#12 leaves unencrypted: the
random value and the certificate's VID together let anyone try resident numbers offline.
``cryptography`` drops PKCS#8 attributes, so after it has written the file the key bag is
encrypted again here, with a fresh salt and IV and the same algorithm and rounds, from the
``PrivateKeyInfo`` with the attribute (then the MAC is computed, as above).
Importing, ``cryptography`` checks the MAC and opens the file, then the key bag is decrypted
here only to read the attribute (PBES2 with PBKDF2 and AES-, SEED- or 3DES-CBC, or PKCS#12's
pbeWithSHAAnd3-KeyTripleDES-CBC); a file from elsewhere without it imports with
``random_num`` None.

Refusals: ``PKCS12_PASSWORD_WRONG`` when the MAC does not verify under the password and the
key bag does not open with it either (or, for a file without a MAC, when it does not open);
``PKCS12_FILE_INVALID`` (with a short detail) for anything that is not PKCS#12, is damaged
(the MAC fails although the key bag opens with the password), or lacks the certificate, its
RSA key or their match; ``NPKI_PASSWORD_TOO_WEAK`` for an export password that breaks the
rule.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import cms, core
from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import SEED, TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.npki.asn1 import (
    AlgorithmIdentifier,
    EncryptedPrivateKeyInfo,
    PbeParameter,
    Pbes2Params,
    Pbkdf2Params,
)
from certcenter.npki.folder import NpkiCertificate, read_folder, write_folder
from certcenter.npki.keyfile import (
    OID_PBES2,
    OID_PBKDF2,
    KeyFileForm,
    private_key_info,
    read_private_key_info,
)
from certcenter.npki.password import check_new_password, password_bytes

__all__ = [
    "MAX_PFX_BYTES",
    "PFX_ITERATIONS",
    "Pkcs12Bundle",
    "export_folder_as_pfx",
    "export_pfx",
    "import_pfx",
    "import_pfx_into_folder",
]

PFX_ITERATIONS = 100_000
MAX_PFX_BYTES = 256 * 1024
_MAX_ITERATIONS = 1_000_000  # per key derivation: a file from outside opens in about a second

_OID_AES_256_CBC = "2.16.840.1.101.3.4.1.42"
_OID_HMAC_SHA256 = "1.2.840.113549.2.9"
_OID_PBE_SHA1_3DES = "1.2.840.113549.1.12.1.3"
_HMAC_OIDS: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    _OID_HMAC_SHA256: hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
}
_Factory = Callable[[bytes], BlockCipherAlgorithm]
# cipher OID: (the cipher for a key, key size in bytes)
_CIPHER_OIDS: dict[str, tuple[_Factory, int]] = {
    "2.16.840.1.101.3.4.1.2": (algorithms.AES, 16),
    "2.16.840.1.101.3.4.1.22": (algorithms.AES, 24),
    _OID_AES_256_CBC: (algorithms.AES, 32),
    "1.2.410.200004.1.4": (SEED, 16),
    "1.2.840.113549.3.7": (TripleDES, 24),
}
# the MAC's digest: (hashlib name, PKCS#12 KDF block size v in bytes)
_MAC_DIGESTS = {"sha1": 64, "sha224": 64, "sha256": 64, "sha384": 128, "sha512": 128}


@dataclass(frozen=True)
class Pkcs12Bundle:
    """What a PKCS#12 file held: the certificate, its RSA key, the VID random value (None if
    the file has none) and the other certificates (the CA chain)."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    random_num: bytes | None
    chain: tuple[x509.Certificate, ...] = ()


# ---------------------------------------------------------------- PKCS#12 key derivation


def _bmp_password(secret: bytes) -> bytes:
    """The password as PKCS#12 keys it: UTF-16BE with two zero bytes after it (bytes that are
    not UTF-8 taken one character each, as OpenSSL's asc2uni does)."""
    try:
        text = secret.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        text = secret.decode("latin-1")
    return text.encode("utf-16-be", "surrogatepass") + b"\0\0"


def pkcs12_kdf(
    digest: str, secret: bytes, salt: bytes, purpose: int, iterations: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2: ``purpose`` 1 key, 2 IV, 3 MAC key; ``secret`` the UTF-8
    password."""
    block = _MAC_DIGESTS[digest]
    password = _bmp_password(secret)

    def stretch(data: bytes) -> bytes:
        if not data:
            return b""
        length = block * -(-len(data) // block)
        return (data * (length // len(data) + 1))[:length]

    new = getattr(hashlib, digest)
    diversifier = bytes([purpose]) * block
    joined = bytearray(stretch(salt) + stretch(password))
    out = b""
    while len(out) < size:
        value = new(diversifier + bytes(joined)).digest()
        for _ in range(iterations - 1):
            value = new(value).digest()
        out += value
        adder = int.from_bytes(stretch(value)[:block], "big") + 1
        for start in range(0, len(joined), block):
            chunk = int.from_bytes(joined[start : start + block], "big") + adder
            joined[start : start + block] = (chunk % (1 << (8 * block))).to_bytes(block, "big")
    return out[:size]


def _mac(mac_data: Any, secret: bytes, content: bytes) -> tuple[bytes, bytes] | None:
    """(expected, found) MAC of ``content``, or None for a MAC algorithm not computed here."""
    digest = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if digest not in _MAC_DIGESTS:
        return None
    iterations = int(mac_data["iterations"].native or 1)
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise ValueError("MAC iteration count")
    salt = bytes(mac_data["mac_salt"].native)
    size = hashlib.new(digest).digest_size
    key = pkcs12_kdf(digest, secret, salt, 3, iterations, size)
    expected = hmac.new(key, content, digest).digest()
    return expected, bytes(mac_data["mac"]["digest"].native)


# ---------------------------------------------------------------- the key bag


def _pbes2_key_iv(parameters: Any, secret: bytes) -> tuple[_Factory, bytes, bytes]:
    params = Pbes2Params.load(parameters.dump(), strict=True)
    kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
    cipher_oid = scheme["algorithm"].dotted
    if kdf["algorithm"].dotted != OID_PBKDF2 or cipher_oid not in _CIPHER_OIDS:
        raise ValueError("key bag encryption not read here")
    cipher, key_size = _CIPHER_OIDS[cipher_oid]
    kdf_params = Pbkdf2Params.load(kdf["parameters"].dump(), strict=True)
    prf: type[hashes.HashAlgorithm] = hashes.SHA1
    if not isinstance(kdf_params["prf"], core.Void):
        prf = _HMAC_OIDS[kdf_params["prf"]["algorithm"].dotted]
    iterations = int(kdf_params["iterations"].native)
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise ValueError("iteration count")
    salt = bytes(kdf_params["salt"].native)
    key = PBKDF2HMAC(algorithm=prf(), length=key_size, salt=salt, iterations=iterations).derive(
        secret
    )
    iv = bytes(core.OctetString.load(scheme["parameters"].dump(), strict=True).native)
    return cipher, key, iv


def _decrypt_key_bag(value: bytes, secret: bytes) -> bytes:
    info = EncryptedPrivateKeyInfo.load(value, strict=True)
    algorithm = info["encryption_algorithm"]
    oid = algorithm["algorithm"].dotted
    cipher: _Factory
    if oid == OID_PBES2:
        cipher, key, iv = _pbes2_key_iv(algorithm["parameters"], secret)
    elif oid == _OID_PBE_SHA1_3DES:
        params = PbeParameter.load(algorithm["parameters"].dump(), strict=True)
        salt, rounds = bytes(params["salt"].native), int(params["iterations"].native)
        if not 1 <= rounds <= _MAX_ITERATIONS:
            raise ValueError("iteration count")
        cipher = TripleDES
        key = pkcs12_kdf("sha1", secret, salt, 1, rounds, 24)
        iv = pkcs12_kdf("sha1", secret, salt, 2, rounds, 8)
    else:
        raise ValueError("key bag encryption not read here")
    algorithm_ = cipher(key)
    decryptor = Cipher(algorithm_, modes.CBC(iv)).decryptor()
    padded = decryptor.update(bytes(info["encrypted_data"].native)) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithm_.block_size).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def _encrypt_key_bag(plain: bytes, secret: bytes, iterations: int) -> bytes:
    """PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC: what cryptography writes, with a fresh salt."""
    salt, iv = os.urandom(16), os.urandom(16)
    key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(
        secret
    )
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    params = Pbes2Params(
        {
            "key_derivation_func": {
                "algorithm": OID_PBKDF2,
                "parameters": Pbkdf2Params(
                    {
                        "salt": salt,
                        "iterations": iterations,
                        "prf": {"algorithm": _OID_HMAC_SHA256, "parameters": core.Null()},
                    }
                ),
            },
            "encryption_scheme": {
                "algorithm": _OID_AES_256_CBC,
                "parameters": core.OctetString(iv),
            },
        }
    )
    info = EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {"algorithm": OID_PBES2, "parameters": params},
            "encrypted_data": encrypted,
        }
    )
    return bytes(info.dump())


def _bag_value(bag: Any) -> bytes:
    """The DER of a bag's value, without the [0] EXPLICIT around it."""
    return bytes(bag["bag_value"].untag().dump())


def _key_bags(pfx: Any) -> list[tuple[int, int, Any]]:
    """(content index, bag index, bag) of every shrouded key bag in the unencrypted contents."""
    found = []
    safe = asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native, strict=True)
    for content_index, info in enumerate(safe):
        if info["content_type"].native != "data":
            continue
        bags = asn1_pkcs12.SafeContents.load(info["content"].native, strict=True)
        for bag_index, bag in enumerate(bags):
            if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                found.append((content_index, bag_index, bag))
    return found


def _finish(
    data: bytes, secret: bytes, key: rsa.RSAPrivateKey, random_num: bytes | None, iterations: int
) -> bytes:
    """``data`` (cryptography's PKCS#12) with the key bag's PrivateKeyInfo carrying
    ``randomNum`` (if given), and a new MAC over ``iterations`` rounds with a fresh salt."""
    pfx = asn1_pkcs12.Pfx.load(data)
    infos = list(asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native))
    if random_num is not None:
        ((content_index, bag_index, bag),) = _key_bags(pfx)
        read_key, _ = read_private_key_info(_decrypt_key_bag(_bag_value(bag), secret))
        if read_key.private_numbers() != key.private_numbers():
            raise ValueError("the PKCS#12 key bag holds another key")
        encrypted = _encrypt_key_bag(private_key_info(key, random_num), secret, iterations)
        bags = list(asn1_pkcs12.SafeContents.load(infos[content_index]["content"].native))
        bags[bag_index] = asn1_pkcs12.SafeBag(
            {
                "bag_id": "pkcs8_shrouded_key_bag",
                "bag_value": asn1_keys.EncryptedPrivateKeyInfo.load(encrypted),
                "bag_attributes": bag["bag_attributes"],
            }
        )
        infos[content_index] = cms.ContentInfo(
            {"content_type": "data", "content": asn1_pkcs12.SafeContents(bags).dump()}
        )
    content = asn1_pkcs12.AuthenticatedSafe(infos).dump()
    salt = os.urandom(16)
    mac_key = pkcs12_kdf("sha256", secret, salt, 3, iterations, 32)
    rebuilt = asn1_pkcs12.Pfx(
        {
            "version": 3,
            "auth_safe": {"content_type": "data", "content": content},
            "mac_data": {
                "mac": {
                    "digest_algorithm": {"algorithm": "sha256"},
                    "digest": hmac.new(mac_key, content, "sha256").digest(),
                },
                "mac_salt": salt,
                "iterations": iterations,
            },
        }
    )
    return bytes(rebuilt.dump())


# ---------------------------------------------------------------- export and import


def export_pfx(
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    password: str,
    *,
    random_num: bytes | None,
    chain: tuple[x509.Certificate, ...] = (),
    iterations: int = PFX_ITERATIONS,
) -> bytes:
    """The certificate, its key (with the VID random value) and ``chain`` as a PKCS#12 file
    under ``password`` (which must keep the rule: ``NPKI_PASSWORD_TOO_WEAK``)."""
    check_new_password(password)
    public = certificate.public_key()
    if not isinstance(key, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
        raise CertCenterError("PKCS12_FILE_INVALID", detail="not an RSA key")
    if public.public_numbers() != key.public_key().public_numbers():
        raise CertCenterError("PKCS12_FILE_INVALID", detail="the key does not match")
    secret = password_bytes(password)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(iterations)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(secret)
    )
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    friendly = str(names[0].value).encode("utf-8") if names else None
    data = pkcs12.serialize_key_and_certificates(
        friendly, key, certificate, list(chain) or None, encryption
    )
    return _finish(data, secret, key, random_num, iterations)


def _invalid(detail: str) -> CertCenterError:
    return CertCenterError("PKCS12_FILE_INVALID", detail=detail)


def _random_num_of(pfx: Any, secret: bytes) -> bytes | None:
    try:
        bags = _key_bags(pfx)
        if len(bags) != 1:
            return None
        _, random_num = read_private_key_info(_decrypt_key_bag(_bag_value(bags[0][2]), secret))
    except (ValueError, TypeError, KeyError, CertCenterError):
        return None
    return random_num


def _rounds(algorithm: Any) -> int:
    """The key derivation's rounds of a PBES2 or PKCS#12 PBE AlgorithmIdentifier (1 if none)."""
    params = algorithm["parameters"]
    if isinstance(params, core.Void):
        return 1
    if algorithm["algorithm"].dotted == OID_PBES2:
        kdf = Pbes2Params.load(params.dump())["key_derivation_func"]
        return int(Pbkdf2Params.load(kdf["parameters"].dump())["iterations"].native)
    try:  # PKCS#12's PBE: SEQUENCE { salt, iterations }
        return int(PbeParameter.load(params.dump(), strict=True)["iterations"].native)
    except (ValueError, TypeError, KeyError):
        return 1


def _check_costs(pfx: Any) -> None:
    """ValueError if a key derivation of the file asks for more than :data:`_MAX_ITERATIONS`
    rounds, before anything derives a key (a file from outside must not hold the CPU)."""
    safe = asn1_pkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native, strict=True)
    algorithms_: list[Any] = []
    for info in safe:
        if info["content_type"].native == "encrypted_data":
            encrypted = info["content"]["encrypted_content_info"]
            algorithms_.append(
                AlgorithmIdentifier.load(encrypted["content_encryption_algorithm"].dump())
            )
    for _, _, bag in _key_bags(pfx):
        algorithms_.append(EncryptedPrivateKeyInfo.load(_bag_value(bag))["encryption_algorithm"])
    for algorithm in algorithms_:
        if not 1 <= _rounds(algorithm) <= _MAX_ITERATIONS:
            raise ValueError("iteration count")


def _key_bag_opens(pfx: Any, secret: bytes) -> bool:
    """Whether the unencrypted contents hold a key bag that ``secret`` decrypts to a key."""
    try:
        bags = _key_bags(pfx)
        for _, _, bag in bags:
            read_private_key_info(_decrypt_key_bag(_bag_value(bag), secret))
    except (ValueError, TypeError, KeyError, CertCenterError):
        return False
    return bool(bags)


def _wrong_password_or_damaged(pfx: Any, secret: bytes) -> CertCenterError:
    """The file does not open: a wrong password, unless its key bag opens with it (then the
    file was changed after it was written)."""
    if _key_bag_opens(pfx, secret):
        return _invalid("the file's integrity check (MAC) fails")
    return CertCenterError("PKCS12_PASSWORD_WRONG")


def import_pfx(data: bytes, password: str | bytes) -> Pkcs12Bundle:
    """Open a PKCS#12 file (ours, OpenSSL's, a Korean program's) with ``password``."""
    if not isinstance(data, bytes) or not data or len(data) > MAX_PFX_BYTES:
        raise _invalid("empty or too large")
    secret = password_bytes(password)
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        content = bytes(pfx["auth_safe"]["content"].native)
        _check_costs(pfx)
        mac_data = pfx["mac_data"]
        checked = None if isinstance(mac_data, core.Void) else _mac(mac_data, secret, content)
    except (ValueError, TypeError, KeyError, OverflowError):
        raise _invalid("not a PKCS#12 file, or one too costly to open") from None
    if checked is not None and not hmac.compare_digest(*checked):
        raise _wrong_password_or_damaged(pfx, secret)
    try:
        loaded = pkcs12.load_pkcs12(data, secret)
    except (ValueError, UnsupportedAlgorithm):
        if checked is None:
            raise _wrong_password_or_damaged(pfx, secret) from None
        raise _invalid("the contents cannot be read") from None
    if loaded.key is None or loaded.cert is None:
        raise _invalid("no certificate with its private key")
    key, certificate = loaded.key, loaded.cert.certificate
    public = certificate.public_key()
    if not isinstance(key, rsa.RSAPrivateKey) or not isinstance(public, rsa.RSAPublicKey):
        raise _invalid("not an RSA key")
    if public.public_numbers() != key.public_key().public_numbers():
        raise _invalid("the key does not belong to the certificate")
    chain = tuple(extra.certificate for extra in loaded.additional_certs)
    return Pkcs12Bundle(certificate, key, _random_num_of(pfx, secret), chain)


def export_folder_as_pfx(
    folder: Path, npki_password: str | bytes, pfx_password: str, *, iterations: int = PFX_ITERATIONS
) -> bytes:
    """An NPKI certificate folder (signCert.der + signPri.key) as a PKCS#12 file."""
    opened: NpkiCertificate = read_folder(folder, npki_password)
    return export_pfx(
        opened.certificate,
        opened.key.key,
        pfx_password,
        random_num=opened.key.random_num,
        iterations=iterations,
    )


def import_pfx_into_folder(
    data: bytes,
    pfx_password: str | bytes,
    root: Path,
    npki_password: str,
    *,
    form: KeyFileForm = KeyFileForm.PBES2,
    prf: str = "sha256",
    ca_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """A PKCS#12 file written out as an NPKI certificate folder under ``root``."""
    bundle = import_pfx(data, pfx_password)
    return write_folder(
        root,
        bundle.certificate,
        bundle.key,
        npki_password,
        random_num=bundle.random_num,
        form=form,
        prf=prf,
        ca_name=ca_name,
        overwrite=overwrite,
    )
