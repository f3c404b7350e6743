"""``certcenter customers diagnose C004``: why issuance fails for a customer (operator, local).

    $ certcenter --lang en customers diagnose C004
    C004: issuance fails (1 problem)
      ok       Internet banking
      ...
      PROBLEM  Phone in own name  [PHONE_NOT_OWN_NAME] The phone is not in your own name.
               What to do: Use a phone in your own name, or transfer the line to your name ...

``--json`` prints the same document as ``GET /v1/operator/customers/{number}/diagnosis``.
"""

from __future__ import annotations

import json
import unicodedata
from typing import TYPE_CHECKING

import click

from certcenter.cli.common import handle_errors, language, local_center, operator_actor
from certcenter.errors import Locale, entry

if TYPE_CHECKING:  # the diagnosis itself runs in the local center the command opens
    from certcenter.diagnosis import CheckItem, Checklist

LABELS: dict[str, tuple[str, str]] = {
    "internet_banking": ("인터넷뱅킹 가입", "Internet banking"),
    "overseas_access": ("해외 접속", "Access from abroad"),
    "blocks": ("24시간 차단", "24-hour blocks"),
    "phone_corporate_line": ("법인 명의 휴대폰", "Corporate phone line"),
    "phone_own_name": ("본인 명의 휴대폰", "Phone in own name"),
    "phone_carrier": ("통신사", "Carrier"),
    "sms_spam_block": ("문자 스팸 차단", "SMS spam filter"),
    "account_usable": ("계좌 상태", "Account"),
    "device_registered": ("등록 기기 (1인 1기기)", "Registered device (one per person)"),
    "certificate": ("인증서", "Certificate"),
    "factor_locks": ("잠금", "Locks"),
    "recent_failures": ("최근 실패", "Recent failures"),
}
STATUS = {
    "ok": ("정상", "ok"),
    "warning": ("주의", "warning"),
    "problem": ("문제", "PROBLEM"),
}
COLOURS = {"ok": "green", "warning": "yellow", "problem": "red"}


def _pad(text: str, width: int) -> str:
    """Pad to ``width`` terminal columns (a Hangul syllable takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


def _detail(item: CheckItem, lang: Locale) -> str:
    ctx = item.context
    if item.key == "account_usable" and "account" in ctx:
        return f"{ctx['bank']} {ctx['account']} ({ctx['account_status']})"
    if item.key == "phone_carrier":
        return str(ctx.get("carrier_label", ""))
    if item.key == "factor_locks" and "factor" in ctx:
        return str(ctx["factor"])
    if item.key == "device_registered" and ctx.get("registered"):
        return f"{ctx['model']} ({ctx['device_id']})"
    if item.key == "certificate" and ctx.get("certificate_status"):
        return f"{ctx.get('serial', '')} {ctx['certificate_status']}"
    if item.key == "internet_banking":
        enrolled = ctx.get("enrolled")
        return {
            "ko": "가입" if enrolled else "미가입 (발급하며 가입)",
            "en": "yes" if enrolled else "no (joins while issuing)",
        }[lang]
    return ""


def render(checklist: Checklist, lang: Locale) -> list[tuple[str, str | None]]:
    """Lines of text and their colour, for a person."""
    problems = len(checklist.problems)
    head = {
        "ko": f"{checklist.customer_number}: "
        + ("발급 가능" if checklist.ready else f"발급 불가 (문제 {problems}건)"),
        "en": f"{checklist.customer_number}: "
        + (
            "nothing stops issuance"
            if checklist.ready
            else f"issuance fails ({problems} problem{'s' if problems != 1 else ''})"
        ),
    }[lang]
    lines: list[tuple[str, str | None]] = [(head, None)]
    which = 0 if lang == "ko" else 1
    remedy_label = {"ko": "해결 방법", "en": "What to do"}[lang]
    for item in checklist.items:
        label = LABELS.get(item.key, (item.key, item.key))[which]
        status = STATUS[item.status][which]
        text = f"  {_pad(status, 8)} {label}"
        detail = _detail(item, lang)
        if detail:
            text += f"  {detail}"
        error = item.error()
        if error is not None:
            text += f"  [{error.code}] {error.message(lang)}"
        lines.append((text, COLOURS[item.status]))
        if error is not None and item.status == "problem":
            lines.append((f"{'':11}{remedy_label}: {error.remedy(lang)}", None))
        for failure in item.context.get("failures", []) if item.key == "recent_failures" else []:
            message = entry(failure["code"]).text("message", lang)
            lines.append(
                (
                    f"{'':11}{failure['last_at']}  {failure['count']}×  [{failure['code']}] "
                    f"{message}",
                    None,
                )
            )
    return lines


@click.command("diagnose")
@click.argument("number")
@click.option("--client-ip", default=None, help="Would the customer be let in from this address?")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON document.")
@handle_errors
def customers_diagnose(number: str, client_ip: str | None, as_json: bool) -> None:
    """왜 발급이 안 되나요? Why issuance fails for a customer, as a checklist (exit 2 when
    something stops it)."""

    @handle_errors
    def run() -> Checklist:
        center = local_center()
        try:
            result: Checklist = center.diagnosis.for_customer_number(
                number, operator_actor(), client_ip=client_ip
            )
        finally:
            center.close()
        return result

    checklist = run()
    if as_json:
        from certcenter.diagnosis.document import checklist_document

        click.echo(json.dumps(checklist_document(checklist), ensure_ascii=False, indent=2))
    else:
        for text, colour in render(checklist, language()):
            click.secho(text, fg=colour)
    if not checklist.ready:
        raise SystemExit(2)
