"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:32:56.767654
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "blocked_until", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocks")),
    )
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blocks_subject", ["subject_kind", "subject", "blocked_until"], unique=False
        )

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_number", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("ci", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("internet_banking", sa.Boolean(), nullable=False),
        sa.Column("overseas_access", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("ci", name=op.f("uq_customers_ci")),
        sa.UniqueConstraint("customer_number", name=op.f("uq_customers_customer_number")),
    )
    op.create_table(
        "failures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("enrollment_id", sa.String(length=36), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failures")),
    )
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.create_index("ix_failures_customer_at", ["customer_id", "at"], unique=False)
        batch_op.create_index("ix_failures_device_at", ["device_id", "at"], unique=False)

    op.create_table(
        "certificates",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=20), nullable=False),
        sa.Column("profile", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("enrollment_id", sa.String(length=36), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("public_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("issuer_key_label", sa.String(length=64), nullable=False),
        sa.Column(
            "not_before", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("not_after", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("tbs", sa.LargeBinary(), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("issued_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.String(length=40), nullable=True),
        sa.Column(
            "last_used_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_certificates_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_certificates")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certificates_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_certificates_one_usable_per_family",
            ["customer_id", "family"],
            unique=True,
            sqlite_where=sa.text("status IN ('active', 'suspended')"),
            postgresql_where=sa.text("status IN ('active', 'suspended')"),
        )

    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("app_version", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("pattern_hash", sa.String(length=200), nullable=True),
        sa.Column("biometric_public_key", sa.String(length=400), nullable=True),
        sa.Column(
            "registered_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "deregistered_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_devices_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_device_id"), ["device_id"], unique=False)
        batch_op.create_index(
            "uq_devices_one_active_per_customer",
            ["customer_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.create_index(
            "uq_devices_one_active_registration",
            ["device_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "enrollments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("device_model", sa.String(length=80), nullable=False),
        sa.Column("app_version", sa.String(length=20), nullable=False),
        sa.Column("integrity", sa.JSON(), nullable=False),
        sa.Column("client_ip", sa.String(length=45), nullable=False),
        sa.Column("move_certificate", sa.Boolean(), nullable=False),
        sa.Column("accepted_terms", sa.JSON(), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("new_customer", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("carrier", sa.String(length=20), nullable=True),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("pattern_hash", sa.String(length=200), nullable=True),
        sa.Column("biometric_public_key", sa.String(length=400), nullable=True),
        sa.Column("certificate_serial", sa.String(length=64), nullable=True),
        sa.Column("failure_code", sa.String(length=60), nullable=True),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_enrollments_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollments_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "verification_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("enrollment_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("resends", sa.Integer(), nullable=False),
        sa.Column(
            "consumed_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_verification_codes_enrollment_id_enrollments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_codes")),
    )
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_verification_codes_enrollment_purpose", ["enrollment_id", "purpose"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_codes_enrollment_purpose")

    op.drop_table("verification_codes")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_customer_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_devices_one_active_registration",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(
            "uq_devices_one_active_per_customer",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_devices_device_id"))
        batch_op.drop_index(batch_op.f("ix_devices_customer_id"))

    op.drop_table("devices")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_certificates_one_usable_per_family",
            sqlite_where=sa.text("status IN ('active', 'suspended')"),
            postgresql_where=sa.text("status IN ('active', 'suspended')"),
        )
        batch_op.drop_index(batch_op.f("ix_certificates_status"))
        batch_op.drop_index(batch_op.f("ix_certificates_customer_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("failures", schema=None) as batch_op:
        batch_op.drop_index("ix_failures_device_at")
        batch_op.drop_index("ix_failures_customer_at")

    op.drop_table("failures")
    op.drop_table("customers")
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_blocks_subject")

    op.drop_table("blocks")
