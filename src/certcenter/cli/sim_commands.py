"""The demo world's side: ``certcenter sim …`` (phones, bank statements, people) and the
scripted ``certcenter demo``.

certcenter sim people C001        # everything the app asks C001 for
certcenter sim sms 01020000001    # the demo phone's inbox
certcenter demo                   # the scripted issuance against the running center
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import click

from certcenter.cli.client import CenterClient
from certcenter.cli.common import fail, handle_errors, language, url_option
from certcenter.cli.flow import enroll
from certcenter.cli.keystore import Keystore
from certcenter.cli.lazy import LazyGroup


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        "card": "certcenter.cli.card_commands:sim_card",
        "ars": "certcenter.cli.usage_commands:sim_ars",
        "departures": "certcenter.cli.approval_commands:sim_departures",
    },
)
def sim() -> None:
    """The demo world's other side: phones, bank statements, people."""


_DOCUMENT_WORDS = {
    "resident_card": "주민등록증 (resident_card)",
    "driver_licence": "운전면허증 (driver_licence)",
    "passport": "여권 (passport)",
}


def _masked_rrn(rrn: str) -> str:
    return f"{rrn[:8]}******" if len(rrn) == 14 else "-"


def _document_line(document: dict[str, Any], rrn: str, birth_date: str) -> str:
    kind = document["kind"]
    if kind == "resident_card":
        old = "" if document.get("current", True) else "  ← 재발급 전 옛 카드 (old card)"
        return f"rrn {rrn}  issue date {document['issue_date']}{old}"
    if kind == "driver_licence":
        return (
            f"birth date {birth_date}  licence number {document['number']}  "
            f"serial {document['serial']}"
        )
    return (
        f"birth date {birth_date}  passport number {document['number']}  "
        f"expiry {document['expiry']}"
    )


@sim.command("people")
@click.argument("key", required=False)
@url_option
@handle_errors
def sim_people(key: str | None, url: str) -> None:
    """Who is in the demo world and what each meets; with KEY, everything the app asks that
    person for (the demo cards are fictional; the list shows the RRN masked, as on a copy)."""
    with CenterClient(url, locale=language()) as client:
        people = client.people()
    if key is None:
        for p in people:
            accounts = ", ".join(f"{a['bank']}:{a['number']}" for a in p["accounts"]) or "-"
            kinds = "+".join(d["kind"].split("_")[0] for d in p.get("documents", [])) or "-"
            click.echo(
                f"{p['key']:5} {p['name']:5} {_masked_rrn(p.get('rrn', '')):15} "
                f"{p['phone'] or '-':12} {p['carrier'] or '-':9} {accounts:22} {kinds:16} "
                f"{p['scenario'][language()]}"
            )
        click.echo("(certcenter sim people KEY: everything the app asks that person for)")
        return
    person = next((p for p in people if p["key"].upper() == key.upper()), None)
    if person is None:
        fail(f"no demo person {key!r}: choose one of {', '.join(p['key'] for p in people)}")
        return
    accounts = ", ".join(f"{a['bank']} {a['number']}" for a in person["accounts"]) or "-"
    click.echo(f"{person['key']} {person['name']}: {person['scenario'][language()]}")
    click.echo(f"  통신사 (carrier)          {person['carrier'] or '-'}")
    click.echo(f"  이름 (name)               {person['name']}")
    click.echo(f"  주민번호 앞 7자리 (rrn-front) {person['rrn'][:8]}")
    click.echo(f"  휴대폰 (phone)            {person['phone'] or '-'}")
    click.echo(f"  은행·계좌 (bank, account)  {accounts}")
    click.echo("  신분증 (ID, any one; the demo cards are fictional):")
    for document in person.get("documents", []):
        line = _document_line(document, person["rrn"], person["birth_date"])
        click.echo(f"    {_DOCUMENT_WORDS.get(document['kind'], document['kind'])}: {line}")


@sim.command("id-photo")
@click.argument("key")
@click.option(
    "--kind",
    type=click.Choice(["resident_card", "driver_licence", "passport"]),
    default=None,
    help="Which of the person's documents (default: the first they hold).",
)
@click.option("--glare", is_flag=True, help="A bright reflection over the text.")
@click.option("--blur", is_flag=True, help="Out of focus.")
@click.option("--dark", is_flag=True, help="Taken in a dim room.")
@click.option("--crop", is_flag=True, help="The card runs out of the frame.")
@click.option("--small", is_flag=True, help="The card far from the lens.")
@click.option("--warp", is_flag=True, help="Taken at a steep angle (the center corrects it).")
@click.option("--old-card", is_flag=True, help="The resident card a re-issue replaced.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="JPEG to write."
)
@handle_errors
def sim_id_photo(
    key: str,
    kind: str | None,
    glare: bool,
    blur: bool,
    dark: bool,
    crop: bool,
    small: bool,
    warp: bool,
    old_card: bool,
    seed: int,
    out: Path | None,
) -> None:
    """Photograph a demo person's ID (a fictional card) for `certcenter app enroll
    --id-photo`, with the defects the center must refuse or cope with."""
    from certcenter.simulators.id_photos import photo  # Pillow only when asked
    from certcenter.simulators.world import load_world

    people = load_world().people
    person = people.get(key.upper())
    if person is None:
        fail(f"no demo person {key!r}: choose one of {', '.join(people)}")
        return
    held = [
        name
        for name, has in (
            ("resident_card", bool(person.resident_cards)),
            ("driver_licence", person.driver_licence is not None),
            ("passport", person.passport is not None),
        )
        if has
    ]
    chosen = kind or (held[0] if held else None)
    if chosen not in held:
        fail(f"{person.key} holds no {kind or 'ID document'} (holds: {', '.join(held) or '-'})")
        return
    flags = {"glare": glare, "blur": blur, "dark": dark, "crop": crop, "small": small}
    defects = [name for name, on in {**flags, "warp": warp}.items() if on]
    data = photo(person, chosen, defects=defects, seed=seed, old_card=old_card)
    target = out or Path(f"id-{person.key}-{chosen}{''.join('-' + d for d in defects)}.jpg")
    target.write_bytes(data)
    click.echo(
        f"{target} ({chosen}, {len(data) // 1024} KiB): certcenter app enroll --id-photo {target}"
    )


@sim.command("sms")
@click.argument("phone")
@url_option
@handle_errors
def sim_sms(phone: str, url: str) -> None:
    """Messages received by a demo phone (newest first)."""
    with CenterClient(url, locale=language()) as client:
        messages = client.messages("".join(ch for ch in phone if ch.isdigit()))
    if not messages:
        click.echo("(no messages)")
    for m in messages:
        folder = " [스팸함 spam]" if m["folder"] == "spam" else ""
        click.echo(f"{m['received_at'][:19]}  {m['sender']}{folder}\n  {m['body']}")


@sim.command("statement")
@click.argument("bank_code")
@click.argument("account_number")
@url_option
@handle_errors
def sim_statement(bank_code: str, account_number: str, url: str) -> None:
    """A demo account's statement (newest first): the 1-won deposit carries the code."""
    with CenterClient(url, locale=language()) as client:
        data = client.statement(bank_code, "".join(ch for ch in account_number if ch.isdigit()))
    click.echo(
        f"{data['bank']} {data['account_number']} ({data['holder']}, {data['status']}), "
        f"balance {data['balance']:,}"
    )
    for e in data["entries"]:
        click.echo(
            f"  {e['at'][:19]}  {e['description']:12} {e['amount']:>+8,}  {e['balance_after']:>12,}"
        )


@sim.command("account-status")
@click.argument("bank_code")
@click.argument("account_number")
@click.argument(
    "status", type=click.Choice(["normal", "dormant", "suspended", "transfer_restricted"])
)
@url_option
@handle_errors
def sim_account_status(bank_code: str, account_number: str, status: str, url: str) -> None:
    """Play the bank: change a demo account's status."""
    with CenterClient(url, locale=language()) as client:
        client.set_account_status(bank_code, account_number, status)
    click.echo(f"{bank_code} {account_number}: {status}")


@sim.command("line")
@click.argument("phone")
@click.option(
    "--spam-filter/--no-spam-filter", default=None, help="The phone's filter for 1588 numbers."
)
@click.option(
    "--corporate-personal-service/--no-corporate-personal-service",
    default=None,
    help="The carrier's personal-verification service for a corporate line.",
)
@url_option
@handle_errors
def sim_line(
    phone: str, spam_filter: bool | None, corporate_personal_service: bool | None, url: str
) -> None:
    """Play the telco or the phone's owner: change a demo line's settings."""
    values = {
        k: v
        for k, v in (
            ("spam_blocks_1588", spam_filter),
            ("corporate_personal_service", corporate_personal_service),
        )
        if v is not None
    }
    if not values:
        fail(
            "nothing to change: give --spam-filter/--no-spam-filter or "
            "--corporate-personal-service/--no-corporate-personal-service"
        )
    with CenterClient(url, locale=language()) as client:
        line = client.set_line("".join(ch for ch in phone if ch.isdigit()), **values)
    click.echo(", ".join(f"{k}: {v}" for k, v in line.items()))


@click.command()
@url_option
@click.option("--customer", default="C001", show_default=True, help="Demo person to enrol.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
)
@click.option(
    "--move-certificate",
    is_flag=True,
    help="Move the customer's certificate from another device to this one.",
)
@handle_errors
def demo(url: str, customer: str, out: Path, move_certificate: bool) -> None:
    """Issue a mobile certificate for a demo customer, scripted, against the running center."""
    from certcenter.cli.demo import scripted_answers  # reads the demo world only when asked

    answers = scripted_answers(customer)
    answers.move_certificate = move_certificate
    keystore = Keystore(out / f"keystore-{customer}")
    with CenterClient(url, locale=language()) as client:
        outcome = enroll(client, keystore, answers, ask=_no_prompt, say=click.echo, auto_codes=True)
        sms = _after_issuance_notice(client, answers.phone or "")
    out.mkdir(parents=True, exist_ok=True)
    cert_path, chain_path = out / "certificate.pem", out / "chain.pem"
    cert_path.write_text(outcome.certificate_path.read_text("utf-8"), "utf-8")
    chain_path.write_text(outcome.chain_path.read_text("utf-8"), "utf-8")
    click.echo("")
    click.echo(f"issuance SMS: {sms[0]['body'] if sms else '(none)'}")
    click.echo(f"certificate: {cert_path}")
    click.echo(f"CA chain:    {chain_path}")
    click.echo(f"check it:    openssl verify -CAfile {chain_path} {cert_path}")


def _after_issuance_notice(
    client: CenterClient, phone: str, wait: float = 10.0
) -> list[dict[str, Any]]:
    """The phone's messages once the issuance notice is there. The center's sender sends it
    after the request has returned, so wait (up to ``wait`` seconds) for a message newer
    than the last verification code."""
    deadline = time.monotonic() + wait
    while True:
        sms = client.messages(phone)
        if (sms and not re.search(r"\[\d{6}\]", sms[0]["body"])) or time.monotonic() > deadline:
            return sms
        time.sleep(0.2)


def _no_prompt(prompt: str, secret: bool) -> str:
    raise click.UsageError(f"the scripted demo has no answer for: {prompt}")
