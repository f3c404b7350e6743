"""customers: the internet-banking password (인터넷뱅킹 비밀번호), as a slow salted hash

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 07:30:00.000000

Customers who joined before this revision have none (NULL) until they set one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
