"""Renewal, revocation and status of joint certificates: OCSP and CRL judged by openssl;
pkilint on both profiles."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.pki.crl import crl_path
from certcenter.pki.pem import certificate_pem
from tests.conftest import LiveServer
from tests.joint.support import Registrant, enroll, rsa_key, spki
from tests.support.pkilint import Linter


@pytest.fixture
def clock() -> FrozenClock:
    """Real time: openssl judges the OCSP response's and the CRL's times by the machine's."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


def refused(work) -> CertCenterError:  # type: ignore[no-untyped-def]
    with pytest.raises(CertCenterError) as caught:
        work()
    return caught.value


def status_of(center: Center, certificate: x509.Certificate) -> str:
    with center.uow_factory() as uow:
        record = uow.certificates.get(format(certificate.serial_number, "X"))
        assert record is not None
        return record.status


def test_renewal_window(center: Center, clock: FrozenClock) -> None:
    enrolled, tid = enroll(center, Registrant(center, "C001").all_steps())
    center.joint_authority.confirm(tid, accepted=True)
    old = enrolled.certificate
    authority = center.joint_authority

    def renew() -> object:
        return authority.renew(old, public_key_der=spki(rsa_key(1)), transaction_id=os.urandom(16))

    early = refused(renew)
    assert early.code == "JOINT_RENEWAL_TOO_EARLY"
    clock.advance(days=340)
    renewed = authority.renew(old, public_key_der=spki(rsa_key(1)), transaction_id=b"renew-1")
    assert renewed.vid_random == b""
    assert renewed.certificate.subject == old.subject
    san = x509.SubjectAlternativeName
    assert (
        renewed.certificate.extensions.get_extension_for_class(san).value
        == old.extensions.get_extension_for_class(san).value
    )
    assert status_of(center, old) == "superseded"
    center.joint_authority.confirm(b"renew-1", accepted=True)
    # the old one cannot be renewed again; the new one only in its own window
    assert refused(renew).code == "JOINT_CERTIFICATE_UNKNOWN"
    clock.advance(days=400)
    late = refused(
        lambda: authority.renew(
            renewed.certificate, public_key_der=spki(rsa_key(0)), transaction_id=os.urandom(16)
        )
    )
    assert late.code in ("JOINT_CERTIFICATE_EXPIRED", "JOINT_CERTIFICATE_UNKNOWN")


def test_a_second_certificate_supersedes_the_first(center: Center, clock: FrozenClock) -> None:
    first, tid = enroll(center, Registrant(center, "C001").all_steps())
    center.joint_authority.confirm(tid, accepted=True)
    clock.advance(seconds=60)
    second, tid2 = enroll(center, Registrant(center, "C001", "general").all_steps(), index=1)
    center.joint_authority.confirm(tid2, accepted=True)
    assert status_of(center, first.certificate) == "superseded"
    assert status_of(center, second.certificate) == "active"


def _write(path: Path, certificate: x509.Certificate) -> Path:
    path.write_text(certificate_pem(certificate))
    return path


def test_revoked_joint_certificate_in_ocsp_and_crl(
    api: LiveServer, center: Center, tmp_path: Path
) -> None:
    enrolled, tid = enroll(center, Registrant(center, "C001").all_steps())
    center.joint_authority.confirm(tid, accepted=True)
    leaf = _write(tmp_path / "leaf.pem", enrolled.certificate)
    issuing = _write(tmp_path / "joint-ca.pem", enrolled.chain[0])
    root = _write(tmp_path / "root.pem", enrolled.chain[1])

    def ocsp() -> str:
        done = subprocess.run(
            [
                *("openssl", "ocsp", "-issuer", str(issuing), "-cert", str(leaf)),
                *("-url", f"{api.url}/ocsp", "-CAfile", str(root), "-no_nonce"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "Response verify OK" in done.stderr + done.stdout, done.stdout + done.stderr
        assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr
        return done.stdout

    assert f"{leaf}: good" in ocsp()
    center.joint_authority.revoke(enrolled.certificate, reason=x509.ReasonFlags.key_compromise)
    answer = ocsp()
    assert f"{leaf}: revoked" in answer and "Reason: keyCompromise" in answer

    shard = int(
        enrolled.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        .value[0]
        .full_name[0]
        .value.rsplit("-", 1)[1]
        .split(".")[0]
    )
    response = httpx.get(f"{api.url}{crl_path('joint', shard)}", timeout=30)
    assert response.status_code == 200
    crl = x509.load_der_x509_crl(response.content)
    assert crl.get_revoked_certificate_by_serial_number(enrolled.certificate.serial_number)
    assert crl.is_signature_valid(enrolled.chain[0].public_key())
    crl_file = tmp_path / "joint.crl"
    crl_file.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    verified = subprocess.run(
        [
            *("openssl", "verify", "-crl_check", "-CAfile", str(root)),
            *("-untrusted", str(issuing), "-CRLfile", str(crl_file), str(leaf)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode != 0 and "certificate revoked" in verified.stdout + verified.stderr
    # revoked: neither renewed nor revoked again through CMP
    assert (
        refused(lambda: center.joint_authority.revoke(enrolled.certificate, reason=None)).code
        == "JOINT_CERTIFICATE_UNKNOWN"
    )


@pytest.mark.parametrize("kind", ["banking", "general"])
def test_pkilint_finds_no_error(center: Center, kind: str) -> None:
    enrolled, _ = enroll(center, Registrant(center, "C001", kind).all_steps())
    linter = Linter()
    assert linter.errors(enrolled.certificate) == []
    assert linter.errors(enrolled.chain[0]) == []
