"""simulators: departure records (출입국 기록)

Revision ID: s0003
Revises: s0002
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sim_departures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ci", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("departed_on", sa.Date(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_departures")),
    )
    with op.batch_alter_table("sim_departures", schema=None) as batch_op:
        batch_op.create_index("ix_sim_departures_ci", ["ci", "departed_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sim_departures", schema=None) as batch_op:
        batch_op.drop_index("ix_sim_departures_ci")
    op.drop_table("sim_departures")
