"""Using the joint certificate (공동인증서) from its NPKI folder: ``certcenter app joint login|
sign|transfer``.

certcenter app joint login --npki ~/NPKI [--folder NAME] [--identity]
certcenter app joint sign contract.pdf --npki ~/NPKI --out contract.pdf.p7s
certcenter app joint transfer --npki ~/NPKI --from 12340100000001 --to-bank 088 \
    --to 110000000002 --amount 50000

Each command asks for the certificate password (hidden) once, opens ``signPri.key`` with it
on this computer, logs in by signing the center's challenge with the RSA key (PKCS#1 v1.5,
SHA-256) and then signs the document or the transfer with the same key; the password and the
key never leave this computer. ``--identity`` also asks for the resident registration number
and sends it with the VID random value from ``signPri.key`` for the center's 본인확인; the
number is not kept. The ``joint`` group names the commands (``cli/joint_commands.py``).
"""

from __future__ import annotations

import base64
import contextlib
import sys
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.common import handle_errors, language, url_option
from certcenter.cli.usage_commands import save_evidence, send_transfer, transfer_options
from certcenter.errors import CertCenterError
from certcenter.npki import NpkiCertificate, list_folders, read_folder
from certcenter.npki.folder import CERT_FILE
from certcenter.pki.names import display_name

NPKI_HELP = "The NPKI folder (e.g. ~/NPKI, or a certificate folder inside it)."


def _ask(label: str, *, hide: bool = True) -> str:
    return str(click.prompt(label, hide_input=hide and sys.stdin.isatty()))


def npki_options(command: Any) -> Any:
    command = click.option(
        "--folder",
        "folder_name",
        default=None,
        help="The certificate folder's name, when the NPKI folder holds several.",
    )(command)
    return click.option(
        "--npki",
        "npki",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        required=True,
        help=NPKI_HELP,
    )(command)


def certificate_folder(npki: Path, name: str | None) -> Path:
    """``npki`` itself when it is a certificate folder, else the one certificate folder under
    it (or the one named ``name``)."""
    npki = npki.expanduser()
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
        "several certificates: choose one with --folder "
        + ", ".join(folder.name for folder in found)
    )


def open_folder(npki: Path, name: str | None) -> NpkiCertificate:
    """The certificate and its key, opened with the password asked (hidden)."""
    folder = certificate_folder(npki, name)
    return read_folder(folder, _ask("인증서 비밀번호 (certificate password)"))


def sign(opened: NpkiCertificate, data: bytes) -> str:
    """What NPKI software signs with: RSA PKCS#1 v1.5 with SHA-256, base64."""
    raw = opened.key.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def login(client: CenterClient, opened: NpkiCertificate, *, rrn: str | None = None) -> Any:
    """Log in with the joint certificate; sets ``client.token`` to the session's."""
    client.token = None
    issued = client.call("POST", "/v1/joint/login/challenges", {})
    body: dict[str, Any] = {
        "challenge": issued["challenge"],
        "signature": sign(opened, issued["sign"].encode()),
        "serial": format(opened.certificate.serial_number, "X"),
    }
    if rrn is not None:
        if opened.key.random_num is None:
            raise click.ClickException("signPri.key holds no VID random value")
        body["rrn"] = rrn
        body["random_b64"] = base64.b64encode(opened.key.random_num).decode("ascii")
    session = client.call("POST", "/v1/joint/login", body)
    client.token = session["token"]
    return session


def logout(client: CenterClient) -> None:
    """End the session; an error here does not hide what went before."""
    with contextlib.suppress(ApiError):
        client.call("POST", "/v1/logout")


@click.command("login")
@npki_options
@url_option
@click.option("--identity", is_flag=True, help="Also check the resident number (본인확인).")
@handle_errors
def joint_login(npki: Path, folder_name: str | None, url: str, identity: bool) -> None:
    """공동인증서 로그인: sign the center's login challenge with the certificate's key."""
    opened = open_folder(npki, folder_name)
    rrn = _ask("주민등록번호 (resident registration number)") if identity else None
    with CenterClient(url, locale=language()) as client:
        session = login(client, opened, rrn=rrn)
        logout(client)
    click.echo(
        f"{session['name']} ({session['customer_number']}) logged in with the joint "
        f"certificate {display_name(opened.certificate.subject)}"
    )
    if session.get("identity_checked"):
        click.echo("본인확인 / identity checked")


@click.command("sign")
@click.argument("document", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@npki_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@url_option
@handle_errors
def joint_sign(document: Path, npki: Path, folder_name: str | None, out: Path, url: str) -> None:
    """전자서명: sign a file with the joint certificate; writes a detached CMS."""
    content = document.read_bytes()
    opened = open_folder(npki, folder_name)
    with CenterClient(url, locale=language()) as client:
        login(client, opened)
        try:
            signed = client.call(
                "POST",
                "/v1/documents/sign",
                {
                    "name": document.name,
                    "document_b64": base64.b64encode(content).decode(),
                    "signature": sign(opened, content),
                },
            )
        finally:
            logout(client)
    out.write_bytes(base64.b64decode(signed["cms_b64"]))
    click.echo(f"signed {document.name} (sha256 {signed['sha256'][:16]}…) → {out}")


@click.command("transfer")
@npki_options
@url_option
@transfer_options
@handle_errors
def joint_transfer(
    npki: Path,
    folder_name: str | None,
    url: str,
    from_bank: str,
    from_account: str,
    to_bank: str,
    to_account: str,
    amount: int,
    memo: str,
    medium: str,
    yes: bool,
    evidence: Path | None,
) -> None:
    """이체: shows the document with amount and payee, asks the factors it needs besides the
    certificate password, signs it with the joint certificate's key and confirms."""
    opened = open_folder(npki, folder_name)
    with CenterClient(url, locale=language()) as client:
        login(client, opened)
        try:
            transfer = {
                "from_bank": from_bank,
                "from_account": from_account,
                "to_bank": to_bank,
                "to_account": to_account,
                "amount": amount,
                "memo": memo,
                "medium": medium,
            }
            done = send_transfer(
                client,
                transfer,
                sign=lambda document: sign(opened, document),
                yes=yes,
                signature_stands_for_pin=True,
            )
            if done is not None:
                click.echo(f"이체 완료 / sent: {done['amount']:,} KRW → {done['payee_name']}")
                click.echo(f"reference {done['bank_reference']}")
                save_evidence(client, done, evidence)
        finally:
            logout(client)
