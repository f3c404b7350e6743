"""wrapped customer keys: a cloud account holds its private key wrapped under the key backend's
key-encryption key

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 22:30:00.000000

``wrapped_key`` is the financial certificate's private key wrapped (AES key wrap) under the
key backend's key-encryption key named by ``wrapping_key_label``; it is unwrapped only inside
the backend. Deleting the account erases it in the same transaction. Accounts made before
have neither and keep their key in the backend under ``key_label``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cloud_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("wrapping_key_label", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cloud_accounts", schema=None) as batch_op:
        batch_op.drop_column("wrapping_key_label")
        batch_op.drop_column("wrapped_key")
