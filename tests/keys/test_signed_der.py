"""Certificates, CRLs and OCSP responses assembled around a signature made elsewhere (what
the PKCS#11 backend does): the same to-be-signed bytes cryptography makes with the real key,
and a signature that verifies; checked here with keys in memory, on every machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from certcenter.keys import signed_der
from certcenter.keys.backend import KeyKind, hash_for_kind, signature_valid

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Signed Elsewhere CA")])
_Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _key(kind: KeyKind) -> _Key:
    if kind == "rsa-2048":
        return rsa.generate_private_key(65537, 2048)
    return ec.generate_private_key(ec.SECP256R1() if kind == "ec-p256" else ec.SECP384R1())


def _signer(key: _Key, kind: KeyKind) -> signed_der.TbsSigner:
    if isinstance(key, rsa.RSAPrivateKey):
        return lambda tbs: key.sign(tbs, padding.PKCS1v15(), hash_for_kind(kind))
    return lambda tbs: key.sign(tbs, ec.ECDSA(hash_for_kind(kind)))


def _certificate(key: _Key, kind: KeyKind) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(NAME)
        .issuer_name(NAME)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    made = signed_der.sign_certificate(builder, kind, _signer(key, kind))
    reference = builder.sign(key, hash_for_kind(kind))
    assert made.tbs_certificate_bytes == reference.tbs_certificate_bytes
    return made


@pytest.mark.parametrize("kind", ["ec-p256", "ec-p384", "rsa-2048"])
def test_certificate_and_crl(kind: KeyKind) -> None:
    key = _key(kind)
    certificate = _certificate(key, kind)
    certificate.verify_directly_issued_by(certificate)  # its signature, by its own key
    assert signature_valid(
        key.public_key(), certificate.signature, certificate.tbs_certificate_bytes
    )
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(NAME)
        .last_update(NOW)
        .next_update(NOW + timedelta(days=1))
    )
    crl = signed_der.sign_crl(builder, kind, _signer(key, kind))
    assert crl.is_signature_valid(key.public_key())
    assert not crl.is_signature_valid(_key(kind).public_key())  # the check can fail


@pytest.mark.parametrize(
    "encoding", [ocsp.OCSPResponderEncoding.HASH, ocsp.OCSPResponderEncoding.NAME]
)
def test_ocsp_response_names_the_real_responder(encoding: ocsp.OCSPResponderEncoding) -> None:
    key = _key("ec-p256")
    responder = _certificate(key, "ec-p256")
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=responder,
            issuer=responder,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=NOW,
            next_update=NOW + timedelta(hours=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(encoding, responder)
        .certificates([responder])
    )
    response = signed_der.sign_ocsp(builder, "ec-p256", _signer(key, "ec-p256"))
    reference = builder.sign(key, hashes.SHA256())
    assert response.tbs_response_bytes == reference.tbs_response_bytes
    assert response.responder_key_hash == reference.responder_key_hash
    assert response.responder_name == reference.responder_name
    assert response.certificates == [responder]
    assert signature_valid(key.public_key(), response.signature, response.tbs_response_bytes)
