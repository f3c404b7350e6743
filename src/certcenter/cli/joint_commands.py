"""The joint certificate (공동인증서) on this computer or phone: ``certcenter app joint …``.

certcenter app joint copy receive --npki DIR          # shows the 16-digit code, waits, writes
certcenter app joint copy send --npki DIR --code XXXXXXXX-XXXXXXXX [--folder NAME]

인증서 복사 moves a certificate's NPKI folder (``signCert.der`` + ``signPri.key``) between two
devices through the center, sealed for the receiving device's one-time key
(:mod:`certcenter.npki.copy`, docs/certificate-copy.md). Neither side asks for the certificate
password: the key file travels as it is, still encrypted under it.

``joint`` is the group of every joint-certificate command of the app; a module adds its own
with ``joint.add_command(…)`` (``main.py`` adds the group to ``app``).
"""

from __future__ import annotations

import base64
import contextlib
import time
from pathlib import Path
from typing import Any

import click

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.common import handle_errors, language, url_option
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import text
from certcenter.npki.copy import (
    CopyReceiver,
    check_fingerprint,
    pack_folder,
    parse_code,
    seal,
    unpack_into,
)
from certcenter.npki.folder import CERT_FILE, list_folders, read_certificate_file
from certcenter.pki.names import display_name

NPKI_HELP = "The NPKI folder (e.g. ~/NPKI, or a certificate folder inside it)."


def _say(key: str, **values: Any) -> None:
    click.echo(text(f"certificate_copy.{key}", language(), **values))


@click.group()
def joint() -> None:
    """공동인증서: the joint certificate's NPKI folder on this device."""


@joint.group("copy")
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
