"""The app's keystore: the device's identity and keys, kept in a local directory.

A phone keeps its keys in a secure area that never lets them out. Here a random 256-bit
*secure-area key* (a file readable only by its owner) stands in for that hardware: the
device's private keys are stored as PKCS#8 encrypted under it.

    store = Keystore(Path("~/.certcenter-app").expanduser())
    device = store.ensure_device(platform="android", model="SM-S928N", app_version="5.2.0")
    csr_pem = store.new_certificate_request(common_name="김민준")
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError


@dataclass
class DeviceInfo:
    device_id: str
    platform: str
    model: str
    app_version: str


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class Keystore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    # -- files
    @property
    def device_file(self) -> Path:
        return self.directory / "device.json"

    @property
    def certificate_file(self) -> Path:
        return self.directory / "certificate.pem"

    @property
    def chain_file(self) -> Path:
        return self.directory / "chain.pem"

    def _secure_area_key(self) -> bytes:
        path = self.directory / "secure-area.key"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_private(path, secrets.token_bytes(32))
        return path.read_bytes()

    # -- device
    def device(self) -> DeviceInfo | None:
        if not self.device_file.exists():
            return None
        return DeviceInfo(**json.loads(self.device_file.read_text("utf-8")))

    def ensure_device(self, *, platform: str, model: str, app_version: str) -> DeviceInfo:
        existing = self.device()
        if existing is not None:
            if existing.app_version != app_version:
                existing.app_version = app_version
                self._save_device(existing)
            return existing
        info = DeviceInfo(
            device_id=f"dev-{uuid.uuid4()}", platform=platform, model=model, app_version=app_version
        )
        self._save_device(info)
        return info

    def _save_device(self, info: DeviceInfo) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(self.device_file, json.dumps(asdict(info), indent=2).encode("utf-8"))

    # -- keys
    def _key_path(self, name: str) -> Path:
        return self.directory / f"{name}.key.pem"

    def _store_key(self, name: str, key: ec.EllipticCurvePrivateKey) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._secure_area_key()),
        )
        _write_private(self._key_path(name), pem)

    def load_key(self, name: str) -> ec.EllipticCurvePrivateKey:
        path = self._key_path(name)
        if name == "biometric" and not path.exists():
            raise CertCenterError("APP_BIOMETRIC_KEY_MISSING")
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=self._secure_area_key()
        )
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{name} is not an EC key")
        return key

    def new_certificate_request(self, *, common_name: str) -> str:
        """Make a fresh device key pair (P-256) and a CSR signed by it (proof of possession)."""
        key = ec.generate_private_key(ec.SECP256R1())
        self._store_key("pending-certificate", key)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .sign(key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def new_biometric_key(self) -> str:
        """The key unlocked by fingerprint / Face ID; returns its public key in PEM."""
        key = ec.generate_private_key(ec.SECP256R1())
        self._store_key("biometric", key)
        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def install_certificate(self, certificate_pem: str, chain_pem: list[str]) -> None:
        """Keep the issued certificate; its key becomes the device's certificate key."""
        pending = self._key_path("pending-certificate")
        if pending.exists():
            os.replace(pending, self._key_path("certificate"))
        self.certificate_file.write_text(certificate_pem, "utf-8")
        self.chain_file.write_text("".join(chain_pem), "utf-8")

    def sign(self, message: bytes, *, key: str = "certificate") -> str:
        """Sign with a device key (ECDSA-SHA256); base64 of the DER signature."""
        signature = self.load_key(key).sign(message, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")

    def certificate(self) -> x509.Certificate | None:
        if not self.certificate_file.exists():
            return None
        return x509.load_pem_x509_certificate(self.certificate_file.read_bytes())
