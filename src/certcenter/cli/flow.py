"""The issuance flow as the app walks it, shared by ``certcenter app enroll`` and ``demo``.

Every answer can be given up front (flags, the demo's script) or asked when needed (prompts);
codes are typed by the person who reads them on the phone or the statement, or fetched from
the demo world's simulators when ``auto_codes`` is on.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from cryptography import x509

from certcenter.authn.credential_policy import parse_pattern
from certcenter.cli.client import CenterClient
from certcenter.cli.keystore import Keystore

Ask = Callable[[str, bool], str]  # (prompt, secret) -> answer
Say = Callable[[str], None]


@dataclass
class Answers:
    carrier: str | None = None
    name: str | None = None
    rrn_front: str | None = None
    phone: str | None = None
    bank_code: str | None = None
    account_number: str | None = None
    id_fields: dict[str, str] = field(default_factory=dict)
    id_photo: Path | None = None  # 신분증 촬영: a photo of the ID instead of typed fields
    pin: str | None = None
    pattern: list[int] | None = None
    biometric: bool = False
    integrity: dict[str, Any] = field(default_factory=dict)
    move_certificate: bool = False
    platform: str = "android"
    model: str = "SM-S928N"
    app_version: str = "5.2.0"


_FIELD_WORDS = {
    "name": "이름 (name)",
    "rrn": "주민등록번호 (rrn)",
    "issue_date": "발급일자 (issue_date)",
    "birth_date": "생년월일 (birth_date)",
    "number": "번호 (number)",
    "serial": "암호일련번호 (serial)",
    "expiry": "기간만료일 (expiry)",
}


def _fields_from_photo(
    client: CenterClient, path: Path, *, ask: Callable[[str, bool], str], say: Callable[[str], None]
) -> dict[str, Any]:
    """신분증 촬영: send the photo, show what was read (the resident number masked), let the
    customer confirm or correct it; the fields go to the ID step marked as read from a photo."""
    photo = base64.b64encode(path.read_bytes()).decode("ascii")
    read = client.step("id/photo", {"photo": photo})["detail"]
    say(f"신분증 사진을 읽었습니다 (read from the photo): {read['document']}")
    for name, value in read["display"].items():
        if name in _FIELD_WORDS:
            say(f"  {_FIELD_WORDS[name]:24} {value}")
    fields: dict[str, Any] = dict(read["fields"])
    answer = ask("맞으면 y, 고칠 항목은 이름으로 (y, or fields to correct: name,rrn,…)", False)
    wanted = [] if answer.strip().lower() in ("", "y", "yes", "예") else answer.split(",")
    corrected = []
    for name in (part.strip() for part in wanted):
        if name not in fields or name == "kind":
            raise click.UsageError(f"no field {name!r} on this document")
        fields[name] = ask(_FIELD_WORDS.get(name, name), name == "rrn")
        corrected.append(name)
    return {**fields, "source": "photo", "corrected": corrected}


@dataclass
class Outcome:
    serial: str
    certificate_path: Path
    chain_path: Path
    not_after: str
    moved_from_device: str | None
    steps: list[str]


def _need(value: str | None, prompt: str, ask: Ask, secret: bool = False) -> str:
    return value if value else ask(prompt, secret)


def enroll(
    client: CenterClient,
    keystore: Keystore,
    answers: Answers,
    *,
    ask: Ask,
    say: Say,
    auto_codes: bool = False,
) -> Outcome:
    steps: list[str] = []
    device = keystore.ensure_device(
        platform=answers.platform, model=answers.model, app_version=answers.app_version
    )
    started = client.start(
        device, integrity=answers.integrity, move_certificate=answers.move_certificate
    )
    steps.append(f"start: enrollment {started['enrollment_id']} on device {device.device_id}")
    say(f"▶ 발급 시작 (enrollment {started['enrollment_id']}), 기기 {device.device_id}")

    client.step("terms", {"accepted": client.required_terms})
    steps.append("terms: accepted " + ", ".join(client.required_terms))
    say("✔ 약관 전체 동의 (all required terms accepted)")

    phone = _need(answers.phone, "휴대폰 번호 (mobile number)", ask)
    sent = client.step(
        "phone",
        {
            "carrier": _need(answers.carrier, "통신사 (SKT/KT/LGU/SKT_MVNO/KT_MVNO/LGU_MVNO)", ask),
            "name": _need(answers.name, "이름 (name)", ask),
            "rrn_front": _need(answers.rrn_front, "주민등록번호 앞 7자리 (YYMMDD-N)", ask),
            "phone": phone,
        },
    )
    detail = sent["detail"]
    say(f"✔ 인증번호 발송: {detail['phone']} (valid {detail['code_valid_seconds']} s)")
    digits = "".join(ch for ch in phone if ch.isdigit())
    code = client.latest_sms_code(digits) if auto_codes else None
    code = code or ask(
        f"문자로 받은 인증번호 6자리 (SMS code; see `certcenter sim sms {digits}`)", False
    )
    client.step("phone/verify", {"code": code})
    steps.append(f"phone: verified {sent['detail']['phone']}")
    say("✔ 휴대폰 본인인증 완료 (phone verified)")

    bank = _need(answers.bank_code, "은행 코드 (bank code, e.g. 004)", ask)
    account = _need(answers.account_number, "계좌번호 (account number)", ask)
    deposit = client.step("account", {"bank_code": bank, "account_number": account})
    say(f"✔ 1원 입금: {deposit['detail']['bank']} {deposit['detail']['account']}")
    plain_account = "".join(ch for ch in account if ch.isdigit())
    code = client.latest_deposit_code(bank, plain_account) if auto_codes else None
    code = code or ask(
        "입금자명의 숫자 (code in the depositor name; see `certcenter sim "
        f"statement {bank} {plain_account}`)",
        False,
    )
    client.step("account/verify", {"code": code})
    steps.append(f"account: verified {deposit['detail']['bank']} {deposit['detail']['account']}")
    say("✔ 계좌 인증 완료 (account verified)")

    fields = dict(answers.id_fields)
    if answers.id_photo is not None:
        fields = _fields_from_photo(client, answers.id_photo, ask=ask, say=say)
    elif not fields:
        kind = ask("신분증 종류 (resident_card / driver_licence / passport)", False)
        fields["kind"] = kind
        fields["name"] = answers.name or ask("이름 (name)", False)
        if kind == "resident_card":
            fields["rrn"] = ask("주민등록번호 13자리 (resident registration number)", True)
            fields["issue_date"] = ask("발급일자 (issue date, YYYY-MM-DD)", False)
        elif kind == "driver_licence":
            fields["birth_date"] = ask("생년월일 (YYYY-MM-DD)", False)
            fields["number"] = ask("면허번호 12자리 (licence number)", False)
            fields["serial"] = ask("암호일련번호 (serial)", False)
        else:
            fields["birth_date"] = ask("생년월일 (YYYY-MM-DD)", False)
            fields["number"] = ask("여권번호 (passport number)", False)
            fields["expiry"] = ask("기간만료일 (expiry, YYYY-MM-DD)", False)
    client.step("id", fields)
    steps.append(f"id: verified {fields['kind']}")
    say(f"✔ 신분증 인증 완료 ({fields['kind']})")

    pin = answers.pin or ask("간편비밀번호 6자리 (PIN)", True)
    confirmation = answers.pin or ask("간편비밀번호 확인 (PIN again)", True)
    pattern = answers.pattern
    if pattern is None:
        text = ask("패턴: 3×3 점 번호 0-8을 순서대로 (pattern, e.g. 0-1-2-5-8)", True)
        pattern = parse_pattern(text)
    body: dict[str, Any] = {"pin": pin, "pin_confirmation": confirmation, "pattern": pattern}
    if answers.biometric:
        body["biometric_public_key"] = keystore.new_biometric_key()
    client.step("credentials", body)
    steps.append(
        "credentials: PIN and pattern set" + (", biometric key" if answers.biometric else "")
    )
    say("✔ 간편비밀번호·패턴 등록 (PIN and pattern set)")

    csr = keystore.new_certificate_request(common_name=fields.get("name", "device"))
    issued = client.step("csr", {"csr": csr})
    keystore.install_certificate(issued["certificate"], issued["chain"])
    steps.append(f"csr: certificate {issued['serial']} issued, valid until {issued['not_after']}")
    say(f"✔ 인증서 발급 완료: serial {issued['serial']}, 유효기간 {issued['not_after']}")
    return Outcome(
        serial=issued["serial"],
        certificate_path=keystore.certificate_file,
        chain_path=keystore.chain_file,
        not_after=issued["not_after"],
        moved_from_device=issued.get("moved_from_device"),
        steps=steps,
    )


def reissue(
    client: CenterClient,
    keystore: Keystore,
    *,
    pin: str,
    new_pin: str,
    pattern: list[int],
    say: Say,
) -> Outcome:
    """재발급 the short way: the registered device and its PIN replace the proofing steps."""
    device, current = keystore.device(), keystore.certificate()
    if device is None or current is None:
        raise ValueError("no registered certificate in this keystore")
    proof = client.reissue_proof(device.device_id, keystore.sign, pin)
    started = client.start(device, reissue=proof)
    say(f"▶ 재발급 시작 (enrollment {started['enrollment_id']}): 본인확인 단계 생략")
    client.step("credentials", {"pin": new_pin, "pin_confirmation": new_pin, "pattern": pattern})
    say("✔ 간편비밀번호·패턴 등록 (PIN and pattern set)")
    name = str(current.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value)
    issued = client.step("csr", {"csr": keystore.new_certificate_request(common_name=name)})
    keystore.install_certificate(issued["certificate"], issued["chain"])
    say(f"✔ 인증서 재발급 완료: serial {issued['serial']}, 유효기간 {issued['not_after']}")
    return Outcome(
        serial=issued["serial"],
        certificate_path=keystore.certificate_file,
        chain_path=keystore.chain_file,
        not_after=issued["not_after"],
        moved_from_device=None,
        steps=["start (reissue)", "credentials", "csr"],
    )
