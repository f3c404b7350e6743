"""Rebuild every CRL partition of a running center's database, one after another, timed.

    CERTCENTER_DATA_DIR=/tmp/scale \\
    CERTCENTER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/certcenter_scale \\
        .venv/bin/python bench/crl_partitions.py [--families mobile financial] [--json out.json]

The center of the environment's settings (its keys and database, as ``certcenter serve``
uses them) publishes each partition as the revocation of one of its certificates does
(``RevocationStatus.publish`` → ``CrlPublisher.publish``: the partition's lock, its number,
the listed entries read in serial order, build, sign, store, prune old ones, commit), for
every shard of each family and the root's CRL. Printed per partition: seconds, entries, DER
size; then the slowest and the total. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from certcenter.bootstrap import build_center
from certcenter.config import load_settings
from certcenter.pki.crl import ROOT_CRL_FAMILY, partition_name


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the rebuild of every CRL partition.")
    parser.add_argument("--families", nargs="+", default=None, help="default: every family")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = load_settings()
    center = build_center(settings)
    rows = []
    try:
        families = args.families or list(center.hierarchy.families)
        partitions = [(ROOT_CRL_FAMILY, 0)] + [
            (family, shard) for family in families for shard in range(settings.policy.crl_shards)
        ]
        for family, shard in partitions:
            started = time.perf_counter()
            record = center.revocation.publish(family, shard)
            took = time.perf_counter() - started
            rows.append(
                {
                    "partition": partition_name(family, shard),
                    "seconds": took,
                    "entries": record.entries,
                    "bytes": len(record.der),
                }
            )
            print(
                f"{partition_name(family, shard):14s} {took:7.2f} s  {record.entries:8,} entries "
                f"{len(record.der) / 1e6:6.2f} MB",
                flush=True,
            )
    finally:
        center.close()
    slowest = max(rows, key=lambda r: r["seconds"])
    total = sum(r["seconds"] for r in rows)
    print(
        f"\n{len(rows)} partitions in {total:.1f} s; slowest {slowest['partition']} "
        f"{slowest['seconds']:.2f} s; entries {sum(r['entries'] for r in rows):,}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), "utf-8")


if __name__ == "__main__":
    main()
