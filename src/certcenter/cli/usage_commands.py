"""``certcenter app login|logout|transfer|sign``: using the mobile certificate from the app.

certcenter app login                          # PIN (asked), or --method pattern|biometric
certcenter app transfer --to-bank 088 --to 110000000002 --amount 50000
certcenter app sign contract.pdf --out contract.pdf.p7s
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from certcenter.authn.credential_policy import parse_pattern
from certcenter.cli.app_session import forget_session, logged_in_client, login, save_session
from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.common import handle_errors, keystore_option, language, url_option
from certcenter.cli.keystore import Keystore


def _ask(label: str) -> str:
    return str(click.prompt(label, hide_input=sys.stdin.isatty()))


# what each factor of a transfer is, in the order they are asked
FACTOR_WORDS = {
    "account_password": "계좌 비밀번호 (account password)",
    "pin": "간편비밀번호 (PIN)",
    "otp": "모바일 OTP (OTP code)",
    "security_card": "보안카드 (security card)",
    "ars": "ARS 전화 (ARS call)",
}


def _demo_phone(client: CenterClient) -> str | None:
    """The logged-in customer's phone in the demo world, to name in the ``sim ars`` hint;
    None where the center has no demo world (production) or the session says nothing."""
    try:
        number = client.call("GET", "/v1/session")["customer_number"]
        for person in client.people():
            if person.get("key") == number:
                return str(person.get("phone") or "") or None
    except (ApiError, KeyError, TypeError):
        return None
    return None


def _evidence_folder_exists(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """``--evidence`` is checked before anything is sent: its folder must be there."""
    if value is not None and not value.resolve().parent.is_dir():
        raise click.BadParameter(f"no folder {value.parent} to write it in", ctx, param)
    return value


def transfer_options(command: Any) -> Any:
    """What a transfer names, for every app's ``transfer`` command: from, to, amount, memo,
    the medium, and ``--yes``."""
    for option in reversed(
        [
            click.option("--from-bank", default="004", show_default=True),
            click.option("--from", "from_account", required=True, help="Your account number."),
            click.option("--to-bank", required=True, help="The payee's bank code, e.g. 088."),
            click.option("--to", "to_account", required=True, help="The payee's account number."),
            click.option("--amount", type=int, required=True, help="KRW"),
            click.option("--memo", default=""),
            click.option(
                "--medium",
                type=click.Choice(["certificate", "otp", "security_card"]),
                default="certificate",
            ),
            click.option("--yes", is_flag=True, help="Do not ask to confirm amount and payee."),
            click.option(
                "--evidence",
                type=click.Path(dir_okay=False, writable=True, path_type=Path),
                default=None,
                callback=_evidence_folder_exists,
                help="Write the signed transfer (CMS SignedData, DER) to this file.",
            ),
        ]
    ):
        command = option(command)
    return command


def send_transfer(
    client: CenterClient,
    transfer: dict[str, Any],
    *,
    sign: Callable[[bytes], str],
    yes: bool,
    signature_stands_for_pin: bool = False,
) -> dict[str, Any] | None:
    """Prepare ``transfer``, show its document (exactly the bytes signed) and ask to send it,
    sign it with ``sign``, ask exactly the factors the amount needs, and confirm. None when the
    customer says no. Used by the mobile certificate's ``app transfer`` and the joint
    certificate's ``app joint transfer`` (whose signature stands for the PIN: the certificate
    password opened the key)."""
    prepared = client.call("POST", "/v1/transfers", transfer, idempotency_key=str(uuid.uuid4()))
    document = base64.b64decode(prepared["document_b64"])
    click.echo(document.decode("utf-8"), nl=False)
    amount = int(transfer["amount"])
    if not yes and not click.confirm(
        f"{prepared['payee_name']}님께 {amount:,}원을 보낼까요? / Send?", default=True
    ):
        click.echo("cancelled")
        return None
    # the CMS signed attributes over the document (its digest and its requested-at as the
    # signing time): the evidence then says when it was signed
    from certcenter.usage.transfers import to_be_signed  # the center's transfer rules: only here

    body: dict[str, Any] = {"signature": sign(to_be_signed(document))}
    factors = prepared["factors"]
    skipped = {"pin"} if signature_stands_for_pin else set()
    asked = [f for f in FACTOR_WORDS if f in factors and f not in skipped]
    if asked:
        words = " → ".join(FACTOR_WORDS[f] for f in asked)
        click.echo(f"{amount:,}원 이체에 필요한 확인 / this amount needs: {words}")
    if "account_password" in factors:
        body["account_password"] = _ask(
            f"출금계좌 {prepared['from_account']} 비밀번호 4자리 "
            "(account password of the withdrawal account)"
        )
    if "pin" in factors and not signature_stands_for_pin:
        body["pin"] = _ask("인증서 간편비밀번호 6자리 (certificate PIN)")
    if "otp" in factors:
        body["otp_code"] = _ask("모바일 OTP 번호 (OTP code)")
    if "security_card" in factors:
        card = prepared["security_card"]
        body["card_challenge_id"] = card["challenge_id"]
        body["card_answer"] = _ask(
            f"보안카드 [{card['slot_a']}] 앞 2자리 + [{card['slot_b']}] 뒤 2자리 "
            f"(security card: first 2 of slot {card['slot_a']}, last 2 of slot {card['slot_b']})"
        )
    if "ars" in factors:
        code = prepared["ars_code"]
        click.echo(
            f"ARS 전화가 갑니다. 화면의 번호 {code} 를 누르세요. / "
            f"An ARS call rings on your phone: key in {code}."
        )
        phone = _demo_phone(client)
        click.echo(f"(demo: certcenter sim ars {phone or '<phone>'} {code})")
        click.prompt(
            "통화를 마쳤으면 Enter (press Enter once the call is done)",
            default="",
            show_default=False,
        )
    done: dict[str, Any] = client.call(
        "POST",
        f"/v1/transfers/{prepared['id']}/confirm",
        body,
        idempotency_key=str(uuid.uuid4()),  # one per request: a retry of it sends it again
    )
    return done


@click.command("login")
@keystore_option
@url_option
@click.option("--method", type=click.Choice(["pin", "pattern", "biometric"]), default="pin")
@handle_errors
def app_login(keystore: Path, url: str, method: str) -> None:
    """인증서 로그인: sign a login challenge after the PIN or pattern (or with biometrics)."""
    store = Keystore(keystore)
    pin = _ask("간편비밀번호 (PIN)") if method == "pin" else None
    pattern = None
    if method == "pattern":
        pattern = parse_pattern(_ask("패턴 (points 0-8 in order, e.g. 0-1-2-5-8)"))
    with CenterClient(url, locale=language()) as client:
        session = login(client, store, method=method, pin=pin, pattern=pattern)
    save_session(store, session)
    minutes = session["idle_timeout_seconds"] // 60
    click.echo(f"{session['name']} ({session['customer_number']}) logged in with {method}")
    click.echo(f"the session ends after {minutes} minutes without use")


@click.command("logout")
@keystore_option
@url_option
@handle_errors
def app_logout(keystore: Path, url: str) -> None:
    store = Keystore(keystore)
    saved = store.directory / "session.json"
    if saved.exists():
        with CenterClient(url, locale=language()) as client:
            client.token = json.loads(saved.read_text("utf-8")).get("token")
            try:
                client.call("POST", "/v1/logout")
            finally:
                forget_session(store)
    click.echo("logged out")


@click.command("transfer")
@keystore_option
@url_option
@transfer_options
@handle_errors
def app_transfer(
    keystore: Path,
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
    """이체: shows the document with amount and payee, asks exactly the factors it needs,
    signs it with the certificate key and confirms."""
    store = Keystore(keystore)
    transfer = {
        "from_bank": from_bank,
        "from_account": from_account,
        "to_bank": to_bank,
        "to_account": to_account,
        "amount": amount,
        "memo": memo,
        "medium": medium,
    }
    with logged_in_client(keystore, url, lang=language()) as client:
        done = send_transfer(client, transfer, sign=store.sign, yes=yes)
        if done is None:
            return
        click.echo(f"이체 완료 / sent: {done['amount']:,} KRW → {done['payee_name']}")
        click.echo(f"reference {done['bank_reference']}")
        save_evidence(client, done, evidence)


_STATUS_WORDS = {
    "pending": "확인 대기 / pending",
    "processing": "은행 응답 대기 / waiting for the bank",
    "completed": "완료 / sent",
    "refused": "처리되지 않음 / not carried out",
    "expired": "시간 초과 / expired",
}


@click.command("transfers")
@keystore_option
@url_option
@handle_errors
def app_transfers(keystore: Path, url: str) -> None:
    """최근 이체: each recent transfer and how it ended; one not carried out says so plainly
    (also one whose answer never came back and that the bank's record settled later)."""
    lang = language()
    with logged_in_client(keystore, url, lang=lang) as client:
        transfers: list[dict[str, Any]] = client.call("GET", "/v1/transfers")
    if not transfers:
        click.echo("이체 내역이 없습니다 / no transfers")
    for transfer in transfers:
        status = _STATUS_WORDS.get(transfer["status"], transfer["status"])
        click.echo(
            f"{transfer['created_at'][:16]}  {transfer['amount']:>13,}원 → "
            f"{transfer['payee_name']}  {status}"
        )
        if transfer.get("notice"):
            click.echo(f"  {transfer['notice'][lang]}")


def save_evidence(client: CenterClient, done: dict[str, Any], path: Path | None) -> None:
    """Write the transfer's evidence (CMS SignedData, DER) to ``path``, or say where it is."""
    if path is None:
        click.echo(f"evidence: {done['evidence_url']} (--evidence FILE writes it)")
        return
    path.write_bytes(client.download(done["evidence_url"]))
    click.echo(f"evidence (CMS SignedData, DER) → {path}")


@click.command("sign")
@keystore_option
@url_option
@click.argument("document", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@handle_errors
def app_sign(keystore: Path, url: str, document: Path, out: Path) -> None:
    """전자서명: sign a file with the certificate after the PIN; writes a detached CMS."""
    store = Keystore(keystore)
    content = document.read_bytes()
    with logged_in_client(keystore, url, lang=language()) as client:
        signed = client.call(
            "POST",
            "/v1/documents/sign",
            {
                "name": document.name,
                "document_b64": base64.b64encode(content).decode(),
                "signature": store.sign(content),
                "pin": _ask("간편비밀번호 (PIN)"),
            },
        )
    out.write_bytes(base64.b64decode(signed["cms_b64"]))
    click.echo(f"signed {document.name} (sha256 {signed['sha256'][:16]}…) → {out}")


@click.command("ars")
@click.argument("phone")
@click.argument("digits", required=False)
@url_option
@handle_errors
def sim_ars(phone: str, digits: str | None, url: str) -> None:
    """The ARS call ringing on a demo phone: show it, or answer it by keying DIGITS."""
    with CenterClient(url, locale=language()) as client:
        if digits is None:
            calls = client.call("GET", f"/sim/ars/{phone}")
            for call in calls:
                click.echo(f"{call['placed_at'][:19]}  {call['status']:9}  {call['prompt']}")
            return
        client.call("POST", f"/sim/ars/{phone}/answer", {"keyed": digits})
    click.echo(f"answered the call on {phone} with {digits}")
