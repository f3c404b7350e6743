"""ocsp_state, ocsp_changes: status changes numbered in commit order, for the responses
each server process holds in memory

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table(
        "ocsp_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocsp_state")),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0}])
    op.create_table(
        "ocsp_changes",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_ocsp_changes")),
    )


def downgrade() -> None:
    op.drop_table("ocsp_changes")
    op.drop_table("ocsp_state")
