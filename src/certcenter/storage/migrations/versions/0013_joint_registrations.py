"""joint registrations: the joint certificate's registration flow, its reference number and
sealed authorization code, the VID made at registration and the 범용 fee

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, certcenter.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "joint_registrations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("medium", sa.String(length=30), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=True),
        sa.Column("authorization_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=True),
        sa.Column("vid_value", sa.LargeBinary(), nullable=True),
        sa.Column("vid_random_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("fee_krw", sa.Integer(), nullable=False),
        sa.Column("fee_bank_code", sa.String(length=3), nullable=True),
        sa.Column("fee_account", sa.String(length=20), nullable=True),
        sa.Column("fee_state", sa.String(length=10), nullable=False),
        sa.Column("transaction_id", sa.String(length=128), nullable=True),
        sa.Column("certificate_serial", sa.String(length=64), nullable=True),
        sa.Column("failure_code", sa.String(length=60), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("expires_at"),
        _at("registered_at", nullable=True),
        _at("used_at", nullable=True),
        _at("confirmed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_joint_registrations_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_registrations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_joint_registrations_token_hash")),
        sa.UniqueConstraint("reference", name=op.f("uq_joint_registrations_reference")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_joint_registrations_transaction_id")),
        sa.UniqueConstraint(
            "certificate_serial", name=op.f("uq_joint_registrations_certificate_serial")
        ),
    )
    with op.batch_alter_table("joint_registrations", schema=None) as batch_op:
        batch_op.create_index("ix_joint_registrations_customer", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_joint_registrations_fee", ["fee_state", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("joint_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_joint_registrations_fee")
        batch_op.drop_index("ix_joint_registrations_customer")
    op.drop_table("joint_registrations")
