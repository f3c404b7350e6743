"""certificates: found by customer, family and status in one index search

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-04 18:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certificates_customer_family_status",
            ["customer_id", "family", "status"],
            unique=False,
        )
        # The new index's prefix: the customer's certificates of any family.
        batch_op.drop_index("ix_certificates_customer_id")


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_customer_id", ["customer_id"], unique=False)
        batch_op.drop_index("ix_certificates_customer_family_status")
