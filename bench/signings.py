"""CSR → certificate signings per second against a running center (127.0.0.1).

    .venv/bin/python bench/signings.py --url http://127.0.0.1:8000
    .venv/bin/python bench/signings.py --url http://127.0.0.1:8123 \\
        --world /tmp/bench_world.toml --first-person 64 --count 64 --concurrency 8

First ``--count`` enrollments are brought up to the state ``credentials_set`` (every step
before the certificate, with their key pairs and CSRs made) — not timed. Then only their
``csr`` steps are sent, ``--concurrency`` in flight at once (``--concurrency`` equal to
``--count`` fires them all together), and timed: throughput and p50/p95/p99/max latency of
one ``csr`` request (validate the CSR, write the intent, sign with the issuing CA, activate
and bind the device). Timings are printed, never asserted.

People as in ``enrollments.py``: a generated world (``--world``) gives one person per
signing; the built-in demo world's 9 happy-path people go in rounds of at most 9.
"""

from __future__ import annotations

import argparse
import json
import threading

import benchlib


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Measure CSR → certificate signings per second (csr step only).",
        epilog="Example: .venv/bin/python bench/signings.py --url http://127.0.0.1:8000",
    )
    benchlib.add_common_arguments(parser, count=64)
    args = parser.parse_args()
    benchlib.check_counts(parser, args)
    url = benchlib.require_local(args.url)
    world = benchlib.load_people(args.world)
    warm = world.take(args.first_person, args.warmup, "the warm-up")
    people = world.take(args.first_person + args.warmup, args.count, "the signings")
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
        m = benchlib.measure_signings(
            url,
            people,
            count=args.count,
            concurrency=args.concurrency,
            time_limit=args.time_limit,
            stop=stop,
        )
    print(benchlib.report(m))
    if args.json:
        args.json.write_text(json.dumps(m.as_dict(), indent=2), "utf-8")
    if m.interrupted:
        raise SystemExit(130)


if __name__ == "__main__":
    main()
