"""The center's time-stamping authority (RFC 3161) against OpenSSL: ``openssl ts -query``
makes the queries, ``POST /tsa`` answers them, ``openssl ts -reply`` reads the answers and
``openssl ts -verify`` checks the tokens against the root; what it cannot grant is a
rejection with the failInfo RFC 3161 names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certcenter.bootstrap import Center
from certcenter.pki.pem import certificate_pem
from certcenter.tsa.authority import TSA_POLICY_SUBARC, TimeStampReply
from tests.conftest import LiveServer

QUERY = "application/timestamp-query"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the authority keeps nothing in the database


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def ask(api: LiveServer, query: bytes, content_type: str = QUERY) -> httpx.Response:
    return httpx.post(
        f"{api.url}/tsa", content=query, headers={"Content-Type": content_type}, timeout=30
    )


def make_query(tmp_path: Path, data: Path, *options: str) -> bytes:
    out = tmp_path / "q.tsq"
    made = openssl("ts", "-query", "-data", str(data), "-out", str(out), *options)
    assert made.returncode == 0, made.stderr
    return out.read_bytes()


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "계약서.txt"
    path.write_bytes("갑은 을에게 1,000,000원을 지급한다.\n".encode())
    return path


def test_an_openssl_query_is_granted_and_its_token_verifies(
    api: LiveServer, center: Center, tmp_path: Path, document: Path
) -> None:
    query = make_query(tmp_path, document, "-sha256", "-cert")
    answer = ask(api, query)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/timestamp-reply"
    reply = tmp_path / "r.tsr"
    reply.write_bytes(answer.content)
    text = openssl("ts", "-reply", "-in", str(reply), "-text")
    assert text.returncode == 0, text.stderr
    assert "Status: Granted." in text.stdout
    policy = f"{center.settings.bank_oid_arc}.{TSA_POLICY_SUBARC}"
    assert f"Policy OID: {policy}" in text.stdout
    assert "Nonce: 0x" in text.stdout  # openssl asks with a nonce: it is echoed
    root = center.settings.ca_path / "root-ca.pem"
    ok = openssl("ts", "-verify", "-data", str(document), "-in", str(reply), "-CAfile", str(root))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Verification: OK" in ok.stdout
    # the same token does not verify another document
    other = tmp_path / "other.txt"
    other.write_bytes(document.read_bytes() + b" ")
    bad = openssl("ts", "-verify", "-data", str(other), "-in", str(reply), "-CAfile", str(root))
    assert bad.returncode != 0
    # nor against a query with another nonce
    second = tmp_path / "second.tsq"
    second.write_bytes(make_query(tmp_path, document, "-sha256", "-cert"))
    mismatch = openssl(
        "ts", "-verify", "-queryfile", str(second), "-in", str(reply), "-CAfile", str(root)
    )
    assert mismatch.returncode != 0


def test_without_cert_req_the_token_names_its_authority_and_verifies_with_its_chain(
    api: LiveServer, center: Center, tmp_path: Path, document: Path
) -> None:
    query = tmp_path / "q.tsq"
    query.write_bytes(make_query(tmp_path, document, "-sha512", "-no_nonce"))
    reply = tmp_path / "r.tsr"
    reply.write_bytes(ask(api, query.read_bytes()).content)
    untrusted = tmp_path / "tsa-chain.pem"
    held = center.tsa.key.current()
    untrusted.write_text("".join(certificate_pem(c) for c in (held.certificate, *held.chain)))
    root = center.settings.ca_path / "root-ca.pem"
    args = ["-in", str(reply), "-CAfile", str(root), "-untrusted", str(untrusted)]
    ok = openssl("ts", "-verify", "-queryfile", str(query), *args)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    token = TimeStampReply.load(reply.read_bytes())["time_stamp_token"]
    assert len(token["content"]["certificates"] or []) == 0  # not asked for: not sent
    assert token["content"]["encap_content_info"]["content"].parsed["nonce"].native is None


def test_the_authority_certificate_is_for_time_stamping_only(center: Center) -> None:
    held = center.tsa.key.current()
    eku = held.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert held.certificate.issuer == held.chain[0].subject
    held.certificate.verify_directly_issued_by(held.chain[0])
    usage = held.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    # the key stays in the backend: the certificate names the backend's key
    assert held.certificate.public_key() == center.keys.public_key("tsa")


@pytest.mark.parametrize(
    ("options", "words", "fail_info"),
    [
        (["-sha1"], "unrecognized or unsupported algorithm identifier", "bad_alg"),
        (["-md5"], "unrecognized or unsupported algorithm identifier", "bad_alg"),
        (
            ["-sha256", "-tspolicy", "1.2.3.4"],
            "requested TSA policy is not supported",
            "unaccepted_policy",
        ),
    ],
)
def test_a_query_it_cannot_grant_is_rejected_with_its_fail_info(
    api: LiveServer,
    tmp_path: Path,
    document: Path,
    options: list[str],
    words: str,
    fail_info: str | None,
) -> None:
    answer = ask(api, make_query(tmp_path, document, *options))
    assert answer.status_code == 200
    reply = tmp_path / "r.tsr"
    reply.write_bytes(answer.content)
    text = openssl("ts", "-reply", "-in", str(reply), "-text")
    assert "Status: Rejected." in text.stdout, text.stdout + text.stderr
    assert words in text.stdout
    status = TimeStampReply.load(answer.content)["status"]
    assert status["status"].native == "rejection"
    assert fail_info is None or fail_info in status["fail_info"].native


def test_what_is_no_query_is_rejected_as_bad_data_format_or_refused(api: LiveServer) -> None:
    garbage = ask(api, b"\x30\x03\x02\x01\x07")
    status = TimeStampReply.load(garbage.content)["status"]
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {"bad_data_format"}
    wrong_type = ask(api, b"\x30\x00", content_type="application/octet-stream")
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"].startswith("application/problem+json")
    assert wrong_type.json()["code"] == "TSA_CONTENT_TYPE_WRONG"
    too_large = ask(api, b"\x30" * 5000)
    assert too_large.status_code == 413
    assert too_large.json()["code"] == "REQUEST_TOO_LARGE"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.binary(max_size=300))
def test_any_bytes_get_a_readable_answer(center: Center, query: bytes) -> None:
    answer = TimeStampReply.load(center.tsa.respond(query))
    assert answer["status"]["status"].native in {"granted", "rejection"}
