"""public key digest index; a lock row per failing subject; code guesses in flight

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 15:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_public_key", ["public_key_sha256"], unique=False)
    op.create_table(
        "failure_subjects",
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("subject_kind", "subject"),
    )
    op.create_table(
        "failure_reservations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("enrollment_id", sa.String(length=36), nullable=False),
        sa.Column("at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("failure_reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_failure_reservations_customer_at", ["customer_id", "at"], unique=False
        )
        batch_op.create_index("ix_failure_reservations_enrollment", ["enrollment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("failure_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_failure_reservations_enrollment")
        batch_op.drop_index("ix_failure_reservations_customer_at")

    op.drop_table("failure_reservations")
    op.drop_table("failure_subjects")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_public_key")
