"""CRL generation time for 10k, 100k and 1M revoked certificates.

    .venv/bin/python bench/crl.py                          # 10k, 100k, 1M on SQLite
    .venv/bin/python bench/crl.py --sizes 10000 100000
    .venv/bin/python bench/crl.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Two measurements per size N, in a fresh temporary data directory (its own keys and CA):

``in memory``
    N stored entries (``encode_crl_entry``: what revoking a certificate stores) are made
    first — timed apart, per entry — then one CRL of all N is built from them and signed by
    the issuing CA key (``build_crl``: concatenation, DER framing, ECDSA P-256 over the TBS).
    The result is parsed back and its signature checked (also timed apart).
``through the database``
    N certificate rows carrying those entries are written into one CRL partition (not timed),
    then ``CrlPublisher.publish`` runs as the center runs it: number the CRL, read the
    partition's entries (``listed_entries``; the read alone is also timed), build, sign, store
    the CrlRecord, commit.

All N entries go into one CRL, the worst case: with the default 16 partitions, 1M revoked
certificates make partitions of about 62,500 entries, and a relying party fetches one.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib
from cryptography import x509
from sqlalchemy import insert

from certcenter.clock import SystemClock
from certcenter.config import load_settings
from certcenter.entities import Customer, new_id
from certcenter.keys import load_key_backend
from certcenter.pki.crl import CrlContent, build_crl, encode_crl_entry
from certcenter.pki.hierarchy import ensure_hierarchy
from certcenter.revocation import CrlPublisher
from certcenter.storage import migrate
from certcenter.storage.database import make_engine, make_session_factory
from certcenter.storage.mapping import map_entities
from certcenter.storage.tables import certificates
from certcenter.storage.uow import SqlUnitOfWorkFactory

REASONS = [
    x509.ReasonFlags.key_compromise,
    x509.ReasonFlags.cessation_of_operation,
    x509.ReasonFlags.superseded,
    x509.ReasonFlags.certificate_hold,
    None,
]


def _entries(count: int, now: datetime) -> tuple[list[tuple[int, bytes]], float]:
    rng = random.Random(count)
    started = time.perf_counter()
    made = []
    for i in range(count):
        serial = rng.getrandbits(159) | (1 << 158)
        entry = encode_crl_entry(serial, now - timedelta(seconds=i), REASONS[i % len(REASONS)])
        made.append((serial, entry))
    return made, time.perf_counter() - started


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def in_memory(settings, backend, hierarchy, entries, now):  # type: ignore[no-untyped-def]
    ca = hierarchy.issuing("mobile")
    content = CrlContent(
        issuer=ca.certificate,
        number=1,
        this_update=now,
        next_update=now + timedelta(hours=24),
        distribution_point=settings.public_base_url + "/crl/mobile-0.crl",
        scope="user",
    )
    stored = [entry for _, entry in entries]
    started = time.perf_counter()
    der = build_crl(content, stored, lambda tbs: backend.sign(ca.key_label, tbs))
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    crl = x509.load_der_x509_crl(der)
    valid = crl.is_signature_valid(ca.certificate.public_key())
    count = len(crl)
    parse_s = time.perf_counter() - started
    if not valid or count != len(entries):
        raise SystemExit(f"the CRL did not read back: valid={valid}, {count} entries")
    return {"build_and_sign_s": build_s, "parse_and_verify_s": parse_s, "size_bytes": len(der)}


def through_database(settings, backend, hierarchy, entries, now, url):  # type: ignore[no-untyped-def]
    map_entities()
    engine = make_engine(url)
    migrate.upgrade(engine)
    uow_factory = SqlUnitOfWorkFactory(make_session_factory(engine))
    customer = Customer(
        id=new_id(),
        customer_number="BENCH-CRL",
        name="벤치",
        ci="bench-ci-" + new_id(),
        birth_date=now.date(),
        phone="01000000000",
        created_at=now,
    )
    with uow_factory() as uow:
        uow.customers.add(customer)
        uow.commit()
    started = time.perf_counter()
    chunk = 20_000
    with engine.begin() as connection:
        for offset in range(0, len(entries), chunk):
            connection.execute(
                insert(certificates),
                [
                    {
                        "serial": f"{serial:X}",
                        "family": "mobile",
                        "profile": "mobile",
                        "customer_id": customer.id,
                        "subject": "CN=bench",
                        "public_key_sha256": "0" * 64,
                        "issuer_key_label": "mobile-ca",
                        "not_before": now,
                        "not_after": now + timedelta(days=730),
                        "tbs": b"",
                        "status": "revoked",
                        "created_at": now,
                        "revoked_at": now,
                        "revocation_reason": "keyCompromise",
                        "crl_shard": 0,
                        "crl_entry": entry,
                    }
                    for serial, entry in entries[offset : offset + chunk]
                ],
            )
    load_s = time.perf_counter() - started

    read_s = float("inf")
    for _ in range(2):  # the first read also warms the database's cache
        with uow_factory() as uow:
            started = time.perf_counter()
            read = sum(1 for _ in uow.certificates.listed_entries("mobile", 0))
            read_s = min(read_s, time.perf_counter() - started)
    publisher = CrlPublisher(
        uow_factory=uow_factory,
        backend=backend,
        hierarchy=lambda: hierarchy,
        settings=settings,
        clock=SystemClock(),
    )
    started = time.perf_counter()
    record = publisher.publish("mobile", 0)
    publish_s = time.perf_counter() - started
    engine.dispose()
    if read != len(entries) or record.entries != len(entries):
        raise SystemExit(f"read {read}, published {record.entries}, expected {len(entries)}")
    return {
        "rows_written_s": load_s,
        "db_read_s": read_s,
        "publish_s": publish_s,
        "size_bytes": len(record.der),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="CRL generation time by number of entries.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--database-url",
        default=None,
        help="a database to write the rows into (default: a fresh SQLite file); "
        "its tables are created, and rows of a previous run there would "
        "collide: give an empty database",
    )
    parser.add_argument("--skip-database", action="store_true", help="in-memory figures only")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.database_url and len(args.sizes) > 1:
        parser.error("with --database-url give one --sizes value per run (rows would collide)")

    benchlib.print_lines(benchlib.machine_facts())
    results = []
    for size in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="certcenter-bench-crl-"))
        try:
            settings = load_settings(environ={}, data_dir=tmp, key_passphrase=os.urandom(16).hex())
            backend = load_key_backend(settings)
            hierarchy = ensure_hierarchy(backend, settings, SystemClock())
            now = datetime.now(UTC).replace(microsecond=0)
            entries, encode_s = _entries(size, now)
            row: dict[str, object] = {"entries": size, "encode_entries_s": encode_s}
            row |= in_memory(settings, backend, hierarchy, entries, now)
            print(
                f"-- {size:,} entries: encoded in {encode_s:.2f} s "
                f"({encode_s / size * 1e6:.1f} µs each); in memory: build+sign "
                f"{row['build_and_sign_s']:.3f} s, {_mb(int(row['size_bytes']))}, "
                f"parse+verify {row['parse_and_verify_s']:.3f} s",
                flush=True,
            )
            if not args.skip_database:
                url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
                db = through_database(settings, backend, hierarchy, entries, now, url)
                row |= {f"db_{k}": v for k, v in db.items()}
                kind = url.split(":", 1)[0]
                print(
                    f"   through {kind}: rows written {db['rows_written_s']:.1f} s "
                    f"(not part of publishing); read entries {db['db_read_s']:.3f} s; "
                    f"publish (lock number, read, build, sign, store, commit) "
                    f"{db['publish_s']:.3f} s",
                    flush=True,
                )
            results.append(row)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    nan = float("nan")
    rows = []
    for r in results:
        rows.append(
            [
                f"{r['entries']:,}",
                _mb(int(r["size_bytes"])),
                f"{r['encode_entries_s']:.2f}",
                f"{r['build_and_sign_s']:.3f}",
                f"{r['parse_and_verify_s']:.3f}",
                f"{r.get('db_db_read_s', nan):.3f}",
                f"{r.get('db_publish_s', nan):.3f}",
            ]
        )
    print()
    print(
        benchlib.table(
            (
                "entries",
                "CRL size",
                "encode s",
                "build+sign s",
                "parse+verify s",
                "db read s",
                "publish s",
            ),
            rows,
        )
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
