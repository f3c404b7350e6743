"""Audit trail throughput: appends per second with N concurrent writers, and the sealer.

    .venv/bin/python bench/audit.py                       # SQLite; 1, 4 and 16 writers
    .venv/bin/python bench/audit.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/audit.py --writers 1 8 32 --count 4000 --json /tmp/audit.json

In process, directly against the storage, in a fresh temporary data directory (its own keys,
no simulators, no server). With ``--postgres`` (a server URL whose user may create databases),
PostgreSQL too, in a database of its own made for the run and dropped after it.

``append``
    ``--count`` entries split over N threads; each entry is one unit of work of its own
    (``AuditTrail.record`` + commit), as a request writes it.
``append, one held``
    the same while another transaction holds an appended entry open the whole time
    (PostgreSQL only: SQLite has one writer at a time by design). Writers that waited for a
    shared head would stall here; with sealing apart they do not.
``seal``
    :meth:`AuditCheckpoints.seal` over everything written: linking, the Merkle tree per batch
    of ``audit_checkpoint_every`` entries, one signature and one published line per batch.
``verify``
    :meth:`AuditCheckpoints.verify` over the whole trail and its checkpoints.

Every phase stops at ``--time-limit`` seconds. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchlib
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import SystemClock
from certcenter.config import load_settings

JOB = {"actor_kind": "system", "actor": "bench", "action": "bench.append", "subject_kind": "job"}


def _append_phase(
    center: Center, name: str, writers: int, count: int, limit: float
) -> dict[str, Any]:
    per_writer = max(1, count // writers)
    samples: list[list[float]] = [[] for _ in range(writers)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers + 1)
    deadline = [0.0]

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                t0 = time.perf_counter()
                with center.uow_factory() as uow:
                    center.audit_trail.record(uow, subject=f"{worker}-{i}", **JOB)
                    uow.commit()
                samples[worker].append(time.perf_counter() - t0)
                if time.perf_counter() > deadline[0]:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + limit
    barrier.wait()
    for thread in threads:
        thread.join(timeout=limit + 60)
    wall = time.perf_counter() - started
    ordered = sorted(s for per in samples for s in per)
    if errors:
        raise SystemExit(f"{name}: {errors[0]!r}")
    return {
        "phase": name,
        "writers": writers,
        "n": len(ordered),
        "ops_per_s": len(ordered) / wall if wall else 0.0,
        "p50_ms": benchlib.percentile(ordered, 50) * 1e3,
        "p95_ms": benchlib.percentile(ordered, 95) * 1e3,
        "p99_ms": benchlib.percentile(ordered, 99) * 1e3,
    }


def _held_phase(center: Center, writers: int, count: int, limit: float) -> dict[str, Any]:
    with center.uow_factory() as held:
        center.audit_trail.record(held, subject="held open", **JOB)
        row = _append_phase(center, "append, one held", writers, count, limit)
        held.commit()
    return row


def _timed(name: str, work: Any, entries: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = work()
    wall = time.perf_counter() - started
    return {
        "phase": name,
        "writers": "-",
        "n": entries,
        "ops_per_s": entries / wall if wall else 0.0,
        "seconds": wall,
        "result": result,
    }


def run_backend(label: str, url: str | None, args: argparse.Namespace) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="certcenter-bench-audit-"))
    try:
        values: dict[str, Any] = {
            "data_dir": tmp,
            "key_passphrase": os.urandom(16).hex(),
            "simulators_enabled": False,
            "environment": "demo",
        }
        if url:
            values["database_url"] = url
        settings = load_settings(environ={}, **values)
        initialise(settings, SystemClock())
        center = build_center(settings)
        rows: list[dict[str, Any]] = []
        try:
            for writers in args.writers:
                row = _append_phase(center, "append", writers, args.count, args.time_limit)
                rows.append(row)
                print(f"  {label:<10} append  {writers:>3} writers  {row['n']:>6}", flush=True)
            if label == "postgresql":
                for writers in args.writers:
                    row = _held_phase(center, writers, args.count, args.time_limit)
                    rows.append(row)
                    print(f"  {label:<10} held    {writers:>3} writers  {row['n']:>6}", flush=True)
            with center.uow_factory() as uow:
                written = len(uow.audit.entries(limit=10_000_000))
            sealing = _timed("seal", center.audit_checkpoints.seal, written)
            rows.append(sealing)
            with center.uow_factory() as uow:
                checking = _timed("verify", lambda: center.audit_checkpoints.verify(uow), written)
            if not checking["result"].ok:
                raise SystemExit(f"{label}: the trail does not verify: {checking['result']}")
            rows.append(checking)
        finally:
            center.close()
        for row in rows:
            row["backend"] = label
            row.pop("result", None)
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Audit trail appends and sealing, in process.")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--count", type=int, default=2000, help="entries per append phase")
    parser.add_argument("--postgres", default=None, help="also PostgreSQL (an admin URL)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    benchlib.print_lines(benchlib.machine_facts())
    rows = run_backend("sqlite", None, args)
    if args.postgres:
        name = f"certcenter_bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.postgres).set(database=name)
            rows += run_backend("postgresql", url.render_as_string(hide_password=False), args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    print()
    headers = ("backend", "phase", "writers", "n", "per s", "p50 ms", "p95 ms", "p99 ms")
    table_rows = [
        [r["backend"], r["phase"], r["writers"], r["n"], f"{r['ops_per_s']:,.0f}"]
        + [f"{r[k]:.2f}" if k in r else "-" for k in ("p50_ms", "p95_ms", "p99_ms")]
        for r in rows
    ]
    print(benchlib.table(headers, table_rows, left=3))
    if args.json is not None:
        args.json.write_text(json.dumps({"results": rows}, indent=2))


if __name__ == "__main__":
    main()
