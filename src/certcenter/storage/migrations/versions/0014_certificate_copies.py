"""certificate copies: the relay of a joint certificate's sealed files between two devices

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from certcenter.storage.types import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_copies",
        sa.Column("id", sa.String(length=8), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_copies")),
    )
    op.create_index("ix_certificate_copies_expires_at", "certificate_copies", ["expires_at"])
    op.create_index(
        "ix_certificate_copies_client_ip", "certificate_copies", ["client_ip", "expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_certificate_copies_client_ip", table_name="certificate_copies")
    op.drop_index("ix_certificate_copies_expires_at", table_name="certificate_copies")
    op.drop_table("certificate_copies")
