"""Mobile OTP (모바일 OTP) commands of the app: register it, show its codes, check, cancel.

certcenter app otp register --qr otp.png [--auto-codes]   # SMS code, own account, password
certcenter app otp code                                   # the current 6-digit code
certcenter app otp verify [CODE]                          # have the center check a code
certcenter app otp status
certcenter app otp cancel

The app keeps the OTP's secret in its keystore directory (``otp.json``, readable by its owner
only), sealed under the keystore's secure-area key like the device keys: the center hands the
secret out once, when the registration completes, and never again.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from certcenter.cli import app_session
from certcenter.cli.client import CenterClient
from certcenter.cli.common import handle_errors, keystore_option, language, url_option
from certcenter.cli.keystore import Keystore

OTP_FILE = "otp.json"
_AAD = b"certcenter-app/otp/v1\x00"
F = TypeVar("F", bound=Callable[..., Any])


def _otp_keystore_option(func: F) -> F:
    return keystore_option(func, help_text="Where the app keeps its device keys (and the OTP).")


def _client(keystore: Path, url: str) -> CenterClient:
    return app_session.logged_in_client(keystore, url, lang=language())


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the app's OTP store


@dataclass(frozen=True)
class AppOtp:
    token_id: str
    secret: bytes
    issuer: str
    account_name: str
    digits: int
    period: int
    algorithm: str

    def __repr__(self) -> str:
        return f"AppOtp(token_id={self.token_id!r}, <secret hidden>)"

    def code(self, at: datetime) -> str:
        from certcenter.media.otp import totp  # the center's OTP module: only to make a code

        return totp(
            self.secret, at, period=self.period, digits=self.digits, algorithm=self.algorithm
        )


def _otp_path(store: Keystore) -> Path:
    return store.directory / OTP_FILE


def save_otp(store: Keystore, otp: AppOtp) -> Path:
    """Keep the OTP in the keystore: the secret sealed (AES-256-GCM) under the secure-area key,
    bound to the token's id; the file is readable by its owner only."""
    key = store._secure_area_key()  # the stand-in for the phone's secure hardware
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, otp.secret, _AAD + otp.token_id.encode())
    document = {
        "token_id": otp.token_id,
        "issuer": otp.issuer,
        "account_name": otp.account_name,
        "digits": otp.digits,
        "period": otp.period,
        "algorithm": otp.algorithm,
        "sealed_secret": base64.b64encode(nonce + sealed).decode("ascii"),
    }
    path = _otp_path(store)
    _write_private(path, json.dumps(document, indent=2).encode("utf-8"))
    return path


def load_otp(store: Keystore) -> AppOtp | None:
    path = _otp_path(store)
    if not path.exists():
        return None
    document = json.loads(path.read_text("utf-8"))
    blob = base64.b64decode(document["sealed_secret"])
    token_id = str(document["token_id"])
    try:
        secret = AESGCM(store._secure_area_key()).decrypt(
            blob[:12], blob[12:], _AAD + token_id.encode()
        )
    except InvalidTag:
        raise click.ClickException(f"{path} does not open with this keystore's key") from None
    return AppOtp(
        token_id=token_id,
        secret=secret,
        issuer=str(document["issuer"]),
        account_name=str(document["account_name"]),
        digits=int(document["digits"]),
        period=int(document["period"]),
        algorithm=str(document["algorithm"]),
    )


def _need_otp(store: Keystore) -> AppOtp:
    otp = load_otp(store)
    if otp is None:
        raise click.ClickException("no mobile OTP in this app: run `certcenter app otp register`")
    return otp


def _when(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)  # the phone's own clock
    try:
        parsed = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2026-11-23T01:00:00Z", param_hint="--at"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ask(prompt: str, *, secret: bool = False) -> str:
    # Hidden input needs a terminal; from a pipe the answer is read as it comes (unechoed).
    return str(click.prompt(prompt, hide_input=secret and sys.stdin.isatty()))


# ---------------------------------------------------------------- commands


@click.group("otp")
def app_otp() -> None:
    """모바일 OTP: a TOTP generator (RFC 6238) in this app, registered with the center."""


@app_otp.command("register")
@_otp_keystore_option
@url_option
@click.option("--bank", "bank_code", default=None, help="Withdrawal account's bank code (004).")
@click.option("--account", "account_number", default=None, help="Withdrawal account number.")
@click.option(
    "--qr",
    "qr_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the QR code (PNG) of the otpauth URI to this file.",
)
@click.option("--auto-codes", is_flag=True, help="Read the SMS code from the demo world (/sim).")
@handle_errors
def app_otp_register(
    keystore: Path,
    url: str,
    bank_code: str | None,
    account_number: str | None,
    qr_path: Path | None,
    auto_codes: bool,
) -> None:
    """Register a mobile OTP: SMS code, your own withdrawal account and its password."""
    store = Keystore(keystore)
    with _client(keystore, url) as client:
        started = client.call("POST", "/v1/otp/registrations")
        click.echo(f"✔ 인증번호 발송 (SMS code sent): {started['phone']}")
        person = _demo_person(client, str(started["customer_number"])) if auto_codes else None
        code = None
        if person is not None and person.get("phone"):
            code = client.latest_sms_code(str(person["phone"]))
        code = code or _ask("문자로 받은 인증번호 6자리 (SMS code)")
        accounts = list(person.get("accounts") or []) if person else []
        bank = bank_code or (str(accounts[0]["bank"]) if accounts else None)
        bank = bank or _ask("출금계좌 은행 코드 (bank code, e.g. 004)")
        number = account_number or (str(accounts[0]["number"]) if accounts else None)
        number = number or _ask("출금계좌 번호 (account number)")
        password = _ask("계좌 비밀번호 (account password)", secret=True)
        made = client.call(
            "POST",
            f"/v1/otp/registrations/{started['registration_id']}/confirm",
            {
                "sms_code": code,
                "bank_code": bank,
                "account_number": number,
                "account_password": password,
            },
        )
    otp = AppOtp(
        token_id=str(made["token_id"]),
        secret=base64.b32decode(str(made["secret"])),
        issuer=str(made["issuer"]),
        account_name=str(made["account_name"]),
        digits=int(made["digits"]),
        period=int(made["period"]),
        algorithm=str(made["algorithm"]),
    )
    path = save_otp(store, otp)
    click.echo("✔ 모바일 OTP 발급 완료 (mobile OTP registered)")
    click.echo(f"otpauth URI (shown once): {made['otpauth_uri']}")
    if qr_path is not None:
        _write_private(qr_path, base64.b64decode(str(made["qr_png_base64"])))
        click.echo(f"QR code: {qr_path}")
    click.echo(f"kept in {path}")


def _demo_person(client: CenterClient, customer_number: str) -> dict[str, Any] | None:
    for person in client.people():
        if person.get("customer_number") == customer_number:
            return person
    return None


@app_otp.command("code")
@_otp_keystore_option
@click.option("--at", default=None, help="The code for this UTC time (ISO 8601) instead of now.")
@handle_errors
def app_otp_code(keystore: Path, at: str | None) -> None:
    """The current OTP code (works offline, like the app)."""
    from certcenter.media.otp import time_step

    otp = _need_otp(Keystore(keystore))
    when = _when(at)
    left = otp.period - int(when.timestamp()) % otp.period
    click.echo(otp.code(when))
    click.echo(
        f"({otp.issuer}:{otp.account_name}, step {time_step(when, otp.period)}, {left} s left)",
        err=True,
    )


@app_otp.command("verify")
@_otp_keystore_option
@url_option
@click.argument("code", required=False)
@handle_errors
def app_otp_verify(keystore: Path, url: str, code: str | None) -> None:
    """Have the center check a code (the app's current one if none is given)."""
    code = code or _need_otp(Keystore(keystore)).code(datetime.now(UTC))
    with _client(keystore, url) as client:
        client.call("POST", "/v1/otp/verify", {"code": code})
    click.echo("✔ OTP 확인 (code accepted)")


@app_otp.command("status")
@_otp_keystore_option
@url_option
@handle_errors
def app_otp_status(keystore: Path, url: str) -> None:
    """The mobile OTP as the center sees it, and whether this app holds it."""
    local = load_otp(Keystore(keystore))
    with _client(keystore, url) as client:
        shown = client.call("GET", "/v1/otp")
    if not shown["registered"]:
        click.echo(f"mobile OTP: {shown['status']} (not registered)")
    else:
        state = "locked" if shown["locked"] else "active"
        click.echo(
            f"mobile OTP: {state} since {shown['activated_at']} "
            f"({shown['algorithm']}, {shown['digits']} digits, {shown['period']} s)"
        )
    if local is not None and local.token_id == shown.get("token_id") and shown["registered"]:
        click.echo(f"this app holds it ({_otp_path(Keystore(keystore))})")
    elif local is not None:
        click.echo("this app holds an OTP the center no longer accepts")


@app_otp.command("cancel")
@_otp_keystore_option
@url_option
@handle_errors
def app_otp_cancel(keystore: Path, url: str) -> None:
    """해지: the mobile OTP can no longer be used; this app forgets it. Asks for the PIN."""
    pin = _ask("간편비밀번호 (PIN)", secret=True)
    with _client(keystore, url) as client:
        shown = client.call("DELETE", "/v1/otp", {"pin": pin})
    _otp_path(Keystore(keystore)).unlink(missing_ok=True)
    click.echo(f"mobile OTP: {shown['status']}")
