"""Registering for a joint certificate (공동인증서 등록) from the app: ``certcenter app joint
register``, the RA step that ends with the reference number (참조번호) and the authorization
code (인가코드) that ``certcenter app joint issue`` takes.

certcenter app joint register --kind banking --user-id c001user --medium otp --check ars
certcenter app joint register --kind general --bank-code 004 --account 12340100000001

The steps are the API's (``/v1/joint/registrations``, docs/joint-certificate.md): the kind and
the terms (``--yes`` accepts them), the internet-banking user ID and the resident number
(asked without echo, never an option), the security card or the mobile OTP (asked), then the
phone check: the SMS code (asked) or, with ``--check ars``, the center's ARS call — the
command shows the number, the customer answers the call on the phone on record and keys it in
(in the demo: ``certcenter sim ars <phone> <number>``), then presses Enter. For 범용 the fee is
paid from the named account. ``--stdin`` reads every asked answer from standard input, one a
line, in the order they are asked (the ARS call's Enter is an empty line).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.common import handle_errors, language, url_option

BASE = "/v1/joint/registrations"
MAX_RINGING = 10  # "the call still rings" answers before the command gives up


class _Answers:
    """Asks each answer (secrets without echo), or reads it from standard input."""

    def __init__(self, from_stdin: bool) -> None:
        self.from_stdin = from_stdin

    def ask(self, label: str, *, secret: bool = False, default: str | None = None) -> str:
        if self.from_stdin:
            click.echo(label)  # the question still shown: a script reads what to answer
            line = sys.stdin.readline()
            if not line and default is None:
                raise click.UsageError(f"--stdin: no line for {label}")
            return line.rstrip("\r\n")
        if default is not None:
            return str(click.prompt(label, default=default, show_default=False))
        return str(click.prompt(label, hide_input=secret))


def _demo_phone(client: CenterClient, user_id: str) -> str | None:
    """The phone on record in the demo world, for the ``sim`` hints (None without one)."""
    try:
        for person in client.people():
            if str(person.get("user_id") or "").lower() == user_id.lower():
                return str(person.get("phone") or "") or None
    except (ApiError, KeyError, TypeError):
        return None
    return None


def _medium(client: CenterClient, path: str, medium: str, answers: _Answers) -> None:
    asked = client.call("POST", f"{path}/medium", {"medium": medium})["detail"]
    if medium == "security_card":
        card = asked["security_card"]
        answer = answers.ask(
            f"보안카드 [{card['slot_a']}] 앞 2자리 + [{card['slot_b']}] 뒤 2자리 "
            f"(security card: first 2 of slot {card['slot_a']}, last 2 of slot {card['slot_b']})",
            secret=True,
        )
        body = {"card_challenge_id": card["challenge_id"], "card_answer": answer}
    else:
        body = {"otp_code": answers.ask("모바일 OTP 번호 (OTP code)", secret=True)}
    client.call("POST", f"{path}/medium/verify", body)
    click.echo("✔ 보안매체 확인 (security medium confirmed)")


def _phone_check(
    client: CenterClient, path: str, check: str, answers: _Answers, phone: str | None
) -> None:
    if check == "sms":
        sent = client.call("POST", f"{path}/code")["detail"]
        hint = f"; see `certcenter sim sms {phone}`" if phone else ""
        shown = sent.get("phone", "")
        code = answers.ask(f"{shown} 문자로 받은 인증번호 6자리 (SMS code{hint})")
        client.call("POST", f"{path}/code/verify", {"code": code.strip()})
        click.echo("✔ SMS 인증 완료 (SMS code confirmed)")
        return
    calling = client.call("POST", f"{path}/ars")["detail"]
    number = calling["ars_code"]
    click.echo(
        f"{calling['phone']} 으로 ARS 전화가 갑니다. 전화를 받아 화면의 번호 {number} 를 "
        f"누르세요. / An ARS call rings on {calling['phone']}: answer it and key in {number}."
    )
    click.echo(f"(demo: certcenter sim ars {phone or '<phone>'} {number})")
    for _ in range(MAX_RINGING):
        answers.ask("통화를 마쳤으면 Enter (press Enter once the call is done)", default="")
        confirmed = client.call("POST", f"{path}/ars/confirm")["detail"]
        if confirmed.get("ars") == "confirmed":
            click.echo("✔ ARS 인증 완료 (ARS call confirmed)")
            return
        click.echo("아직 전화가 연결 중입니다 (the call is still ringing).")
    raise click.ClickException("the ARS call was not answered")


@click.command("register")
@click.option(
    "--kind",
    type=click.Choice(["banking", "general"]),
    default="banking",
    show_default=True,
    help="banking: 은행·신용카드·보험용 (free); general: 범용 (the yearly fee).",
)
@click.option("--user-id", help="The internet-banking user ID (asked when not given).")
@click.option(
    "--medium",
    type=click.Choice(["security_card", "otp"]),
    default="security_card",
    show_default=True,
    help="The security medium: the security card or the mobile OTP.",
)
@click.option(
    "--check",
    type=click.Choice(["sms", "ars"]),
    default="sms",
    show_default=True,
    help="The phone check: an SMS code, or the center's ARS call.",
)
@click.option("--bank-code", help="범용: the bank of the account the fee is paid from.")
@click.option("--account", "account_number", help="범용: the account the fee is paid from.")
@click.option("--yes", is_flag=True, help="Accept the required terms without asking.")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="Read every asked answer from standard input, one a line.",
)
@url_option
@handle_errors
def joint_register(
    kind: str,
    user_id: str | None,
    medium: str,
    check: str,
    bank_code: str | None,
    account_number: str | None,
    yes: bool,
    from_stdin: bool,
    url: str,
) -> None:
    """공동인증서 등록: prove who you are; get the reference number and authorization code."""
    answers = _Answers(from_stdin)
    with CenterClient(url, locale=language()) as client:
        terms = client.call("GET", f"{BASE}/terms")
        required = list(terms["required"])
        click.echo("필수 약관 (required terms): " + ", ".join(required))
        if not yes and not click.confirm("모두 동의합니까? / Accept them all?", default=True):
            click.echo("cancelled")
            return
        started: dict[str, Any] = client.call("POST", BASE, {"kind": kind, "accepted": required})
        client.token = started["token"]
        path = f"{BASE}/{started['registration_id']}"
        user_id = user_id or answers.ask("인터넷뱅킹 사용자 ID (user ID)")
        rrn = answers.ask("주민등록번호 13자리 (resident registration number)", secret=True)
        client.call("POST", f"{path}/identify", {"user_id": user_id.strip(), "rrn": rrn.strip()})
        click.echo("✔ 본인 확인 (user ID and resident number confirmed)")
        _medium(client, path, medium, answers)
        _phone_check(client, path, check, answers, _demo_phone(client, user_id.strip()))
        body: dict[str, Any] = {}
        if kind == "general":
            body = {
                "bank_code": bank_code or answers.ask("수수료 출금 은행 코드 (bank code)"),
                "account_number": account_number or answers.ask("출금 계좌번호 (account)"),
            }
        done = client.call("POST", f"{path}/register", body)["detail"]
    click.echo(f"참조번호 (reference number):      {done['reference']}")
    click.echo(f"인가코드 (authorization code):    {done['authorization_code']}")
    click.echo(f"유효기간 (valid until):           {done['reference_expires_at'][:19]}")
    if done.get("fee_krw"):
        click.echo(f"수수료 (fee): {done['fee_krw']:,}원 ({done.get('fee_account')})")
    click.echo(
        "인가코드는 지금 한 번만 보여 드립니다 (the code is shown this once). "
        f"Next: certcenter app joint issue --ref {done['reference']} --npki ~/NPKI"
    )
