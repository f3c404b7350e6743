"""Security card (보안카드) commands: the bank issues a card, the app registers it, the person
reads the printed card in the demo world.

certcenter customers issue-card C001          # operator, local: prints serial, never digits
certcenter sim card C001                      # the printed card in C001's hands (demo world)
certcenter app card register --serial 1234567890 [--auto-codes]
certcenter app card status
certcenter app card cancel [--auto-codes [--serial N]]   # 해지: the card once more, the PIN
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from certcenter.cli import app_session
from certcenter.cli.client import CenterClient
from certcenter.cli.common import (
    handle_errors,
    keystore_option,
    language,
    local_center,
    operator_actor,
    url_option,
)

COLUMNS = 5


def card_table(serial: str, slots: list[str]) -> str:
    """The printed card as a person reads it: numbered slots, five to a row."""
    width = len(str(len(slots)))
    lines = [f"보안카드 (security card)  No. {serial}"]
    for start in range(0, len(slots), COLUMNS):
        cells = [
            f"[{number:>{width}}] {slots[number - 1]}"
            for number in range(start + 1, min(start + COLUMNS, len(slots)) + 1)
        ]
        lines.append("   ".join(cells))
    return "\n".join(lines)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# ---------------------------------------------------------------- operator


@click.command("issue-card")
@click.argument("number")
@handle_errors
def customers_issue_card(number: str) -> None:
    """Issue a new security card (보안카드) to a customer; the printed card goes to them."""
    center = local_center()
    try:
        issued = center.security_cards.issue(number, operator_actor())
    finally:
        center.close()
    click.echo(
        f"security card {issued.serial} issued to {issued.customer_number} "
        f"({issued.slots} slots), handed to the customer"
    )
    if issued.lock_released:
        click.echo("the security card lock of this customer was released")
    click.echo(f"to register it: certcenter app card register --serial {issued.serial}")


# ---------------------------------------------------------------- the demo world


@click.command("card")
@click.argument("key", metavar="CUSTOMER_NUMBER_OR_SERIAL")
@url_option
@handle_errors
def sim_card(key: str, url: str) -> None:
    """The printed security card in its holder's hands (by serial, or the customer's newest)."""
    with CenterClient(url, locale=language()) as client:
        card = client.call("GET", f"/sim/cards/{key.strip()}")
    click.echo(card_table(card["serial"], list(card["slots"])))
    click.echo(f"delivered {card['delivered_at'][:19]} (UTC)")


# ---------------------------------------------------------------- the app


@click.group("card")
def app_card() -> None:
    """The security card (보안카드): register the card the bank gave you, see its status."""


@app_card.command("register")
@keystore_option
@url_option
@click.option(
    "--serial",
    default=None,
    help="The serial number printed on the card (asked; --auto-codes reads it in the demo).",
)
@click.option(
    "--auto-codes", is_flag=True, help="Read the printed card from the demo world (/sim)."
)
@handle_errors
def app_card_register(keystore: Path, url: str, serial: str | None, auto_codes: bool) -> None:
    """Register a security card: answer one question on two of its slots."""
    with app_session.logged_in_client(keystore, url, lang=language()) as client:
        if serial is None and auto_codes:  # the newest card the bank gave this customer
            number = client.call("GET", "/v1/session")["customer_number"]
            serial = str(client.call("GET", f"/sim/cards/{number}")["serial"])
            click.echo(f"보안카드 일련번호 (serial, read from the demo's printed card): {serial}")
        if serial is None:
            serial = str(click.prompt("보안카드 일련번호 (serial printed on the card)"))
        question = client.call("POST", "/v1/security-cards/registrations", {"serial": serial})
        slot_a, slot_b = int(question["slot_a"]), int(question["slot_b"])
        click.echo(
            f"보안카드 {slot_a}번의 앞 2자리와 {slot_b}번의 뒤 2자리를 입력하세요. "
            f"(first two digits of slot {slot_a}, then the last two of slot {slot_b})"
        )
        if auto_codes:
            printed = client.call("GET", f"/sim/cards/{_digits(serial)}")
            slots = list(printed["slots"])
            answer = slots[slot_a - 1][:2] + slots[slot_b - 1][2:]
            click.echo("(read from the demo world's printed card)")
        else:
            answer = click.prompt("4 digits", hide_input=True)
        card = client.call(
            "POST", f"/v1/security-cards/registrations/{question['id']}", {"answer": answer}
        )
    click.echo(f"security card {card['serial']}: {card['status']} ({card['slots']} slots)")


@app_card.command("status")
@keystore_option
@url_option
@handle_errors
def app_card_status(keystore: Path, url: str) -> None:
    """Your security cards: serial (masked), status, number of slots."""
    with app_session.logged_in_client(keystore, url, lang=language()) as client:
        cards = client.call("GET", "/v1/security-cards")
    if not cards:
        click.echo("(no security card)")
    for card in cards:
        registered = (card.get("registered_at") or "-")[:19]
        click.echo(
            f"{card['serial']}  {card['status']:8} {card['slots']} slots  "
            f"issued {card['issued_at'][:19]}  registered {registered}"
        )


@app_card.command("cancel")
@keystore_option
@url_option
@click.option(
    "--auto-codes", is_flag=True, help="Read the printed card from the demo world (/sim)."
)
@click.option(
    "--serial",
    default=None,
    help="With --auto-codes: the card in use, if the bank gave you a newer one since.",
)
@handle_errors
def app_card_cancel(keystore: Path, url: str, auto_codes: bool, serial: str | None) -> None:
    """해지: answer one more question on the card, then the app's PIN; the card can no longer
    be used and a new card from the bank can be registered."""
    with app_session.logged_in_client(keystore, url, lang=language()) as client:
        question = client.call("POST", "/v1/security-cards/cancellations")
        slot_a, slot_b = int(question["slot_a"]), int(question["slot_b"])
        click.echo(
            f"보안카드 {slot_a}번의 앞 2자리와 {slot_b}번의 뒤 2자리를 입력하세요. "
            f"(first two digits of slot {slot_a}, then the last two of slot {slot_b})"
        )
        if auto_codes:
            key = serial and _digits(serial)
            key = key or client.call("GET", "/v1/session")["customer_number"]
            slots = list(client.call("GET", f"/sim/cards/{key}")["slots"])
            answer = slots[slot_a - 1][:2] + slots[slot_b - 1][2:]
            click.echo("(read from the demo world's printed card)")
        else:
            answer = click.prompt("4 digits", hide_input=sys.stdin.isatty())
        pin = click.prompt("간편비밀번호 (PIN)", hide_input=sys.stdin.isatty())
        card = client.call(
            "POST",
            f"/v1/security-cards/cancellations/{question['id']}",
            {"answer": answer, "pin": pin},
        )
    click.echo(f"security card {card['serial']}: {card['status']}")
