"""sessions: found by their device and by their certificate, to end them at once, and why

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_reason", sa.String(length=30), nullable=True))
        batch_op.create_index("ix_sessions_device", ["device_id"], unique=False)
        batch_op.create_index("ix_sessions_certificate", ["certificate_serial"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_certificate")
        batch_op.drop_index("ix_sessions_device")
        batch_op.drop_column("ended_reason")
