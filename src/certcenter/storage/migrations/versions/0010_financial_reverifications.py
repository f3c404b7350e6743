"""financial reverifications: registering a browser and resetting the PIN share one flow that
also proves an additional medium; it replaces device_registrations

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, certcenter.storage.types.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "financial_reverifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("medium", sa.String(length=30), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("device_public_key", sa.LargeBinary(), nullable=True),
        sa.Column("device_label", sa.String(length=120), nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("failure_code", sa.String(length=60), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("expires_at"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_financial_reverifications_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_reverifications")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_financial_reverifications_token_hash")),
    )
    with op.batch_alter_table("financial_reverifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_financial_reverifications_customer", ["customer_id"], unique=False
        )
    # a registration under way when the center is upgraded is started again
    with op.batch_alter_table("device_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_device_registrations_customer")
    op.drop_table("device_registrations")


def downgrade() -> None:
    op.create_table(
        "device_registrations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("completed_at", nullable=True),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_device_registrations_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_registrations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_registrations_token_hash")),
    )
    with op.batch_alter_table("device_registrations", schema=None) as batch_op:
        batch_op.create_index("ix_device_registrations_customer", ["customer_id"], unique=False)
    with op.batch_alter_table("financial_reverifications", schema=None) as batch_op:
        batch_op.drop_index("ix_financial_reverifications_customer")
    op.drop_table("financial_reverifications")
