"""The NPKI folder: where Korean certificate programs keep a joint certificate and its key.

    path = write_folder(root, certificate, key, "kb-Joint#2026", random_num=random_num)
    # root/<CA>/USER/cn=홍길동()…,ou=personal4IB,o=<CA>,c=KR/signCert.der + signPri.key
    opened = open_certificate(root, certificate.subject, "kb-Joint#2026")
    opened.certificate, opened.key.key, opened.key.random_num

The layout every NPKI program reads (``NPKI`` in the user's home or on a removable disk)::

    NPKI/<CA name>/USER/<subject folder>/signCert.der      the certificate, DER
                                        /signPri.key       the key (certcenter.npki.keyfile)

``<CA name>`` is the issuer's organisation (``o=``, "yessign", "CrossCert" …) unless given.
``<subject folder>`` is the subject DN as those programs write it: the RDNs from the last to
the first (``cn`` first, ``c`` last), attribute names in lower case (``cn``, ``ou``, ``o``,
``c``; an attribute without a short name by its dotted OID), the values as they are, joined
by ``,`` without spaces (``+`` inside a multi-valued RDN), e.g.
``cn=홍길동()0012345678901234,ou=KMB,ou=personal4IB,o=yessign,c=kr``. A character a file
system cannot hold in a name (``/``, ``\\``, NUL and control characters) becomes ``_``.

Files are written with mode 0600 and the folders the writer makes with 0700 (on POSIX). A
certificate folder is written whole or not at all: both files go into a new folder beside
it, which is then renamed into place; an existing certificate folder is replaced only with
``overwrite=True`` (renewal), else ``NPKI_FOLDER_EXISTS``. Reading finds the folder by its
name and, failing that, by reading the ``signCert.der`` of every certificate folder under
``root``, so a folder named by another program is found too. The key must belong to the
certificate (``NPKI_CERTIFICATE_INVALID``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.npki.keyfile import KeyFileForm, NpkiKey, read_key_file, write_key_file

__all__ = [
    "CERT_FILE",
    "KEY_FILE",
    "NpkiCertificate",
    "ca_folder_name",
    "find_folder",
    "folder_name",
    "list_folders",
    "open_certificate",
    "read_certificate_file",
    "read_folder",
    "write_folder",
    "write_folder_files",
]

CERT_FILE = "signCert.der"
KEY_FILE = "signPri.key"
USER_DIR = "USER"
MAX_CERT_FILE_BYTES = 64 * 1024
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")
_SHORT_NAMES = {
    NameOID.COMMON_NAME: "cn",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "ou",
    NameOID.ORGANIZATION_NAME: "o",
    NameOID.COUNTRY_NAME: "c",
    NameOID.LOCALITY_NAME: "l",
    NameOID.STATE_OR_PROVINCE_NAME: "st",
    NameOID.STREET_ADDRESS: "street",
    NameOID.SERIAL_NUMBER: "serialnumber",
    NameOID.EMAIL_ADDRESS: "e",
    NameOID.DOMAIN_COMPONENT: "dc",
}


@dataclass(frozen=True)
class NpkiCertificate:
    """A joint certificate opened from its folder."""

    folder: Path
    certificate: x509.Certificate
    key: NpkiKey


def _value(attribute: x509.NameAttribute[str | bytes]) -> str:
    value = attribute.value
    return value.decode("latin-1") if isinstance(value, bytes) else value


def folder_name(subject: x509.Name) -> str:
    """The certificate folder's name for ``subject``, as NPKI programs write it."""
    rdns = []
    for rdn in reversed(subject.rdns):
        parts = [
            f"{_SHORT_NAMES.get(a.oid, a.oid.dotted_string)}={_value(a)}"
            for a in rdn  # a multi-valued RDN keeps its (DER SET) order
        ]
        rdns.append("+".join(parts))
    name = _UNSAFE.sub("_", ",".join(rdns))
    if not name or name in {".", ".."}:
        raise ValueError("a certificate folder needs a subject")
    return name


def ca_folder_name(certificate: x509.Certificate) -> str:
    """The issuer's organisation (``o=``), the name of the CA's folder under ``NPKI``."""
    names = certificate.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if not names:
        names = certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = _UNSAFE.sub("_", _value(names[0])) if names else ""
    if not value or value in {".", ".."}:
        raise ValueError("the issuer has no organisation to name its NPKI folder by")
    return value


def _mkdir(path: Path) -> None:
    """Make ``path`` and its missing parents with mode 0700 (existing ones are left as are)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=_DIR_MODE)
        os.chmod(folder, _DIR_MODE)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), _FILE_MODE)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _public_key_der(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> bytes:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _check_pair(certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or _public_key_der(public) != _public_key_der(key):
        raise CertCenterError(
            "NPKI_CERTIFICATE_INVALID", detail="the key does not belong to the certificate"
        )


def write_folder(
    root: Path,
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    password: str,
    *,
    random_num: bytes | None,
    form: KeyFileForm = KeyFileForm.PBES2,
    prf: str = "sha256",
    ca_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``signCert.der`` and ``signPri.key`` into the certificate's folder under the NPKI
    folder ``root``; return the certificate folder."""
    _check_pair(certificate, key)
    key_file = write_key_file(key, password, random_num=random_num, form=form, prf=prf)
    return write_folder_files(root, certificate, key_file, ca_name=ca_name, overwrite=overwrite)


def write_folder_files(
    root: Path,
    certificate: x509.Certificate,
    key_file: bytes,
    *,
    ca_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a certificate and its ``signPri.key`` *as they are* (still encrypted under the
    certificate password, which is not needed) into the certificate's folder under ``root``:
    a folder copied from another device. Return the certificate folder."""
    if ca_name is not None and (not ca_name or ca_name in {".", ".."} or _UNSAFE.search(ca_name)):
        raise ValueError("not a CA folder name")
    users = Path(root) / (ca_name or ca_folder_name(certificate)) / USER_DIR
    target = users / folder_name(certificate.subject)
    if target.exists() and not overwrite:
        raise CertCenterError("NPKI_FOLDER_EXISTS")
    _mkdir(users)
    staging = Path(tempfile.mkdtemp(prefix=".new-", dir=users))
    try:
        os.chmod(staging, _DIR_MODE)
        _write_private(staging / CERT_FILE, certificate.public_bytes(Encoding.DER))
        _write_private(staging / KEY_FILE, key_file)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=".old-", dir=users))
            os.replace(target, retired / "folder")
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def read_certificate_file(path: Path) -> x509.Certificate:
    """A ``signCert.der``: ``NPKI_CERTIFICATE_INVALID`` unless one DER X.509 certificate."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CERT_FILE_BYTES + 1)
    except OSError:  # absent, a folder in its place, not readable
        raise CertCenterError("NPKI_FOLDER_NOT_FOUND") from None
    if len(data) > MAX_CERT_FILE_BYTES:
        raise CertCenterError("NPKI_CERTIFICATE_INVALID", detail="too large")
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertCenterError("NPKI_CERTIFICATE_INVALID", detail="not DER X.509") from None


def read_folder(folder: Path, password: str | bytes) -> NpkiCertificate:
    """Open the certificate folder ``folder`` (its two files) with ``password``."""
    folder = Path(folder)
    certificate = read_certificate_file(folder / CERT_FILE)
    try:
        with open(folder / KEY_FILE, "rb") as handle:
            data = handle.read(64 * 1024 + 1)
    except OSError:  # absent, a folder in its place, not readable
        raise CertCenterError("NPKI_FOLDER_NOT_FOUND") from None
    key = read_key_file(data, password)
    _check_pair(certificate, key.key)
    return NpkiCertificate(folder=folder, certificate=certificate, key=key)


def list_folders(root: Path) -> Iterator[tuple[Path, x509.Certificate]]:
    """Every certificate folder under ``root/<CA>/USER/`` whose signCert.der can be read."""
    root = Path(root)
    if not root.is_dir():
        return
    for cert_file in sorted(root.glob(f"*/{USER_DIR}/*/{CERT_FILE}")):
        if cert_file.parent.name.startswith("."):
            continue
        try:
            yield cert_file.parent, read_certificate_file(cert_file)
        except CertCenterError:
            continue


def find_folder(root: Path, subject: x509.Name, *, ca_name: str | None = None) -> Path:
    """The certificate folder of ``subject`` under ``root`` (``NPKI_FOLDER_NOT_FOUND``)."""
    root = Path(root)
    name = folder_name(subject)
    candidates = (
        [root / ca_name / USER_DIR / name]
        if ca_name
        else sorted(root.glob(f"*/{USER_DIR}/{glob_escape(name)}"))
    )
    for candidate in candidates:
        if (candidate / CERT_FILE).is_file() and (candidate / KEY_FILE).is_file():
            return candidate
    for folder, certificate in list_folders(root):
        if certificate.subject == subject and (folder / KEY_FILE).is_file():
            return folder
    raise CertCenterError("NPKI_FOLDER_NOT_FOUND")


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def open_certificate(
    root: Path, subject: x509.Name, password: str | bytes, *, ca_name: str | None = None
) -> NpkiCertificate:
    """Find the folder of ``subject`` under ``root`` and open it with ``password``."""
    return read_folder(find_folder(root, subject, ca_name=ca_name), password)
