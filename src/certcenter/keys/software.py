"""The software key backend: CA keys and secrets as passphrase-encrypted files in one directory.

    backend = SoftwareKeyBackend(Path("var/keys"), passphrase="correct horse battery staple")
    backend.generate_key("root-ca", "ec-p384")
    signature = backend.sign("root-ca", b"data")

Files (directory 0700, files 0600, each written atomically and never overwritten):

``<label>.key.pem``
    The private key as PKCS#8 PEM encrypted with the passphrase: PBES2 with scrypt
    (N=2^14, r=8, p=2: 16 MiB, the most OpenSSL accepts) and AES-256-CBC
    (:mod:`certcenter.keys.pkcs8`), so an operator can read it with
    ``openssl pkey -in <label>.key.pem -passin env:PASS``. A file of an older version,
    encrypted with cryptography's ``BestAvailableEncryption`` (PBKDF2, 2048 rounds: cheap
    to guess against), still opens, and is rewritten with scrypt when it does.
``<label>.secret.json``
    A 32-byte random secret sealed with AES-256-GCM under a key derived from the
    passphrase by scrypt (random salt, random nonce, the label as associated data, so a
    file renamed to another label does not open). The KDF parameters are in the file.

A key or secret is decrypted once, at first use, and kept in memory for the life of the
object. A missing or empty passphrase gives ``KEY_PASSPHRASE_MISSING`` when a key or secret
must be opened or made; one that does not open a file gives ``KEY_PASSPHRASE_WRONG``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)
from cryptography.x509 import ocsp

from certcenter.errors import CertCenterError
from certcenter.keys.atomic import ensure_directory, write_new, write_replacing
from certcenter.keys.backend import (
    RSA_BITS,
    RSA_PUBLIC_EXPONENT,
    KeyKind,
    SecretImporter,
    WrappedKey,
    check_label,
    curve_for_kind,
    hash_for_key,
    key_kind_of,
)
from certcenter.keys.pkcs8 import ScryptCost, kdf_of, seal_private_key

__all__ = ["SoftwareKeyBackend"]

_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_KEY_SUFFIX = ".key.pem"
_SECRET_SUFFIX = ".secret.json"  # noqa: S105 (a file name suffix)
_SECRET_FORMAT = "certcenter-secret-v1"  # noqa: S105 (a format tag)
_SECRET_BYTES = 32
_WRAP_FORMAT = b"\x01"  # PKCS#8 DER under RFC 5649 with a secret of this backend
# scrypt cost: N=2^15, r=8 (32 MiB, ~0.1 s), paid once per secret per process.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAX_N = 2**20  # refuse files that would make us spend gigabytes
# scrypt cost of the key files: OpenSSL reads at most 32 MiB, so N=2^14 with r=8 (16 MiB);
# p=2 makes a guess cost as much work as one at the secrets' N=2^15 (~0.1 s).
_KEY_SCRYPT_N, _KEY_SCRYPT_R, _KEY_SCRYPT_P = 2**14, 8, 2
log = logging.getLogger(__name__)


class SoftwareKeyBackend:
    """Keys and secrets in files under ``directory``, encrypted with ``passphrase``."""

    name = "software"

    def __init__(self, directory: Path, passphrase: str | None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase.encode("utf-8") if passphrase else None
        self._keys: dict[str, _PrivateKey] = {}
        self._secrets: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SoftwareKeyBackend({str(self.directory)!r})"

    # ------------------------------------------------------------------ keys

    def has_key(self, label: str) -> bool:
        return self._key_path(label).is_file()

    def generate_key(self, label: str, kind: KeyKind = "ec-p256") -> PublicKeyTypes:
        path = self._key_path(label)
        passphrase = self._require_passphrase()
        if kind not in RSA_BITS:
            curve_for_kind(kind)  # an unknown kind: ValueError before anything is made
        with self._lock:
            if path.exists():
                raise CertCenterError("KEY_ALREADY_EXISTS", label=label)
            key = _new_private_key(kind)
            pem = seal_private_key(key, passphrase, _key_cost())
            ensure_directory(self.directory, 0o700)
            try:
                write_new(path, pem, 0o600)
            except FileExistsError:
                raise CertCenterError("KEY_ALREADY_EXISTS", label=label) from None
            self._keys[label] = key
        return key.public_key()

    def public_key(self, label: str) -> PublicKeyTypes:
        return self._private_key(label).public_key()

    def delete_key(self, label: str) -> bool:
        """Remove ``<label>.key.pem`` and forget the key in memory; False if it was gone."""
        path = self._key_path(label)
        with self._lock:
            self._keys.pop(label, None)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
        _sync_directory(self.directory)
        return True

    def sign_certificate(self, label: str, builder: x509.CertificateBuilder) -> x509.Certificate:
        key = self._private_key(label)
        return builder.sign(key, hash_for_key(key.public_key()))

    def sign_crl(
        self, label: str, builder: x509.CertificateRevocationListBuilder
    ) -> x509.CertificateRevocationList:
        key = self._private_key(label)
        return builder.sign(key, hash_for_key(key.public_key()))

    def sign_ocsp(self, label: str, builder: ocsp.OCSPResponseBuilder) -> ocsp.OCSPResponse:
        key = self._private_key(label)
        return builder.sign(key, hash_for_key(key.public_key()))

    def sign(self, label: str, data: bytes) -> bytes:
        return _sign(self._private_key(label), data)

    # ------------------------------------------------------------------ wrapped keys

    def ensure_wrapping_key(self, label: str) -> None:
        """The key-encryption key is a secret of this backend (``<label>.secret.json``)."""
        self.ensure_secret(label)

    def generate_wrapped_key(self, wrapping_label: str, kind: KeyKind = "ec-p256") -> WrappedKey:
        kek = self._secret(wrapping_label)
        key = _new_private_key(kind)
        plain = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return WrappedKey(key.public_key(), _WRAP_FORMAT + aes_key_wrap_with_padding(kek, plain))

    def sign_wrapped(self, wrapping_label: str, wrapped: bytes, data: bytes) -> bytes:
        kek = self._secret(wrapping_label)
        if wrapped[:1] != _WRAP_FORMAT:
            raise CertCenterError("KEY_NOT_FOUND", label=wrapping_label)
        try:
            loaded = serialization.load_der_private_key(
                aes_key_unwrap_with_padding(kek, wrapped[1:]), None
            )
        except (InvalidUnwrap, ValueError):
            raise CertCenterError("KEY_NOT_FOUND", label=wrapping_label) from None
        if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise CertCenterError("KEY_NOT_FOUND", label=wrapping_label)
        return _sign(loaded, data)

    def rewrap(self, old_label: str, new_label: str, wrapped: bytes) -> bytes:
        """The key in ``wrapped`` (under ``old_label``) wrapped under ``new_label`` instead;
        ``KEY_NOT_FOUND`` when it does not unwrap."""
        old, new = self._secret(old_label), self._secret(new_label)
        if wrapped[:1] != _WRAP_FORMAT:
            raise CertCenterError("KEY_NOT_FOUND", label=old_label)
        try:
            plain = aes_key_unwrap_with_padding(old, wrapped[1:])
        except (InvalidUnwrap, ValueError):
            raise CertCenterError("KEY_NOT_FOUND", label=old_label) from None
        return _WRAP_FORMAT + aes_key_wrap_with_padding(new, plain)

    def delete_wrapping_key(self, label: str) -> bool:
        """Remove ``<label>.secret.json`` (a key-encryption key nothing uses any more)."""
        return self._delete_secret(label)

    def wrap_stored_key(self, label: str, wrapping_label: str) -> bytes:
        """The key kept under ``label`` (an account made before keys were wrapped), wrapped
        under ``wrapping_label`` as :meth:`generate_wrapped_key` wraps: to move it into
        another backend (``certcenter keys migrate``). The file stays until deleted."""
        key = self._private_key(label)
        plain = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return _WRAP_FORMAT + aes_key_wrap_with_padding(self._secret(wrapping_label), plain)

    # ------------------------------------------------------------------ moving out

    def secret_labels(self) -> list[str]:
        """The labels of the secrets stored here (``<label>.secret.json``)."""
        return self._stored_labels(_SECRET_SUFFIX)

    def key_labels(self) -> list[str]:
        """The labels of the private keys stored here (``<label>.key.pem``)."""
        return self._stored_labels(_KEY_SUFFIX)

    def transfer_secret(self, label: str, into: SecretImporter, *, wrapping: bool = False) -> None:
        """Import the secret ``label`` into another backend (an HSM token), where it is made
        sensitive and not extractable: the value goes from this object straight into
        ``into``, never to the caller. ``wrapping``: as a key-encryption key that only
        unwraps (the keys wrapped here are re-wrapped there under a key made there)."""
        into.import_secret(label, self._secret(label), wrapping=wrapping)

    # ------------------------------------------------------------------ secrets

    def ensure_secret(self, label: str) -> None:
        path = self._secret_path(label)
        passphrase = self._require_passphrase()
        with self._lock:
            if label in self._secrets:
                return
            if not path.exists():
                secret = os.urandom(_SECRET_BYTES)
                ensure_directory(self.directory, 0o700)
                try:
                    write_new(path, _seal(secret, passphrase, label), 0o600)
                except FileExistsError:
                    pass  # made meanwhile by another process: open that one below
                else:
                    self._secrets[label] = secret
                    return
        self._secret(label)  # an existing secret: prove it opens, now rather than later

    def mac(self, label: str, data: bytes) -> bytes:
        mac = hmac.HMAC(self._secret(label), hashes.SHA256())
        mac.update(data)
        return mac.finalize()

    def encrypt(self, label: str, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return b"\x01" + nonce + AESGCM(self._secret(label)).encrypt(nonce, plaintext, context)

    def decrypt(self, label: str, sealed: bytes, context: bytes) -> bytes:
        if len(sealed) < 29 or sealed[:1] != b"\x01":
            raise CertCenterError("KEY_NOT_FOUND", label=label)
        try:
            return AESGCM(self._secret(label)).decrypt(sealed[1:13], sealed[13:], context)
        except InvalidTag:
            raise CertCenterError("KEY_NOT_FOUND", label=label) from None

    def delete_secret(self, label: str) -> bool:
        """Remove ``<label>.secret.json`` and forget the secret in memory."""
        return self._delete_secret(label)

    def _delete_secret(self, label: str) -> bool:
        path = self._secret_path(label)
        with self._lock:
            self._secrets.pop(label, None)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
        _sync_directory(self.directory)
        return True

    # ------------------------------------------------------------------ start-up check

    def verify_passphrase(self) -> None:
        """Open one stored key (else one secret) so a wrong passphrase shows at start.

        Does nothing when the store holds nothing yet.
        """
        for suffix, opener in ((_KEY_SUFFIX, self._private_key), (_SECRET_SUFFIX, self._secret)):
            for label in self._stored_labels(suffix):
                opener(label)
                return

    # ------------------------------------------------------------------ internals

    def _stored_labels(self, suffix: str) -> list[str]:
        if not self.directory.is_dir():
            return []
        labels = []
        for path in sorted(self.directory.iterdir()):
            label = path.name.removesuffix(suffix)
            if path.name.endswith(suffix) and path.is_file():
                try:
                    labels.append(check_label(label))
                except ValueError:
                    continue  # not one of ours
        return labels

    def _key_path(self, label: str) -> Path:
        return self.directory / f"{check_label(label)}{_KEY_SUFFIX}"

    def _secret_path(self, label: str) -> Path:
        return self.directory / f"{check_label(label)}{_SECRET_SUFFIX}"

    def _require_passphrase(self) -> bytes:
        if not self._passphrase:
            raise CertCenterError("KEY_PASSPHRASE_MISSING")
        return self._passphrase

    def _private_key(self, label: str) -> _PrivateKey:
        path = self._key_path(label)
        with self._lock:
            key = self._keys.get(label)
            if key is not None:
                return key
            try:
                pem = path.read_bytes()
            except FileNotFoundError:
                raise CertCenterError("KEY_NOT_FOUND", label=label) from None
            passphrase = self._require_passphrase()
            kdf = _key_kdf(pem, path)
            try:
                loaded = serialization.load_pem_private_key(pem, passphrase)
            except (ValueError, TypeError):
                # ValueError: wrong passphrase (or a damaged file: they look the same);
                # TypeError: the file is not encrypted, which we never write.
                raise CertCenterError("KEY_PASSPHRASE_WRONG", label=label) from None
            if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
                raise ValueError(
                    f"key file {path} holds a {type(loaded).__name__}, not an EC or RSA key"
                )
            if key_kind_of(loaded.public_key()) is None:  # curves and sizes we do not sign with
                raise ValueError(f"key file {path} holds a key of a kind we do not sign with")
            if kdf != "scrypt":
                _rewrite_with_scrypt(path, loaded, passphrase, kdf)
            self._keys[label] = loaded
            return loaded

    def _secret(self, label: str) -> bytes:
        path = self._secret_path(label)
        with self._lock:
            secret = self._secrets.get(label)
            if secret is not None:
                return secret
            try:
                sealed = path.read_bytes()
            except FileNotFoundError:
                raise CertCenterError("KEY_NOT_FOUND", label=label) from None
            secret = _open(sealed, self._require_passphrase(), label, path)
            self._secrets[label] = secret
            return secret


def _new_private_key(kind: KeyKind) -> _PrivateKey:
    bits = RSA_BITS.get(kind)
    if bits is None:
        return ec.generate_private_key(curve_for_kind(kind))
    return rsa.generate_private_key(RSA_PUBLIC_EXPONENT, bits)


def _sign(key: _PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hash_for_key(key.public_key()))
    return key.sign(data, ec.ECDSA(hash_for_key(key.public_key())))


def _key_cost() -> ScryptCost:
    return ScryptCost(_KEY_SCRYPT_N, _KEY_SCRYPT_R, _KEY_SCRYPT_P)


def _key_kdf(pem: bytes, path: Path) -> str:
    """``scrypt`` or ``pbkdf2`` (an older file); a damaged file or one whose scrypt cost
    would take gigabytes to open is refused before anything is derived."""
    try:
        kdf = kdf_of(pem)
    except ValueError:
        return "unknown"  # not encrypted PKCS#8: loading it says what is wrong
    if kdf.name == "scrypt" and not (
        2 <= kdf.n <= _SCRYPT_MAX_N and 1 <= kdf.r <= 32 and 1 <= kdf.p <= 16
    ):
        raise ValueError(f"key file {path} is damaged (scrypt parameters out of range)")
    return kdf.name


def _rewrite_with_scrypt(path: Path, key: _PrivateKey, passphrase: bytes, kdf: str) -> None:
    """Replace a key file of an older version (PBKDF2) by the same key under scrypt, in one
    step; a key directory that cannot be written keeps the old file (and says so)."""
    try:
        write_replacing(path, seal_private_key(key, passphrase, _key_cost()), 0o600)
    except OSError as exc:
        log.warning("key file %s uses %s; could not rewrite it with scrypt: %s", path, kdf, exc)
        return
    log.info("key file %s rewritten: %s replaced by scrypt", path, kdf)


def _sync_directory(directory: Path) -> None:
    """Make a removal durable (best effort: some file systems cannot sync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(salt: bytes, n: int, r: int, p: int, passphrase: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _associated_data(label: str) -> bytes:
    return f"{_SECRET_FORMAT}:{label}".encode("ascii")


def _seal(secret: bytes, passphrase: bytes, label: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _scrypt(salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, passphrase)
    ciphertext = AESGCM(key).encrypt(nonce, secret, _associated_data(label))
    document = {
        "format": _SECRET_FORMAT,
        "kdf": {
            "name": "scrypt",
            "n": _SCRYPT_N,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
            "salt": _b64(salt),
        },
        "cipher": "aes-256-gcm",
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def _open(sealed: bytes, passphrase: bytes, label: str, path: Path) -> bytes:
    try:
        document = json.loads(sealed)
        kdf = document["kdf"]
        if document["format"] != _SECRET_FORMAT or kdf["name"] != "scrypt":
            raise ValueError("unknown format")
        n, r, p = (int(kdf[name]) for name in ("n", "r", "p"))
        if not (2 <= n <= _SCRYPT_MAX_N and 1 <= r <= 32 and 1 <= p <= 16):
            raise ValueError("scrypt parameters out of range")
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(document["nonce"], validate=True)
        ciphertext = base64.b64decode(document["ciphertext"], validate=True)
        key = _scrypt(salt, n, r, p, passphrase)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"secret file {path} is damaged ({exc})") from None
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _associated_data(label))
    except InvalidTag:
        raise CertCenterError("KEY_PASSPHRASE_WRONG", label=label) from None
    except ValueError as exc:  # e.g. a nonce of the wrong length
        raise ValueError(f"secret file {path} is damaged ({exc})") from None
