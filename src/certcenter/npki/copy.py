"""인증서 복사: the joint certificate's folder sealed for one receiving device, as the customer's
programs do it on each side of a copy through the center (docs/certificate-copy.md).

    receiver = CopyReceiver.new()                       # the receiving device (PC or phone)
    relay = <POST /v1/certificate-copies {public_key: receiver.public_bytes}>   → relay id
    code = receiver.code(relay_id)                      # "12345678-87654321", on its screen

    relay_id, digits = parse_code(typed)                # the sending device
    public_key = <GET /v1/certificate-copies/{relay_id}>
    check_fingerprint(relay_id, public_key, digits)     # CERTIFICATE_COPY_FINGERPRINT_MISMATCH
    sealed = seal(relay_id, public_key, pack_folder(folder))   → PUT …/{relay_id}/payload

    archive = receiver.open(relay_id, sealed)           # the receiving device
    folder = unpack_into(npki_root, archive)            # NPKI/<CA>/USER/<subject>/…

The code's first 8 digits name the relay at the center; the last 8 are a fingerprint of the
receiver's public key (scrypt over the key and the relay id, so that finding another key with
the same 8 digits costs far more than the copy's few minutes). The center never sees them: a
center, or anyone between, that hands the sender another public key is caught by the sender.

The folder is sealed with an ephemeral X25519 key of the sender's: HKDF-SHA256 over the
shared secret (salt: both public keys; info: the relay id and the fingerprint digits) gives an
AES-256-GCM key, and the relay id is the associated data, so a payload sealed for one relay
does not open under another. Only the receiver's private key, which never leaves the
receiving device, opens it. The key file inside stays encrypted under the certificate
password: neither side needs the password to copy.

Client-side code: no database, no web framework.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from certcenter.errors import CertCenterError
from certcenter.npki.folder import (
    CERT_FILE,
    KEY_FILE,
    MAX_CERT_FILE_BYTES,
    USER_DIR,
    read_certificate_file,
    write_folder_files,
)
from certcenter.npki.keyfile import MAX_KEY_FILE_BYTES

__all__ = [
    "FINGERPRINT_DIGITS",
    "RELAY_ID_DIGITS",
    "SEALED_OVERHEAD",
    "CopyReceiver",
    "check_fingerprint",
    "fingerprint_digits",
    "format_code",
    "pack_folder",
    "parse_code",
    "seal",
    "unpack_into",
]

RELAY_ID_DIGITS = 8
FINGERPRINT_DIGITS = 8
VERSION = 1
_LABEL = b"certcenter/npki-copy/v1\x00"
_PUBLIC_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
SEALED_OVERHEAD = 1 + _PUBLIC_KEY_BYTES + _NONCE_BYTES + _TAG_BYTES
# scrypt's cost for the fingerprint: about 16 MiB and a few tens of milliseconds per key, so
# a second key with the same 8 digits takes some 10^8 of them (years of one core's time)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_RELAY_ID = re.compile(r"[0-9]{8}")
# the archive's fields; the CA folder name is kept when it is a plain name
_MAX_ARCHIVE_BYTES = 4 * (MAX_CERT_FILE_BYTES + MAX_KEY_FILE_BYTES)
_PLAIN_NAME = re.compile(r"[^/\\\x00-\x1f\x7f]{1,128}")


def _raw(public_key: X25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _load_public(public_key: bytes) -> X25519PublicKey:
    if len(public_key) != _PUBLIC_KEY_BYTES:
        raise CertCenterError("CERTIFICATE_COPY_PAYLOAD_INVALID", detail="not an X25519 key")
    return X25519PublicKey.from_public_bytes(public_key)


def _check_relay_id(relay_id: str) -> bytes:
    if not _RELAY_ID.fullmatch(relay_id):
        raise CertCenterError("CERTIFICATE_COPY_CODE_INVALID")
    return relay_id.encode("ascii")


@functools.lru_cache(maxsize=16)  # public values; each side asks more than once per copy
def fingerprint_digits(relay_id: str, public_key: bytes) -> str:
    """The code's last 8 digits: a slow hash of the receiver's public key and the relay id."""
    salt = _LABEL + b"fingerprint\x00" + _check_relay_id(relay_id)
    derived = hashlib.scrypt(public_key, salt=salt, dklen=8, maxmem=64 * 1024 * 1024, **_SCRYPT)
    return f"{int.from_bytes(derived, 'big') % 10**FINGERPRINT_DIGITS:0{FINGERPRINT_DIGITS}d}"


def format_code(relay_id: str, digits: str) -> str:
    return f"{relay_id}-{digits}"


def parse_code(code: str) -> tuple[str, str]:
    """``(relay id, fingerprint digits)`` from the 16 digits as typed (spaces and hyphens
    ignored); ``CERTIFICATE_COPY_CODE_INVALID`` unless 16 digits."""
    clean = re.sub(r"[\s-]", "", str(code))[:64]
    if not re.fullmatch(r"[0-9]{16}", clean):
        raise CertCenterError("CERTIFICATE_COPY_CODE_INVALID")
    return clean[:RELAY_ID_DIGITS], clean[RELAY_ID_DIGITS:]


def check_fingerprint(relay_id: str, public_key: bytes, digits: str) -> None:
    """``CERTIFICATE_COPY_FINGERPRINT_MISMATCH`` unless ``public_key`` is the one whose
    fingerprint the receiving device shows: the sender never seals for another key."""
    _load_public(public_key)
    expected = fingerprint_digits(relay_id, public_key).encode("ascii")
    if not hmac.compare_digest(expected, str(digits).encode("utf-8", "replace")):
        raise CertCenterError("CERTIFICATE_COPY_FINGERPRINT_MISMATCH")


def _aead_key(
    shared: bytes, sender_public: bytes, receiver_public: bytes, relay_id: str, digits: str
) -> bytes:
    info = _LABEL + b"seal\x00" + _check_relay_id(relay_id) + b"\x00" + digits.encode("ascii")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=sender_public + receiver_public, info=info
    ).derive(shared)


def _aad(relay_id: str) -> bytes:
    return _LABEL + b"relay\x00" + _check_relay_id(relay_id)


def seal(relay_id: str, receiver_public: bytes, archive: bytes) -> bytes:
    """``archive`` sealed for the holder of ``receiver_public`` on relay ``relay_id``:
    version (1) ‖ the sender's ephemeral public key (32) ‖ nonce (12) ‖ AES-GCM ciphertext."""
    receiver = _load_public(receiver_public)
    ephemeral = X25519PrivateKey.generate()
    try:
        shared = ephemeral.exchange(receiver)
    except ValueError:  # a low-order point: no shared secret
        raise CertCenterError(
            "CERTIFICATE_COPY_PAYLOAD_INVALID", detail="not a usable key"
        ) from None
    sender_public = _raw(ephemeral.public_key())
    digits = fingerprint_digits(relay_id, receiver_public)
    key = _aead_key(shared, sender_public, receiver_public, relay_id, digits)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, archive, _aad(relay_id))
    return bytes([VERSION]) + sender_public + nonce + sealed


@dataclass(frozen=True)
class CopyReceiver:
    """The receiving device's ephemeral key pair: made for one copy, never stored."""

    private_key: X25519PrivateKey

    @classmethod
    def new(cls) -> CopyReceiver:
        return cls(X25519PrivateKey.generate())

    @property
    def public_bytes(self) -> bytes:
        return _raw(self.private_key.public_key())

    def code(self, relay_id: str) -> str:
        """The 16 digits the receiving device shows: relay id, then the key's fingerprint."""
        return format_code(relay_id, fingerprint_digits(relay_id, self.public_bytes))

    def open(self, relay_id: str, sealed: bytes) -> bytes:
        """The archive inside ``sealed``; ``CERTIFICATE_COPY_PAYLOAD_INVALID`` when it was not
        sealed for this key and relay or was changed on the way."""
        if len(sealed) < SEALED_OVERHEAD or sealed[0] != VERSION:
            raise CertCenterError("CERTIFICATE_COPY_PAYLOAD_INVALID", detail="not a sealed copy")
        sender_public = sealed[1 : 1 + _PUBLIC_KEY_BYTES]
        nonce = sealed[1 + _PUBLIC_KEY_BYTES : 1 + _PUBLIC_KEY_BYTES + _NONCE_BYTES]
        body = sealed[1 + _PUBLIC_KEY_BYTES + _NONCE_BYTES :]
        try:
            shared = self.private_key.exchange(X25519PublicKey.from_public_bytes(sender_public))
            digits = fingerprint_digits(relay_id, self.public_bytes)
            key = _aead_key(shared, sender_public, self.public_bytes, relay_id, digits)
            return AESGCM(key).decrypt(nonce, body, _aad(relay_id))
        except (InvalidTag, ValueError):
            raise CertCenterError(
                "CERTIFICATE_COPY_PAYLOAD_INVALID", detail="does not open"
            ) from None


# ---------------------------------------------------------------- the folder as an archive


def _read_limited(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        raise CertCenterError("NPKI_FOLDER_NOT_FOUND") from None
    if len(data) > limit:
        raise CertCenterError("NPKI_CERTIFICATE_INVALID", detail="too large")
    return data


def pack_folder(folder: Path) -> bytes:
    """A certificate folder's two files, as they are, in a small archive (JSON)."""
    folder = Path(folder)
    read_certificate_file(folder / CERT_FILE)  # a certificate, not any file
    cert = _read_limited(folder / CERT_FILE, MAX_CERT_FILE_BYTES)
    key = _read_limited(folder / KEY_FILE, MAX_KEY_FILE_BYTES)
    ca_name = folder.parent.parent.name if folder.parent.name == USER_DIR else None
    document = {
        "v": VERSION,
        "ca": ca_name,
        "files": {
            CERT_FILE: base64.b64encode(cert).decode("ascii"),
            KEY_FILE: base64.b64encode(key).decode("ascii"),
        },
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _archive_parts(archive: bytes) -> tuple[x509.Certificate, bytes, str | None]:
    invalid = CertCenterError("CERTIFICATE_COPY_PAYLOAD_INVALID", detail="not a certificate folder")
    if len(archive) > _MAX_ARCHIVE_BYTES:
        raise invalid
    try:
        document = json.loads(archive.decode("utf-8"))
        files = document["files"]
        cert = base64.b64decode(files[CERT_FILE], validate=True)
        key = base64.b64decode(files[KEY_FILE], validate=True)
        ca_name = document.get("ca")
    except (ValueError, KeyError, TypeError, binascii.Error, AttributeError):
        raise invalid from None
    if document.get("v") != VERSION or not key or len(key) > MAX_KEY_FILE_BYTES:
        raise invalid
    try:
        certificate = x509.load_der_x509_certificate(cert)
    except ValueError:
        raise invalid from None
    if not isinstance(ca_name, str) or not _PLAIN_NAME.fullmatch(ca_name) or ca_name in {".", ".."}:
        ca_name = None
    return certificate, key, ca_name


def unpack_into(root: Path, archive: bytes, *, overwrite: bool = False) -> Path:
    """Write the archive's certificate folder under the NPKI folder ``root`` (named by the
    certificate's subject, never by the archive); return the certificate folder."""
    certificate, key, ca_name = _archive_parts(archive)
    return write_folder_files(root, certificate, key, ca_name=ca_name, overwrite=overwrite)
