"""Logins per second with the mobile certificate, on the biometric path (the device key's
signature is all the server checks) and on the PIN path (plus one argon2id verification).

    .venv/bin/python bench/logins.py                       # starts servers: 1 and 2 workers
    .venv/bin/python bench/logins.py --workers 2 --count 400 --concurrency 8
    .venv/bin/python bench/logins.py --workers 2 --profile /tmp/profiles   # py-spy as well

For each worker count a fresh ``certcenter serve`` (SQLite, demo world, 127.0.0.1, a free
port) is started in a temporary directory, the demo world's happy-path customers get their
certificates (not timed), and then ``--count`` logins per path are sent, ``--concurrency`` at
a time, each thread logging in as its own customer (a customer's own tries are capped by the
lockout counter). One login is two requests — the challenge and the signed answer — and is
timed as a whole. Besides the latencies each path prints the server's CPU per login (its
processes' CPU seconds while the path ran, divided by the logins), which a busy machine
disturbs less than the rate, the bench's own CPU and the whole machine's (to show whether the
load generator or the machine was the limit), and the goals' table (``goals.py``) with the
argon2id hash timed right before the PIN path. Timings are printed, never asserted; the
server stops by itself.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from importlib import resources
from pathlib import Path

import benchlib
import compare
import goals
from run_all import Server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--count", type=int, default=400, help="logins per path")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per path")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the server into this folder"
    )
    args = parser.parse_args()
    py_spy = compare._tool("py-spy") if args.profile else None
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    benchlib.print_lines(benchlib.machine_facts())
    world = Path(str(resources.files("certcenter.simulators").joinpath("demo_world.toml")))
    keys = list(benchlib.DEMO_HAPPY_KEYS[: max(1, min(args.concurrency, 9))])
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="certcenter-bench-login-") as tmp:
            server = Server(workers, Path(tmp) / "data", world, Path(tmp) / "server.log")
            print(f"\n=== {server.describe()}", flush=True)
            server.start(120)
            try:
                stores = goals.enroll_demo_people(server.url, Path(tmp) / "apps", keys)
                figures = goals.GoalFigures(hash_ms=0.0, cores=goals.cores())
                rows = []
                for method in ("biometric", "pin"):
                    if method == "pin":
                        figures.hash_ms = benchlib.argon2_hash_ms()
                    out = args.profile / f"login-{method}-w{workers}.txt" if args.profile else None
                    with compare.profiled(py_spy, server, out):
                        cpu = server.cpu_seconds()
                        client = time.process_time()
                        machine = benchlib.machine_busy_cpu()
                        wall, samples, errors = goals.measure_logins(
                            server.url,
                            stores,
                            method,
                            args.count,
                            args.concurrency,
                            args.time_limit,
                        )
                        cpu = server.cpu_seconds() - cpu
                        client = time.process_time() - client
                        after = benchlib.machine_busy_cpu()
                        busy = after - machine if after is not None and machine else None
                    rate = goals.Rate.of(wall, samples, sum(errors.values()), cpu)
                    setattr(figures, method, rate)
                    stats = benchlib.summary_ms(samples)
                    rows.append(
                        [
                            method,
                            len(samples),
                            f"{len(samples) / wall:.1f}",
                            f"{stats.get('p50', 0):.1f}",
                            f"{stats.get('p95', 0):.1f}",
                            f"{stats.get('p99', 0):.1f}",
                            f"{stats.get('max', 0):.1f}",
                            f"{cpu / wall:.2f}",
                            f"{client / wall:.2f}",
                            f"{busy / wall:.2f}" if busy is not None else "-",
                            goals._n(rate.server_cpu_ms, 2),
                            ", ".join(f"{k}×{v}" for k, v in errors.items()) or "-",
                        ]
                    )
                print(
                    benchlib.table(
                        [
                            "path",
                            "logins",
                            "per s",
                            "p50 ms",
                            "p95 ms",
                            "p99 ms",
                            "max ms",
                            "server cores",
                            "bench cores",
                            "machine cores",
                            "server CPU ms/login",
                            "errors",
                        ],
                        rows,
                    ),
                    flush=True,
                )
                print(goals.goals_table(figures), flush=True)
            finally:
                server.stop(30)


if __name__ == "__main__":
    main()
