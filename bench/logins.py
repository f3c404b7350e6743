"""Logins per second with the mobile certificate, on the biometric path (the device key's
signature is all the server checks) and on the PIN path (plus one argon2id verification).

    .venv/bin/python bench/logins.py                       # starts servers: 1 and 2 workers
    .venv/bin/python bench/logins.py --workers 2 --count 400 --concurrency 8

For each worker count a fresh ``certcenter serve`` (SQLite, demo world, 127.0.0.1, a free
port) is started in a temporary directory, the demo world's happy-path customers get their
certificates (not timed), and then ``--count`` logins per path are sent, ``--concurrency`` at
a time, each thread logging in as its own customer (a customer's own tries are capped by the
lockout counter). One login is two requests — the challenge and the signed answer — and is
timed as a whole. Timings are printed, never asserted; the server stops by itself at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

import benchlib
from run_all import Server

from certcenter.cli.app_session import login
from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.demo import DEMO_PIN, scripted_answers
from certcenter.cli.flow import enroll
from certcenter.cli.keystore import Keystore


def _enroll_all(url: str, directory: Path, keys: list[str]) -> list[Keystore]:
    stores = []
    for key in keys:
        store = Keystore(directory / key)
        with CenterClient(url, locale="en") as client:
            try:
                enroll(
                    client,
                    store,
                    scripted_answers(key),
                    ask=lambda *a, **k: "",
                    say=lambda *a, **k: None,
                    auto_codes=True,
                )
            except ApiError as err:  # e.g. a person whose certificate sits on another phone
                print(f"  {key}: not enrolled ({err.code}); left out", flush=True)
                continue
        stores.append(store)
    return stores


def _measure(
    url: str, stores: list[Keystore], method: str, count: int, concurrency: int, time_limit: float
) -> tuple[float, list[float], dict[str, int]]:
    samples: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    left = [count]
    deadline = time.monotonic() + time_limit

    def worker(store: Keystore) -> None:
        with CenterClient(url, locale="en") as client:
            while time.monotonic() < deadline:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                started = time.perf_counter()
                try:
                    login(client, store, method=method, pin=DEMO_PIN)
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    with lock:
                        name = getattr(err, "code", type(err).__name__)
                        errors[name] = errors.get(name, 0) + 1
                    continue
                with lock:
                    samples.append(time.perf_counter() - started)

    began = time.perf_counter()
    chosen = [stores[i % len(stores)] for i in range(concurrency)]
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, chosen))
    return time.perf_counter() - began, samples, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--count", type=int, default=400, help="logins per path")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per path")
    args = parser.parse_args()
    benchlib.print_lines(benchlib.machine_facts())
    print(
        f"argon2id hash (this machine, the policy's parameters): "
        f"{benchlib.argon2_hash_ms():.1f} ms — one per PIN login",
        flush=True,
    )
    world = Path(str(resources.files("certcenter.simulators").joinpath("demo_world.toml")))
    keys = list(benchlib.DEMO_HAPPY_KEYS[: max(1, min(args.concurrency, 9))])
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="certcenter-bench-login-") as tmp:
            server = Server(workers, Path(tmp) / "data", world, Path(tmp) / "server.log")
            print(f"\n=== {server.describe()}", flush=True)
            server.start(120)
            try:
                stores = _enroll_all(server.url, Path(tmp) / "apps", keys)
                rows = []
                for method in ("biometric", "pin"):
                    wall, samples, errors = _measure(
                        server.url, stores, method, args.count, args.concurrency, args.time_limit
                    )
                    stats = benchlib.summary_ms(samples)
                    rows.append(
                        [
                            method,
                            len(samples),
                            f"{len(samples) / wall:.1f}",
                            f"{stats['p50']:.1f}",
                            f"{stats['p95']:.1f}",
                            f"{stats['p99']:.1f}",
                            f"{stats['max']:.1f}",
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
                            "errors",
                        ],
                        rows,
                    ),
                    flush=True,
                )
            finally:
                server.stop(30)


if __name__ == "__main__":
    main()
