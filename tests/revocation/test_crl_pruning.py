"""Old CRLs of a partition are dropped as new ones are published (a million-entry CRL is
megabytes), keeping a short history."""

from __future__ import annotations

from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.revocation.crl_publisher import KEEP_CRLS


def test_only_the_recent_crls_of_a_partition_are_kept(center: Center) -> None:
    numbers = [center.revocation.publish("mobile", 3).number for _ in range(KEEP_CRLS + 4)]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    with center.engine.connect() as conn:
        kept = (
            conn.execute(
                text(
                    "SELECT number FROM crls WHERE family = 'mobile' AND shard = 3 ORDER BY number"
                )
            )
            .scalars()
            .all()
        )
    assert list(kept) == numbers[-KEEP_CRLS:]
    assert center.revocation.crls.current("mobile", 3).number == numbers[-1]
