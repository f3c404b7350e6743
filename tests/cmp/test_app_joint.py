"""``certcenter app joint issue | show | export | import | renew | revoke`` against the real
server process (``certcenter serve``, SQLite and PostgreSQL): a registration made over
/v1/joint/registrations gets its certificate through the app's CMP client; PyPinkSign opens
the NPKI folder with the password, ``openssl verify`` accepts the certificate with the chain,
the VID matches the right resident number only, ``openssl pkcs12`` reads the export and
makes a file the app imports, the old key renews it, and after revoke OCSP says revoked. A
wrong authorization code is refused with its code and counted; a weak password is refused
before anything is sent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pypinksign
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from certcenter.joint.kinds import AUTHORIZATION_FACTOR
from certcenter.npki.folder import CERT_FILE, KEY_FILE, list_folders, read_folder, write_folder
from certcenter.pki.vid import vid_matches, vid_other_name
from tests.cmp.test_openssl_cmp import (  # noqa: F401 - the fixtures of the server process
    center,
    database,
    register_over_http,
    server,
)
from tests.joint.support import rrn_of
from tests.npki.conftest import RANDOM, RRN
from tests.server.test_server_process import ServerProcess
from tests.support.throwaway_ca import ThrowawayCa

pytestmark = pytest.mark.server
OPENSSL = "/usr/bin/openssl"
PASSWORD = "kb-Joint#2026"
PFX_PASSWORD = "pfx-Export#77"
OPENSSL_PASSWORD = "ossl-Pass#42"


def app(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--lang", "en", "app", "joint", *args], input=input)


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )


def only_folder(npki: Path) -> Path:
    folders = [folder for folder, _ in list_folders(npki)]
    assert len(folders) == 1, folders
    return folders[0]


def pem(certificate: x509.Certificate, path: Path) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # PyPinkSign leaves its files open
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_app_issues_shows_exports_imports_renews_and_revokes(
    server: ServerProcess,  # noqa: F811 - the fixtures imported above
    center: Center,  # noqa: F811
    tmp_path: Path,
) -> None:
    registration_id, reference, code = register_over_http(server.url, center)
    npki = tmp_path / "NPKI"
    url = ["--url", server.url]
    ca_dir = center.settings.ca_path
    root_pem, joint_ca_pem = ca_dir / "root-ca.pem", ca_dir / "joint-ca.pem"

    # a wrong authorization code: the server's refusal, counted against the reference
    wrong = app(
        "issue",
        "--ref",
        reference,
        "--code",
        "0000000000000000",
        "--npki",
        str(npki),
        *url,
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert wrong.exit_code == 1, wrong.output
    assert "[CMP_PROTECTION_INVALID]" in wrong.output and "Traceback" not in wrong.output
    with center.uow_factory(read_only=True) as uow:
        counter = uow.factors.get(registration_id, AUTHORIZATION_FACTOR)
    assert counter is not None and counter.failures == 1
    assert not list(list_folders(npki))

    # issue: the code asked without echo, the password twice
    issued = app(
        "issue",
        "--ref",
        reference,
        "--npki",
        str(npki),
        *url,
        input=f"{code}\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert issued.exit_code == 0, issued.output
    assert code not in issued.output and PASSWORD not in issued.output
    folder = only_folder(npki)
    certificate = x509.load_der_x509_certificate((folder / CERT_FILE).read_bytes())
    assert (folder.parent.parent / "root-ca.der").read_bytes() == x509.load_pem_x509_certificate(
        root_pem.read_bytes()
    ).public_bytes(serialization.Encoding.DER)
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(f"{certificate.serial_number:X}")
        assert record is not None and record.status == "active" and record.family == "joint"
        row = uow.joint_registrations.by_reference(reference)
        assert row is not None and row.state == "confirmed"

    # PyPinkSign opens the folder with the password, signs, and reads the VID random value
    signer = pypinksign.PinkSign(
        pubkey_path=str(folder / CERT_FILE),
        prikey_path=str(folder / KEY_FILE),
        prikey_password=PASSWORD.encode(),
    )
    signature = signer.sign(b"login 2026-12-04")
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, b"login 2026-12-04", padding.PKCS1v15(), hashes.SHA256())
    random_num = signer._rand_num.asOctets()
    assert vid_matches(certificate, rrn_of("C001"), random_num)

    # openssl verify accepts it with the chain
    leaf = pem(certificate, tmp_path / "leaf.pem")
    verify = openssl(
        "verify",
        "-x509_strict",
        "-CAfile",
        str(root_pem),
        "-untrusted",
        str(joint_ca_pem),
        str(leaf),
    )
    assert verify.returncode == 0 and f"{leaf}: OK" in verify.stdout, verify.stdout + verify.stderr

    # show; --rrn says whether the VID is that number's
    shown = app("show", "--npki", str(npki))
    assert shown.exit_code == 0, shown.output
    assert f"{certificate.serial_number:X}" in shown.output
    assert "Policy: banking, credit card and insurance" in shown.output  # 은행·신용카드·보험용
    right = app("show", "--npki", str(npki), "--rrn", input=f"{PASSWORD}\n{rrn_of('C001')}\n")
    assert right.exit_code == 0, right.output
    assert "number matches the certificate" in right.output
    assert rrn_of("C001") not in right.output
    other = app("show", "--npki", str(npki), "--rrn", input=f"{PASSWORD}\n{rrn_of('C002')}\n")
    assert other.exit_code == 3 and "does not match" in other.output, other.output
    typo = app("show", "--npki", str(npki), "--rrn", input=f"{PASSWORD}\n123\n")
    assert typo.exit_code == 1 and "[RRN_INVALID]" in typo.output, typo.output
    bad = app("show", "--npki", str(npki), "--rrn", input="not-the-Password#1\n")
    assert bad.exit_code == 1 and "[NPKI_PASSWORD_WRONG]" in bad.output, bad.output

    # export: openssl reads the file (no -legacy), its MAC, the random value in the key
    pfx = tmp_path / "joint.pfx"
    exported = app(
        "export",
        "--npki",
        str(npki),
        "--out",
        str(pfx),
        input=f"{PASSWORD}\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n",
    )
    assert exported.exit_code == 0, exported.output
    info = openssl("pkcs12", "-info", "-in", str(pfx), "-passin", f"pass:{PFX_PASSWORD}", "-noenc")
    assert info.returncode == 0, info.stderr
    assert "MAC: sha256, Iteration 100000" in info.stderr  # verified: openssl fails otherwise
    assert "1.2.410.200004.10.1.1.3" in info.stdout
    again = app("export", "--npki", str(npki), "--out", str(pfx), input=f"{PASSWORD}\n")
    assert again.exit_code != 0 and "--overwrite" in again.output

    # import: a file openssl pkcs12 -export made
    opened = read_folder(folder, PASSWORD)
    key_pem = tmp_path / "key.pem"
    key_pem.write_bytes(
        opened.key.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    made = tmp_path / "openssl.pfx"
    done = openssl(
        "pkcs12",
        "-export",
        "-inkey",
        str(key_pem),
        "-in",
        str(leaf),
        "-out",
        str(made),
        "-passout",
        f"pass:{OPENSSL_PASSWORD}",
    )
    assert done.returncode == 0, done.stderr
    other_npki = tmp_path / "other" / "NPKI"
    imported = app(
        "import",
        "--pfx",
        str(made),
        "--npki",
        str(other_npki),
        input=f"{OPENSSL_PASSWORD}\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert imported.exit_code == 0, imported.output
    moved = read_folder(only_folder(other_npki), PASSWORD)
    assert moved.certificate == certificate and moved.key.random_num is None  # OpenSSL's file

    # renew (the server's policy opens the window at once): a new key, the same R
    renewed = app("renew", "--npki", str(npki), "--password-stdin", *url, input=f"{PASSWORD}\n")
    assert renewed.exit_code == 0, renewed.output
    assert only_folder(npki) == folder
    after = read_folder(folder, PASSWORD)
    assert after.certificate.serial_number != certificate.serial_number
    assert after.certificate.subject == certificate.subject
    assert after.key.random_num == random_num
    assert vid_matches(after.certificate, rrn_of("C001"), random_num)
    new_leaf = pem(after.certificate, tmp_path / "renewed.pem")
    verify = openssl(
        "verify", "-CAfile", str(root_pem), "-untrusted", str(joint_ca_pem), str(new_leaf)
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # revoke; OCSP says revoked
    revoked = app(
        "revoke", "--npki", str(npki), "--reason", "keyCompromise", *url, input=f"{PASSWORD}\ny\n"
    )
    assert revoked.exit_code == 0, revoked.output
    ocsp = openssl(
        "ocsp",
        "-issuer",
        str(joint_ca_pem),
        "-cert",
        str(new_leaf),
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        str(root_pem),
        "-verify_other",
        str(joint_ca_pem),
    )
    assert f"{new_leaf}: revoked" in ocsp.stdout, ocsp.stdout + ocsp.stderr
    assert "Response verify OK" in ocsp.stdout + ocsp.stderr
    assert "Reason: keyCompromise" in ocsp.stdout

    # a revoked certificate renews no more: the server's refusal, as its code
    refused = app("renew", "--npki", str(npki), "--password-stdin", *url, input=f"{PASSWORD}\n")
    assert refused.exit_code == 1 and "[CMP_CERTIFICATE_REVOKED]" in refused.output


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("short#1\nshort#1\n", "NPKI_PASSWORD_TOO_WEAK"),
        ("password1234\npassword1234\n", "NPKI_PASSWORD_TOO_WEAK"),
        (f"{PASSWORD}\n{PASSWORD}x\n", "NPKI_PASSWORD_CONFIRMATION_MISMATCH"),
    ],
)
def test_a_weak_password_is_refused_before_anything_is_sent(
    tmp_path: Path, typed: str, code: str
) -> None:
    # nothing listens on the discard port: a request would end as CENTER_UNREACHABLE
    npki = tmp_path / "NPKI"
    result = app(
        "issue",
        "--ref",
        "4821937560",
        "--code",
        "Ab3dEf6hJk9mNp2q",
        "--npki",
        str(npki),
        "--url",
        "http://127.0.0.1:9",
        input=typed,
    )
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.output and "CENTER_UNREACHABLE" not in result.output
    assert not npki.exists()


def test_renew_without_the_root_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    # a folder copied from another device has no root-ca.der beside it
    ca = ThrowawayCa.make("yessign")
    leaf = ca.issue("홍길동()0012345678901234", vid=vid_other_name("홍길동", RRN, RANDOM))
    npki = tmp_path / "NPKI"
    write_folder(npki, leaf.certificate, leaf.key, PASSWORD, random_num=RANDOM)
    result = app("renew", "--npki", str(npki), "--url", "http://127.0.0.1:9", input=f"{PASSWORD}\n")
    assert result.exit_code == 1 and "[CMP_TRUST_ANCHOR_MISSING]" in result.output, result.output
