"""PEM and fingerprint helpers for certificates and public keys.

chain_pem(hierarchy.chain("mobile"))      # issuing CA first, root last
public_key_sha256(csr.public_key())       # hex SHA-256 of the SubjectPublicKeyInfo DER
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = [
    "certificate_pem",
    "certificates_from_pem",
    "chain_pem",
    "public_key_der",
    "public_key_sha256",
]


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def chain_pem(certificates: Iterable[x509.Certificate]) -> str:
    """The certificates as concatenated PEM blocks, in the order given."""
    return "".join(certificate_pem(certificate) for certificate in certificates)


def certificates_from_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file (ValueError if there is none or one is damaged)."""
    return x509.load_pem_x509_certificates(data)


def public_key_der(public_key: PublicKeyTypes) -> bytes:
    """The DER SubjectPublicKeyInfo of ``public_key``."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_sha256(public_key: PublicKeyTypes) -> str:
    """Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo: a key's stable identity."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public_key_der(public_key))
    return digest.finalize().hex()
