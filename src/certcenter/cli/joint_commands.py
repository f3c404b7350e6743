"""The joint certificate (공동인증서) on this computer or phone: ``certcenter app joint …``.

certcenter app joint issue --ref 참조번호 [--code 인가코드] --npki DIR   # CMP ir → NPKI folder
certcenter app joint renew --npki DIR                   # kur with the old key (its last 30 days)
certcenter app joint revoke --npki DIR [--reason keyCompromise]        # rr
certcenter app joint export --npki DIR --out FILE.pfx   # PKCS#12, the VID random value inside
certcenter app joint import --pfx FILE --npki DIR
certcenter app joint show --npki DIR [--rrn]            # --rrn: does the VID match? (asked)
certcenter app joint copy receive --npki DIR          # shows the 16-digit code, waits, writes
certcenter app joint copy send --npki DIR --code XXXXXXXX-XXXXXXXX [--folder NAME]

Issue, renew and revoke speak CMP to the center's ``/cmp`` (:mod:`certcenter.cmp.client`):
the key is made here (RSA-2048) and never leaves the device; the folder is written
(``signCert.der`` + ``signPri.key`` in seedCBCWithSHA1, with the VID random value) before the
certificate is confirmed, and a certificate that cannot be written is rejected. The center's
root certificate, received in the MAC-protected ``ip``, is kept as ``root-ca.der`` in the CA
folder (``NPKI/<CA>/``) to check the signed answers to renew and revoke (``--trusted`` names
another). Passwords, the authorization code (when ``--code`` is not given) and the resident
number are asked without echo, never taken as options; ``--password-stdin`` reads them from
standard input instead, one a line, in the order they would be asked.

인증서 복사 moves a certificate's NPKI folder (``signCert.der`` + ``signPri.key``) between two
devices through the center, sealed for the receiving device's one-time key
(:mod:`certcenter.npki.copy`, docs/certificate-copy.md). Neither side asks for the certificate
password: the key file travels as it is, still encrypted under it.

The ``joint`` group (``certcenter app joint``, in ``cli/app_commands.py``) names these commands
and those of ``joint_register_commands`` and ``joint_usage_commands``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.common import handle_errors, language, url_option
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import text
from certcenter.npki import KeyFileForm, import_pfx, read_folder, write_folder
from certcenter.npki.copy import (
    CopyReceiver,
    check_fingerprint,
    pack_folder,
    parse_code,
    seal,
    unpack_into,
)
from certcenter.npki.folder import (
    CERT_FILE,
    KEY_FILE,
    list_folders,
    read_certificate_file,
    write_folder_files,
)
from certcenter.npki.password import check_new_password, weak_reason
from certcenter.npki.pkcs12 import MAX_PFX_BYTES, export_pfx
from certcenter.pki.names import display_name
from certcenter.pki.profiles import JOINT_POLICY_SUBARCS, NPKI_POLICY_OIDS
from certcenter.pki.vid import vid_matches

NPKI_HELP = "The NPKI folder (e.g. ~/NPKI, or a certificate folder inside it)."


F = TypeVar("F", bound=Callable[..., Any])
ROOT_FILE = "root-ca.der"  # the center's root, beside the CA folder's USER/
KEY_FORM = KeyFileForm.SEED_CBC_WITH_SHA1  # what every NPKI program opens
_REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
}


def _say(key: str, **values: Any) -> None:
    click.echo(text(f"certificate_copy.{key}", language(), **values))


def _cmp(center: CenterClient) -> Any:
    """The CMP client over ``center`` (its ASN.1 modules load only for the commands that speak
    CMP, not for every ``certcenter`` command)."""
    from certcenter.cmp.client import CmpClient

    return CmpClient(center.pkixcmp)


def _words(key: str, **values: Any) -> str:
    return text(f"joint_app.{key}", language(), **values)


@click.group("copy")
def joint_copy() -> None:
    """인증서 복사: copy the certificate between devices (PC ↔ phone) through the center."""


@joint_copy.command("receive")
@click.option(
    "--npki",
    "npki",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help=NPKI_HELP,
)
@url_option
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 10.0),
    default=1.0,
    show_default=True,
    help="Seconds between asks for the certificate.",
)
@click.option("--overwrite", is_flag=True, help="Replace the certificate's folder if present.")
@handle_errors
def copy_receive(npki: Path, url: str, interval: float, overwrite: bool) -> None:
    """Show the 16-digit code, wait for the sending device, write the NPKI folder."""
    receiver = CopyReceiver.new()
    public_key = base64.b64encode(receiver.public_bytes).decode("ascii")
    with CenterClient(url, locale=language()) as client:
        opened = client.call("POST", "/v1/certificate-copies", {"public_key": public_key})
        relay_id = str(opened["relay_id"])
        client.token = str(opened["token"])
        path = f"/v1/certificate-copies/{relay_id}"
        _say("code", code=receiver.code(relay_id))
        _say("enter_code", seconds=opened["expires_in"])
        try:
            while True:
                fetched = client.call("GET", f"{path}/payload")
                if fetched["state"] == "sent":
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            with contextlib.suppress(ApiError):
                client.call("DELETE", path)
            _say("cancelled")
            raise click.exceptions.Exit(130) from None
    archive = receiver.open(relay_id, base64.b64decode(fetched["payload"]))
    folder = unpack_into(npki.expanduser(), archive, overwrite=overwrite)
    certificate = read_certificate_file(folder / CERT_FILE)
    _say("holder", subject=display_name(certificate.subject))
    _say("received", folder=str(folder))


@joint_copy.command("send")
@click.option(
    "--npki",
    "npki",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help=NPKI_HELP,
)
@click.option("--code", required=True, help="The 16 digits shown on the receiving device.")
@click.option(
    "--folder",
    "folder_name",
    default=None,
    help="The certificate folder's name, when the NPKI folder holds several.",
)
@url_option
@handle_errors
def copy_send(npki: Path, code: str, folder_name: str | None, url: str) -> None:
    """Seal this device's certificate for the receiving device and send it."""
    relay_id, digits = parse_code(code)  # before anything leaves this device
    folder = _certificate_folder(npki.expanduser(), folder_name)
    certificate = read_certificate_file(folder / CERT_FILE)
    with CenterClient(url, locale=language()) as client:
        shown = client.call("GET", f"/v1/certificate-copies/{relay_id}")
        public_key = base64.b64decode(shown["public_key"])
        check_fingerprint(relay_id, public_key, digits)
        sealed = seal(relay_id, public_key, pack_folder(folder))
        client.call(
            "PUT",
            f"/v1/certificate-copies/{relay_id}/payload",
            {"payload": base64.b64encode(sealed).decode("ascii")},
        )
    _say("sent", subject=display_name(certificate.subject))


def _certificate_folder(npki: Path, name: str | None) -> Path:
    """``npki`` itself when it is a certificate folder, else the one certificate folder under
    it (or the one named ``name``)."""
    if (npki / CERT_FILE).is_file() and name is None:
        return npki
    found = [folder for folder, _ in list_folders(npki)]
    if name is not None:
        found = [folder for folder in found if folder.name == name]
    if len(found) == 1:
        return found[0]
    if not found:
        raise CertCenterError("NPKI_FOLDER_NOT_FOUND")
    raise click.UsageError(
        text(
            "certificate_copy.choose",
            language(),
            folders=", ".join(folder.name for folder in found),
        )
    )


# ---------------------------------------------------------------- issue, renew, revoke (CMP)


class _Asker:
    """Asks for secrets without echo, or reads them from standard input, one a line
    (``--password-stdin``: for scripts)."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin

    def secret(self, key: str) -> str:
        if self.from_stdin:
            line = sys.stdin.readline()
            if not line:
                raise click.UsageError(f"--password-stdin: no line for {_words(key)}")
            return line.rstrip("\r\n")
        return str(click.prompt(_words(key), hide_input=True))

    def new_password(self, key: str = "ask_new_password") -> str:
        """A new password, checked by the NPKI rule; asked twice (read once from stdin)."""
        password = self.secret(key)
        check_new_password(password, None if self.from_stdin else self.secret("ask_again"))
        return password


def _stdin_option(func: F) -> F:
    return click.option(
        "--password-stdin",
        "password_stdin",
        is_flag=True,
        help="Read passwords (and the asked values) from standard input, one a line.",
    )(func)


def _npki_option(*, exists: bool) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        func = click.option(
            "--folder",
            "folder_name",
            default=None,
            help="The certificate folder's name, when the NPKI folder holds several.",
        )(func)
        return click.option(
            "--npki",
            "npki",
            type=click.Path(file_okay=False, exists=exists, path_type=Path),
            required=True,
            help=NPKI_HELP,
        )(func)

    return decorate


def _trusted_option(func: F) -> F:
    return click.option(
        "--trusted",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help=f"The center's root certificate (PEM or DER); default: {ROOT_FILE} of the CA folder.",
    )(func)


def _npki_root(folder: Path) -> tuple[Path, str]:
    """(the NPKI folder, the CA folder's name) of a certificate folder ``NPKI/<CA>/USER/x``."""
    return folder.parent.parent.parent, folder.parent.parent.name


def _load_certificate(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertCenterError("CMP_TRUST_ANCHOR_MISSING") from None


def _trusted_root(folder: Path, trusted: Path | None) -> x509.Certificate:
    path = trusted if trusted is not None else folder.parent.parent / ROOT_FILE
    try:
        data = path.read_bytes()
    except OSError:
        raise CertCenterError("CMP_TRUST_ANCHOR_MISSING") from None
    return _load_certificate(data)


def _keep_root(ca_folder: Path, root: x509.Certificate) -> None:
    path = ca_folder / ROOT_FILE
    staged = ca_folder / f".{ROOT_FILE}.new"
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(root.public_bytes(serialization.Encoding.DER))
    os.replace(staged, path)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@click.command("issue")
@click.option("--ref", "reference", required=True, help="The reference number (참조번호).")
@click.option(
    "--code",
    default=None,
    help="The authorization code (인가코드); asked without echo when not given.",
)
@click.option(
    "--npki",
    "npki",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The NPKI folder to write the certificate into (e.g. ~/NPKI).",
)
@_stdin_option
@url_option
@handle_errors
def joint_issue(
    reference: str, code: str | None, npki: Path, password_stdin: bool, url: str
) -> None:
    """Issue the joint certificate: a new RSA-2048 key, CMP with the reference number and
    authorization code, the NPKI folder written with the password."""
    ask = _Asker(password_stdin)
    reference = reference.strip()
    if code is None:
        code = ask.secret("ask_code")
    password = ask.new_password()  # refused here, before anything is sent
    key = _new_key()
    with CenterClient(url, locale=language()) as center:
        pending = _cmp(center).initial(reference, code.strip().encode("utf-8"), key)
        try:
            folder = write_folder(
                npki.expanduser(),
                pending.certificate,
                key,
                password,
                random_num=pending.random_num,
                form=KEY_FORM,
            )
            _keep_root(folder.parent.parent, pending.issued.root)
        except BaseException:
            with contextlib.suppress(CertCenterError, ApiError):
                pending.reject()  # the center revokes what could not be kept
            raise
        try:
            pending.confirm()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # not confirmed: revoked by the center
            raise
    click.echo(_words("issued", folder=str(folder)))


@click.command("renew")
@_npki_option(exists=True)
@_trusted_option
@_stdin_option
@url_option
@handle_errors
def joint_renew(
    npki: Path, folder_name: str | None, trusted: Path | None, password_stdin: bool, url: str
) -> None:
    """Renew the certificate (from 30 days before its end): a new key, asked with the old
    one (kur); the folder is replaced."""
    ask = _Asker(password_stdin)
    folder = _certificate_folder(npki.expanduser(), folder_name)
    password = ask.secret("ask_password")
    opened = read_folder(folder, password)
    root = _trusted_root(folder, trusted)
    if weak_reason(password) is not None:
        click.echo(_words("weak_current"))
        password = ask.new_password()
    old_files = (opened.certificate, (folder / KEY_FILE).read_bytes())
    new_key = _new_key()
    form = opened.key.form if opened.key.form is not KeyFileForm.SEED_CBC else KEY_FORM
    npki_root, ca_name = _npki_root(folder)
    with CenterClient(url, locale=language()) as center:
        pending = _cmp(center).key_update(opened.certificate, opened.key.key, new_key, trusted=root)
        try:
            written = write_folder(
                npki_root,
                pending.certificate,
                new_key,
                password,
                random_num=opened.key.random_num,
                form=form,
                prf=opened.key.prf or "sha256",
                ca_name=ca_name,
                overwrite=True,
            )
        except BaseException:
            with contextlib.suppress(CertCenterError, ApiError):
                pending.reject()
            raise
        try:
            pending.confirm()
        except BaseException:  # not confirmed: the old files go back
            write_folder_files(
                npki_root, old_files[0], old_files[1], ca_name=ca_name, overwrite=True
            )
            raise
    click.echo(_words("renewed", folder=str(written)))


@click.command("revoke")
@_npki_option(exists=True)
@click.option(
    "--reason",
    type=click.Choice(sorted(_REASONS)),
    default=None,
    help="Why (CRL reason); none given is unspecified.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_trusted_option
@_stdin_option
@url_option
@handle_errors
def joint_revoke(
    npki: Path,
    folder_name: str | None,
    reason: str | None,
    yes: bool,
    trusted: Path | None,
    password_stdin: bool,
    url: str,
) -> None:
    """Revoke the certificate with its own key (rr)."""
    ask = _Asker(password_stdin)
    folder = _certificate_folder(npki.expanduser(), folder_name)
    password = ask.secret("ask_password")
    opened = read_folder(folder, password)
    root = _trusted_root(folder, trusted)
    subject = display_name(opened.certificate.subject)
    if not yes:
        click.confirm(_words("revoke_confirm", subject=subject), abort=True)
    with CenterClient(url, locale=language()) as center:
        _cmp(center).revoke(
            opened.certificate,
            opened.key.key,
            trusted=root,
            reason=_REASONS[reason] if reason else None,
        )
    serial = format(opened.certificate.serial_number, "X")
    click.echo(_words("revoked", serial=serial, folder=str(folder)))


# ---------------------------------------------------------------- export, import, show


@click.command("export")
@_npki_option(exists=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The PKCS#12 file to write (.pfx).",
)
@click.option("--overwrite", is_flag=True, help="Replace the file if present.")
@_stdin_option
@handle_errors
def joint_export(
    npki: Path, folder_name: str | None, out: Path, overwrite: bool, password_stdin: bool
) -> None:
    """Write the certificate and its key (with the VID random value) as a .pfx file."""
    ask = _Asker(password_stdin)
    folder = _certificate_folder(npki.expanduser(), folder_name)
    out = out.expanduser()
    if out.exists() and not overwrite:
        raise click.UsageError(_words("out_exists", path=str(out)))
    opened = read_folder(folder, ask.secret("ask_password"))
    pfx_password = ask.new_password("ask_new_pfx_password")
    chain: tuple[x509.Certificate, ...] = ()
    with contextlib.suppress(CertCenterError):
        chain = (_trusted_root(folder, None),)
    data = export_pfx(
        opened.certificate,
        opened.key.key,
        pfx_password,
        random_num=opened.key.random_num,
        chain=chain,
    )
    staged = out.with_name(f".{out.name}.new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(staged, out)
    click.echo(_words("exported", path=str(out)))


@click.command("import")
@click.option(
    "--pfx",
    "pfx",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The PKCS#12 file (.pfx, .p12).",
)
@click.option(
    "--npki",
    "npki",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The NPKI folder to write the certificate into (e.g. ~/NPKI).",
)
@click.option("--overwrite", is_flag=True, help="Replace the certificate's folder if present.")
@_stdin_option
@handle_errors
def joint_import(pfx: Path, npki: Path, overwrite: bool, password_stdin: bool) -> None:
    """Write a .pfx file's certificate and key as an NPKI folder (new password)."""
    ask = _Asker(password_stdin)
    with open(pfx, "rb") as handle:
        data = handle.read(MAX_PFX_BYTES + 1)
    bundle = import_pfx(data, ask.secret("ask_pfx_password"))
    password = ask.new_password()
    folder = write_folder(
        npki.expanduser(),
        bundle.certificate,
        bundle.key,
        password,
        random_num=bundle.random_num,
        form=KEY_FORM,
        overwrite=overwrite,
    )
    roots = [c for c in bundle.chain if c.subject == c.issuer]
    if len(roots) == 1:
        _keep_root(folder.parent.parent, roots[0])
    click.echo(_words("imported", folder=str(folder)))


def _policy_kind(oid: x509.ObjectIdentifier) -> str | None:
    """``general`` or ``banking`` for the NPKI policy OIDs and the bank's own joint policies
    (its arc + ``.1.3.1`` / ``.1.3.4``: the device does not know the bank's arc)."""
    for name, npki_oid in NPKI_POLICY_OIDS.items():
        if oid == npki_oid or oid.dotted_string.endswith(f".{JOINT_POLICY_SUBARCS[name]}"):
            return name.removeprefix("joint-")
    return None


def _policies(certificate: x509.Certificate) -> list[str]:
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return []
    shown = []
    for policy in policies:
        oid = policy.policy_identifier
        kind = _policy_kind(oid)
        label = _words(f"policy_{kind}") if kind else None
        shown.append(f"{label} ({oid.dotted_string})" if label else oid.dotted_string)
    return shown


@click.command("show")
@_npki_option(exists=True)
@click.option(
    "--rrn",
    "check_rrn",
    is_flag=True,
    help="Check the VID against a resident registration number (asked without echo, with "
    "the certificate password).",
)
@_stdin_option
@handle_errors
def joint_show(npki: Path, folder_name: str | None, check_rrn: bool, password_stdin: bool) -> None:
    """The certificate: holder, serial, validity, policy; with --rrn, whether its VID is that
    of a resident registration number."""
    folder = _certificate_folder(npki.expanduser(), folder_name)
    certificate = read_certificate_file(folder / CERT_FILE)
    rows = [
        ("holder", display_name(certificate.subject)),
        ("issuer", display_name(certificate.issuer)),
        ("serial", format(certificate.serial_number, "X")),
        (
            "valid",
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M} ~ "
            f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
        ),
        ("policy", ", ".join(_policies(certificate)) or "-"),
        ("folder", str(folder)),
    ]
    for key, value in rows:
        click.echo(f"{_words(key)}: {value}")
    if not check_rrn:
        return
    ask = _Asker(password_stdin)
    opened = read_folder(folder, ask.secret("ask_password"))
    random_num = opened.key.random_num
    click.echo(
        f"{_words('random_num')}: "
        + _words("random_num_present" if random_num else "random_num_absent")
    )
    rrn = ask.secret("ask_rrn")
    if random_num is None:
        return
    matches = vid_matches(certificate, rrn, random_num)
    click.echo(_words("vid_matches" if matches else "vid_differs"))
    if not matches:
        sys.exit(3)
