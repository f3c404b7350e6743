"""The bank app on this computer: ``certcenter app …`` keeps a device key, issues and shows
its certificate, and talks HTTP to the running center as the phone app would.

certcenter app enroll            # the bank app's issuance flow, with prompts
certcenter app show
certcenter app revoke --reason keyCompromise
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from certcenter.cli.client import CenterClient
from certcenter.cli.common import fail, handle_errors, keystore_option, language, url_option
from certcenter.cli.flow import Answers, enroll, reissue
from certcenter.cli.keystore import Keystore
from certcenter.cli.lazy import LazyGroup


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        "card": "certcenter.cli.card_commands:app_card",
        "otp": "certcenter.cli.otp_commands:app_otp",
        "overseas-access": "certcenter.cli.overseas_commands:app_overseas_access",
        "login": "certcenter.cli.usage_commands:app_login",
        "logout": "certcenter.cli.usage_commands:app_logout",
        "transfer": "certcenter.cli.usage_commands:app_transfer",
        "transfers": "certcenter.cli.usage_commands:app_transfers",
        "sign": "certcenter.cli.usage_commands:app_sign",
        "approve": "certcenter.cli.approval_commands:app_approve",
    },
)
def app() -> None:
    """The bank app on this computer: keeps a device key, issues and shows its certificate."""


@app.group(
    cls=LazyGroup,
    lazy_subcommands={
        "issue": "certcenter.cli.joint_commands:joint_issue",
        "renew": "certcenter.cli.joint_commands:joint_renew",
        "revoke": "certcenter.cli.joint_commands:joint_revoke",
        "export": "certcenter.cli.joint_commands:joint_export",
        "import": "certcenter.cli.joint_commands:joint_import",
        "show": "certcenter.cli.joint_commands:joint_show",
        "copy": "certcenter.cli.joint_commands:joint_copy",
        "register": "certcenter.cli.joint_register_commands:joint_register",
        "login": "certcenter.cli.joint_usage_commands:joint_login",
        "sign": "certcenter.cli.joint_usage_commands:joint_sign",
        "transfer": "certcenter.cli.joint_usage_commands:joint_transfer",
    },
)
def joint() -> None:
    """공동인증서: the joint certificate's NPKI folder on this device."""


@app.command("enroll")
@keystore_option
@url_option
@click.option(
    "--carrier",
    type=click.Choice(["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]),
    default=None,
)
@click.option("--name", default=None)
@click.option("--rrn-front", default=None, help="YYMMDD-N")
@click.option("--phone", default=None)
@click.option("--bank", "bank_code", default=None, help="Bank code, e.g. 004.")
@click.option("--account", "account_number", default=None)
@click.option("--id-json", default=None, help='ID fields as JSON, e.g. {"kind": "passport", …}.')
@click.option(
    "--id-photo",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A photo of the ID (JPEG/PNG) instead of typed fields; see `certcenter sim id-photo`.",
)
@click.option("--biometric/--no-biometric", default=False, help="Register a biometric key.")
@click.option("--move-certificate", is_flag=True, help="Move the certificate from another device.")
@click.option("--auto-codes", is_flag=True, help="Read codes from the demo world (/sim).")
@click.option("--app-version", default="5.2.0", show_default=True)
@click.option("--platform", type=click.Choice(["android", "ios"]), default="android")
@click.option(
    "--forwarded-for",
    default=None,
    help="Pretend to connect from this address (demo proxies only).",
)
@handle_errors
def app_enroll(
    keystore: Path,
    url: str,
    carrier: str | None,
    name: str | None,
    rrn_front: str | None,
    phone: str | None,
    bank_code: str | None,
    account_number: str | None,
    id_json: str | None,
    id_photo: Path | None,
    biometric: bool,
    move_certificate: bool,
    auto_codes: bool,
    app_version: str,
    platform: str,
    forwarded_for: str | None,
) -> None:
    """Issue a mobile certificate (KB국민인증서 발급) for this app's device."""
    answers = Answers(
        carrier=carrier,
        name=name,
        rrn_front=rrn_front,
        phone=phone,
        bank_code=bank_code,
        account_number=account_number,
        id_fields=json.loads(id_json) if id_json else {},
        id_photo=id_photo,
        biometric=biometric,
        move_certificate=move_certificate,
        app_version=app_version,
        platform=platform,
    )

    def ask(prompt: str, secret: bool) -> str:
        # Hidden input needs a terminal; from a pipe the answer is read as it comes (unechoed).
        return str(click.prompt(prompt, hide_input=secret and sys.stdin.isatty()))

    store = Keystore(keystore)
    with CenterClient(url, forwarded_for=forwarded_for, locale=language()) as client:
        outcome = enroll(client, store, answers, ask=ask, say=click.echo, auto_codes=auto_codes)
    click.echo(f"certificate: {outcome.certificate_path}\nchain: {outcome.chain_path}")


@app.command("show")
@keystore_option
@handle_errors
def app_show(keystore: Path) -> None:
    """The device and its certificate."""
    store = Keystore(keystore)
    device = store.device()
    if device is None:
        fail("no device yet: run `certcenter app enroll`")
        return
    click.echo(
        f"device {device.device_id} ({device.platform} {device.model}, app {device.app_version})"
    )
    cert = store.certificate()
    if cert is None:
        click.echo("no certificate yet")
        return
    from certcenter.pki.names import display_name  # the PKI package only when it is shown

    click.echo(f"subject: {display_name(cert.subject)}")
    click.echo(f"issuer:  {display_name(cert.issuer)}")
    click.echo(f"serial:  {cert.serial_number:X}")
    click.echo(
        f"valid:   {cert.not_valid_before_utc:%Y-%m-%d} – {cert.not_valid_after_utc:%Y-%m-%d}"
    )


@app.command("export")
@keystore_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@handle_errors
def app_export(keystore: Path, out: Path) -> None:
    """Write the certificate and its CA chain as PEM files (never the private key)."""
    store = Keystore(keystore)
    if store.certificate() is None:
        fail("no certificate yet: run `certcenter app enroll`")
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "certificate.pem").write_text(store.certificate_file.read_text("utf-8"), "utf-8")
    (out / "chain.pem").write_text(store.chain_file.read_text("utf-8"), "utf-8")
    click.echo(f"wrote {out / 'certificate.pem'} and {out / 'chain.pem'}")


def _device_action(
    keystore: Path,
    url: str,
    purpose: str,
    path_for: Any,
    extra: dict[str, Any] | None = None,
    *,
    send_device_id: bool = True,
) -> Any:
    store = Keystore(keystore)
    device, cert = store.device(), store.certificate()
    if device is None or cert is None:
        fail("no certificate on this device: run `certcenter app enroll`")
        return None
    pin = str(click.prompt("간편비밀번호 (PIN)", hide_input=sys.stdin.isatty()))
    with CenterClient(url, locale=language()) as client:
        return client.device_action(
            device.device_id,
            purpose,
            store.sign,
            pin,
            path_for(device, f"{cert.serial_number:X}"),
            extra,
            send_device_id=send_device_id,
        )


@app.command("revoke")
@keystore_option
@url_option
@click.option(
    "--reason",
    default="unspecified",
    show_default=True,
    type=click.Choice(
        ["unspecified", "keyCompromise", "affiliationChanged", "cessationOfOperation"]
    ),
)
@handle_errors
def app_revoke(keystore: Path, url: str, reason: str) -> None:
    """인증서 폐기: revoke this device's certificate (asks for the PIN)."""
    result = _device_action(
        keystore, url, "revoke", lambda d, s: f"/v1/certificates/{s}/revoke", {"reason": reason}
    )
    click.echo(f"{result['serial']}: {result['status']}")


@app.command("renew")
@keystore_option
@url_option
@handle_errors
def app_renew(keystore: Path, url: str) -> None:
    """갱신: a new certificate for the same key (asks for the PIN)."""
    result = _device_action(keystore, url, "renew", lambda d, s: f"/v1/certificates/{s}/renew")
    with CenterClient(url, locale=language()) as client:
        shown = client.certificate(result["replaced_by"])
    store = Keystore(keystore)
    store.certificate_file.write_text(shown["certificate"], "utf-8")
    click.echo(f"{result['serial']} renewed as {result['replaced_by']}")


@app.command("release")
@keystore_option
@url_option
@handle_errors
def app_release(keystore: Path, url: str) -> None:
    """정지 해제 from the found phone (asks for the PIN)."""
    result = _device_action(keystore, url, "release", lambda d, s: f"/v1/certificates/{s}/release")
    click.echo(f"{result['serial']}: {result['status']}")


@app.command("deregister")
@keystore_option
@url_option
@handle_errors
def app_deregister(keystore: Path, url: str) -> None:
    """기기등록 해지: this device leaves; its certificate is revoked (asks for the PIN)."""
    results = _device_action(
        keystore,
        url,
        "deregister",
        lambda d, s: f"/v1/devices/{d.device_id}/deregister",
        send_device_id=False,
    )
    for result in results:
        click.echo(f"{result['serial']}: {result['status']}")


@app.command("reissue")
@keystore_option
@url_option
@handle_errors
def app_reissue(keystore: Path, url: str) -> None:
    """재발급 from this registered device: a new key, without the proofing steps."""
    hidden = sys.stdin.isatty()
    pin = str(click.prompt("현재 간편비밀번호 (current PIN)", hide_input=hidden))
    new_pin = str(click.prompt("새 간편비밀번호 (new PIN)", hide_input=hidden))
    text = str(click.prompt("새 패턴 (new pattern, e.g. 0-1-2-5-8)", hide_input=hidden))
    pattern = [int(p) for p in text.replace(",", "-").split("-") if p.strip()]
    with CenterClient(url, locale=language()) as client:
        reissue(
            client, Keystore(keystore), pin=pin, new_pin=new_pin, pattern=pattern, say=click.echo
        )


@app.command("lost")
@url_option
@click.option(
    "--carrier",
    required=True,
    type=click.Choice(["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]),
)
@click.option("--name", required=True)
@click.option("--rrn-front", required=True, help="YYMMDD-N")
@click.option("--phone", required=True)
@click.option(
    "--medium",
    required=True,
    type=click.Choice(["account", "otp", "security_card"]),
    help="what confirms the report: the withdrawal account and its password, the OTP, the card",
)
@click.option("--account", "account_number", help="the withdrawal account (with --medium account)")
@handle_errors
def app_lost(
    url: str,
    carrier: str,
    name: str,
    rrn_front: str,
    phone: str,
    medium: str,
    account_number: str | None,
) -> None:
    """분실 신고 (from any device): the line's details, then a medium you hold (asked for);
    the lost phone's certificate is suspended and an undo code is sent to you."""
    hidden = sys.stdin.isatty()
    with CenterClient(url, locale=language()) as client:
        started = client.lost_phone(carrier=carrier, name=name, rrn_front=rrn_front, phone=phone)
        report = str(started["report_id"])
        click.echo(f"신고번호 (report): {report}")
        answer: dict[str, str] = {}
        if medium == "account":
            number = account_number or str(click.prompt("출금계좌 (withdrawal account)"))
            answer["account_number"] = number
            answer["account_password"] = str(
                click.prompt("계좌 비밀번호 (account password)", hide_input=hidden)
            )
        elif medium == "otp":
            answer["otp_code"] = str(click.prompt("OTP 번호 (OTP code)", hide_input=hidden))
        else:
            card = client.lost_phone_card(report)
            answer["card_challenge_id"] = str(card["challenge_id"])
            answer["card_answer"] = str(
                click.prompt(
                    f"보안카드 {card['slot_a']}번 앞 2자리 + {card['slot_b']}번 뒤 2자리 "
                    f"(card slot {card['slot_a']} first 2 + slot {card['slot_b']} last 2)",
                    hide_input=hidden,
                )
            )
        results = client.lost_phone_confirm(report, medium, **answer)
    for result in results:
        click.echo(f"{result['serial']}: {result['status']}")


@app.command("lost-undo")
@url_option
@click.option("--report", "report_id", required=True, help="the report number in the SMS/mail")
@click.option("--code", required=True, help="the undo code in the SMS/mail")
@handle_errors
def app_lost_undo(url: str, report_id: str, code: str) -> None:
    """분실 신고 취소: the code sent at suspension lifts it at once (single use)."""
    with CenterClient(url, locale=language()) as client:
        results = client.lost_phone_undo(report_id, code)
    for result in results:
        click.echo(f"{result['serial']}: {result['status']}")
