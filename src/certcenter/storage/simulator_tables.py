"""The embedded simulators' own database (the telco, the banks, the ID registry).

It is a separate database from the center's on purpose: it is the *other side* — the
phone's SMS inbox with the code in it, the statement with the 1-won depositor code — which
the center must never hold in clear.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from certcenter.storage.types import UtcDateTime

sim_metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sim_meta = Table(
    "sim_meta",
    sim_metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

# Mobile lines known to the carriers (통신사 가입자).
sim_subscribers = Table(
    "sim_subscribers",
    sim_metadata,
    Column("phone", String(20), primary_key=True),
    Column("carrier", String(20), nullable=False),
    Column("line_type", String(20), nullable=False),  # personal | corporate
    Column("corporate_personal_service", Boolean, nullable=False),
    Column("holder_name", String(80), nullable=False),
    Column("holder_rrn7", String(7), nullable=False),
    Column("holder_ci", String(100), nullable=True),
    Column("user_name", String(80), nullable=True),  # registered user of a corporate line
    Column("user_rrn7", String(7), nullable=True),
    Column("user_ci", String(100), nullable=True),
    Column("spam_blocks_1588", Boolean, nullable=False),
)

# What each phone received (the phone's inbox and spam folder).
sim_sms = Table(
    "sim_sms",
    sim_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phone", String(20), nullable=False),
    Column("sender", String(20), nullable=False),
    Column("body", String(500), nullable=False),
    Column("folder", String(10), nullable=False),  # inbox | spam
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_sim_sms_phone", "phone", "id"),
)

sim_accounts = Table(
    "sim_accounts",
    sim_metadata,
    Column("bank_code", String(3), primary_key=True),
    Column("account_number", String(20), primary_key=True),
    Column("holder_name", String(80), nullable=False),
    Column("holder_ci", String(100), nullable=False),
    Column(
        "status", String(30), nullable=False
    ),  # normal | dormant | suspended | transfer_restricted
    Column("balance", Integer, nullable=False),
    # the account password (계좌 비밀번호) as the bank's core system keeps it: salted scrypt
    Column("password_hash", String(200), nullable=True),
)

sim_account_entries = Table(
    "sim_account_entries",
    sim_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank_code", String(3), nullable=False),
    Column("account_number", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("description", String(80), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("balance_after", Integer, nullable=False),
    Index("ix_sim_account_entries_account", "bank_code", "account_number", "id"),
)

sim_resident_cards = Table(
    "sim_resident_cards",
    sim_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ci", String(100), nullable=False),
    Column("name", String(80), nullable=False),
    Column("rrn_hmac", String(64), nullable=False, index=True),
    Column("issue_date", Date, nullable=False),
    Column("current", Boolean, nullable=False),
)

sim_driver_licences = Table(
    "sim_driver_licences",
    sim_metadata,
    Column("number", String(12), primary_key=True),
    Column("ci", String(100), nullable=False),
    Column("name", String(80), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("serial", String(10), nullable=False),
    Column("status", String(20), nullable=False),  # valid | revoked
)

sim_passports = Table(
    "sim_passports",
    sim_metadata,
    Column("number", String(12), primary_key=True),
    Column("ci", String(100), nullable=False),
    Column("name", String(80), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("expiry", Date, nullable=False),
)

# Calls the ARS (자동응답) placed to a phone, and what the person keyed in on the keypad.
sim_ars_calls = Table(
    "sim_ars_calls",
    sim_metadata,
    Column("id", String(36), primary_key=True),
    Column("phone", String(20), nullable=False),
    Column("prompt", String(300), nullable=False),
    Column("placed_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # ringing | answered | declined
    Column("keyed", String(10), nullable=True),
    Column("answered_at", UtcDateTime, nullable=True),
    Index("ix_sim_ars_calls_phone", "phone", "placed_at"),
)

# Security cards as printed and handed to their holder (the card in the customer's wallet).
sim_security_cards = Table(
    "sim_security_cards",
    sim_metadata,
    Column("serial", String(20), primary_key=True),
    Column("holder_ci", String(100), nullable=False, index=True),
    Column("slots", JSON, nullable=False),  # ["0417", "9921", …], slot 1 first
    Column("delivered_at", UtcDateTime, nullable=False),
)

# Departure records (출입국 기록): who left the country when, and when they came back.
sim_departures = Table(
    "sim_departures",
    sim_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ci", String(100), nullable=False),
    Column("name", String(80), nullable=False),
    Column("country", String(2), nullable=False),  # ISO 3166 alpha-2
    Column("departed_on", Date, nullable=False),
    Column("returned_on", Date, nullable=True),  # None: still abroad
    Index("ix_sim_departures_ci", "ci", "departed_on"),
)

# The interbank network's own record of each transfer, by the sender's reference (거래
# 고유번호) per paying account: a reference moves money once, and an inquiry (거래 결과 조회)
# answers what became of it. ``cancelled`` marks a reference the sender gave up on before it
# arrived: it never moves money afterwards (망취소).
sim_interbank_transfers = Table(
    "sim_interbank_transfers",
    sim_metadata,
    Column("from_bank", String(3), primary_key=True),
    Column("from_account", String(20), primary_key=True),
    Column("reference", String(40), primary_key=True),
    Column("status", String(12), nullable=False),  # completed | refused | cancelled
    Column("bank_reference", String(40), nullable=True),
    Column("refusal", String(60), nullable=True),
    Column("to_bank", String(3), nullable=True),
    Column("to_account", String(20), nullable=True),
    Column("amount", BigInteger, nullable=True),
    Column("at", UtcDateTime, nullable=False),
)
