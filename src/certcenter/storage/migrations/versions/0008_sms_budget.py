"""the SMS budget: codes sent per phone, person and client address, by keyed digest

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_subjects",
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column(
            "last_sent_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "updated_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("subject_kind", "subject"),
    )
    op.create_table(
        "sms_sends",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sms_sends", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sms_sends_subject_at", ["subject_kind", "subject", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_sends_subject_at")
    op.drop_table("sms_sends")
    op.drop_table("sms_subjects")
