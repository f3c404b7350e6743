"""The joint certificate over HTTP: login (also from PyPinkSign, an outside NPKI client), a
transfer and a document signed with its RSA key, the evidence judged by `openssl cms -verify`
against the root and by /v1/documents/verify."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pypinksign
import pytest
from cryptography.x509.oid import NameOID

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.npki import KeyFileForm
from tests.conftest import LiveServer
from tests.joint.support import account_of, rrn_of
from tests.joint_usage.support import PASSWORD, JointHolder, joint_holder
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.usage.support import PAYEE

DOCUMENT = "위임장: 홍길동은 2026년 12월 10일 계좌 해지를 위임한다.\n".encode()


@pytest.fixture
def client(api: LiveServer) -> Any:
    with CenterClient(api.url) as made:
        yield made


def login(client: CenterClient, holder: JointHolder, **extra: Any) -> dict[str, Any]:
    issued = client.call("POST", "/v1/joint/login/challenges", {})
    body = {
        "challenge": issued["challenge"],
        "signature": holder.sign(issued["sign"].encode()),
        "certificate_b64": holder.der_b64,
        **extra,
    }
    answer: dict[str, Any] = client.call("POST", "/v1/joint/login", body)
    client.token = answer["token"]
    return answer


def openssl_verify(tmp_path: Path, center: Center, cms: bytes, content: bytes | None) -> bytes:
    (tmp_path / "root.pem").write_text(center.chain_pem()[-1])
    (tmp_path / "signed.p7").write_bytes(cms)
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER"]
    command += ["-in", str(tmp_path / "signed.p7"), "-CAfile", str(tmp_path / "root.pem")]
    command += ["-out", str(tmp_path / "out.bin")]
    if content is not None:
        (tmp_path / "content.bin").write_bytes(content)
        command += ["-content", str(tmp_path / "content.bin")]
    done = subprocess.run(command, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    return (tmp_path / "out.bin").read_bytes()


def signature_algorithms(tmp_path: Path) -> list[str]:
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(tmp_path / "signed.p7")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [line for line in parsed if "OBJECT" in line and ("sha256" in line or "RSA" in line)]


def test_a_transfer_signed_with_the_joint_certificate(
    client: CenterClient, center: Center, tmp_path: Path
) -> None:
    holder = joint_holder(center, tmp_path)
    session = login(client, holder)
    assert (session["method"], session["certificate_serial"]) == ("joint", holder.serial)
    bank, number = account_of("C001")
    prepared = client.call(
        "POST",
        "/v1/transfers",
        {
            "from_bank": bank,
            "from_account": number,
            "to_bank": PAYEE[0],
            "to_account": PAYEE[1],
            "amount": 30_000,
            "medium": "certificate",
        },
    )
    document = base64.b64decode(prepared["document_b64"])
    assert f"certificate: {holder.serial}".encode() in document
    # a signature by another key ends the transfer
    other = joint_holder(center, tmp_path, "C002", index=1)
    with pytest.raises(ApiError) as caught:
        client.call(
            "POST",
            f"/v1/transfers/{prepared['id']}/confirm",
            {"signature": holder.sign(document, key=other.key)},
        )
    assert_refusal(caught.value, "TRANSFER_SIGNATURE_MISMATCH")

    prepared = client.call(
        "POST",
        "/v1/transfers",
        {
            "from_bank": bank,
            "from_account": number,
            "to_bank": PAYEE[0],
            "to_account": PAYEE[1],
            "amount": 30_000,
        },
    )
    document = base64.b64decode(prepared["document_b64"])
    done = client.call(
        "POST", f"/v1/transfers/{prepared['id']}/confirm", {"signature": holder.sign(document)}
    )
    assert done["status"] == "completed"
    evidence = client.http.get(
        done["evidence_url"], headers={"Authorization": f"Bearer {client.token}"}
    ).content
    assert openssl_verify(tmp_path, center, evidence, None) == document
    algorithms = " ".join(signature_algorithms(tmp_path))
    assert "sha256WithRSAEncryption" in algorithms and "ecdsa" not in algorithms
    # the CMS carries the joint chain: the signer, the joint CA, the root
    answer = client.call(
        "POST", "/v1/documents/verify", {"cms_b64": base64.b64encode(evidence).decode()}
    )
    assert answer["valid"] and answer["issued_by_this_center"] and answer["trustworthy"]
    assert answer["serial"] == holder.serial


def test_a_document_signed_with_the_joint_certificate(
    client: CenterClient, center: Center, tmp_path: Path
) -> None:
    holder = joint_holder(center, tmp_path)
    login(client, holder)
    body = {"name": "위임장.txt", "document_b64": base64.b64encode(DOCUMENT).decode()}
    with pytest.raises(ApiError) as caught:
        client.call("POST", "/v1/documents/sign", {**body, "signature": holder.sign(b"other")})
    assert_refusal(caught.value, "SIGNATURE_INVALID")
    signed = client.call("POST", "/v1/documents/sign", {**body, "signature": holder.sign(DOCUMENT)})
    cms = base64.b64decode(signed["cms_b64"])
    openssl_verify(tmp_path, center, cms, DOCUMENT)
    # RFC 5754: the SHA-256 AlgorithmIdentifiers carry no parameters
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(tmp_path / "signed.p7")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    at = [i for i, line in enumerate(parsed) if line.rstrip().endswith(":sha256")]
    assert len(at) >= 2 and all("NULL" not in parsed[i + 1] for i in at)
    answer = client.call(
        "POST",
        "/v1/documents/verify",
        {"cms_b64": signed["cms_b64"], "document_b64": body["document_b64"]},
    )
    assert answer["valid"] and answer["trustworthy"] and answer["serial"] == holder.serial
    # revoked: the session ends with it, and the verify endpoint says so
    center.joint_authority.revoke(holder.certificate, reason=None)
    with pytest.raises(ApiError) as caught:
        client.call("POST", "/v1/documents/sign", {**body, "signature": holder.sign(DOCUMENT)})
    assert caught.value.code in ("CERTIFICATE_REVOKED", "SESSION_INVALID")
    client.token = None
    answer = client.call(
        "POST",
        "/v1/documents/verify",
        {"cms_b64": signed["cms_b64"], "document_b64": body["document_b64"]},
    )
    assert answer["certificate_status"] == "revoked" and not answer["trustworthy"]


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # PyPinkSign leaves its files open
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_pypinksign_logs_in_from_the_npki_folder(
    client: CenterClient, center: Center, tmp_path: Path
) -> None:
    holder = joint_holder(center, tmp_path, form=KeyFileForm.SEED_CBC_WITH_SHA1)
    common_name = holder.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    signer = pypinksign.choose_cert(
        base_path=str(holder.npki), cn=str(common_name[0].value)[:3], pw=PASSWORD.encode()
    )
    assert signer.serialnum() == holder.certificate.serial_number
    issued = client.call("POST", "/v1/joint/login/challenges", {})
    signature = base64.b64encode(signer.sign(issued["sign"].encode())).decode()
    random_b64 = base64.b64encode(signer._rand_num.asOctets()).decode()
    answer = client.call(
        "POST",
        "/v1/joint/login",
        {
            "challenge": issued["challenge"],
            "signature": signature,
            "serial": holder.serial,
            "rrn": rrn_of("C001"),
            "random_b64": random_b64,
        },
    )
    assert answer["method"] == "joint" and answer["identity_checked"] is True
    # the same signature again: the challenge was used
    with pytest.raises(ApiError) as caught:
        client.call(
            "POST",
            "/v1/joint/login",
            {"challenge": issued["challenge"], "signature": signature, "serial": holder.serial},
        )
    assert_refusal(caught.value, "CHALLENGE_INVALID")
