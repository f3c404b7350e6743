"""key generations: which key backend label each generation of a rotated key has

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 01:00:00.000000

``key_generations`` lists the generations of the keys the center rotates: the PIN pepper
(``pepper``, ``pepper.2``, …) and the customer keys' key-encryption key (``customer-kek``,
``customer-kek.2``, …). The highest generation of a name is the current one; a name without
rows is in its first generation under its first label, as every installation was before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from certcenter.storage.types import UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_generations",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", "generation", name=op.f("pk_key_generations")),
        sa.UniqueConstraint("label", name=op.f("uq_key_generations_label")),
    )


def downgrade() -> None:
    op.drop_table("key_generations")
