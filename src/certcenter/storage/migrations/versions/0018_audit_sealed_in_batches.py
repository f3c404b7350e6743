"""audit trail sealed in batches: entries written without the head, linked later by the sealer

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:30:00.000000

Entries written before this revision stay as they are: each already carries its link
(``prev_hash``, ``entry_hash``) and the head names the last of them, so the sealer goes on from
there and verification checks both forms. On PostgreSQL the entry numbers come from the
sequence ``audit_log_seq`` from now on, started after the last entry.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("root_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_log_seq AS bigint START WITH 1 OWNED BY audit_log.seq")
        op.execute(
            "SELECT setval('audit_log_seq', max(seq)) FROM audit_log HAVING max(seq) IS NOT NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_log_seq")
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_column("previous_hash")
        batch_op.drop_column("root_hash")
        batch_op.drop_column("version")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
