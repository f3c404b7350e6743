"""The evidence says when it was signed: the CMS signed attributes contentType, signingTime
and messageDigest (RFC 5652 §5.3, §11; the SET OF in DER order) under the signer's key, and
the center's RFC 3161 time-stamp over the signature value as the unsigned attribute
id-aa-signatureTimeStampToken. OpenSSL checks both: ``openssl cms -verify`` the evidence,
``openssl ts -verify`` the token it carries."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.pki.cms import SIGNATURE_TIME_STAMP_TOKEN, signed_attributes, verify_signed_data
from certcenter.signing import JointSigner, SigningRequest
from certcenter.usage.transfers import signing_time_of, to_be_signed
from tests.support.flow import FlowFactory
from tests.support.throwaway_ca import ThrowawayCa
from tests.usage.support import C001_ACCOUNT, PIN, issued, logged_in, prepare

DOCUMENT = "위임장 / power of attorney\n".encode()
WHEN = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)


def openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, check=False)


def test_the_signed_attributes_are_the_three_in_der_order() -> None:
    der = signed_attributes(DOCUMENT, WHEN.replace(microsecond=123))
    attributes = asn1_cms.CMSAttributes.load(der, strict=True)
    values = {a["type"].native: a["values"][0].native for a in attributes}
    assert values == {
        "content_type": "data",
        "signing_time": WHEN,  # to the second
        "message_digest": hashlib.sha256(DOCUMENT).digest(),
    }
    encodings = [a.dump() for a in attributes]
    assert encodings == sorted(encodings)  # DER: a SET OF is sorted by its encodings
    assert der[0] == 0x31  # what is signed is the SET OF itself, not the [0] of SignerInfo
    assert signed_attributes(DOCUMENT, WHEN) != signed_attributes(DOCUMENT + b"!", WHEN)
    with pytest.raises(ValueError, match="aware"):
        signed_attributes(DOCUMENT, datetime(2026, 3, 1))  # noqa: DTZ001 - the point


@pytest.fixture(scope="module")
def ca() -> ThrowawayCa:
    return ThrowawayCa.make("EvidenceTest")


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the center is used for its time-stamping authority only


def _request(der: bytes, when: datetime | None) -> SigningRequest:
    return SigningRequest(
        DOCUMENT, der, customer_id="c", device_id="d", purpose="document", signing_time=when
    )


def test_a_signature_over_the_attributes_makes_time_stamped_evidence_openssl_verifies(
    ca: ThrowawayCa, center: Center, tmp_path: Path
) -> None:
    leaf = ca.issue("홍길동()0012345678901234")
    der = leaf.certificate.public_bytes(Encoding.DER)
    request = _request(der, WHEN)
    raw = leaf.key.sign(request.to_be_signed, padding.PKCS1v15(), hashes.SHA256())
    signature = JointSigner(base64.b64encode(raw).decode(), chain=(ca.certificate,)).sign(request)
    assert signature.signing_time == WHEN
    assert signature.verifies(DOCUMENT) and not signature.verifies(DOCUMENT + b"!")
    evidence = signature.cms(DOCUMENT, timestamps=center.tsa)

    checked = verify_signed_data(evidence)
    assert checked.signing_time == WHEN and checked.content == DOCUMENT
    assert checked.timestamp is not None
    p7m = tmp_path / "evidence.p7m"
    p7m.write_bytes(evidence)
    root = tmp_path / "root.pem"
    root.write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    verified = openssl("cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == DOCUMENT
    printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", str(p7m)).stdout
    for name in (b"contentType", b"signingTime", b"messageDigest", b"id-smime-aa-timeStampToken"):
        assert name in printed
    _token_verifies(center, checked.timestamp, checked.signature, tmp_path)
    # the token is over this signature value, not any other
    other = tmp_path / "other-signature"
    other.write_bytes(checked.signature[:-1] + bytes([checked.signature[-1] ^ 1]))
    token = tmp_path / "token.der"
    refused = openssl(
        "ts", "-verify", "-data", str(other), "-in", str(token), "-token_in",
        "-CAfile", str(center.settings.ca_path / "root-ca.pem"),
    )  # fmt: skip
    assert refused.returncode != 0


def test_a_signature_at_another_time_or_over_other_bytes_is_refused(ca: ThrowawayCa) -> None:
    leaf = ca.issue("홍길동()0012345678901234")
    der = leaf.certificate.public_bytes(Encoding.DER)
    other_time = signed_attributes(DOCUMENT, WHEN.replace(second=16))
    raw = leaf.key.sign(other_time, padding.PKCS1v15(), hashes.SHA256())
    signer = JointSigner(base64.b64encode(raw).decode(), chain=(ca.certificate,))
    with pytest.raises(CertCenterError) as caught:
        signer.sign(_request(der, WHEN))
    assert caught.value.code == "SIGNATURE_INVALID"
    # a signature over the document itself (an older app) is still accepted, without them
    plain = leaf.key.sign(DOCUMENT, padding.PKCS1v15(), hashes.SHA256())
    accepted = JointSigner(base64.b64encode(plain).decode()).sign(_request(der, WHEN))
    assert accepted.signing_time is None
    info = asn1_cms.ContentInfo.load(accepted.cms(DOCUMENT))["content"]["signer_infos"][0]
    assert isinstance(info["signed_attrs"], asn1_core.Void)


def _token_verifies(center: Center, token: bytes, signature: bytes, tmp_path: Path) -> None:
    """``openssl ts -verify`` the token over the signature value against the center's root;
    its genTime is the center's clock."""
    path = tmp_path / "token.der"
    path.write_bytes(token)
    value = tmp_path / "signature-value"
    value.write_bytes(signature)
    root = center.settings.ca_path / "root-ca.pem"
    ok = openssl(
        "ts", "-verify", "-data", str(value), "-in", str(path), "-token_in", "-CAfile", str(root)
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert b"Verification: OK" in ok.stdout
    info = asn1_cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    assert isinstance(info, asn1_tsp.TSTInfo)
    assert info["gen_time"].native == center.clock.now().replace(microsecond=0)


def _signature_and_token(evidence: bytes) -> tuple[bytes, bytes]:
    info = asn1_cms.ContentInfo.load(evidence)["content"]["signer_infos"][0]
    tokens = [
        a["values"][0].dump()
        for a in info["unsigned_attrs"]
        if a["type"].dotted == SIGNATURE_TIME_STAMP_TOKEN
    ]
    assert len(tokens) == 1
    return bytes(info["signature"].native), tokens[0]


def test_a_transfer_signed_by_the_app_keeps_its_signing_time_and_a_time_stamp(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared: dict[str, Any] = prepare(client, 54_321, source=C001_ACCOUNT, memo="증거")
    document = base64.b64decode(prepared["document_b64"])
    body = {"signature": flow.keystore.sign(to_be_signed(document)), "pin": PIN}
    done = client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body)
    assert done["status"] == "completed"
    evidence = client.http.get(
        done["evidence_url"], headers={"Authorization": f"Bearer {client.token}"}
    ).content
    p7m = tmp_path / "transfer.p7m"
    p7m.write_bytes(evidence)
    root = center.settings.ca_path / "root-ca.pem"
    verified = openssl("cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == document
    checked = verify_signed_data(evidence)
    assert checked.signing_time is not None
    assert checked.signing_time == signing_time_of(document)
    signature, token = _signature_and_token(evidence)
    _token_verifies(center, token, signature, tmp_path)
