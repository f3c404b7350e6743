"""simulators initial schema

Revision ID: s0001
Revises:
Create Date: 2026-11-23 13:24:10.581184
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sim_account_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank_code", sa.String(length=3), nullable=False),
        sa.Column("account_number", sa.String(length=20), nullable=False),
        sa.Column("at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("description", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_account_entries")),
    )
    with op.batch_alter_table("sim_account_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sim_account_entries_account", ["bank_code", "account_number", "id"], unique=False
        )

    op.create_table(
        "sim_accounts",
        sa.Column("bank_code", sa.String(length=3), nullable=False),
        sa.Column("account_number", sa.String(length=20), nullable=False),
        sa.Column("holder_name", sa.String(length=80), nullable=False),
        sa.Column("holder_ci", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bank_code", "account_number", name=op.f("pk_sim_accounts")),
    )
    op.create_table(
        "sim_driver_licences",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("ci", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("serial", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_sim_driver_licences")),
    )
    op.create_table(
        "sim_meta",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sim_meta")),
    )
    op.create_table(
        "sim_passports",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("ci", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_sim_passports")),
    )
    op.create_table(
        "sim_resident_cards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ci", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("rrn_hmac", sa.String(length=64), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_resident_cards")),
    )
    with op.batch_alter_table("sim_resident_cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sim_resident_cards_rrn_hmac"), ["rrn_hmac"], unique=False
        )

    op.create_table(
        "sim_sms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("folder", sa.String(length=10), nullable=False),
        sa.Column(
            "received_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_sms")),
    )
    with op.batch_alter_table("sim_sms", schema=None) as batch_op:
        batch_op.create_index("ix_sim_sms_phone", ["phone", "id"], unique=False)

    op.create_table(
        "sim_subscribers",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=20), nullable=False),
        sa.Column("line_type", sa.String(length=20), nullable=False),
        sa.Column("corporate_personal_service", sa.Boolean(), nullable=False),
        sa.Column("holder_name", sa.String(length=80), nullable=False),
        sa.Column("holder_rrn7", sa.String(length=7), nullable=False),
        sa.Column("holder_ci", sa.String(length=100), nullable=True),
        sa.Column("user_name", sa.String(length=80), nullable=True),
        sa.Column("user_rrn7", sa.String(length=7), nullable=True),
        sa.Column("user_ci", sa.String(length=100), nullable=True),
        sa.Column("spam_blocks_1588", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sim_subscribers")),
    )


def downgrade() -> None:
    op.drop_table("sim_subscribers")
    with op.batch_alter_table("sim_sms", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_sms_phone")

    op.drop_table("sim_sms")
    with op.batch_alter_table("sim_resident_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sim_resident_cards_rrn_hmac"))

    op.drop_table("sim_resident_cards")
    op.drop_table("sim_passports")
    op.drop_table("sim_meta")
    op.drop_table("sim_driver_licences")
    op.drop_table("sim_accounts")
    with op.batch_alter_table("sim_account_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_account_entries_account")

    op.drop_table("sim_account_entries")
