"""``certcenter ocsp publish``: the stored responses as files a static web server serves,
read back by the real openssl client."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.entities import CertificateStatus
from certcenter.revocation import RevocationStatus
from certcenter.revocation.ocsp_files import publish_responses
from tests.revocation.support import Pki, change_status, issue, openssl_ocsp, run
from tests.support.flow import FlowFactory


def _read(pki: Pki, response: Path, leaf: Path) -> str:
    checked = run("openssl", "ocsp", "-respin", response, "-issuer", pki.issuing,
                  "-cert", leaf, "-CAfile", pki.root, "-no_nonce")  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Response verify OK" in checked.stderr
    return next(line.strip() for line in checked.stdout.splitlines() if str(leaf) in line)


def test_published_files_are_the_stored_responses_and_verify(
    center: Center,
    pki: Pki,
    revocation: RevocationStatus,
    status_url: str,
    new_flow: FlowFactory,
    tmp_path: Path,
) -> None:
    good = issue(new_flow, "C001", tmp_path)
    revoked = issue(new_flow, "C003", tmp_path)
    never_asked = issue(new_flow, "C007", tmp_path)
    for issued in (good, revoked):
        openssl_ocsp(pki, status_url, "-cert", issued.leaf, nonce=False)  # stored
    change_status(center, revoked.serial, CertificateStatus.REVOKED, x509.ReasonFlags.superseded)
    openssl_ocsp(pki, status_url, "-cert", revoked.leaf, nonce=False)  # stored as revoked

    out = tmp_path / "www"
    result = publish_responses(revocation.ocsp, out)
    assert (result.written, result.refreshed, result.removed) == (2, 0, 0)

    key_hash = x509.SubjectKeyIdentifier.from_public_key(
        center.hierarchy().issuing("mobile").certificate.public_key()
    ).digest.hex()
    files = {path.name: path for path in out.iterdir()}
    assert set(files) == {f"{key_hash}-{issued.number:x}.der" for issued in (good, revoked)}
    for issued in (good, revoked):
        with center.uow_factory(read_only=True) as uow:
            entry = uow.ocsp.get(issued.serial)
        assert entry is not None
        assert files[f"{key_hash}-{issued.number:x}.der"].read_bytes() == bytes(entry.der)
    assert _read(pki, files[f"{key_hash}-{good.number:x}.der"], good.leaf) == f"{good.leaf}: good"
    assert _read(pki, files[f"{key_hash}-{revoked.number:x}.der"], revoked.leaf) == (
        f"{revoked.leaf}: revoked"
    )
    assert f"{key_hash}-{never_asked.number:x}.der" not in files

    # a status change drops the stored response: the next publish removes its file
    (out / "index.html").write_text("not ours")
    change_status(center, good.serial, CertificateStatus.REVOKED, x509.ReasonFlags.key_compromise)
    again = publish_responses(revocation.ocsp, out)
    assert (again.written, again.removed) == (1, 1)
    assert sorted(path.name for path in out.iterdir()) == sorted(
        ["index.html", f"{key_hash}-{revoked.number:x}.der"]
    )
