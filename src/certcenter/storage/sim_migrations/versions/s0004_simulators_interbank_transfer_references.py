"""simulators: the interbank network's record of transfers by the sender's reference

Revision ID: s0004
Revises: s0003
Create Date: 2026-12-04 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sim_interbank_transfers",
        sa.Column("from_bank", sa.String(length=3), nullable=False),
        sa.Column("from_account", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("bank_reference", sa.String(length=40), nullable=True),
        sa.Column("refusal", sa.String(length=60), nullable=True),
        sa.Column("to_bank", sa.String(length=3), nullable=True),
        sa.Column("to_account", sa.String(length=20), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "from_bank", "from_account", "reference", name=op.f("pk_sim_interbank_transfers")
        ),
    )


def downgrade() -> None:
    op.drop_table("sim_interbank_transfers")
