"""transfer reconciliation and idempotency keys: when a transfer was sent to the bank, and
the Idempotency-Key of each transfer request

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 22:30:00.000000

A transfer already ``processing`` before this revision has no ``claimed_at``; its
``created_at`` stands in for it, so the reconciliation settles it too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "claimed_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index("ix_transfers_status_claimed", ["status", "claimed_at"], unique=False)
    op.execute("UPDATE transfers SET claimed_at = created_at WHERE status = 'processing'")
    op.create_table(
        "transfer_requests",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("operation", sa.String(length=10), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("customer_id", "key", name=op.f("pk_transfer_requests")),
    )


def downgrade() -> None:
    op.drop_table("transfer_requests")
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_status_claimed")
        batch_op.drop_column("claimed_at")
