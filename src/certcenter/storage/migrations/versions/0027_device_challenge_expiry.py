"""device_challenges: an index on the expiry, for the job that deletes spent challenges

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_device_challenges_expires_at", "device_challenges", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_device_challenges_expires_at", table_name="device_challenges")
