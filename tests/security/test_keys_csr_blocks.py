"""A certificate request is exactly one PEM block (or one DER structure) and nothing else."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.pki import validate_csr

P256_ONLY = ("ec-p256",)


def _pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def test_keys_one_pem_block_is_accepted() -> None:
    assert validate_csr(b"\n" + _pem() + b"\n\n", P256_ONLY).key_kind == "ec-p256"


@pytest.mark.parametrize(
    "shape",
    ["two blocks", "two blocks same key", "trailing text", "trailing bytes"],
)
def test_keys_a_csr_with_two_pem_blocks_or_trailing_data_is_refused(shape: str) -> None:
    first, second = _pem(), _pem()
    data = {
        "two blocks": first + second,
        "two blocks same key": first + first,
        "trailing text": first + b"amount-krw: 1\n",
        "trailing bytes": first + b"\x00\x01",
    }[shape]
    with pytest.raises(CertCenterError) as refused:
        validate_csr(data, P256_ONLY)
    assert refused.value.code == "CSR_MALFORMED"


def test_keys_trailing_bytes_after_der_are_refused() -> None:
    der = x509.load_pem_x509_csr(_pem()).public_bytes(serialization.Encoding.DER)
    with pytest.raises(CertCenterError) as refused:
        validate_csr(der + b"\x30\x00", P256_ONLY)
    assert refused.value.code == "CSR_MALFORMED"
