"""other_joint_certificates: joint certificates of other institutions' CAs registered to
customers (타기관 인증서 등록)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 08:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "other_joint_certificates",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("not_after", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "registered_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_used_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
    )
    op.create_index(
        "ix_other_joint_certificates_customer", "other_joint_certificates", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_other_joint_certificates_customer", table_name="other_joint_certificates")
    op.drop_table("other_joint_certificates")
