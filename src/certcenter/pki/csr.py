"""Checking a certificate signing request (PKCS#10) from the app before anything trusts it.

    checked = validate_csr(request.body, allowed=("ec-p256",))
    checked.public_key_sha256        # hex SHA-256 of the SubjectPublicKeyInfo DER

Accepts PEM (``CERTIFICATE REQUEST`` / ``NEW CERTIFICATE REQUEST``) or DER, at most 16 KiB.
Refusals, all :class:`~certcenter.errors.CertCenterError`:

- ``CSR_MALFORMED`` (with a short ``detail``): empty, too large, not PEM/DER, a PEM block
  of another kind (a certificate …), more than one PEM block or anything after the one block,
  DER that is not PKCS#10 (or has bytes after it), a public key that cannot be read;
- ``CSR_KEY_TYPE_NOT_ALLOWED`` (``allowed``, ``found``): the key is of a kind not in
  ``allowed`` (RSA, Ed25519, P-384 where only P-256 is taken …);
- ``CSR_SIGNATURE_INVALID``: the request's self-signature does not verify, so the sender
  has not shown it holds the private key.

Only the public key is used: the subject, attributes and extensions the request asks for
are ignored (the profile and the verified identity decide those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.errors import CertCenterError
from certcenter.keys.backend import KeyKind, describe_key_kind, describe_public_key, key_kind_of
from certcenter.pki.pem import public_key_sha256

__all__ = ["MAX_CSR_BYTES", "ValidatedCsr", "validate_csr"]

MAX_CSR_BYTES = 16 * 1024

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_PEM_END = re.compile(rb"-----END ([A-Z0-9 ]{1,64})-----")
_CSR_LABELS = {b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"}
# What people paste by mistake, named so the detail says what it was.
_OTHER_LABELS = {
    b"CERTIFICATE": "a certificate, not a certificate request",
    b"X509 CERTIFICATE": "a certificate, not a certificate request",
    b"PUBLIC KEY": "a bare public key, not a certificate request",
    b"PRIVATE KEY": "a private key, not a certificate request",
    b"EC PRIVATE KEY": "a private key, not a certificate request",
    b"ENCRYPTED PRIVATE KEY": "a private key, not a certificate request",
}
_READ_ERRORS = (ValueError, UnsupportedAlgorithm, x509.InvalidVersion)


@dataclass(frozen=True)
class ValidatedCsr:
    """A request that parsed, carries an allowed key, and proves possession of it."""

    csr: x509.CertificateSigningRequest
    public_key: ec.EllipticCurvePublicKey
    key_kind: KeyKind
    public_key_sha256: str


def _malformed(detail: str) -> CertCenterError:
    return CertCenterError("CSR_MALFORMED", detail=detail)


def _load(data: bytes) -> x509.CertificateSigningRequest:
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        match = _PEM_LABEL.match(stripped)
        label = match.group(1) if match else b""
        if label not in _CSR_LABELS:
            raise _malformed(_OTHER_LABELS.get(label, "PEM text that is not a certificate request"))
        # exactly one block and nothing after it: what is signed must be all that was sent
        ends = list(_PEM_END.finditer(stripped))
        if (
            stripped.count(b"-----BEGIN") != 1
            or len(ends) != 1
            or ends[0].group(1) != label
            or ends[0].end() != len(stripped)
        ):
            raise _malformed("exactly one PEM certificate request block, with nothing after it")
        loader = x509.load_pem_x509_csr
    elif stripped.startswith(b"-----"):
        raise _malformed("damaged PEM header")
    else:
        loader = x509.load_der_x509_csr
    try:
        return loader(data)
    except _READ_ERRORS:
        raise _malformed("not a valid PKCS#10 structure") from None


def validate_csr(data: bytes | str, allowed: tuple[KeyKind, ...]) -> ValidatedCsr:
    """The checked request, or a ``CSR_*`` :class:`CertCenterError` saying what is wrong."""
    if isinstance(data, str):
        try:
            data = data.encode("ascii")
        except UnicodeEncodeError:
            raise _malformed("PEM text must be ASCII") from None
    if not data.strip():
        raise _malformed("empty")
    if len(data) > MAX_CSR_BYTES:
        raise _malformed(f"larger than {MAX_CSR_BYTES // 1024} KiB")

    csr = _load(data)
    try:
        public_key = csr.public_key()
    except _READ_ERRORS:
        raise _malformed("public key cannot be read") from None

    kind = key_kind_of(public_key)
    if kind is None or kind not in allowed or not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise CertCenterError(
            "CSR_KEY_TYPE_NOT_ALLOWED",
            allowed=", ".join(describe_key_kind(k) for k in allowed),
            found=describe_public_key(public_key),
        )
    try:
        signature_valid = csr.is_signature_valid
    except _READ_ERRORS:
        signature_valid = False
    if not signature_valid:
        raise CertCenterError("CSR_SIGNATURE_INVALID")
    return ValidatedCsr(
        csr=csr,
        public_key=public_key,
        key_kind=kind,
        public_key_sha256=public_key_sha256(public_key),
    )
