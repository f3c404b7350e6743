"""The device signed: its signature is accepted only over exactly the bytes asked for and only
by the key of the certificate asked for; the answer carries the certificate and its chain."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.pki.cms import verify_signed_data
from certcenter.signing import DeviceSigner, SignedBy, SigningRequest

DOCUMENT = "certcenter 이체 확인 / transfer confirmation v1\namount-krw: 10000\n".encode()


def _certificate(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _signed(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def _asked(data: bytes, certificate: x509.Certificate | None) -> SigningRequest:
    return SigningRequest(
        data=data,
        certificate_der=certificate.public_bytes(Encoding.DER) if certificate else b"",
        customer_id="c-1",
        device_id="d-1",
        purpose="transfer",
        subject="t-1",
    )


def _refused(signer: DeviceSigner, request: SigningRequest) -> None:
    with pytest.raises(CertCenterError) as caught:
        signer.sign(request)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_the_devices_signature_over_exactly_the_bytes_by_the_certificates_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(key, "device")
    ca = _certificate(ec.generate_private_key(ec.SECP256R1()), "issuing CA")
    presented = _signed(key, DOCUMENT)
    signer = DeviceSigner(presented, chain=[ca])
    assert signer.lacks == () and not signer.stands_for_pin  # the caller checks the PIN

    signature = signer.sign(_asked(DOCUMENT, certificate))
    assert signature.signed_by == SignedBy.DEVICE
    assert signature.value == base64.b64decode(presented)
    assert signature.certificate == certificate and signature.chain == (ca,)
    assert signature.verifies(DOCUMENT) and not signature.verifies(DOCUMENT + b" ")
    verified = verify_signed_data(signature.cms(DOCUMENT))
    assert verified.content == DOCUMENT and verified.signer == certificate
    detached = signature.cms(DOCUMENT, detached=True)
    assert verify_signed_data(detached, DOCUMENT).signer == certificate


def test_other_bytes_another_key_or_no_certificate_are_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    other_key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate(key, "device")
    signer = DeviceSigner(_signed(key, DOCUMENT))
    for other in (DOCUMENT + b"\n", DOCUMENT[:-1], DOCUMENT.replace(b"10000", b"90000"), b""):
        _refused(signer, _asked(other, certificate))
    _refused(signer, _asked(DOCUMENT, _certificate(other_key, "another device")))
    _refused(signer, _asked(DOCUMENT, None))
    _refused(DeviceSigner(_signed(other_key, DOCUMENT)), _asked(DOCUMENT, certificate))
    _refused(DeviceSigner("not base64!"), _asked(DOCUMENT, certificate))


def test_a_missing_signature_is_named() -> None:
    assert DeviceSigner("").lacks == ("signature",)
