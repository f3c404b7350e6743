"""The login and enrolment goals: measured figures next to the goal each one has.

Used by ``compare.py`` (a second table after the cfssl one) and ``logins.py``. The goals
are printed as ratios, never asserted:

``biometric login``
    the device's biometric-bound key signs a login challenge (two requests: the challenge
    and the signed answer): at least :data:`BIOMETRIC_PER_S` a second with p99 at most
    :data:`BIOMETRIC_P99_MS` on 2 cores. An ECDSA P-256 verification costs about 60 µs, so
    the cryptography alone would allow about 16,000 a second per core.
``PIN login``
    the same with the PIN, whose check is one argon2id verification: the bound is
    ``cores / hash time`` (the hash timed on this machine in the same run); the goal is
    :data:`PIN_SHARE` of it.
``enrolment``
    the whole flow (``benchlib.walk``); the slow hashes it needs are the PIN's and the
    pattern's argon2id (:data:`ENROLMENT_HASHES`; the SMS and 1-won codes are keyed HMACs):
    bound ``cores / (2 × hash time)``, goal :data:`ENROLMENT_SHARE` of it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import benchlib
from run_all import Server

from certcenter.cli.app_session import login
from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.demo import DEMO_PIN, scripted_answers
from certcenter.cli.flow import enroll
from certcenter.cli.keystore import Keystore

BIOMETRIC_PER_S = 2000.0
BIOMETRIC_P99_MS = 50.0
GOAL_CORES = 2
PIN_HASHES = 1  # argon2id verifications per PIN login
PIN_SHARE = 0.90
ENROLMENT_HASHES = 2  # the PIN's and the pattern's argon2id hashes
ENROLMENT_SHARE = 0.80


@dataclass
class Rate:
    """One measured path: operations a second, p99 and the server's CPU per operation."""

    per_s: float | None = None
    p99_ms: float | None = None
    ok: int = 0
    errors: int = 0
    server_cpu_ms: float | None = None  # server CPU per successful operation

    @classmethod
    def of(
        cls, wall_s: float, samples: list[float], errors: int, server_cpu_s: float | None
    ) -> Rate:
        stats = benchlib.summary_ms(samples)
        return cls(
            per_s=len(samples) / wall_s if samples and wall_s > 0 else None,
            p99_ms=stats.get("p99"),
            ok=len(samples),
            errors=errors,
            server_cpu_ms=(
                1000 * server_cpu_s / len(samples) if server_cpu_s is not None and samples else None
            ),
        )


@dataclass
class GoalFigures:
    hash_ms: float  # one argon2id hash with the default policy, timed in this run
    cores: int = GOAL_CORES
    biometric: Rate | None = None
    pin: Rate | None = None
    enrolment: Rate | None = None


def as_dict(f: GoalFigures) -> dict[str, object]:
    """The figures and bounds, for ``--json``."""
    return {
        "hash_ms": f.hash_ms,
        "cores": f.cores,
        "pin_bound_per_s": hash_bound(f.cores, f.hash_ms, PIN_HASHES),
        "enrolment_bound_per_s": hash_bound(f.cores, f.hash_ms, ENROLMENT_HASHES),
        **{
            name: vars(rate) if rate is not None else None
            for name, rate in (
                ("biometric", f.biometric),
                ("pin", f.pin),
                ("enrolment", f.enrolment),
            )
        },
    }


def hash_bound(cores: int, hash_ms: float, hashes: int) -> float:
    """Operations a second when every core does nothing but the operation's slow hashes."""
    if hash_ms <= 0 or hashes <= 0:
        return math.inf
    return cores / (hashes * hash_ms / 1000)


def _n(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _share(value: float | None, bound: float) -> str:
    return "-" if value is None or not math.isfinite(bound) else f"{100 * value / bound:.0f} %"


def goals_table(f: GoalFigures) -> str:
    """One row per goal: what was measured, the goal, and how far along it is."""
    rows: list[list[str]] = []
    if f.biometric is not None:
        b = f.biometric
        p99_ok = b.p99_ms is not None and b.p99_ms <= BIOMETRIC_P99_MS
        rows.append(
            [
                "biometric login",
                _n(b.per_s),
                _n(b.p99_ms),
                _n(b.server_cpu_ms, 2),
                f"≥ {BIOMETRIC_PER_S:,.0f}/s, p99 ≤ {BIOMETRIC_P99_MS:.0f} ms",
                f"{_share(b.per_s, BIOMETRIC_PER_S)} of the rate; p99 "
                + ("within" if p99_ok else "over" if b.p99_ms is not None else "-"),
            ]
        )
    pin_bound = hash_bound(f.cores, f.hash_ms, PIN_HASHES)
    if f.pin is not None:
        rows.append(
            [
                "PIN login",
                _n(f.pin.per_s),
                _n(f.pin.p99_ms),
                _n(f.pin.server_cpu_ms, 2),
                f"≥ {100 * PIN_SHARE:.0f} % of {_n(pin_bound)}/s",
                f"{_share(f.pin.per_s, pin_bound)} of the bound",
            ]
        )
    enrol_bound = hash_bound(f.cores, f.hash_ms, ENROLMENT_HASHES)
    if f.enrolment is not None:
        rows.append(
            [
                "enrolment",
                _n(f.enrolment.per_s, 2),
                _n(f.enrolment.p99_ms),
                _n(f.enrolment.server_cpu_ms, 2),
                f"≥ {100 * ENROLMENT_SHARE:.0f} % of {_n(enrol_bound)}/s",
                f"{_share(f.enrolment.per_s, enrol_bound)} of the bound",
            ]
        )
    text = benchlib.table(("goal", "per s", "p99 ms", "server CPU ms/op", "goal", "reached"), rows)
    notes = [
        f"  bounds: {f.cores} cores / argon2id hash time ({f.hash_ms:.1f} ms here, the default "
        f"policy, timed in this run): PIN login {PIN_HASHES} hash, enrolment "
        f"{ENROLMENT_HASHES} (PIN, pattern; the codes are keyed HMACs)",
    ]
    measured = (("biometric login", f.biometric), ("PIN login", f.pin), ("enrolment", f.enrolment))
    for name, rate in measured:
        if rate is not None and rate.errors:
            notes.append(f"  {name}: {rate.errors} failed, not counted")
    return "\n".join([text, *notes])


# ------------------------------------------------------------------ logins


def enroll_demo_people(url: str, directory: Path, keys: list[str]) -> list[Keystore]:
    """Issue the demo world's people ``keys`` a mobile certificate each (with the biometric
    key), one after the other; not timed. People who cannot be issued are left out."""
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


def measure_logins(
    url: str,
    stores: list[Keystore],
    method: str,
    count: int,
    concurrency: int,
    time_limit: float,
) -> tuple[float, list[float], dict[str, int]]:
    """``count`` logins by ``method``, ``concurrency`` at a time, each thread as one of
    ``stores``' customers: (wall s, latencies s, errors by code)."""
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


def cores() -> int:
    """The machine's cores: the bounds are for all of them."""
    return os.cpu_count() or 1


# ------------------------------------------------------------------ the goals' run

#: ``around(name)``: a context manager around one timed phase (compare.py's py-spy profile)
Around = Callable[[str], contextlib.AbstractContextManager[None]]


def _nothing(_name: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def measure_enrolment(
    server: Server,
    people: benchlib.People,
    *,
    count: int,
    concurrency: int,
    time_limit: float,
    stop: threading.Event,
    around: Around = _nothing,
) -> Rate:
    """``count`` whole enrollments on ``server`` (its own people), ``concurrency`` at a time."""
    with around("enrolment"):
        m = benchlib.measure_enrollments(
            server.url,
            people,
            count=count,
            concurrency=concurrency,
            time_limit=time_limit,
            stop=stop,
            cpu_probe=server.cpu_seconds,
        )
    for sample in m.error_samples:
        print(f"   error: {sample}", flush=True)
    return Rate.of(m.wall_s, m.latencies, sum(m.errors.values()) + m.aborted, m.server_cpu_s)


def measure_login_goals(
    figures: GoalFigures,
    *,
    workers: int,
    count: int,
    concurrency: int,
    time_limit: float,
    around: Around = _nothing,
    startup_timeout: float = 120.0,
    stop_timeout: float = 15.0,
    started: Callable[[Server], None] = lambda _server: None,
) -> None:
    """Both login paths on a server of their own (the demo world, ``workers`` workers): the
    demo's happy-path people get a certificate with a biometric key (not timed), then
    ``count`` biometric and ``count`` PIN logins. The argon2id hash is timed again right
    before the PIN logins (``figures.hash_ms``)."""
    world = Path(str(resources.files("certcenter.simulators").joinpath("demo_world.toml")))
    keys = list(benchlib.DEMO_HAPPY_KEYS[: max(1, min(concurrency, 9))])
    configured = Server(workers, Path(tempfile.gettempdir()), world, Path(os.devnull))
    postgres = configured.settings.database_url.startswith("postgresql")
    with (
        tempfile.TemporaryDirectory(prefix="certcenter-goals-") as tmp,
        benchlib.fresh_database(
            configured.settings.database_url if postgres else None, prefix="certcenter_goals"
        ) as database_url,
    ):
        server = Server(workers, Path(tmp) / "data", world, Path(tmp) / "server.log")
        if database_url is not None:  # its own keys: a database of its own
            server.use_database(database_url)
        print(server.describe(), flush=True)
        try:  # a server that never answered is stopped too
            print(f"    up in {server.start(startup_timeout):.1f} s", flush=True)
            started(server)
            stores = enroll_demo_people(server.url, Path(tmp) / "apps", keys)
            if not stores:
                print("    nobody could be enrolled: no login figures", flush=True)
                return
            for method in ("biometric", "pin"):
                if method == "pin":
                    figures.hash_ms = benchlib.argon2_hash_ms()
                print(f"-- certcenter {method} login", flush=True)
                with around(f"login-{method}"):
                    cpu = server.cpu_seconds()
                    wall, samples, errors = measure_logins(
                        server.url, stores, method, count, concurrency, time_limit
                    )
                    cpu = server.cpu_seconds() - cpu
                for code, n in errors.items():
                    print(f"   error: {code} x{n}", flush=True)
                setattr(figures, method, Rate.of(wall, samples, sum(errors.values()), cpu))
        finally:
            print(f"    server {server.stop(stop_timeout)}", flush=True)
