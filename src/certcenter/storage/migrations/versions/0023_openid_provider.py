"""openid provider: clients, authorization codes, tokens, consents, signing key ids, pushed
authorization requests; how the app's customer logged in when approving

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 01:15:00.000000

Codes, tokens, client secrets and request URIs are stored only as keyed digests. The signing
keys stay in the key backend: ``oidc_signing_keys`` names them by key id and label.
``web_approvals.app_method`` keeps how the approving app's customer logged in (pin, pattern,
biometric), which the ID token's ``amr`` reports.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from certcenter.storage.types import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oidc_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("allow_ci", sa.Boolean(), nullable=False),
        sa.Column("require_par", sa.Boolean(), nullable=False),
        sa.Column("disabled_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oidc_clients")),
    )
    op.create_table(
        "oidc_codes",
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("certificate_serial", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=False),
        sa.Column("auth_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("used_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oidc_clients.client_id"],
            name=op.f("fk_oidc_codes_client_id_oidc_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_oidc_codes_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("code_digest", name=op.f("pk_oidc_codes")),
    )
    op.create_index(op.f("ix_oidc_codes_grant_id"), "oidc_codes", ["grant_id"], unique=False)
    op.create_table(
        "oidc_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("certificate_serial", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("access_digest", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("access_expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("auth_time", UtcDateTime(timezone=True), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("refresh_digest", sa.String(length=64), nullable=True),
        sa.Column("refresh_expires_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("rotated_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oidc_clients.client_id"],
            name=op.f("fk_oidc_tokens_client_id_oidc_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_oidc_tokens_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_tokens")),
        sa.UniqueConstraint("access_digest", name=op.f("uq_oidc_tokens_access_digest")),
        sa.UniqueConstraint("refresh_digest", name=op.f("uq_oidc_tokens_refresh_digest")),
    )
    op.create_index(op.f("ix_oidc_tokens_grant_id"), "oidc_tokens", ["grant_id"], unique=False)
    op.create_table(
        "oidc_consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("granted_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oidc_clients.client_id"],
            name=op.f("fk_oidc_consents_client_id_oidc_clients"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_oidc_consents_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_consents")),
    )
    op.create_index(
        "ix_oidc_consents_customer_client",
        "oidc_consents",
        ["customer_id", "client_id"],
        unique=False,
    )
    op.create_table(
        "oidc_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_oidc_signing_keys")),
        sa.UniqueConstraint("label", name=op.f("uq_oidc_signing_keys_label")),
    )
    op.create_table(
        "oidc_pushed_requests",
        sa.Column("uri_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oidc_clients.client_id"],
            name=op.f("fk_oidc_pushed_requests_client_id_oidc_clients"),
        ),
        sa.PrimaryKeyConstraint("uri_digest", name=op.f("pk_oidc_pushed_requests")),
    )
    op.create_table(
        "oidc_assertions",
        sa.Column("jti_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti_digest", name=op.f("pk_oidc_assertions")),
    )
    with op.batch_alter_table("web_approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("app_method", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_approvals", schema=None) as batch_op:
        batch_op.drop_column("app_method")
    op.drop_table("oidc_assertions")
    op.drop_table("oidc_pushed_requests")
    op.drop_table("oidc_signing_keys")
    op.drop_index("ix_oidc_consents_customer_client", table_name="oidc_consents")
    op.drop_table("oidc_consents")
    op.drop_index(op.f("ix_oidc_tokens_grant_id"), table_name="oidc_tokens")
    op.drop_table("oidc_tokens")
    op.drop_index(op.f("ix_oidc_codes_grant_id"), table_name="oidc_codes")
    op.drop_table("oidc_codes")
    op.drop_table("oidc_clients")
