"""The joint certificate signed: an RSA PKCS#1 v1.5 SHA-256 signature accepted only over exactly
the bytes asked for and by the certificate's key; its CMS names sha256WithRSAEncryption."""

from __future__ import annotations

import base64

import pytest
from asn1crypto import cms as asn1_cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.errors import CertCenterError
from certcenter.pki.cms import CmsError, signed_data, verify_signed_data
from certcenter.signing import DeviceSigner, JointSigner, SignedBy, SigningRequest
from tests.support.throwaway_ca import ThrowawayCa

DOCUMENT = "위임장 / power of attorney\n".encode()


@pytest.fixture(scope="module")
def ca() -> ThrowawayCa:
    return ThrowawayCa.make("JointTest")


def _request(der: bytes, data: bytes = DOCUMENT) -> SigningRequest:
    return SigningRequest(data, der, customer_id="c", device_id="joint", purpose="document")


def test_the_joint_signature_is_checked_and_wrapped(ca: ThrowawayCa) -> None:
    leaf = ca.issue("홍길동()0012345678901234")
    der = leaf.certificate.public_bytes(Encoding.DER)
    presented = base64.b64encode(
        leaf.key.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    signer = JointSigner(presented, chain=(ca.certificate,))
    assert signer.stands_for_pin and signer.lacks == ()
    assert JointSigner("").lacks == ("signature",)
    signature = signer.sign(_request(der))
    assert signature.signed_by == SignedBy.SOFTWARE
    assert signature.verifies(DOCUMENT) and not signature.verifies(DOCUMENT + b"!")
    cms = signature.cms(DOCUMENT)
    info = asn1_cms.ContentInfo.load(cms)["content"]["signer_infos"][0]
    assert info["signature_algorithm"]["algorithm"].native == "sha256_rsa"
    assert info["digest_algorithm"].dump().hex() == "300b0609608648016503040201"  # no NULL
    assert verify_signed_data(cms).signer == leaf.certificate

    with pytest.raises(CertCenterError) as caught:
        signer.sign(_request(der, DOCUMENT + b"!"))
    assert caught.value.code == "SIGNATURE_INVALID"
    # PSS is not the NPKI scheme: refused
    pss = base64.b64encode(
        leaf.key.sign(
            DOCUMENT,
            padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH),
            hashes.SHA256(),
        )
    ).decode()
    other = ca.issue("김철수()0012345678901234")
    by_other = base64.b64encode(
        other.key.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    for bad in (pss, by_other, "not base64!", "A" * 800):
        with pytest.raises(CertCenterError) as caught:
            JointSigner(bad).sign(_request(der))
        assert caught.value.code == "SIGNATURE_INVALID"
    # an ECDSA signature is not a joint one, and an RSA one is not a device's
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_sig = base64.b64encode(ec_key.sign(DOCUMENT, ec.ECDSA(hashes.SHA256()))).decode()
    with pytest.raises(CertCenterError):
        JointSigner(ec_sig).sign(_request(der))
    with pytest.raises(CertCenterError):
        DeviceSigner(presented).sign(_request(der))


def test_a_cms_whose_rsa_signature_does_not_match_is_refused(ca: ThrowawayCa) -> None:
    leaf = ca.issue("홍길동()0012345678901234")
    raw = leaf.key.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256())
    cms = signed_data(DOCUMENT, raw, leaf.certificate, [ca.certificate])
    assert verify_signed_data(cms).content == DOCUMENT
    with pytest.raises(CmsError):
        verify_signed_data(signed_data(DOCUMENT + b"!", raw, leaf.certificate, []))
