"""validate_csr: what the center accepts as a certificate request, and how it refuses."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certcenter.errors import CertCenterError
from certcenter.pki import CaHierarchy, certificate_pem, public_key_sha256, validate_csr

P256_ONLY = ("ec-p256",)


@pytest.fixture(scope="module")
def p256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def good_csr(make_csr, p256_key) -> x509.CertificateSigningRequest:
    return make_csr(p256_key)


def refusal(data: bytes | str, allowed=P256_ONLY) -> CertCenterError:
    with pytest.raises(CertCenterError) as caught:
        validate_csr(data, allowed)
    return caught.value


def test_valid_p256_csr_is_accepted_as_pem_and_der(good_csr, p256_key) -> None:
    pem = good_csr.public_bytes(serialization.Encoding.PEM)
    der = good_csr.public_bytes(serialization.Encoding.DER)
    for data in (pem, pem.decode("ascii"), der, b"\n  " + pem + b"\n"):
        checked = validate_csr(data, P256_ONLY)
        assert checked.key_kind == "ec-p256"
        assert checked.csr == good_csr
        assert checked.public_key == p256_key.public_key()
        assert checked.public_key_sha256 == public_key_sha256(p256_key.public_key())
        assert len(checked.public_key_sha256) == 64


def test_public_key_sha256_is_the_hash_of_the_spki_der(good_csr) -> None:
    spki = good_csr.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    assert (
        validate_csr(good_csr.public_bytes(serialization.Encoding.DER), P256_ONLY).public_key_sha256
        == digest.finalize().hex()
    )


def test_p384_is_accepted_when_allowed(make_csr) -> None:
    csr = make_csr(ec.generate_private_key(ec.SECP384R1()), hashes.SHA384())
    checked = validate_csr(csr.public_bytes(serialization.Encoding.PEM), ("ec-p256", "ec-p384"))
    assert checked.key_kind == "ec-p384"


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "empty"),
        ("", "empty"),
        (b"   \n\t ", "empty"),
        (b"\x00\x01\x02garbage", "PKCS#10"),
        (b"hello, I am a CSR", "PKCS#10"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\n증명서\n-----END CERTIFICATE REQUEST-----\n",
            "ASCII",
        ),
        (
            b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n"
            b"-----END CERTIFICATE REQUEST-----\n",
            "PKCS#10",
        ),
        (b"-----BEGIN NONSENSE-----\nAAAA\n-----END NONSENSE-----\n", "not a certificate request"),
        (b"-----BEGIN CERTIFICATE REQUEST", "not a certificate request"),
        (b"0" * (16 * 1024 + 1), "16 KiB"),
    ],
)
def test_unreadable_input_is_malformed(data: bytes | str, detail: str) -> None:
    error = refusal(data)
    assert error.code == "CSR_MALFORMED"
    assert detail in str(error.context["detail"])
    assert "Traceback" not in error.cause("en")


def test_truncated_csr_is_malformed(good_csr) -> None:
    der = good_csr.public_bytes(serialization.Encoding.DER)
    pem = good_csr.public_bytes(serialization.Encoding.PEM)
    for data in (der[:-1], der[: len(der) // 2], der[:2], pem[: len(pem) // 2]):
        assert refusal(data).code == "CSR_MALFORMED"


def test_trailing_garbage_after_der_is_malformed(good_csr) -> None:
    assert refusal(good_csr.public_bytes(serialization.Encoding.DER) + b"\x00").code == (
        "CSR_MALFORMED"
    )


def test_a_certificate_instead_of_a_csr_is_malformed(hierarchy: CaHierarchy) -> None:
    pem = certificate_pem(hierarchy.root.certificate)
    error = refusal(pem)
    assert error.code == "CSR_MALFORMED"
    assert error.context["detail"] == "a certificate, not a certificate request"
    der = hierarchy.root.certificate.public_bytes(serialization.Encoding.DER)
    assert refusal(der).code == "CSR_MALFORMED"


def test_altered_signature_fails_proof_of_possession(good_csr) -> None:
    der = bytearray(good_csr.public_bytes(serialization.Encoding.DER))
    signature = good_csr.signature
    at = bytes(der).rindex(signature)
    # flip a bit in the middle of r (an ECDSA signature is SEQUENCE { r, s })
    der[at + len(signature) // 4] ^= 0x01
    tampered = bytes(der)
    # cryptography parses it happily: only the signature check catches it
    assert x509.load_der_x509_csr(tampered).is_signature_valid is False
    assert refusal(tampered).code == "CSR_SIGNATURE_INVALID"


def test_signature_by_another_key_fails_proof_of_possession(make_csr) -> None:
    # the request carries key A but is signed by key B: rebuild it around B's signature
    key_a = ec.generate_private_key(ec.SECP256R1())
    key_b = ec.generate_private_key(ec.SECP256R1())
    csr_a = make_csr(key_a)
    csr_b = make_csr(key_b)
    der_a = csr_a.public_bytes(serialization.Encoding.DER)
    spki_a = key_a.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    spki_b = key_b.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der_b = csr_b.public_bytes(serialization.Encoding.DER)
    swapped = der_b.replace(spki_b, spki_a)  # same length: B's signature over A's key
    assert swapped != der_b
    assert len(swapped) == len(der_b)
    assert der_a != swapped
    assert refusal(swapped).code == "CSR_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    ("make_key", "algorithm", "found"),
    [
        (lambda: rsa.generate_private_key(65537, 2048), hashes.SHA256(), "RSA-2048"),
        (ed25519.Ed25519PrivateKey.generate, None, "Ed25519"),
        (lambda: ec.generate_private_key(ec.SECP384R1()), hashes.SHA384(), "EC P-384"),
        (lambda: ec.generate_private_key(ec.SECP521R1()), hashes.SHA512(), "EC secp521r1"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), hashes.SHA256(), "EC secp256k1"),
    ],
    ids=["rsa-2048", "ed25519", "p-384", "p-521", "secp256k1"],
)
def test_key_types_other_than_p256_are_refused(make_csr, make_key, algorithm, found) -> None:
    csr = make_csr(make_key(), algorithm)
    for data in (
        csr.public_bytes(serialization.Encoding.PEM),
        csr.public_bytes(serialization.Encoding.DER),
    ):
        error = refusal(data)
        assert error.code == "CSR_KEY_TYPE_NOT_ALLOWED"
        assert error.context == {"allowed": "EC P-256", "found": found}
        assert "EC P-256" in error.cause("en")
        assert found in error.cause("en")


CSR_CODES = {"CSR_MALFORMED", "CSR_SIGNATURE_INVALID", "CSR_KEY_TYPE_NOT_ALLOWED"}


def outcome(data: bytes | str) -> str:
    """ "accepted", or the code of the CertCenterError; any other exception propagates."""
    try:
        validate_csr(data, P256_ONLY)
    except CertCenterError as error:
        return error.code
    return "accepted"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_only_ever_raise_certcenter_errors(data: bytes) -> None:
    assert outcome(data) in CSR_CODES


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=512))
def test_arbitrary_text_only_ever_raises_certcenter_errors(text: str) -> None:
    assert outcome(text) == "CSR_MALFORMED"
    assert outcome("-----BEGIN CERTIFICATE REQUEST-----\n" + text) == "CSR_MALFORMED"


_VALID_DER = (
    x509.CertificateSigningRequestBuilder()
    .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "device")]))
    .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    .public_bytes(serialization.Encoding.DER)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, len(_VALID_DER) - 1), st.integers(1, 255)), min_size=1, max_size=4
    ),
    st.integers(0, len(_VALID_DER)),
)
def test_mutated_csrs_only_ever_raise_certcenter_errors(
    flips: list[tuple[int, int]], cut: int
) -> None:
    """Valid DER with bytes changed and a tail cut reaches the deeper parsing paths."""
    data = bytearray(_VALID_DER)
    for at, mask in flips:
        data[at] ^= mask
    assert outcome(bytes(data[: max(cut, 1)])) in {*CSR_CODES, "accepted"}
