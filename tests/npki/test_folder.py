"""The NPKI folder: written as Korean programs lay it out, found by PyPinkSign's own folder
walk, read back, and refused with catalog codes when it is incomplete or does not match."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pypinksign
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.npki.folder import (
    CERT_FILE,
    KEY_FILE,
    find_folder,
    folder_name,
    list_folders,
    open_certificate,
    read_folder,
    write_folder,
)
from certcenter.npki.keyfile import KeyFileForm
from certcenter.pki.vid import vid_matches
from tests.npki.conftest import OTHER_PASSWORD, OTHER_RRN, PASSWORD, RRN, Holder
from tests.support.throwaway_ca import ThrowawayCa

FOLDER = "cn=홍길동()0012345678901234,ou=KMB,ou=personal4IB,o=yessign,c=KR"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_is_named_as_npki_programs_name_it(holder: Holder) -> None:
    assert folder_name(holder.certificate.subject) == FOLDER


def test_a_folder_name_never_leaves_its_folder() -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "../../etc/passwd\x00"),
        ]
    )
    assert folder_name(subject) == "cn=.._.._etc_passwd_,c=KR"


def test_write_then_open_by_subject(holder: Holder, tmp_path: Path) -> None:
    root = tmp_path / "NPKI"
    folder = write_folder(
        root, holder.certificate, holder.key, PASSWORD, random_num=holder.random_num
    )
    assert folder == root / "yessign" / "USER" / FOLDER
    assert sorted(p.name for p in folder.iterdir()) == [CERT_FILE, KEY_FILE]
    assert (folder / CERT_FILE).read_bytes() == holder.cert_der
    opened = open_certificate(root, holder.certificate.subject, PASSWORD)
    assert opened.folder == folder
    assert opened.certificate == holder.certificate
    assert opened.key.random_num == holder.random_num
    assert opened.key.key.private_numbers() == holder.key.private_numbers()
    assert vid_matches(opened.certificate, RRN, opened.key.random_num)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_files_are_0600_and_folders_0700(holder: Holder, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = tmp_path / "NPKI"
        folder = write_folder(root, holder.certificate, holder.key, PASSWORD, random_num=None)
    finally:
        os.umask(old)
    assert _mode(folder / CERT_FILE) == 0o600
    assert _mode(folder / KEY_FILE) == 0o600
    for made in (folder, folder.parent, folder.parent.parent, root):
        assert _mode(made) == 0o700, made


@pytest.mark.parametrize(
    ("form", "prf"), [(KeyFileForm.SEED_CBC_WITH_SHA1, "sha1"), (KeyFileForm.PBES2, "sha1")]
)
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # PyPinkSign leaves its files open
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_pypinksign_finds_our_folder_and_signs(
    holder: Holder, tmp_path: Path, form: KeyFileForm, prf: str
) -> None:
    """PyPinkSign's choose_cert walks NPKI/*/USER/cn=… as the Korean programs do."""
    root = tmp_path / "NPKI"
    write_folder(
        root,
        holder.certificate,
        holder.key,
        PASSWORD,
        random_num=holder.random_num,
        form=form,
        prf=prf,
    )
    signer = pypinksign.choose_cert(base_path=str(root), cn="홍길동", pw=PASSWORD.encode())
    assert signer.issuer() == "yessign"
    assert signer.cn() == "홍길동()0012345678901234"
    signature = signer.sign(b"login 2026-12-04")
    holder.certificate.public_key().verify(  # type: ignore[call-arg]
        signature, b"login 2026-12-04", padding.PKCS1v15(), hashes.SHA256()
    )
    random_num = signer._rand_num.asOctets()
    assert vid_matches(holder.certificate, RRN, random_num)
    assert not vid_matches(holder.certificate, OTHER_RRN, random_num)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_openssl_verifies_what_pypinksign_signs_with_our_files(
    holder: Holder, tmp_path: Path
) -> None:
    """PyPinkSign's PKCS#7 signed message, made with the key from our folder, checked by
    openssl cms against the throwaway CA."""
    root = tmp_path / "NPKI"
    write_folder(
        root,
        holder.certificate,
        holder.key,
        PASSWORD,
        random_num=holder.random_num,
        form=KeyFileForm.SEED_CBC_WITH_SHA1,
    )
    signer = pypinksign.choose_cert(base_path=str(root), cn="홍길동", pw=PASSWORD.encode())
    signed = tmp_path / "signed.p7"
    signed.write_bytes(signer.pkcs7_signed_msg(b"document"))
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(holder.ca.certificate.public_bytes(Encoding.PEM))
    done = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            str(signed),
            "-CAfile",
            str(ca_pem),
            "-purpose",
            "any",
            "-attime",
            "1780000000",
        ],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"document"


def test_an_existing_folder_is_replaced_only_when_asked(holder: Holder, tmp_path: Path) -> None:
    root = tmp_path / "NPKI"
    folder = write_folder(root, holder.certificate, holder.key, PASSWORD, random_num=None)
    before = (folder / KEY_FILE).read_bytes()
    with pytest.raises(CertCenterError) as refused:
        write_folder(root, holder.certificate, holder.key, OTHER_PASSWORD, random_num=None)
    assert refused.value.code == "NPKI_FOLDER_EXISTS"
    assert (folder / KEY_FILE).read_bytes() == before
    write_folder(
        root, holder.certificate, holder.key, OTHER_PASSWORD, random_num=None, overwrite=True
    )
    assert read_folder(folder, OTHER_PASSWORD).certificate == holder.certificate
    assert sorted(p.name for p in folder.parent.iterdir()) == [FOLDER]  # nothing left behind


def test_a_weak_password_writes_nothing(holder: Holder, tmp_path: Path) -> None:
    root = tmp_path / "NPKI"
    with pytest.raises(CertCenterError) as refused:
        write_folder(root, holder.certificate, holder.key, "password12", random_num=None)
    assert refused.value.code == "NPKI_PASSWORD_TOO_WEAK"
    assert not root.exists()


def test_a_key_of_another_certificate_is_refused(
    holder: Holder, ca: ThrowawayCa, tmp_path: Path
) -> None:
    other = ca.issue("김철수()0098765432109876")
    with pytest.raises(CertCenterError) as refused:
        write_folder(tmp_path, holder.certificate, other.key, PASSWORD, random_num=None)
    assert refused.value.code == "NPKI_CERTIFICATE_INVALID"
    folder = write_folder(tmp_path, holder.certificate, holder.key, PASSWORD, random_num=None)
    mine = (folder / KEY_FILE).read_bytes()
    theirs = write_folder(tmp_path, other.certificate, other.key, PASSWORD, random_num=None)
    (folder / KEY_FILE).write_bytes((theirs / KEY_FILE).read_bytes())
    with pytest.raises(CertCenterError) as refused:
        read_folder(folder, PASSWORD)
    assert refused.value.code == "NPKI_CERTIFICATE_INVALID"
    (folder / KEY_FILE).write_bytes(mine)
    assert read_folder(folder, PASSWORD).certificate == holder.certificate


def test_a_folder_named_by_another_program_is_found_by_its_certificate(
    holder: Holder, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path, holder.certificate, holder.key, PASSWORD, random_num=None)
    renamed = folder.parent / "cn=홍길동()0012345678901234,ou=kmb,ou=personal4ib,o=yessign,c=kr"
    folder.rename(renamed)
    assert find_folder(tmp_path, holder.certificate.subject) == renamed
    assert [path for path, _ in list_folders(tmp_path)] == [renamed]


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (lambda f: (f / KEY_FILE).unlink(), "NPKI_FOLDER_NOT_FOUND"),
        (lambda f: (f / CERT_FILE).unlink(), "NPKI_FOLDER_NOT_FOUND"),
        (lambda f: shutil.rmtree(f), "NPKI_FOLDER_NOT_FOUND"),
        (
            lambda f: (f / CERT_FILE).write_bytes(b"\x30\x03\x02\x01\x00"),
            "NPKI_CERTIFICATE_INVALID",
        ),
        (
            lambda f: (f / KEY_FILE).write_bytes((f / KEY_FILE).read_bytes()[:-20]),
            "NPKI_KEY_FILE_CORRUPT",
        ),
    ],
)
def test_a_damaged_folder_is_refused(
    holder: Holder, tmp_path: Path, damage: object, code: str
) -> None:
    folder = write_folder(tmp_path, holder.certificate, holder.key, PASSWORD, random_num=None)
    damage(folder)  # type: ignore[operator]
    with pytest.raises(CertCenterError) as refused:
        read_folder(folder, PASSWORD)
    assert refused.value.code == code


def test_an_unknown_subject_or_an_empty_root_is_not_found(holder: Holder, tmp_path: Path) -> None:
    for root in (tmp_path / "absent", tmp_path):
        with pytest.raises(CertCenterError) as refused:
            open_certificate(root, holder.certificate.subject, PASSWORD)
        assert refused.value.code == "NPKI_FOLDER_NOT_FOUND"


def test_a_wrong_password_on_the_folder(holder: Holder, tmp_path: Path) -> None:
    write_folder(tmp_path, holder.certificate, holder.key, PASSWORD, random_num=None)
    with pytest.raises(CertCenterError) as refused:
        open_certificate(tmp_path, holder.certificate.subject, OTHER_PASSWORD)
    assert refused.value.code == "NPKI_PASSWORD_WRONG"


def test_a_folder_in_place_of_a_file_is_not_found(holder: Holder, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, holder.certificate, holder.key, PASSWORD, random_num=None)
    (folder / KEY_FILE).unlink()
    (folder / KEY_FILE).mkdir()
    with pytest.raises(CertCenterError) as refused:
        read_folder(folder, PASSWORD)
    assert refused.value.code == "NPKI_FOLDER_NOT_FOUND"
