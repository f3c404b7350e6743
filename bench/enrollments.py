"""Whole mobile-certificate enrollments per second against a running center (127.0.0.1).

    .venv/bin/python bench/enrollments.py --url http://127.0.0.1:8000
    .venv/bin/python bench/enrollments.py --url http://127.0.0.1:8123 \\
        --world /tmp/bench_world.toml --count 64 --concurrency 8

One enrollment is the whole flow the app walks: start → terms → phone (SMS code) → read the
code from /sim → verify → account (1-won deposit) → read the code from the statement →
verify → ID (resident card) → PIN and pattern → make key pair and CSR → csr (certificate).
``--count`` enrollments run ``--concurrency`` at a time, each with its own client thread and
a fresh device keystore. Prints throughput and p50/p95/p99/max latency of a whole enrollment
and of each step. Timings are printed, never asserted.

People: with ``--world`` (the file the server was started with, e.g. made by
``bench/worldgen.py``) every enrollment is a different person, from ``--first-person`` on;
without it, the built-in demo world's 9 happy-path people are issued again and again
(``move_certificate=True``), never the same person twice at once.
"""

from __future__ import annotations

import argparse
import json
import threading

import benchlib


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Measure whole enrollments per second (start → … → certificate).",
        epilog="Example: .venv/bin/python bench/enrollments.py --url http://127.0.0.1:8000",
    )
    benchlib.add_common_arguments(parser, count=64)
    args = parser.parse_args()
    benchlib.check_counts(parser, args)
    url = benchlib.require_local(args.url)
    world = benchlib.load_people(args.world)
    warm = world.take(args.first_person, args.warmup, "the warm-up")
    people = world.take(args.first_person + args.warmup, args.count, "the enrollments")
    benchlib.print_lines(benchlib.machine_facts())
    print(f"server: {url} (external; its workers and database are not known to this script)")
    print(
        f"world: {people.world}, {len(people.people)} people"
        + (" reused with move_certificate=True" if people.reusable else ""),
        flush=True,
    )
    stop = threading.Event()
    with benchlib.sigterm_as_interrupt():
        if args.warmup:
            print(
                benchlib.warm_up(
                    url,
                    warm,
                    count=args.warmup,
                    concurrency=args.concurrency,
                    time_limit=args.time_limit,
                    stop=stop,
                ),
                flush=True,
            )
            if stop.is_set():
                raise SystemExit(130)
        m = benchlib.measure_enrollments(
            url,
            people,
            count=args.count,
            concurrency=args.concurrency,
            time_limit=args.time_limit,
            stop=stop,
        )
    print(benchlib.report(m, benchlib.ENROLL_STEPS))
    if args.json:
        args.json.write_text(json.dumps(m.as_dict(), indent=2), "utf-8")
    if m.interrupted:
        raise SystemExit(130)


if __name__ == "__main__":
    main()
