"""lost-phone reports confirmed by a second factor, with an undo code; failures counted under
a phone number, a client address or a claimed identity

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from certcenter.storage.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failure_marks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("failure_id", sa.String(length=36), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failure_marks")),
    )
    op.create_index(
        "ix_failure_marks_subject_at", "failure_marks", ["subject_kind", "subject", "at"]
    )
    op.create_table(
        "lost_phone_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("medium", sa.String(length=20), nullable=True),
        sa.Column("serials", sa.JSON(), nullable=False),
        sa.Column("undo_digest", sa.String(length=64), nullable=True),
        sa.Column("undo_expires_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("undo_tries", sa.Integer(), nullable=False),
        sa.Column("undone_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_lost_phone_reports_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lost_phone_reports")),
    )
    op.create_index("ix_lost_phone_reports_customer", "lost_phone_reports", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_lost_phone_reports_customer", table_name="lost_phone_reports")
    op.drop_table("lost_phone_reports")
    op.drop_index("ix_failure_marks_subject_at", table_name="failure_marks")
    op.drop_table("failure_marks")
