"""crl_distribution_points: the CRL URLs issued certificates name; crls.distribution_point;
ocsp_responses keyed by serial and CertID hash

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 22:30:00.000000

A CRL partition is published under every URL a certificate still valid names as its CRL
distribution point, not under the one ``public_base_url`` gives today. The URLs of the
certificates issued before this revision are read from the certificates themselves (their
DER), once, here; CRLs already published get the URL of their issuingDistributionPoint.

Pre-signed OCSP responses are a cache: the table is made again, empty, with the CertID's
hash in its key, and filled again as relying parties ask.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op
from cryptography import x509

from certcenter.storage.types import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_PARTITION = re.compile(r".*/crl/([a-z][a-z0-9]{0,19})(?:-(0|[1-9][0-9]{0,2}))?\.crl")
_DAY = timedelta(days=1)


def _partition_of(url: str) -> tuple[str, int] | None:
    match = _PARTITION.fullmatch(urlsplit(url).path)
    if match is None or match.group(1) == "root":
        return None
    return match.group(1), -1 if match.group(2) is None else int(match.group(2))


def _day_after(when: datetime) -> datetime:
    day = when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + _DAY


def upgrade() -> None:
    points = op.create_table(
        "crl_distribution_points",
        sa.Column("family", sa.String(length=20), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("url", sa.String(length=400), nullable=False),
        sa.Column("until", UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_used_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("family", "shard", "url", name=op.f("pk_crl_distribution_points")),
    )
    with op.batch_alter_table("crls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("distribution_point", sa.String(length=400), nullable=True))
    op.drop_table("ocsp_responses")
    op.create_table(
        "ocsp_responses",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("hash_algorithm", sa.String(length=10), server_default="sha1", nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("this_update", UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_update", UtcDateTime(timezone=True), nullable=False),
        sa.Column("produced_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("serial", "hash_algorithm", name=op.f("pk_ocsp_responses")),
    )
    _fill(points)


def _fill(points: sa.Table) -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    certificates = sa.table(
        "certificates",
        sa.column("der", sa.LargeBinary),
        sa.column("family", sa.String),
        sa.column("not_after", UtcDateTime()),
        sa.column("created_at", UtcDateTime()),
    )
    found: dict[tuple[str, int, str], tuple[datetime, datetime]] = {}
    rows = bind.execute(
        sa.select(
            certificates.c.der,
            certificates.c.family,
            certificates.c.not_after,
            certificates.c.created_at,
        )
        .where(
            certificates.c.der.is_not(None),
            certificates.c.not_after > now,
        )
        .execution_options(yield_per=10_000)
    )
    for der, family, not_after, created_at in rows:
        try:
            extension = x509.load_der_x509_certificate(bytes(der)).extensions
            named = extension.get_extension_for_class(x509.CRLDistributionPoints).value
        except (ValueError, x509.ExtensionNotFound):
            continue
        for point in named:
            for name in point.full_name or ():
                if not isinstance(name, x509.UniformResourceIdentifier):
                    continue
                partition = _partition_of(name.value)
                if partition is None or partition[0] != family:
                    continue
                key = (family, partition[1], name.value)
                until, first = _day_after(not_after), created_at
                if key in found:
                    until = max(until, found[key][0])
                    first = min(first, found[key][1])
                found[key] = (until, first)
    if found:
        op.bulk_insert(
            points,
            [
                {
                    "family": family,
                    "shard": shard,
                    "url": url,
                    "until": until,
                    "first_used_at": first,
                }
                for (family, shard, url), (until, first) in found.items()
            ],
        )
    crls = sa.table(
        "crls",
        sa.column("family", sa.String),
        sa.column("shard", sa.Integer),
        sa.column("number", sa.BigInteger),
        sa.column("der", sa.LargeBinary),
        sa.column("distribution_point", sa.String),
    )
    published = bind.execute(sa.select(crls.c.family, crls.c.shard, crls.c.number, crls.c.der))
    for family, shard, number, der in list(published):
        try:
            crl = x509.load_der_x509_crl(bytes(der))
            scope = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        except (ValueError, x509.ExtensionNotFound):
            continue
        urls = [
            n.value for n in scope.full_name or () if isinstance(n, x509.UniformResourceIdentifier)
        ]
        if urls:
            bind.execute(
                sa.update(crls)
                .where(crls.c.family == family, crls.c.shard == shard, crls.c.number == number)
                .values(distribution_point=urls[0])
            )


def downgrade() -> None:
    op.drop_table("ocsp_responses")
    op.create_table(
        "ocsp_responses",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("this_update", UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_update", UtcDateTime(timezone=True), nullable=False),
        sa.Column("produced_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_ocsp_responses")),
    )
    with op.batch_alter_table("crls", schema=None) as batch_op:
        batch_op.drop_column("distribution_point")
    op.drop_table("crl_distribution_points")
