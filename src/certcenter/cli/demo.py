"""Scripted answers for the demo, taken from the demo world's data for one person."""

from __future__ import annotations

from certcenter.cli.flow import Answers
from certcenter.simulators.world import load_world

DEMO_PIN = "591734"
DEMO_PATTERN = [0, 1, 2, 5, 8]


def scripted_answers(key: str) -> Answers:
    world = load_world()
    person = world.people.get(key)
    if person is None or person.phone is None:
        known = ", ".join(k for k, p in world.people.items() if p.phone)
        raise SystemExit(f"no demo person {key!r} with a phone; choose one of {known}")
    account = person.accounts[0] if person.accounts else {"bank": None, "number": None}
    if person.resident_cards:
        card = [c for c in person.resident_cards if c.get("current", True)][-1]
        id_fields = {
            "kind": "resident_card",
            "name": person.name,
            "rrn": person.rrn.digits,
            "issue_date": card["issue_date"].isoformat(),
        }
    elif person.driver_licence:
        id_fields = {
            "kind": "driver_licence",
            "name": person.name,
            "birth_date": person.rrn.birth_date.isoformat(),
            "number": person.driver_licence["number"],
            "serial": person.driver_licence["serial"],
        }
    else:
        if person.passport is None:
            raise SystemExit(f"demo person {key!r} has no ID document to show")
        id_fields = {
            "kind": "passport",
            "name": person.name,
            "birth_date": person.rrn.birth_date.isoformat(),
            "number": person.passport["number"],
            "expiry": person.passport["expiry"].isoformat(),
        }
    return Answers(
        carrier=person.phone["carrier"],
        name=person.name,
        rrn_front=person.rrn.front7,
        phone=person.phone["number"],
        bank_code=account["bank"],
        account_number=account["number"],
        id_fields=id_fields,
        pin=DEMO_PIN,
        pattern=list(DEMO_PATTERN),
        biometric=True,
    )
