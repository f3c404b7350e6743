"""The demo world: people, their lines, accounts and IDs, from ``demo_world.toml``.

    world = load_world()
    seed_world(world, store, uow_factory, clock)   # once, on the first start

Bank customers among the people get a customer record in the center, linked by CI; the rest
exist only on the other side (a mother who holds her daughter's phone line, a sister whose
ID card is tried, someone who is not a customer at all).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from certcenter.clock import Clock
from certcenter.entities import Customer, new_id
from certcenter.identity.rrn import ResidentNumber, parse_rrn
from certcenter.ports import UnitOfWorkFactory
from certcenter.simulators.bank import hash_account_password
from certcenter.simulators.id_registry import rrn_fingerprint
from certcenter.simulators.telco import ci_secret, connecting_information
from certcenter.storage.simulator_store import SimulatorStore

# Every demo account's password (계좌 비밀번호) unless the world file gives one.
DEMO_ACCOUNT_PASSWORD = "2580"  # noqa: S105 (the demo world's, documented in the README)

# Demo data is dated against this day so that parsing never depends on the wall clock.
_WORLD_TODAY = date(2026, 1, 1)


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    rrn: ResidentNumber
    scenario_ko: str
    scenario_en: str
    customer: dict[str, Any] | None = None
    phone: dict[str, Any] | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)
    resident_cards: list[dict[str, Any]] = field(default_factory=list)
    driver_licence: dict[str, Any] | None = None
    passport: dict[str, Any] | None = None
    existing_device: dict[str, Any] | None = None
    departure: dict[str, Any] | None = None  # {country, departed[, returned]}: 출입국 기록


@dataclass(frozen=True)
class World:
    name: str
    corporate_holder: str
    people: dict[str, Person]
    # the bank's own accounts (the joint certificate's fee account): no person holds them
    house_accounts: list[dict[str, Any]] = field(default_factory=list)


def load_world(path: Path | None = None) -> World:
    if path is None:
        text = resources.files(__package__).joinpath("demo_world.toml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    raw = tomllib.loads(text)
    people: dict[str, Person] = {}
    for item in raw["people"]:
        scenario = item.get("scenario", {})
        people[item["key"]] = Person(
            key=item["key"],
            name=item["name"],
            rrn=parse_rrn(item["rrn"], today=_WORLD_TODAY),
            scenario_ko=scenario.get("ko", ""),
            scenario_en=scenario.get("en", ""),
            customer=item.get("customer"),
            phone=item.get("phone"),
            accounts=item.get("accounts", []),
            resident_cards=item.get("resident_cards", []),
            driver_licence=item.get("driver_licence"),
            passport=item.get("passport"),
            existing_device=item.get("existing_device"),
            departure=item.get("departure"),
        )
    return World(
        name=raw["name"],
        corporate_holder=raw["corporate_holder"],
        people=people,
        house_accounts=list(raw.get("house_accounts", [])),
    )


def _sim_rows(world: World, store: SimulatorStore) -> dict[str, list[dict[str, Any]]]:
    secret = ci_secret(store)

    def ci(person: Person) -> str:
        return connecting_information(person.rrn.digits, secret)

    rows: dict[str, list[dict[str, Any]]] = {
        "subscribers": [],
        "accounts": [],
        "resident_cards": [],
        "driver_licences": [],
        "passports": [],
        "departures": departure_rows(world, store),
    }
    rows["accounts"] += house_account_rows(world)
    for person in world.people.values():
        if person.phone:
            line = person.phone
            corporate = line.get("line", "personal") == "corporate"
            holder = world.people[line["holder"]] if "holder" in line else person
            rows["subscribers"].append(
                {
                    "phone": line["number"],
                    "carrier": line["carrier"],
                    "line_type": "corporate" if corporate else "personal",
                    "corporate_personal_service": bool(line.get("corporate_personal_service")),
                    "holder_name": world.corporate_holder if corporate else holder.name,
                    "holder_rrn7": "" if corporate else holder.rrn.front7,
                    "holder_ci": None if corporate else ci(holder),
                    "user_name": person.name if corporate else None,
                    "user_rrn7": person.rrn.front7 if corporate else None,
                    "user_ci": ci(person) if corporate else None,
                    "spam_blocks_1588": bool(line.get("spam_blocks_1588")),
                }
            )
        for account in person.accounts:
            rows["accounts"].append(
                {
                    "bank_code": account["bank"],
                    "account_number": account["number"],
                    "holder_name": person.name,
                    "holder_ci": ci(person),
                    "status": account.get("status", "normal"),
                    "balance": int(account.get("balance", 0)),
                    "password_hash": hash_account_password(
                        str(account.get("password", DEMO_ACCOUNT_PASSWORD))
                    ),
                }
            )
        for card in person.resident_cards:
            rows["resident_cards"].append(
                {
                    "ci": ci(person),
                    "name": person.name,
                    "rrn_hmac": rrn_fingerprint(store, person.rrn.digits),
                    "issue_date": card["issue_date"],
                    "current": bool(card.get("current", True)),
                }
            )
        if person.driver_licence:
            rows["driver_licences"].append(
                {
                    "number": person.driver_licence["number"],
                    "ci": ci(person),
                    "name": person.name,
                    "birth_date": person.rrn.birth_date,
                    "serial": person.driver_licence["serial"],
                    "status": person.driver_licence.get("status", "valid"),
                }
            )
        if person.passport:
            rows["passports"].append(
                {
                    "number": person.passport["number"],
                    "ci": ci(person),
                    "name": person.name,
                    "birth_date": person.rrn.birth_date,
                    "expiry": person.passport["expiry"],
                }
            )
    return rows


def departure_rows(world: World, store: SimulatorStore) -> list[dict[str, Any]]:
    """The immigration office's records of the world's people abroad (or back)."""
    secret = ci_secret(store)
    return [
        {
            "ci": connecting_information(person.rrn.digits, secret),
            "name": person.name,
            "country": str(person.departure["country"]).upper(),
            "departed_on": person.departure["departed"],
            "returned_on": person.departure.get("returned"),
        }
        for person in world.people.values()
        if person.departure
    ]


def house_account_rows(world: World) -> list[dict[str, Any]]:
    """The bank's own accounts, held by the bank (a CI of their own, never a person's)."""
    return [
        {
            "bank_code": account["bank"],
            "account_number": account["number"],
            "holder_name": account["holder"],
            "holder_ci": "house:" + account["number"],
            "status": "normal",
            "balance": int(account.get("balance", 0)),
            "password_hash": None,
        }
        for account in world.house_accounts
    ]


ExistingDeviceSeeder = Callable[[Customer, dict[str, Any]], None]


def seed_world(
    world: World,
    store: SimulatorStore,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    seed_existing_device: ExistingDeviceSeeder | None = None,
) -> bool:
    """Seed the world unless already seeded; True when it seeded now."""
    if store.is_seeded():
        if store.get_meta("departures") is None:  # seeded before departure records existed
            store.seed_departures(departure_rows(world, store))
        store.add_accounts(  # seeded before the bank's own accounts existed
            [
                row
                for row in house_account_rows(world)
                if store.account(row["bank_code"], row["account_number"]) is None
            ]
        )
        return False
    rows = _sim_rows(world, store)
    secret = ci_secret(store)
    now = clock.now()
    with uow_factory() as uow:
        for person in world.people.values():
            if not person.customer or not person.phone:
                continue
            ci = connecting_information(person.rrn.digits, secret)
            if uow.customers.by_ci(ci) is not None:
                continue
            uow.customers.add(
                Customer(
                    id=new_id(),
                    customer_number=person.customer["number"],
                    name=person.name,
                    ci=ci,
                    birth_date=person.rrn.birth_date,
                    phone=person.phone["number"],
                    created_at=now,
                    internet_banking=bool(person.customer.get("internet_banking", True)),
                    overseas_access=bool(person.customer.get("overseas_access", False)),
                    email=person.customer.get("email"),
                    user_id=person.customer.get("user_id"),
                )
            )
        uow.commit()
    if seed_existing_device is not None:
        for person in world.people.values():
            if person.existing_device and person.customer:
                with uow_factory() as uow:
                    customer = uow.customers.by_number(person.customer["number"])
                if customer is not None:
                    seed_existing_device(customer, person.existing_device)
    store.seed(world.name, rows)
    return True
