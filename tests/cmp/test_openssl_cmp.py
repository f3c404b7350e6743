"""``openssl cmp`` (OpenSSL 3) against the real server process (``certcenter serve``) and the
real joint certificate authority: a registration's reference number (참조번호) and
authorization code (인가코드) get a certificate that ``openssl verify`` accepts with the chain
the server sent; the old key renews it (kur); it revokes itself (rr) and OCSP then says
revoked; a wrong code is refused and counted against the reference.

The customer registers over HTTP at the server process (/v1/joint/registrations); what only
the bank's branch or the customer's phone would do (hand out the security card, read the SMS
code) is done in this process over the same data directory.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from certcenter.bootstrap import Center, build_center
from certcenter.config import load_settings
from certcenter.joint.kinds import AUTHORIZATION_FACTOR
from certcenter.media.security_card import answer_for
from tests.cmp.test_openssl_inprocess import write_key
from tests.conftest import PG_URL, _postgres_reachable
from tests.joint.support import rrn_of
from tests.media.test_otp_service import sms_code
from tests.media.test_security_card import issue_and_register
from tests.server.test_server_process import ServerProcess

pytestmark = pytest.mark.server
OPENSSL = "/usr/bin/openssl"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The server's database: its own SQLite file, or a PostgreSQL database of its own
    (made empty here; the server's first start migrates it)."""
    if request.param == "sqlite":
        yield None
        return
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"certcenter_cmp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def server(tmp_path: Path, database: str | None) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    if database is not None:
        process.env["CERTCENTER_DATABASE_URL"] = database
    # a certificate issued now may be renewed at once (the policy's window is 30 days)
    process.env["CERTCENTER_POLICY__JOINT_RENEWAL_WINDOW_DAYS"] = "400"
    process.env["CERTCENTER_WORKERS"] = "1"
    try:
        process.start(timeout=180)  # the first start makes the CA and seeds the world
        yield process
    finally:
        process.stop()


@pytest.fixture
def center(server: ServerProcess) -> Iterator[Center]:
    """The same center as the server's (its data directory), in this process."""
    built = build_center(load_settings(environ=server.env))
    yield built
    built.close()


def register_over_http(url: str, center: Center) -> tuple[str, str, str]:
    """(registration id, reference number, authorization code) of C001's banking-only
    registration, made through the server's API."""
    _, _, slots = issue_and_register(center, "C001")
    base = "/v1/joint/registrations"
    with httpx.Client(base_url=url, timeout=60) as http:
        terms = http.get(f"{base}/terms").json()
        started = http.post(base, json={"kind": "banking", "accepted": terms["required"]})
        assert started.status_code == 201, started.text
        path = f"{base}/{started.json()['registration_id']}"
        http.headers["Authorization"] = f"Bearer {started.json()['token']}"

        def step(name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
            answer = http.post(f"{path}/{name}", json=payload or {})
            assert answer.status_code in (200, 201), answer.text
            result: dict[str, Any] = answer.json()
            return result

        step("identify", {"user_id": "c001user", "rrn": rrn_of("C001")})
        question = step("medium", {"medium": "security_card"})["detail"]["security_card"]
        answer = answer_for(slots, question["slot_a"], question["slot_b"])
        step(
            "medium/verify", {"card_challenge_id": question["challenge_id"], "card_answer": answer}
        )
        step("code")
        step("code/verify", {"code": sms_code(center, "01020000001")})
        detail = step("register")["detail"]
    return started.json()["registration_id"], detail["reference"], detail["authorization_code"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_openssl_cmp_issues_renews_and_revokes_a_joint_certificate(
    server: ServerProcess, center: Center, tmp_path: Path
) -> None:
    registration_id, reference, code = register_over_http(server.url, center)
    at = ["-server", f"127.0.0.1:{server.port}", "-path", "cmp"]
    ca_dir = center.settings.ca_path
    root = ca_dir / "root-ca.pem"

    # a wrong authorization code: refused (badMessageCheck) and counted
    key = write_key(tmp_path / "key.pem")
    wrong = run(
        "cmp",
        *at,
        "-cmd",
        "ir",
        "-ref",
        reference,
        "-secret",
        "pass:0000000000000000",
        "-newkey",
        str(key),
        "-certout",
        str(tmp_path / "never.pem"),
        "-unprotected_errors",
    )
    said = wrong.stdout + wrong.stderr
    assert wrong.returncode != 0 and "badMessageCheck" in said, said
    with center.uow_factory(read_only=True) as uow:
        counter = uow.factors.get(registration_id, AUTHORIZATION_FACTOR)
    assert counter is not None and counter.failures == 1
    assert not (tmp_path / "never.pem").exists()

    # ir with the right code: the certificate, its chain, the root
    cert, chain, cacerts = tmp_path / "cert.pem", tmp_path / "chain.pem", tmp_path / "ca.pem"
    done = run(
        "cmp",
        *at,
        "-cmd",
        "ir",
        "-ref",
        reference,
        "-secret",
        f"pass:{code}",
        "-newkey",
        str(key),
        "-certout",
        str(cert),
        "-extracertsout",
        str(chain),
        "-cacertsout",
        str(cacerts),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verify = run(
        "verify", "-x509_strict", "-CAfile", str(root), "-untrusted", str(chain), str(cert)
    )
    assert verify.returncode == 0 and f"{cert}: OK" in verify.stdout, verify.stdout + verify.stderr
    assert cacerts.read_bytes() == root.read_bytes()
    issued = x509.load_pem_x509_certificate(cert.read_bytes())
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(f"{issued.serial_number:X}")
        assert record is not None and record.status == "active" and record.family == "joint"
        row = uow.joint_registrations.by_reference(reference)
        assert row is not None and row.state == "confirmed"  # openssl sent its certConf

    # kur: signed with the old key, answered by the CMP responder (trusted through the root)
    new_key, new_cert = write_key(tmp_path / "new-key.pem"), tmp_path / "new-cert.pem"
    done = run(
        "cmp",
        *at[:2],
        "-path",
        ".well-known/cmp",
        "-cmd",
        "kur",
        "-key",
        str(key),
        "-cert",
        str(cert),
        "-newkey",
        str(new_key),
        "-certout",
        str(new_cert),
        "-trusted",
        str(root),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    renewed = x509.load_pem_x509_certificate(new_cert.read_bytes())
    assert renewed.subject == issued.subject and renewed.serial_number != issued.serial_number
    verify = run("verify", "-CAfile", str(root), "-untrusted", str(chain), str(new_cert))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # rr: it revokes itself; OCSP says so
    done = run(
        "cmp",
        *at,
        "-cmd",
        "rr",
        "-key",
        str(new_key),
        "-cert",
        str(new_cert),
        "-oldcert",
        str(new_cert),
        "-trusted",
        str(root),
        "-revreason",
        "1",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    joint_ca = ca_dir / "joint-ca.pem"
    ocsp = run(
        "ocsp",
        "-issuer",
        str(joint_ca),
        "-cert",
        str(new_cert),
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        str(root),
        "-verify_other",
        str(joint_ca),
    )
    assert f"{new_cert}: revoked" in ocsp.stdout, ocsp.stdout + ocsp.stderr
    assert "Response verify OK" in ocsp.stdout + ocsp.stderr
    assert "Reason: keyCompromise" in ocsp.stdout

    # the answers to kur and rr were signed by the CMP responder, issued by the joint CA
    responder = x509.load_pem_x509_certificate((ca_dir / "cmp-responder.pem").read_bytes())
    responder.verify_directly_issued_by(center.hierarchy.issuing("joint").certificate)
    usage = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [oid.dotted_string for oid in usage] == ["1.3.6.1.5.5.7.3.28"]  # id-kp-cmcRA
