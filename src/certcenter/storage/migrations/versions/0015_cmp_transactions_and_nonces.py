"""cmp transactions and nonces: the joint certificate's CMP server (RFC 4210, RFC 9483)
keeps each transaction by its transactionID and every client senderNonce it saw

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, certcenter.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cmp_transactions",
        sa.Column("transaction_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("protection", sa.String(length=16), nullable=False),
        sa.Column("pvno", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        sa.Column("client_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("server_nonce", sa.LargeBinary(), nullable=True),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("certificate", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=True),
        sa.Column("signer_key", sa.LargeBinary(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        _at("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_cmp_transactions")),
    )
    with op.batch_alter_table("cmp_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cmp_transactions_state_expires", ["state", "expires_at"], unique=False
        )
    op.create_table(
        "cmp_nonces",
        sa.Column("nonce_sha256", sa.String(length=64), nullable=False),
        _at("seen_at"),
        sa.PrimaryKeyConstraint("nonce_sha256", name=op.f("pk_cmp_nonces")),
    )
    with op.batch_alter_table("cmp_nonces", schema=None) as batch_op:
        batch_op.create_index("ix_cmp_nonces_seen_at", ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cmp_nonces", schema=None) as batch_op:
        batch_op.drop_index("ix_cmp_nonces_seen_at")
    op.drop_table("cmp_nonces")
    with op.batch_alter_table("cmp_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_cmp_transactions_state_expires")
    op.drop_table("cmp_transactions")
