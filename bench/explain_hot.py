"""``EXPLAIN (ANALYZE, BUFFERS)`` of the center's hot queries on a PostgreSQL database.

    .venv/bin/python bench/explain_hot.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/certcenter_scale [--out plans.txt]

Each query is the SQL its repository sends (captured from the engine while the repository
runs, as ``tests/storage/test_query_plans.py`` does), with values taken from the data: a
seeded customer in the middle of the table, its active mobile certificate, its device and
session, a CRL partition. Every plan is run twice and the second (warm) one printed, with its
execution time and buffers; a line per query sums it up (``Seq Scan`` marks a query that
reads a whole table). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from certcenter.ports import UnitOfWork
from certcenter.storage.database import make_engine, make_session_factory
from certcenter.storage.mapping import map_entities
from certcenter.storage.uow import SqlUnitOfWorkFactory

USABLE = ["active", "suspended"]


def _sample(engine: Any) -> dict[str, str]:
    """A customer from the middle of the table with an active mobile certificate, a device
    and a session."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.customer_id, c.serial, c.public_key_sha256, d.device_id, s.token_hash "
                "FROM certificates c JOIN devices d ON d.customer_id = c.customer_id "
                "JOIN sessions s ON s.customer_id = c.customer_id "
                "WHERE c.customer_id = (SELECT id FROM customers ORDER BY customer_number "
                "OFFSET (SELECT count(*) / 2 FROM customers) LIMIT 1) "
                "AND c.family = 'mobile' AND c.status = 'active' AND d.status = 'active' LIMIT 1"
            )
        ).one()
    return dict(zip(("customer", "serial", "key", "device", "token"), row, strict=True))


def _queries(s: dict[str, str]) -> dict[str, Callable[[UnitOfWork], object]]:
    now = datetime.now(UTC)
    return {
        "OCSP: certificate by serial": lambda u: u.certificates.get(s["serial"]),
        "OCSP: stored response": lambda u: u.ocsp.get(s["serial"]),
        "a customer's usable mobile certificates": lambda u: u.certificates.for_customer(
            s["customer"], family="mobile", statuses=USABLE
        ),
        "a customer's financial certificates": lambda u: u.certificates.for_customer(
            s["customer"], family="financial"
        ),
        "a customer's certificates": lambda u: u.certificates.for_customer(s["customer"]),
        "certificates bound to a key": lambda u: u.certificates.bound_to_key(s["key"]),
        "CRL partition summary (mobile-3)": lambda u: u.certificates.listed_summary("mobile", 3),
        "CRL partition entries (mobile-3)": lambda u: list(
            u.certificates.listed_entries("mobile", 3)
        ),
        "login: device by device id": lambda u: u.devices.active_by_device_id(s["device"]),
        "login: device, certificate and customer": lambda u: u.devices.in_use(
            s["device"], "mobile"
        ),
        "login: the certificate's use": lambda u: u.certificates.mark_used(
            s["serial"], device="-", device_id=s["device"], now=now
        ),
        "login: a customer's device": lambda u: u.devices.active_for_customer(s["customer"]),
        "login: PIN counter": lambda u: u.factors.get(s["customer"], "pin"),
        "session by token": lambda u: u.sessions.by_token_hash(s["token"]),
        "job: expired certificates": lambda u: u.certificates.expired(now),
        "job: renewal due": lambda u: u.certificates.renewal_due(now, timedelta(days=30)),
        "job: unused for a year": lambda u: u.certificates.unused_since(now - timedelta(days=365)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="EXPLAIN (ANALYZE, BUFFERS) the hot queries.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, default=None, help="also write the plans here")
    parser.add_argument("--only", default=None, help="only queries whose name contains this")
    args = parser.parse_args()
    map_entities()
    engine = make_engine(args.database_url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("EXPLAIN (ANALYZE, BUFFERS) is PostgreSQL's")
    uow_factory = SqlUnitOfWorkFactory(make_session_factory(engine))
    sample = _sample(engine)
    with engine.connect() as conn:
        count = conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'certificates'")
        ).scalar()
    lines = [f"certificates (estimate): {count:,}; sample customer {sample['customer']}", ""]
    summary = []
    for name, query in _queries(sample).items():
        if args.only and args.only not in name:
            continue
        statements: list[tuple[str, Any]] = []

        def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: Any) -> None:
            if sql.lstrip().upper().startswith("SELECT"):
                statements.append((sql, params))  # noqa: B023 - this query's list

        event.listen(engine, "before_cursor_execute", capture)
        try:
            with uow_factory(read_only=True) as uow:
                query(uow)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        for sql, params in statements:
            with engine.connect() as conn:
                plan: list[str] = []
                for _ in range(2):  # the second run is the warm one
                    rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                    plan = [str(r[0]) for r in rows]
                conn.rollback()
            text_plan = "\n".join(plan)
            took = re.search(r"Execution Time: ([0-9.]+) ms", text_plan)
            scans = "Seq Scan" in text_plan
            top = next((line for line in plan if "Buffers:" in line), "")
            hit = re.search(r"hit=(\d+)", top)
            read = re.search(r"read=(\d+)", top)
            buffers = f"{hit.group(1) if hit else 0} hit, {read.group(1) if read else 0} read"
            summary.append(
                f"{name:45s} {took.group(1) if took else '?':>10s} ms  buffers {buffers:18s}"
                + ("  SEQ SCAN" if scans else "")
            )
            lines += [f"== {name}", sql.strip(), "", text_plan, ""]
    lines += ["== summary (warm run)", *summary]
    output = "\n".join(lines)
    print(output)
    if args.out:
        args.out.write_text(output + "\n", "utf-8")
    engine.dispose()


if __name__ == "__main__":
    main()
