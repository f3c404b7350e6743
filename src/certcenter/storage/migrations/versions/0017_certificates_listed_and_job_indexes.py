"""certificates: CRL partitions from an index of the listed rows; job passes by index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:40:00.000000

- ``ix_certificates_listed`` (family, crl_shard, serial) holds only the rows with a CRL entry
  (PostgreSQL: with revoked_at and crl_entry included, so a partition's CRL is read from the
  index alone). It replaces ``ix_certificates_crl``, which had every certificate of the
  partition: at 10 million certificates a partition's summary read ten times the rows it
  counted, one heap page each.
- ``ix_certificates_status_not_after`` replaces ``ix_certificates_status`` (its prefix): the
  expiry and renewal passes read the few certificates due, not every active one.
- ``ix_certificates_status_last_use`` (status, coalesce(last_used_at, issued_at)): the pass
  over certificates unused for a year, which read the whole table.

On a large table the index builds take minutes (docs/performance.md); on PostgreSQL they do not
block readers, but writers to ``certificates`` wait for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    listed = sa.text("crl_entry IS NOT NULL")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certificates_listed",
            ["family", "crl_shard", "serial"],
            unique=False,
            sqlite_where=listed,
            postgresql_where=listed,
            postgresql_include=["revoked_at", "crl_entry"],
        )
        batch_op.drop_index("ix_certificates_crl")
        batch_op.create_index(
            "ix_certificates_status_not_after", ["status", "not_after"], unique=False
        )
        batch_op.drop_index("ix_certificates_status")
    op.create_index(
        "ix_certificates_status_last_use",
        "certificates",
        ["status", sa.text("coalesce(last_used_at, issued_at)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_certificates_status_last_use", table_name="certificates")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_status", ["status"], unique=False)
        batch_op.drop_index("ix_certificates_status_not_after")
        batch_op.create_index(
            "ix_certificates_crl", ["family", "crl_shard", "serial"], unique=False
        )
        batch_op.drop_index("ix_certificates_listed")
