"""Start the center with 1, then 2 workers on a fresh bench world and measure both figures.

    .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --workers 1 2 4 --count 64 --sign-count 64
    .venv/bin/python bench/run_all.py --url http://127.0.0.1:8000   # an already running center

For each worker count: a fresh temporary data directory, a generated world of ``--people``
happy-path people (bench/worldgen.py), ``certcenter serve --host 127.0.0.1 --port <free>
--workers N`` with ``CERTCENTER_DATA_DIR`` and ``CERTCENTER_WORLD_FILE`` set (the server
creates its CA and seeds the world on this first start), a wait for ``GET /healthz``, then
``--count`` whole enrollments (bench/enrollments.py) and ``--sign-count`` csr-only signings
(bench/signings.py) with other people of the same world, and the server is stopped again
(SIGTERM, SIGKILL after ``--stop-timeout`` s) whatever happens, Ctrl-C included. Ends with a
compact table. Every phase is bounded by ``--time-limit`` seconds; no timing is asserted.

With ``--url`` no server is started: both measurements run once against that server, with
the people of ``--world`` (default: the built-in demo world, re-issued with
move_certificate=True).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import benchlib
import httpx
import worldgen

from certcenter.config import load_settings

ACCESS_LINE = re.compile(r'"(?:GET|POST|PUT|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


@dataclass
class Run:
    label: str
    server: str
    startup_s: float | None = None
    results: list[benchlib.Measurement] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    log_problems: list[str] = field(default_factory=list)
    stopped: str = ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certcenter_command() -> str:
    beside = Path(sys.executable).with_name("certcenter")
    if beside.exists():
        return str(beside)
    found = shutil.which("certcenter")
    if found is None:
        raise SystemExit("the certcenter console script is not installed (pip install -e .)")
    return found


class Server:
    """``certcenter serve`` as a child process in its own process group, logging to a file."""

    def __init__(self, workers: int, data: Path, world: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.env = {k: v for k, v in os.environ.items() if k != "CERTCENTER_PORT"}
        self.env |= {
            "CERTCENTER_DATA_DIR": str(data),
            "CERTCENTER_WORLD_FILE": str(world),
            "CERTCENTER_HOST": "127.0.0.1",
            # Every bench request comes from 127.0.0.1: the per-address SMS limit (30 an hour
            # by default) stands for one customer's network, not for a load generator
            # preparing hundreds of enrollments. The per-phone and per-person limits stay.
            "CERTCENTER_POLICY__SMS_MAX_PER_ADDRESS_HOUR": "1000000",
            "CERTCENTER_POLICY__SMS_MAX_PER_ADDRESS_DAY": "1000000",
        }
        self.command = [
            _certcenter_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self.settings = load_settings(environ=self.env)
        self.proc: subprocess.Popen[bytes] | None = None

    def use_database(self, url: str) -> None:
        """Serve from the database ``url`` instead of the environment's."""
        self.env["CERTCENTER_DATABASE_URL"] = url
        self.settings = load_settings(environ=self.env)

    def describe(self) -> str:
        s = self.settings
        kind = s.database_url.split(":", 1)[0]
        return (
            f"server: {self.url}, workers {self.command[-1]}, database {kind} "
            f"({s.database_url}), simulators {s.simulator_database_url.split(':', 1)[0]}, "
            f"argon2 m={s.policy.argon2_memory_kib} KiB t={s.policy.argon2_time_cost} "
            f"p={s.policy.argon2_parallelism}, log level {s.log_level}"
        )

    def start(self, timeout: float) -> float:
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() - started < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the server exited with {self.proc.returncode} before "
                        f"answering /healthz\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        return time.monotonic() - started
                time.sleep(0.2)
        raise RuntimeError(f"/healthz did not answer 200 within {timeout:.0f} s\n{self.log_tail()}")

    def stop(self, timeout: float) -> str:
        """SIGTERM, then SIGKILL to the whole process group; returns what happened."""
        proc = self.proc
        if proc is None:
            return "not started"
        outcome = ""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
                outcome = f"stopped by SIGTERM (exit {proc.returncode})"
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
                outcome = f"killed after {timeout:.0f} s"
        else:
            outcome = f"had already exited ({proc.returncode})"
        # Worker processes are in the same group: none may outlive their supervisor.
        for _ in range(50):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return outcome
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return outcome + "; leftover workers killed"

    def cpu_seconds(self) -> float:
        """CPU used so far by the server and its worker processes."""
        return benchlib.process_group_cpu(self.proc.pid) if self.proc is not None else 0.0

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join("   | " + line for line in text[-lines:])


def scan_log(path: Path, run: Run) -> None:
    """Count the HTTP statuses of the access log; keep error lines and tracebacks."""
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return
    for n, line in enumerate(lines):
        match = ACCESS_LINE.search(line)
        if match:
            run.statuses[match.group(2)] += 1
            if match.group(2).startswith("5") and len(run.log_problems) < 20:
                run.log_problems.append(line)
        elif ("Traceback" in line or " ERROR " in line) and len(run.log_problems) < 20:
            run.log_problems.extend(lines[n : n + 12])


def measure(
    run: Run,
    url: str,
    people: benchlib.People,
    args: argparse.Namespace,
    stop: threading.Event,
    cpu_probe: benchlib.CpuProbe | None = None,
) -> None:
    first = args.first_person
    warm = people.take(first, args.warmup, "the warm-up")
    enrol_people = people.take(first + args.warmup, args.count, "the enrollments")
    sign_people = people.take(first + args.warmup + args.count, args.sign_count, "the signings")
    if args.warmup:
        print(
            f"-- {run.label}: "
            + benchlib.warm_up(
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
            raise KeyboardInterrupt
    print(f"-- {run.label}: {args.count} enrollments, concurrency {args.concurrency}", flush=True)
    m = benchlib.measure_enrollments(
        url,
        enrol_people,
        count=args.count,
        concurrency=args.concurrency,
        time_limit=args.time_limit,
        stop=stop,
        cpu_probe=cpu_probe,
    )
    run.results.append(m)
    print(benchlib.report(m, benchlib.ENROLL_STEPS), flush=True)
    if m.interrupted:
        raise KeyboardInterrupt
    print(f"-- {run.label}: {args.sign_count} signings, concurrency {args.concurrency}", flush=True)
    s = benchlib.measure_signings(
        url,
        sign_people,
        count=args.sign_count,
        concurrency=args.concurrency,
        time_limit=args.time_limit,
        stop=stop,
        cpu_probe=cpu_probe,
    )
    run.results.append(s)
    print(benchlib.report(s), flush=True)
    if s.interrupted:
        raise KeyboardInterrupt


def with_server(run: Run, workers: int, args: argparse.Namespace, stop: threading.Event) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"certcenter-bench-w{workers}-"))
    server: Server | None = None
    try:
        world = worldgen.write_world(tmp / "bench_world.toml", args.people)
        server = Server(workers, tmp / "data", world, tmp / "server.log")
        run.server = server.describe()
        print(f"\n=== {run.label}: {run.server}", flush=True)
        print(f"    data {tmp / 'data'}, world {world} ({args.people} people)", flush=True)
        run.startup_s = server.start(args.startup_timeout)
        print(
            f"    up in {run.startup_s:.1f} s (first start: CA, migrations, world seeded)",
            flush=True,
        )
        people = benchlib.load_people(world)
        measure(run, server.url, people, args, stop, cpu_probe=server.cpu_seconds)
    finally:
        if server is not None:
            run.stopped = server.stop(args.stop_timeout)
            print(f"    server {run.stopped}", flush=True)
            scan_log(server.log_path, run)
            if run.log_problems:
                print(
                    "    server log errors:\n" + "\n".join(f"   | {x}" for x in run.log_problems),
                    flush=True,
                )
        if args.keep_data:
            print(f"    kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def summary(runs: list[Run]) -> str:
    rows = []
    for run in runs:
        for m in run.results:
            lat = benchlib.summary_ms(m.latencies)
            ms = [f"{lat[k]:.0f}" if lat["n"] else "-" for k in ("p50", "p95", "p99", "max")]
            busy = (
                f"{m.server_cpu_s / m.wall_s:.2f}"
                if m.server_cpu_s is not None and m.wall_s > 0
                else "-"
            )
            other = "-"
            if m.server_cpu_s is not None and m.machine_cpu_s is not None and m.wall_s > 0:
                rest = m.machine_cpu_s - m.server_cpu_s - m.client_cpu_s
                other = f"{max(rest, 0.0) / m.wall_s:.2f}"
            rows.append(
                [
                    run.label,
                    m.name,
                    f"{m.ok}/{m.requested}",
                    sum(m.errors.values()),
                    m.concurrency,
                    f"{m.wall_s:.1f}",
                    f"{m.throughput:.2f}",
                    *ms,
                    busy,
                    other,
                ]
            )
    return benchlib.table(
        (
            "server",
            "measure",
            "ok",
            "err",
            "conc",
            "wall s",
            "ops/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "srv cores",
            "other cores",
        ),
        rows,
        left=2,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Start the center (workers 1, then 2) on a fresh bench world and measure "
        "enrollments/s and signings/s.",
        epilog="Example: .venv/bin/python bench/run_all.py",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="server worker counts to measure, in order (default 1 2)",
    )
    parser.add_argument(
        "--count", type=int, default=64, help="whole enrollments per server (default %(default)s)"
    )
    parser.add_argument(
        "--sign-count",
        type=int,
        default=128,
        help="csr-only signings per server (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="requests in flight at once (default %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=8,
        help="whole enrollments per server before measuring, not counted (default %(default)s)",
    )
    parser.add_argument(
        "--people", type=int, default=400, help="size of the generated world (default %(default)s)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=120.0,
        help="seconds per measurement phase before it stops sending (default %(default)s)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=90.0,
        help="seconds to wait for /healthz (default %(default)s)",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=15.0,
        help="seconds between SIGTERM and SIGKILL (default %(default)s)",
    )
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the temporary data directories and server logs",
    )
    parser.add_argument(
        "--url",
        default=None,
        help="measure this running center instead (127.0.0.1 only); no server is started",
    )
    parser.add_argument(
        "--world",
        type=Path,
        default=None,
        help="with --url: the world file that server uses (default: built-in demo world)",
    )
    parser.add_argument(
        "--first-person",
        type=int,
        default=0,
        help="with --url and a generated world: skip this many people",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    args = parser.parse_args()
    if min(args.count, args.sign_count, args.concurrency, args.people, *args.workers) < 1:
        parser.error("counts, --people and --workers must be >= 1")
    if args.warmup < 0 or args.first_person < 0 or args.time_limit <= 0:
        parser.error("--warmup and --first-person must be >= 0, --time-limit > 0")
    needed = args.warmup + args.count + args.sign_count
    if args.url is None and needed > args.people:
        parser.error(
            f"--warmup {args.warmup} + --count {args.count} + --sign-count "
            f"{args.sign_count} need {needed} people per server but --people is "
            f"{args.people}: raise --people"
        )

    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    benchlib.print_lines(benchlib.machine_facts())
    print(
        f"load: {args.warmup} warm-up + {args.count} enrollments + {args.sign_count} "
        f"signings per server, "
        f"concurrency {args.concurrency}, time limit {args.time_limit:.0f} s per phase",
        flush=True,
    )
    runs: list[Run] = []
    stop = threading.Event()
    began = time.monotonic()
    failure = ""
    try:
        with benchlib.sigterm_as_interrupt():
            if args.url is not None:
                url = benchlib.require_local(args.url)
                run = Run(label="external", server=f"server: {url} (external; settings unknown)")
                print(f"\n=== {run.server}", flush=True)
                runs.append(run)
                measure(run, url, benchlib.load_people(args.world), args, stop)
            else:
                for workers in args.workers:
                    runs.append(Run(label=f"workers={workers}", server=""))
                    with_server(runs[-1], workers, args, stop)
    except KeyboardInterrupt:
        stop.set()
        failure = "interrupted"
        print("\ninterrupted: servers stopped; partial figures follow", file=sys.stderr)
    except (RuntimeError, benchlib.NotEnoughPeople) as err:
        stop.set()
        failure = str(err)
    finally:
        if runs:
            load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"\n=== summary ({time.monotonic() - began:.0f} s in all; load average now {load})"
            )
            for run in runs:
                statuses = dict(sorted(run.statuses.items()))
                print(
                    f"{run.label}: {run.server.removeprefix('server: ')}"
                    + (f"; startup {run.startup_s:.1f} s" if run.startup_s else "")
                    + (f"; HTTP statuses {statuses}" if statuses else "")
                )
            print(summary(runs))
            if args.json:
                args.json.write_text(
                    json.dumps(
                        [
                            {
                                "label": r.label,
                                "server": r.server,
                                "startup_s": r.startup_s,
                                "http_statuses": dict(r.statuses),
                                "stopped": r.stopped,
                                "measurements": [m.as_dict() for m in r.results],
                            }
                            for r in runs
                        ],
                        indent=2,
                    ),
                    "utf-8",
                )
    if failure == "interrupted":
        raise SystemExit(130)
    if failure:
        raise SystemExit(f"bench stopped: {failure}")


if __name__ == "__main__":
    main()
