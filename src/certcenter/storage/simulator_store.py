"""SQL for the embedded simulators' own database (see :mod:`simulator_tables`).

Rows come back as plain dicts: the simulators are small programs, not part of the domain.

    store = SimulatorStore(make_engine("sqlite:///var/simulators.db"))
    store.add_sms(phone="01012345678", sender="1588-9999", body="...", folder="inbox", at=now)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from certcenter.storage.simulator_tables import (
    sim_account_entries,
    sim_accounts,
    sim_ars_calls,
    sim_departures,
    sim_driver_licences,
    sim_interbank_transfers,
    sim_meta,
    sim_passports,
    sim_resident_cards,
    sim_security_cards,
    sim_sms,
    sim_subscribers,
)

Row = dict[str, Any]


class SimulatorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- meta
    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(sim_meta.c.value).where(sim_meta.c.key == key)).scalar()
        return None if value is None else str(value)

    def set_meta_once(self, key: str, value: str) -> str:
        """Store ``value`` unless the key exists; return what is stored."""
        with self.engine.begin() as conn:
            current = conn.execute(select(sim_meta.c.value).where(sim_meta.c.key == key)).scalar()
            if current is not None:
                return str(current)
            conn.execute(insert(sim_meta).values(key=key, value=value))
        return value

    # -- telco
    def subscriber(self, phone: str) -> Row | None:
        return self._one(select(sim_subscribers).where(sim_subscribers.c.phone == phone))

    def set_subscriber(self, phone: str, **values: Any) -> bool:
        """Change a line (spam filter, corporate personal service, carrier); False if unknown."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sim_subscribers).where(sim_subscribers.c.phone == phone).values(**values)
            )
        return bool(done.rowcount)

    def add_sms(self, *, phone: str, sender: str, body: str, folder: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sim_sms).values(
                    phone=phone, sender=sender, body=body, folder=folder, received_at=at
                )
            )

    def messages(self, phone: str, limit: int = 50) -> list[Row]:
        return self._all(
            select(sim_sms)
            .where(sim_sms.c.phone == phone)
            .order_by(sim_sms.c.id.desc())
            .limit(limit)
        )

    # -- banks
    def account(self, bank_code: str, account_number: str) -> Row | None:
        return self._one(
            select(sim_accounts).where(
                sim_accounts.c.bank_code == bank_code,
                sim_accounts.c.account_number == account_number,
            )
        )

    def accounts(self) -> list[Row]:
        return self._all(
            select(sim_accounts).order_by(sim_accounts.c.bank_code, sim_accounts.c.account_number)
        )

    def accounts_of(self, holder_ci: str) -> list[Row]:
        """Every account held under this CI, at any bank (read-only)."""
        acc = sim_accounts.c
        return self._all(
            select(sim_accounts)
            .where(acc.holder_ci == holder_ci)
            .order_by(acc.bank_code, acc.account_number)
        )

    def set_account_status(self, bank_code: str, account_number: str, status: str) -> bool:
        acc = sim_accounts.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sim_accounts)
                .where(acc.bank_code == bank_code, acc.account_number == account_number)
                .values(status=status)
            )
        return bool(done.rowcount)

    def post_entry(
        self, *, bank_code: str, account_number: str, amount: int, description: str, at: datetime
    ) -> None:
        """Credit (or debit) an account and write the statement line, atomically."""
        acc = sim_accounts.c
        with self.engine.begin() as conn:
            balance = conn.execute(
                update(sim_accounts)
                .where(acc.bank_code == bank_code, acc.account_number == account_number)
                .values(balance=acc.balance + amount)
                .returning(acc.balance)
            ).scalar_one()
            conn.execute(
                insert(sim_account_entries).values(
                    bank_code=bank_code,
                    account_number=account_number,
                    at=at,
                    description=description,
                    amount=amount,
                    balance_after=balance,
                )
            )

    def move_money(
        self,
        *,
        debit: tuple[str, str],
        credit: tuple[str, str],
        amount: int,
        debit_text: str,
        credit_text: str,
        at: datetime,
    ) -> bool:
        """Debit one account and credit another in one transaction; False (nothing moved)
        when the debited account lacks the funds."""
        with self.engine.begin() as conn:
            return self._move(
                conn, debit, credit, amount, debit_text=debit_text, credit_text=credit_text, at=at
            )

    @staticmethod
    def _move(
        conn: Connection,
        debit: tuple[str, str],
        credit: tuple[str, str],
        amount: int,
        *,
        debit_text: str,
        credit_text: str,
        at: datetime,
    ) -> bool:
        acc = sim_accounts.c
        debited = conn.execute(
            update(sim_accounts)
            .where(
                acc.bank_code == debit[0],
                acc.account_number == debit[1],
                acc.balance >= amount,
            )
            .values(balance=acc.balance - amount)
            .returning(acc.balance)
        ).scalar_one_or_none()
        if debited is None:
            return False
        credited = conn.execute(
            update(sim_accounts)
            .where(acc.bank_code == credit[0], acc.account_number == credit[1])
            .values(balance=acc.balance + amount)
            .returning(acc.balance)
        ).scalar_one()
        conn.execute(
            insert(sim_account_entries),
            [
                {
                    "bank_code": debit[0],
                    "account_number": debit[1],
                    "at": at,
                    "description": debit_text[:80],
                    "amount": -amount,
                    "balance_after": debited,
                },
                {
                    "bank_code": credit[0],
                    "account_number": credit[1],
                    "at": at,
                    "description": credit_text[:80],
                    "amount": amount,
                    "balance_after": credited,
                },
            ],
        )
        return True

    def book_transfer(
        self,
        *,
        reference: str,
        debit: tuple[str, str],
        credit: tuple[str, str],
        amount: int,
        debit_text: str,
        credit_text: str,
        bank_reference: str,
        at: datetime,
    ) -> Row:
        """Move the money of the sender's ``reference`` once, in one transaction with its
        record: the record of the reference (``completed``, or ``refused`` with
        ``INSUFFICIENT_FUNDS``), or the one already there (a reference completed before, or
        cancelled, moves nothing; one refused before may be tried again)."""
        t = sim_interbank_transfers.c
        key = {"from_bank": debit[0], "from_account": debit[1], "reference": reference}
        seen = self.interbank_transfer(reference, debit)
        if seen is not None and seen["status"] != "refused":
            return seen
        row = {
            **key,
            "to_bank": credit[0],
            "to_account": credit[1],
            "amount": amount,
            "at": at,
        }
        try:
            with self.engine.begin() as conn:
                if seen is not None:  # refused before, nothing moved: the sender may try again
                    conn.execute(
                        delete(sim_interbank_transfers).where(
                            *(getattr(t, name) == value for name, value in key.items()),
                            t.status == "refused",
                        )
                    )
                moved = self._move(
                    conn,
                    debit,
                    credit,
                    amount,
                    debit_text=debit_text,
                    credit_text=credit_text,
                    at=at,
                )
                if moved:
                    row.update(status="completed", bank_reference=bank_reference)
                else:
                    row.update(status="refused", refusal="INSUFFICIENT_FUNDS")
                conn.execute(insert(sim_interbank_transfers).values(**row))
        except IntegrityError:  # the same reference at the same moment: the other one stands
            pass
        found = self._one(
            select(sim_interbank_transfers).where(
                *(getattr(t, name) == value for name, value in key.items())
            )
        )
        if found is None:  # not reached: the row was written or was already there
            raise LookupError(reference)
        return found

    def cancel_transfer(self, reference: str, debit: tuple[str, str], at: datetime) -> Row:
        """The sender gives up on ``reference``: recorded ``cancelled`` unless the network
        already has it (then that record stands); after this it never moves money."""
        seen = self.interbank_transfer(reference, debit)
        if seen is not None:
            return seen
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(sim_interbank_transfers).values(
                        from_bank=debit[0],
                        from_account=debit[1],
                        reference=reference,
                        status="cancelled",
                        at=at,
                    )
                )
        except IntegrityError:
            pass
        found = self.interbank_transfer(reference, debit)
        if found is None:  # not reached: the row was written or was already there
            raise LookupError(reference)
        return found

    def interbank_transfer(self, reference: str, debit: tuple[str, str]) -> Row | None:
        t = sim_interbank_transfers.c
        return self._one(
            select(sim_interbank_transfers).where(
                t.from_bank == debit[0], t.from_account == debit[1], t.reference == reference
            )
        )

    def statement(self, bank_code: str, account_number: str, limit: int = 50) -> list[Row]:
        e = sim_account_entries.c
        return self._all(
            select(sim_account_entries)
            .where(e.bank_code == bank_code, e.account_number == account_number)
            .order_by(e.id.desc())
            .limit(limit)
        )

    # -- ARS (자동응답 전화)
    def place_call(self, *, call_id: str, phone: str, prompt: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sim_ars_calls).values(
                    id=call_id, phone=phone, prompt=prompt, placed_at=at, status="ringing"
                )
            )

    def call(self, call_id: str) -> Row | None:
        return self._one(select(sim_ars_calls).where(sim_ars_calls.c.id == call_id))

    def calls(self, phone: str, limit: int = 20) -> list[Row]:
        c = sim_ars_calls.c
        return self._all(
            select(sim_ars_calls).where(c.phone == phone).order_by(c.placed_at.desc()).limit(limit)
        )

    def answer_call(self, call_id: str, *, keyed: str | None, at: datetime) -> bool:
        """The person picks up and keys in digits (or declines: ``keyed`` None); once."""
        c = sim_ars_calls.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sim_ars_calls)
                .where(c.id == call_id, c.status == "ringing")
                .values(
                    status="answered" if keyed is not None else "declined",
                    keyed=keyed,
                    answered_at=at,
                )
            )
        return bool(done.rowcount)

    # -- security cards in their holders' hands
    def deliver_card(self, *, serial: str, holder_ci: str, slots: list[str], at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(sim_security_cards).values(
                    serial=serial, holder_ci=holder_ci, slots=slots, delivered_at=at
                )
            )

    def card(self, serial: str) -> Row | None:
        return self._one(select(sim_security_cards).where(sim_security_cards.c.serial == serial))

    def cards_of(self, holder_ci: str) -> list[Row]:
        c = sim_security_cards.c
        return self._all(
            select(sim_security_cards)
            .where(c.holder_ci == holder_ci)
            .order_by(c.delivered_at.desc())
        )

    # -- departure records (출입국 기록)
    def departures(self) -> list[Row]:
        d = sim_departures.c
        return self._all(select(sim_departures).order_by(d.departed_on.desc(), d.id.desc()))

    def departures_of(self, ci: str) -> list[Row]:
        """One person's trips, the newest departure first."""
        d = sim_departures.c
        return self._all(
            select(sim_departures).where(d.ci == ci).order_by(d.departed_on.desc(), d.id.desc())
        )

    def add_departure(self, *, ci: str, name: str, country: str, departed_on: date) -> int:
        with self.engine.begin() as conn:
            made = conn.execute(
                insert(sim_departures)
                .values(ci=ci, name=name, country=country, departed_on=departed_on)
                .returning(sim_departures.c.id)
            ).scalar_one()
        return int(made)

    def record_return(self, ci: str, returned_on: date) -> bool:
        """The person came back: close their open trip; False when none is open."""
        d = sim_departures.c
        with self.engine.begin() as conn:
            done = conn.execute(
                update(sim_departures)
                .where(d.ci == ci, d.returned_on.is_(None))
                .values(returned_on=returned_on)
            )
        return bool(done.rowcount)

    def add_accounts(self, rows: Sequence[Row]) -> None:
        """Add accounts to a world seeded before they existed (the bank's own)."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(sim_accounts), list(rows))

    def seed_departures(self, rows: Sequence[Row]) -> None:
        """Seed the departure records alone (a world seeded before they existed)."""
        with self.engine.begin() as conn:
            conn.execute(delete(sim_departures))
            if rows:
                conn.execute(insert(sim_departures), list(rows))
            conn.execute(delete(sim_meta).where(sim_meta.c.key == "departures"))
            conn.execute(insert(sim_meta).values(key="departures", value="seeded"))

    # -- ID registry
    def resident_cards(self, rrn_hmac: str) -> list[Row]:
        c = sim_resident_cards.c
        return self._all(
            select(sim_resident_cards).where(c.rrn_hmac == rrn_hmac).order_by(c.issue_date)
        )

    def driver_licence(self, number: str) -> Row | None:
        return self._one(select(sim_driver_licences).where(sim_driver_licences.c.number == number))

    def passport(self, number: str) -> Row | None:
        return self._one(select(sim_passports).where(sim_passports.c.number == number))

    # -- seeding (the demo world)
    def is_seeded(self) -> bool:
        return self.get_meta("world") is not None

    def seed(self, world_name: str, rows: Mapping[str, Sequence[Row]]) -> None:
        """Insert the world's rows in one transaction; mark the world seeded."""
        tables = {
            "subscribers": sim_subscribers,
            "accounts": sim_accounts,
            "resident_cards": sim_resident_cards,
            "driver_licences": sim_driver_licences,
            "passports": sim_passports,
            "departures": sim_departures,
        }
        with self.engine.begin() as conn:
            for name, table in tables.items():
                conn.execute(delete(table))
                if rows.get(name):
                    conn.execute(insert(table), list(rows[name]))
            conn.execute(delete(sim_meta).where(sim_meta.c.key.in_(("world", "departures"))))
            conn.execute(insert(sim_meta).values(key="world", value=world_name))
            conn.execute(insert(sim_meta).values(key="departures", value="seeded"))

    def _one(self, query: Any) -> Row | None:
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def _all(self, query: Any) -> list[Row]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]
