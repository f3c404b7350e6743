"""lifecycle, audit, outbox, operators, crl, ocsp

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:09:30.773957
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certcenter.storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The head exists from the start, so the first appends of concurrent writers lock the
    # same row instead of racing to create it.
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "entry_hash": "0" * 64}])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_kind", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=80), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_subject", ["subject_kind", "subject"], unique=False)

    op.create_table(
        "crls",
        sa.Column("family", sa.String(length=20), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "this_update", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "next_update", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("family", "shard", "number", name=op.f("pk_crls")),
    )
    op.create_table(
        "device_challenges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("used_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_challenges")),
        sa.UniqueConstraint("challenge", name=op.f("uq_device_challenges_challenge")),
    )
    op.create_table(
        "factor_counters",
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("factor", sa.String(length=20), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("locked_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", "factor", name=op.f("pk_factor_counters")),
    )
    op.create_table(
        "ocsp_responses",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column(
            "this_update", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "next_update", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "produced_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_ocsp_responses")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "disabled_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("name", name=op.f("uq_operators_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operators_token_hash")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_error", sa.String(length=400), nullable=True),
        sa.Column("sent_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "suspended_at", certcenter.storage.types.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("renewed_from", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("crl_shard", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("crl_entry", sa.LargeBinary(), nullable=True))
        batch_op.create_index(
            "ix_certificates_crl", ["family", "crl_shard", "serial"], unique=False
        )
        batch_op.create_index(
            "uq_certificates_renewed_from",
            ["renewed_from"],
            unique=True,
            sqlite_where=sa.text("status != 'abandoned'"),
            postgresql_where=sa.text("status != 'abandoned'"),
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("email")

    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_certificates_renewed_from",
            sqlite_where=sa.text("status != 'abandoned'"),
            postgresql_where=sa.text("status != 'abandoned'"),
        )
        batch_op.drop_index("ix_certificates_crl")
        batch_op.drop_column("crl_entry")
        batch_op.drop_column("crl_shard")
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("renewed_from")
        batch_op.drop_column("suspended_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("operators")
    op.drop_table("ocsp_responses")
    op.drop_table("factor_counters")
    op.drop_table("device_challenges")
    op.drop_table("crls")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_subject")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
