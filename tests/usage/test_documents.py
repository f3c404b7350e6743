"""Document signing (detached CMS) after the PIN, and the relying parties' verify endpoint."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory
from tests.usage.support import PIN, issued, logged_in

DOCUMENT = "계약서: 김민준은 2026년 12월 1일까지 1,000,000원을 지급한다.\n".encode()


def test_a_signed_document_verifies_with_openssl_and_at_the_verify_endpoint(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    signed = client.call(
        "POST",
        "/v1/documents/sign",
        {
            "name": "contract.txt",
            "document_b64": base64.b64encode(DOCUMENT).decode(),
            "signature": flow.keystore.sign(DOCUMENT),
            "pin": PIN,
        },
    )
    cms = base64.b64decode(signed["cms_b64"])
    (tmp_path / "doc.txt").write_bytes(DOCUMENT)
    (tmp_path / "doc.p7s").write_bytes(cms)
    (tmp_path / "root.pem").write_text(center.chain_pem()[-1])
    verified = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(tmp_path / "doc.p7s"),
            "-content",
            str(tmp_path / "doc.txt"),
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-out",
            str(tmp_path / "out.txt"),
        ],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    # RFC 5754 §2: the SHA-256 AlgorithmIdentifiers have no parameters, not even NULL
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(tmp_path / "doc.p7s")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    sha256_at = [i for i, line in enumerate(parsed) if line.rstrip().endswith(":sha256")]
    assert len(sha256_at) >= 2  # SignedData.digestAlgorithms and SignerInfo.digestAlgorithm
    for i in sha256_at:
        assert "NULL" not in parsed[i + 1], parsed[i - 1 : i + 2]
    # a relying party asks the center
    answer = client.call(
        "POST",
        "/v1/documents/verify",
        {"cms_b64": signed["cms_b64"], "document_b64": base64.b64encode(DOCUMENT).decode()},
    )
    assert answer["valid"] and answer["trustworthy"] and answer["issued_by_this_center"]
    assert answer["serial"] == flow.current_serial()
    assert answer["certificate_status"] == "active"
    # a changed document does not verify
    try:
        client.call(
            "POST",
            "/v1/documents/verify",
            {
                "cms_b64": signed["cms_b64"],
                "document_b64": base64.b64encode(DOCUMENT + b"!").decode(),
            },
        )
    except ApiError as err:
        assert_refusal(err, "SIGNATURE_INVALID")
    else:
        raise AssertionError("a changed document verified")
    # garbage is refused clearly
    for cms_b64 in ("bm90IGNtcw==", "%%%%%%%%%%"):
        with pytest.raises(ApiError) as caught:
            client.call("POST", "/v1/documents/verify", {"cms_b64": cms_b64})
        assert caught.value.code in ("SIGNATURE_INVALID", "INVALID_REQUEST")
        assert caught.value.status == 422


def test_signing_needs_the_right_pin(new_flow: FlowFactory) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    body = {
        "name": "x",
        "document_b64": base64.b64encode(DOCUMENT).decode(),
        "signature": flow.keystore.sign(DOCUMENT),
        "pin": "000000",
    }
    with pytest.raises(ApiError) as caught:
        client.call("POST", "/v1/documents/sign", body)
    assert_refusal(caught.value, "AUTH_FAILED")
    assert caught.value.problem["context"]["tries_left"] == 4
