"""Shared parts of the bench scripts: people, the issuance flow with timings, statistics.

Not run by itself; see ``enrollments.py``, ``signings.py`` and ``run_all.py`` in this folder.
Everything here talks HTTP to a running center (``CenterClient``) exactly as the bank app
does, reading the SMS code and the 1-won code from the demo world's ``/sim`` endpoints.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import math
import os
import platform
import queue
import signal
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.keystore import Keystore
from certcenter.simulators.world import Person, load_world

PIN = "591734"
PATTERN = [0, 1, 2, 5, 8]
REQUEST_TIMEOUT_S = 30.0

# People of the built-in demo world whose issuance succeeds and who can be issued again and
# again with move_certificate=True (the others show refusals on purpose).
DEMO_HAPPY_KEYS = ("C001", "C002", "C003", "C007", "C010", "C012", "C014", "C015", "C018")

#: The steps of one enrollment, in order, as timed. ``sms_read`` and ``deposit_read`` are
#: the person reading the phone and the statement (``/sim`` GETs); ``csr_make`` is the app
#: making its key pair and CSR (client-side only, no request).
ENROLL_STEPS = (
    "start",
    "terms",
    "phone",
    "sms_read",
    "phone_verify",
    "account",
    "deposit_read",
    "account_verify",
    "id",
    "credentials",
    "csr_make",
    "csr",
)
PREPARE_STEPS = ENROLL_STEPS[: ENROLL_STEPS.index("credentials") + 1]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class BenchStoppedError(Exception):
    """The run stops: a time limit or an interrupt, not a refusal of the center."""


class BenchFailureError(Exception):
    """Something the bench could not do that is not an API refusal (e.g. no code found)."""

    def __init__(self, code: str, text: str = "") -> None:
        self.code = code
        super().__init__(text or code)


class NotEnoughPeople(SystemExit):
    pass


def require_local(url: str) -> str:
    """Only ever measure a server on this machine."""
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing to load {url}: the bench only measures 127.0.0.1")
    return url.rstrip("/")


# ------------------------------------------------------------------ people


@dataclass(frozen=True)
class BenchPerson:
    key: str
    name: str
    rrn_front: str
    phone: str
    carrier: str
    bank: str
    account: str
    id_fields: dict[str, str]


def _id_fields(person: Person) -> dict[str, str]:
    if person.resident_cards:
        card = [c for c in person.resident_cards if c.get("current", True)][-1]
        return {
            "kind": "resident_card",
            "name": person.name,
            "rrn": person.rrn.digits,
            "issue_date": card["issue_date"].isoformat(),
        }
    if person.driver_licence:
        return {
            "kind": "driver_licence",
            "name": person.name,
            "birth_date": person.rrn.birth_date.isoformat(),
            "number": person.driver_licence["number"],
            "serial": person.driver_licence["serial"],
        }
    if person.passport:
        return {
            "kind": "passport",
            "name": person.name,
            "birth_date": person.rrn.birth_date.isoformat(),
            "number": person.passport["number"],
            "expiry": person.passport["expiry"].isoformat(),
        }
    raise ValueError(f"{person.key} has no ID document")


def _bench_person(person: Person) -> BenchPerson:
    if person.phone is None or not person.accounts:
        raise ValueError(f"{person.key} has no phone line or no account")
    account = person.accounts[0]
    return BenchPerson(
        key=person.key,
        name=person.name,
        rrn_front=person.rrn.front7,
        phone=person.phone["number"],
        carrier=person.phone["carrier"],
        bank=account["bank"],
        account=account["number"],
        id_fields=_id_fields(person),
    )


@dataclass(frozen=True)
class People:
    """Who the bench may enrol, and whether the same person may be enrolled again."""

    world: str
    people: list[BenchPerson]
    reusable: bool  # True: re-issue with move_certificate (the built-in demo world)

    def take(self, first: int, count: int, what: str) -> People:
        """``count`` people from ``first`` on; for a world of one-off people, exactly that
        many or a clear stop."""
        if self.reusable:
            return self
        chosen = self.people[first : first + count]
        if len(chosen) < count:
            raise NotEnoughPeople(
                f"{what}: {count} people needed from #{first + 1} on, but the world "
                f"{self.world!r} has only {len(self.people)} (so {len(chosen)} left): generate "
                "a bigger world (bench/worldgen.py --people N) or lower --count"
            )
        return People(self.world, chosen, reusable=False)


def load_people(world_file: Path | None) -> People:
    """The people of a world file, or the happy ones of the built-in demo world."""
    world = load_world(world_file)
    if world.name == "demo":
        chosen = [world.people[k] for k in DEMO_HAPPY_KEYS if k in world.people]
        return People("demo", [_bench_person(p) for p in chosen], reusable=True)
    chosen = [p for p in world.people.values() if p.customer and p.phone and p.accounts]
    return People(world.name, [_bench_person(p) for p in chosen], reusable=False)


# ------------------------------------------------------------------ one enrollment


@dataclass
class Walk:
    """One enrollment walked step by step, with the time each step took (seconds)."""

    person: BenchPerson
    keystore: Keystore
    move: bool
    times: dict[str, float] = field(default_factory=dict)
    step: str = ""
    csr_pem: str | None = None
    enrollment_id: str | None = None
    token: str | None = None

    def timed(
        self, name: str, action: Callable[[], Any], deadline: float, stop: threading.Event
    ) -> Any:
        if stop.is_set():
            raise BenchStoppedError("interrupted")
        if time.monotonic() >= deadline:
            raise BenchStoppedError("time limit")
        self.step = name
        started = time.perf_counter()
        result = action()
        self.times[name] = time.perf_counter() - started
        return result


def walk(
    client: CenterClient, w: Walk, *, until: str, deadline: float, stop: threading.Event
) -> dict[str, Any] | None:
    """Walk the flow up to and including step ``until``; the ``csr`` step returns the issued
    certificate. Raises ApiError (a refusal), BenchFailureError or BenchStoppedError."""
    p = w.person

    def run(name: str, action: Callable[[], Any]) -> Any:
        return w.timed(name, action, deadline, stop)

    def code_from(name: str, read: Callable[[], str | None]) -> str:
        code = run(name, read)
        if not code:
            raise BenchFailureError(f"{name.upper()}_NOT_FOUND", f"{name}: no code found")
        return str(code)

    device = w.keystore.ensure_device(platform="android", model="SM-S928N", app_version="5.2.0")
    run("start", lambda: client.start(device, move_certificate=w.move))
    w.enrollment_id, w.token = client.enrollment_id, client.token
    run("terms", lambda: client.step("terms", {"accepted": client.required_terms}))
    run(
        "phone",
        lambda: client.step(
            "phone",
            {
                "carrier": p.carrier,
                "name": p.name,
                "rrn_front": p.rrn_front,
                "phone": p.phone,
            },
        ),
    )
    sms = code_from("sms_read", lambda: client.latest_sms_code(p.phone))
    run("phone_verify", lambda: client.step("phone/verify", {"code": sms}))
    run(
        "account",
        lambda: client.step(
            "account",
            {
                "bank_code": p.bank,
                "account_number": p.account,
            },
        ),
    )
    deposit = code_from("deposit_read", lambda: client.latest_deposit_code(p.bank, p.account))
    run("account_verify", lambda: client.step("account/verify", {"code": deposit}))
    run("id", lambda: client.step("id", dict(p.id_fields)))
    result = run(
        "credentials",
        lambda: client.step(
            "credentials",
            {
                "pin": PIN,
                "pin_confirmation": PIN,
                "pattern": list(PATTERN),
            },
        ),
    )
    if result.get("state") != "credentials_set":
        raise BenchFailureError("UNEXPECTED_STATE", f"credentials: state {result.get('state')}")
    w.csr_pem = run("csr_make", lambda: w.keystore.new_certificate_request(common_name=p.name))
    if until == "credentials":
        return None
    issued: dict[str, Any] = run("csr", lambda: client.step("csr", {"csr": w.csr_pem}))
    if not issued.get("serial") or not issued.get("certificate"):
        raise BenchFailureError("NO_CERTIFICATE", "csr: answer without a certificate")
    return issued


# ------------------------------------------------------------------ statistics


@contextlib.contextmanager
def fresh_database(url: str | None, *, prefix: str) -> Iterator[str | None]:
    """None for SQLite (the data directory's file); for PostgreSQL a new, empty database
    (``<prefix>_<random>``) on the server ``url`` names, dropped afterwards: a center started
    with a data directory of its own (its own keys) needs a database of its own too."""
    if url is None:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples: Iterable[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "mean": statistics.fmean(ordered) * 1000,
        "p50": percentile(ordered, 50) * 1000,
        "p95": percentile(ordered, 95) * 1000,
        "p99": percentile(ordered, 99) * 1000,
        "max": ordered[-1] * 1000,
    }


@dataclass
class Measurement:
    name: str
    requested: int
    concurrency: int
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    aborted: int = 0  # stopped by the time limit or an interrupt before finishing
    wall_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # CPU seconds used during the timed phase(s): by this bench process, by the server's
    # processes (when the bench started the server), by the whole machine (Linux)
    client_cpu_s: float = 0.0
    server_cpu_s: float | None = None
    machine_cpu_s: float | None = None
    timed_out: bool = False
    interrupted: bool = False  # Ctrl-C or SIGTERM: the figures are partial
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_s if self.wall_s > 0 else 0.0

    def record_error(self, err: BaseException, step: str, who: str) -> None:
        if isinstance(err, ApiError):
            code = err.code
            title = err.problem.get("title") or (err.problem.get("message") or {}).get("en", "")
            text = f"{step}: HTTP {err.status} {code} {title}".rstrip()
        elif isinstance(err, BenchFailureError):
            code, text = err.code, f"{step}: {err}"
        else:
            code, text = type(err).__name__, f"{step}: {type(err).__name__}: {err}"
        with self.lock:
            self.errors[code] += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{who} {text}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requested": self.requested,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "errors": dict(self.errors),
            "aborted": self.aborted,
            "wall_s": self.wall_s,
            "throughput_per_s": self.throughput,
            "latency_ms": summary_ms(self.latencies),
            "steps_ms": {k: summary_ms(v) for k, v in self.steps.items()},
            "client_cpu_s": self.client_cpu_s,
            "server_cpu_s": self.server_cpu_s,
            "machine_cpu_s": self.machine_cpu_s,
            "timed_out": self.timed_out,
            "interrupted": self.interrupted,
            "error_samples": self.error_samples,
            "notes": self.notes,
        }


def cpu_line(m: Measurement) -> str:
    if m.wall_s <= 0:
        return "-"
    parts = []
    if m.server_cpu_s is not None:
        parts.append(f"server {m.server_cpu_s / m.wall_s:.2f}")
    parts.append(f"bench client {m.client_cpu_s / m.wall_s:.2f}")
    if m.machine_cpu_s is not None:
        if m.server_cpu_s is not None:
            other = max(m.machine_cpu_s - m.server_cpu_s - m.client_cpu_s, 0.0)
            parts.append(f"everything else {other / m.wall_s:.2f}")
        parts.append(f"whole machine {m.machine_cpu_s / m.wall_s:.2f} of {os.cpu_count()}")
    return ", ".join(parts)


def _fmt(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN -> "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1) -> str:
    """Aligned columns: the first ``left`` to the left, the numbers to the right."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def latency_row(label: str, samples: Sequence[float]) -> list[object]:
    s = summary_ms(samples)
    if not s["n"]:
        return [label, 0, "-", "-", "-", "-", "-"]
    return [
        label,
        s["n"],
        _fmt(s["mean"]),
        _fmt(s["p50"]),
        _fmt(s["p95"]),
        _fmt(s["p99"]),
        _fmt(s["max"]),
    ]


LATENCY_HEADERS = ("latency (ms)", "n", "mean", "p50", "p95", "p99", "max")


def report(m: Measurement, step_order: Sequence[str] = ()) -> str:
    errors = dict(m.errors.most_common()) or {}
    lines = [
        f"== {m.name}: {m.ok}/{m.requested} ok, errors {errors or 0}, aborted {m.aborted}"
        f"{' (time limit reached)' if m.timed_out else ''}"
        f"{' (INTERRUPTED: partial figures)' if m.interrupted else ''}",
        f"   concurrency {m.concurrency}, wall {m.wall_s:.2f} s, throughput {m.throughput:.2f}/s",
        f"   CPU while timed (in cores busy on average): {cpu_line(m)}",
    ]
    rows = [latency_row(m.name.split(" ")[0], m.latencies)]
    for step in step_order:
        if step in m.steps:
            rows.append(latency_row(f"  {step}", m.steps[step]))
    lines.append(table(LATENCY_HEADERS, rows))
    lines += [f"   note: {note}" for note in m.notes]
    lines += [f"   error: {sample}" for sample in m.error_samples]
    return "\n".join(lines)


# ------------------------------------------------------------------ facts


def argon2_hash_ms(samples: int = 5) -> float:
    """How long one argon2id hash with the center's default policy takes on this machine."""
    from argon2 import PasswordHasher, Type

    from certcenter.config import Policy

    policy = Policy()
    hasher = PasswordHasher(
        time_cost=policy.argon2_time_cost,
        memory_cost=policy.argon2_memory_kib,
        parallelism=policy.argon2_parallelism,
        type=Type.ID,
    )
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.hash(os.urandom(32))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def machine_facts() -> list[str]:
    from certcenter.config import Policy

    policy = Policy()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "-"
    return [
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}, load average {load}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"argon2id (m={policy.argon2_memory_kib} KiB, t={policy.argon2_time_cost}, "
        f"p={policy.argon2_parallelism}, the default policy): {argon2_hash_ms():.1f} ms per "
        "hash here; the server does 2 per enrollment (PIN, pattern: the SMS and 1-won codes "
        "are keyed HMACs), one per PIN login, none in the csr step",
    ]


# ------------------------------------------------------------------ the measurements

CpuProbe = Callable[[], float]


def machine_busy_cpu() -> float | None:
    """CPU seconds all CPUs have spent not idle since boot (Linux /proc/stat), else None."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    steal_guest = sum(fields[7:]) if len(fields) > 7 else 0  # steal, guest (in user)
    return (sum(fields) - idle - steal_guest) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """CPU used by the bench, the server and the machine between open and close."""

    def __init__(self, probe: CpuProbe | None) -> None:
        self.probe = probe
        self.client = time.process_time()
        self.server = probe() if probe else None
        self.machine = machine_busy_cpu()

    def close(self, m: Measurement) -> None:
        m.client_cpu_s += time.process_time() - self.client
        if self.probe is not None and self.server is not None:
            m.server_cpu_s = (m.server_cpu_s or 0.0) + self.probe() - self.server
        machine = machine_busy_cpu()
        if machine is not None and self.machine is not None:
            m.machine_cpu_s = (m.machine_cpu_s or 0.0) + machine - self.machine


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group
    (Linux /proc; 0.0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # fields[0] is field 3 (state) of proc(5)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _pool(people: People, count: int) -> queue.Queue[BenchPerson]:
    pool: queue.Queue[BenchPerson] = queue.Queue()
    for person in people.people[: (len(people.people) if people.reusable else count)]:
        pool.put(person)
    return pool


def _effective_concurrency(people: People, concurrency: int, m: Measurement) -> int:
    if people.reusable and concurrency > len(people.people):
        m.notes.append(
            f"concurrency lowered from {concurrency} to {len(people.people)}: the "
            "world has only that many people and one person enrols at a time"
        )
        return len(people.people)
    return concurrency


def _join(futures: list[concurrent.futures.Future[None]], stop: threading.Event) -> None:
    """Wait for worker threads; on Ctrl-C tell them to stop after their current request and
    wait for that (the measurement then ends with what it has, marked interrupted)."""
    try:
        for future in concurrent.futures.as_completed(futures):
            future.result()
    except KeyboardInterrupt:
        stop.set()
        concurrent.futures.wait(futures)
    except BaseException:
        stop.set()
        raise


def measure_enrollments(
    url: str,
    people: People,
    *,
    count: int,
    concurrency: int,
    time_limit: float,
    stop: threading.Event | None = None,
    cpu_probe: CpuProbe | None = None,
) -> Measurement:
    """``count`` whole enrollments, ``concurrency`` at a time, each a different person (or,
    in a reusable world, a person nobody else is enrolling at that moment)."""
    m = Measurement("enrollment", requested=count, concurrency=concurrency)
    concurrency = _effective_concurrency(people, concurrency, m)
    m.concurrency = concurrency
    stop = stop or threading.Event()
    pool = _pool(people, count)
    started_count = 0
    counter_lock = threading.Lock()
    begin = time.monotonic()
    deadline = begin + time_limit

    with tempfile.TemporaryDirectory(prefix="certcenter-bench-keys-") as tmp:

        def worker() -> None:
            nonlocal started_count
            with CenterClient(url, timeout=REQUEST_TIMEOUT_S, locale="en") as client:
                while not stop.is_set():
                    with counter_lock:
                        if started_count >= count:
                            return
                        if time.monotonic() >= deadline:
                            m.timed_out = True
                            return
                        started_count += 1
                        index = started_count
                    person = pool.get()
                    w = Walk(person, Keystore(Path(tmp) / f"ks-{index}"), move=people.reusable)
                    t0 = time.perf_counter()
                    try:
                        walk(client, w, until="csr", deadline=deadline, stop=stop)
                    except BenchStoppedError:
                        with m.lock:
                            m.aborted += 1
                            m.timed_out = m.timed_out or not stop.is_set()
                    except Exception as err:  # noqa: BLE001 - every failure is counted
                        m.record_error(err, w.step, person.key)
                    else:
                        elapsed = time.perf_counter() - t0
                        with m.lock:
                            m.ok += 1
                            m.latencies.append(elapsed)
                            for step, seconds in w.times.items():
                                m.steps.setdefault(step, []).append(seconds)
                    finally:
                        if people.reusable:
                            pool.put(person)

        window = CpuWindow(cpu_probe)
        t_start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(concurrency, "enrol") as executor:
            _join([executor.submit(worker) for _ in range(concurrency)], stop)
        m.wall_s = time.perf_counter() - t_start
        window.close(m)
    m.interrupted = stop.is_set()
    not_started = count - started_count
    if not_started:
        m.notes.append(
            f"{not_started} enrollments not started"
            + (f" (time limit {time_limit:.0f} s)" if m.timed_out else "")
        )
    return m


def measure_signings(
    url: str,
    people: People,
    *,
    count: int,
    concurrency: int,
    time_limit: float,
    stop: threading.Event | None = None,
    cpu_probe: CpuProbe | None = None,
    around_timed: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
) -> Measurement:
    """Bring ``count`` enrollments to ``credentials_set`` (not timed), then time only their
    ``csr`` steps, ``concurrency`` in flight. In a reusable world with fewer people than
    ``count`` this goes in rounds of at most one enrollment per person. ``around_timed``
    (e.g. a profiler) is entered around each timed phase only."""
    m = Measurement("signing", requested=count, concurrency=concurrency)
    concurrency = _effective_concurrency(people, concurrency, m)
    m.concurrency = concurrency
    stop = stop or threading.Event()
    round_size = min(count, len(people.people)) if people.reusable else count
    prepare_wall = 0.0
    prepare_errors: Counter[str] = Counter()
    remaining = count
    prepared = 0
    deadline = time.monotonic() + time_limit
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="certcenter-bench-keys-") as tmp:
        while remaining > 0 and not stop.is_set():
            if time.monotonic() >= deadline:
                m.timed_out = True
                break
            size = min(round_size, remaining)
            rounds += 1
            t0 = time.perf_counter()
            ready = _prepare(
                url,
                people.people[:size],
                Path(tmp) / f"round-{rounds}",
                move=people.reusable,
                concurrency=concurrency,
                deadline=deadline,
                stop=stop,
                errors=prepare_errors,
                m=m,
            )
            prepare_wall += time.perf_counter() - t0
            prepared += len(ready)
            if stop.is_set():
                break
            _fire(
                url,
                ready,
                concurrency=concurrency,
                deadline=deadline,
                stop=stop,
                m=m,
                cpu_probe=cpu_probe,
                around=around_timed,
            )
            remaining -= size
    m.interrupted = stop.is_set()
    if rounds > 1:
        m.notes.append(
            f"{rounds} rounds of at most {round_size} (one enrollment per person "
            "at a time); wall time is the sum of the timed csr phases"
        )
    m.notes.append(
        f"preparation (not timed): {prepared} enrollments brought to "
        f"credentials_set in {prepare_wall:.1f} s"
        + (f", failures {dict(prepare_errors)}" if prepare_errors else "")
    )
    attempted = m.ok + sum(m.errors.values()) + m.aborted
    if attempted < count:
        m.notes.append(
            f"{count - attempted} signings not attempted"
            + (f" (time limit {time_limit:.0f} s)" if m.timed_out else "")
        )
    return m


def _prepare(
    url: str,
    chosen: list[BenchPerson],
    directory: Path,
    *,
    move: bool,
    concurrency: int,
    deadline: float,
    stop: threading.Event,
    errors: Counter[str],
    m: Measurement,
) -> list[Walk]:
    work: queue.Queue[BenchPerson] = queue.Queue()
    for person in chosen:
        work.put(person)
    ready: list[Walk] = []
    lock = threading.Lock()

    def worker() -> None:
        with CenterClient(url, timeout=REQUEST_TIMEOUT_S, locale="en") as client:
            while not stop.is_set():
                try:
                    person = work.get_nowait()
                except queue.Empty:
                    return
                w = Walk(person, Keystore(directory / person.key), move=move)
                try:
                    walk(client, w, until="credentials", deadline=deadline, stop=stop)
                except BenchStoppedError:
                    with lock:
                        m.timed_out = m.timed_out or not stop.is_set()
                    return
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    with lock:
                        code = (
                            err.code
                            if isinstance(err, ApiError | BenchFailureError)
                            else (type(err).__name__)
                        )
                        errors[f"{w.step}:{code}"] += 1
                        if len(m.error_samples) < 5:
                            m.error_samples.append(f"{person.key} (preparing) {w.step}: {err}")
                else:
                    with lock:
                        ready.append(w)

    with concurrent.futures.ThreadPoolExecutor(concurrency, "prepare") as executor:
        _join([executor.submit(worker) for _ in range(concurrency)], stop)
    return ready


def _fire(
    url: str,
    ready: list[Walk],
    *,
    concurrency: int,
    deadline: float,
    stop: threading.Event,
    m: Measurement,
    cpu_probe: CpuProbe | None,
    around: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
) -> None:
    """Time the csr steps of the prepared enrollments, ``concurrency`` at a time."""
    if not ready:
        return
    work: queue.Queue[Walk] = queue.Queue()
    for w in ready:
        work.put(w)
    threads = min(concurrency, len(ready))
    clients = [CenterClient(url, timeout=REQUEST_TIMEOUT_S, locale="en") for _ in range(threads)]
    try:
        for client in clients:  # open the connections before the clock starts
            client.http.get("/healthz").raise_for_status()

        def worker(client: CenterClient) -> None:
            while not stop.is_set():
                try:
                    w = work.get_nowait()
                except queue.Empty:
                    return
                if time.monotonic() >= deadline:
                    with m.lock:
                        m.aborted += 1
                        m.timed_out = True
                    continue
                client.enrollment_id, client.token = w.enrollment_id, w.token
                t0 = time.perf_counter()
                try:
                    issued = client.step("csr", {"csr": w.csr_pem})
                    if not issued.get("serial"):
                        raise BenchFailureError("NO_CERTIFICATE", "csr: answer without a serial")
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    m.record_error(err, "csr", w.person.key)
                else:
                    elapsed = time.perf_counter() - t0
                    with m.lock:
                        m.ok += 1
                        m.latencies.append(elapsed)

        with around() if around is not None else contextlib.nullcontext():
            window = CpuWindow(cpu_probe)
            t_start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(threads, "sign") as executor:
                _join([executor.submit(worker, c) for c in clients], stop)
            m.wall_s += time.perf_counter() - t_start
            window.close(m)
    finally:
        for client in clients:
            client.close()


# ------------------------------------------------------------------ command lines


def add_common_arguments(parser: argparse.ArgumentParser, *, count: int) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("CERTCENTER_URL", "http://127.0.0.1:8000"),
        help="the running center (127.0.0.1 only; default %(default)s)",
    )
    parser.add_argument(
        "--world",
        type=Path,
        default=None,
        help="the world file the server was started with (CERTCENTER_WORLD_FILE);"
        " default: the built-in demo world, whose 9 happy-path people are "
        "issued again and again with move_certificate=True",
    )
    parser.add_argument(
        "--first-person",
        type=int,
        default=0,
        help="skip this many people of a generated world (already enrolled ones)",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=count,
        help="how many operations in total (default %(default)s)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="operations in flight at once, one client thread each (default %(default)s)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=120.0,
        help="seconds after which no new request is sent (default %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="whole enrollments before measuring, not counted, with their own "
        "people (default %(default)s)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")


def warm_up(
    url: str,
    people: People,
    *,
    count: int,
    concurrency: int,
    time_limit: float,
    stop: threading.Event | None = None,
) -> str:
    """A few whole enrollments so that the measured ones find the server warm (connections,
    caches, the CA key loaded, every worker process started); returns a line about them."""
    m = measure_enrollments(
        url,
        people,
        count=count,
        concurrency=min(concurrency, count),
        time_limit=time_limit,
        stop=stop,
    )
    errors = f", errors {dict(m.errors)}" if m.errors else ""
    return f"warm-up (not counted): {m.ok}/{count} enrollments in {m.wall_s:.1f} s{errors}"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A SIGTERM to the bench stops it like Ctrl-C does (partial figures, server stopped)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if (
        args.count < 1
        or args.concurrency < 1
        or args.time_limit <= 0
        or args.first_person < 0
        or args.warmup < 0
    ):
        parser.error(
            "--count and --concurrency must be >= 1, --time-limit > 0, "
            "--first-person and --warmup >= 0"
        )


def print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, flush=True)
