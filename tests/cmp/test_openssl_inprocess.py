"""OpenSSL's CMP client (``openssl cmp``, OpenSSL 3) against the center's HTTP endpoint in a
live server, with the throwaway authority: OpenSSL judges our messages, their MAC and their
signatures. The same client against the real server process and the real joint certificate
authority: test_openssl_cmp.py."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certcenter.bootstrap import Center
from tests.cmp.cmp_client import read
from tests.cmp.rig import CODE, REFERENCE, Rig
from tests.conftest import LiveServer

OPENSSL = "/usr/bin/openssl"
PKIXCMP = "application/pkixcmp"


def write_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def cmp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, "cmp", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def served(center: Center, rig: Rig, live_server: LiveServer) -> LiveServer:
    rig.clock.set(datetime.now(UTC))  # openssl stamps its messages with the real time
    live_server.serve(dataclasses.replace(center, cmp=rig.server))
    return live_server


def server_args(served: LiveServer, path: str = "cmp") -> list[str]:
    return ["-server", f"127.0.0.1:{served.port}", "-path", path]


def test_openssl_gets_renews_and_revokes_a_certificate(
    served: LiveServer, rig: Rig, center: Center, tmp_path: Path
) -> None:
    key = write_key(tmp_path / "key.pem")
    cert, chain, cacerts = tmp_path / "cert.pem", tmp_path / "chain.pem", tmp_path / "ca.pem"
    done = cmp(
        *server_args(served),
        "-cmd",
        "ir",
        "-ref",
        REFERENCE,
        "-secret",
        f"pass:{CODE.decode()}",
        "-newkey",
        str(key),
        "-subject",
        "/CN=Hong Gildong/O=Test/C=KR",
        "-recipient",
        "/CN=CA",
        "-certout",
        str(cert),
        "-extracertsout",
        str(chain),
        "-cacertsout",
        str(cacerts),
    )
    assert done.returncode == 0, done.stderr
    issued = x509.load_pem_x509_certificate(cert.read_bytes())
    assert rig.authority.confirmed == {next(iter(rig.authority.issued)): True}
    verify = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(cacerts), "-untrusted", str(chain), str(cert)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0 and f"{cert}: OK" in verify.stdout, verify.stderr

    root = tmp_path / "root.pem"
    root.write_bytes(center.hierarchy().root.certificate.public_bytes(serialization.Encoding.PEM))
    new_key, new_cert = write_key(tmp_path / "new.pem"), tmp_path / "new-cert.pem"
    done = cmp(
        *server_args(served, ".well-known/cmp"),
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
    assert done.returncode == 0, done.stderr
    renewed = x509.load_pem_x509_certificate(new_cert.read_bytes())
    assert renewed.subject == issued.subject and renewed.serial_number != issued.serial_number

    done = cmp(
        *server_args(served),
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
    assert done.returncode == 0, done.stderr
    assert rig.authority.revoked == {renewed.serial_number: x509.ReasonFlags.key_compromise}


def test_openssl_with_a_wrong_code_is_refused_and_counted(
    served: LiveServer, rig: Rig, tmp_path: Path
) -> None:
    done = cmp(
        *server_args(served),
        "-cmd",
        "ir",
        "-ref",
        REFERENCE,
        "-secret",
        "pass:not-the-code",
        "-newkey",
        str(write_key(tmp_path / "key.pem")),
        "-subject",
        "/CN=Hong",
        "-recipient",
        "/CN=CA",
        "-certout",
        str(tmp_path / "c.pem"),
        "-unprotected_errors",
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "badMessageCheck" in said and "CMP_PROTECTION_INVALID" in said, said
    assert rig.authority.bad_macs == {REFERENCE: 1} and rig.authority.issued == {}


@pytest.mark.parametrize("path", ["/cmp", "/.well-known/cmp"])
def test_the_http_route_answers_cmp_and_refuses_other_content(
    served: LiveServer, path: str
) -> None:
    url = served.url + path
    garbage = httpx.post(url, content=b"\x30\x80garbage", headers={"Content-Type": PKIXCMP})
    assert garbage.status_code == 400 and garbage.headers["content-type"] == PKIXCMP
    assert read(garbage.content).failure == {"badDataFormat"}

    wrong_type = httpx.post(url, content=b"\x30\x00", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json()["code"] == "CMP_CONTENT_TYPE_WRONG"

    too_large = httpx.post(url, content=b"\x30" * 40_000, headers={"Content-Type": PKIXCMP})
    assert too_large.status_code == 413 and too_large.json()["code"] == "REQUEST_TOO_LARGE"

    assert httpx.get(url).status_code == 405
