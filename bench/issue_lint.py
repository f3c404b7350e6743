"""What linting a certificate before signing costs: lint alone, and prepare + lint + sign.

    .venv/bin/python bench/issue_lint.py                     # 2000 certificates per profile
    .venv/bin/python bench/issue_lint.py --count 5000 --profiles mobile
    .venv/bin/python bench/issue_lint.py --json /tmp/lint.json

In process, in a fresh temporary data directory (its own keys and CA hierarchy, the software
key backend), no database and no server. For each profile (``mobile``, ``financial``), with
``--count`` fresh EC P-256 customer keys made beforehand (not timed):

``lint``
    :func:`certcenter.pki.lint.lint_tbs` over one recorded intent's TBS: wrap the TBS in a
    certificate, parse it, check every rule (what :meth:`Issuer.lint` does before signing).
``prepare``
    :meth:`Issuer.prepare`: decide the certificate and compute its TBS with a throwaway key.
``prepare+lint+sign``
    one certificate the way :meth:`certcenter.issuance.Issuance.issue` makes it, without the
    database: prepare, lint, and :meth:`Issuer.sign` (the CA key signs through the key
    backend; the result is checked against the intent and the CA certificate).

The lint's share is ``lint`` over ``prepare+lint+sign``. Each phase is warmed up first
(``--warmup``) and has a time limit (``--time-limit``). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import benchlib
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.clock import SystemClock
from certcenter.config import Settings, load_settings
from certcenter.keys import load_key_backend
from certcenter.pki import CaHierarchy, Issuer, SubjectInfo, profile
from certcenter.pki.hierarchy import ensure_hierarchy
from certcenter.pki.lint import lint_tbs

SUBJECT = SubjectInfo(common_name="홍길동", customer_ref="C0012345")


def _timed(
    name: str, work: Callable[[int], object], count: int, warmup: int, limit: float
) -> dict[str, float | int | str]:
    """Run ``work(i)`` for i in range(count), each timed; stop at the time limit."""
    for i in range(min(warmup, count)):
        work(i)
    samples: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        work(i)
        samples.append(time.perf_counter() - t0)
        if time.perf_counter() - started > limit:
            break
    wall = time.perf_counter() - started
    ordered = sorted(samples)
    return {
        "phase": name,
        "n": len(ordered),
        "ops_per_s": len(ordered) / wall if wall else 0.0,
        "p50_us": benchlib.percentile(ordered, 50) * 1e6,
        "p95_us": benchlib.percentile(ordered, 95) * 1e6,
        "p99_us": benchlib.percentile(ordered, 99) * 1e6,
        "max_us": ordered[-1] * 1e6 if ordered else 0.0,
    }


def run_profile(
    issuer: Issuer,
    settings: Settings,
    hierarchy: CaHierarchy,
    name: str,
    args: argparse.Namespace,
) -> list[dict[str, float | int | str]]:
    keys = [ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(args.count)]
    intents = [issuer.prepare(name, key, SUBJECT) for key in keys[: min(len(keys), 256)]]
    chosen = [profile(name, settings).for_crl_shard(i.crl_shard) for i in intents]
    ca = hierarchy.issuing(chosen[0].family or "").certificate

    def lint_one(i: int) -> None:
        n = i % len(intents)
        if lint_tbs(intents[n].tbs, chosen[n], ca):
            raise SystemExit(f"{name}: the real profile does not lint clean")

    def prepare_one(i: int) -> None:
        issuer.prepare(name, keys[i], SUBJECT)

    def issue_one(i: int) -> None:
        intent = issuer.prepare(name, keys[i], SUBJECT)
        issuer.lint(intent)
        issuer.sign(intent, keys[i])

    rows = []
    for phase, work in (
        ("lint", lint_one),
        ("prepare", prepare_one),
        ("prepare+lint+sign", issue_one),
    ):
        row = _timed(phase, work, args.count, args.warmup, args.time_limit)
        row["profile"] = name
        rows.append(row)
        print(
            f"  {name:<10} {phase:<18} {row['n']:>6} in {row['n'] / row['ops_per_s']:.2f} s",
            flush=True,
        )
    return rows


def _fmt(value: object) -> str:
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Lint cost per certificate, in process.")
    parser.add_argument("--count", type=int, default=2000, help="certificates per phase")
    parser.add_argument("--warmup", type=int, default=50, help="untimed runs before each phase")
    parser.add_argument("--profiles", nargs="+", default=["mobile", "financial"])
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    benchlib.print_lines(benchlib.machine_facts())
    tmp = Path(tempfile.mkdtemp(prefix="certcenter-bench-lint-"))
    try:
        settings = load_settings(environ={}, data_dir=tmp, key_passphrase=os.urandom(16).hex())
        backend = load_key_backend(settings)
        clock = SystemClock()
        hierarchy = ensure_hierarchy(backend, settings, clock)
        issuer = Issuer(backend, hierarchy, settings, clock)
        rows = []
        for name in args.profiles:
            rows += run_profile(issuer, settings, hierarchy, name, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    headers = ("profile", "phase", "n", "ops/s", "p50 µs", "p95 µs", "p99 µs", "max µs")
    table_rows = [
        [r["profile"], r["phase"], r["n"]]
        + [_fmt(r[k]) for k in ("ops_per_s", "p50_us", "p95_us", "p99_us", "max_us")]
        for r in rows
    ]
    print(benchlib.table(headers, table_rows, left=2))
    for name in args.profiles:
        by_phase = {r["phase"]: r for r in rows if r["profile"] == name}
        lint_us, whole_us = by_phase["lint"]["p50_us"], by_phase["prepare+lint+sign"]["p50_us"]
        share = float(lint_us) / float(whole_us) * 100 if whole_us else 0.0
        print(f"{name}: lint is {share:.0f}% of prepare+lint+sign (p50)")
    if args.json is not None:
        args.json.write_text(json.dumps({"results": rows}, indent=2))


if __name__ == "__main__":
    main()
