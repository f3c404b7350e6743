"""customers: the end of the overseas-access allowance (해외 IP 차단 해제 기간)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:30:00.000000

Customers allowed before this revision keep their allowance without an end (NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from certcenter.storage.types import UtcDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overseas_access_until", UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("overseas_access_until")
