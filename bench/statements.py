"""SQL statements and transactions per step, in process: whole mobile enrolments and logins
(biometric, PIN) through the real app, counted per step, with the process's CPU per operation.

    .venv/bin/python bench/statements.py
    .venv/bin/python bench/statements.py --count 32 --top 25
    CERTCENTER_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/stmts \\
        .venv/bin/python bench/statements.py        # an empty database made for it

The load figures of the other scripts drift with the machine (±15 % within minutes on a
shared VM); a statement count does not. This runs the center's ASGI app in this process
(Starlette's test client: every middleware, dependency and route as served, no sockets) on a
fresh data directory (SQLite, or the database ``CERTCENTER_DATABASE_URL`` names, which must
be empty) and a generated world, walks ``--warmup`` enrolments unmeasured, then ``--count``
enrolments and ``--count`` logins of each kind, counting every statement the engine sends
(``BEGIN`` included) by the step that sent it. The server's background threads (the job
runner, the audit sealer, the sender that delivers the steps' SMS) are counted apart. CPU is
the whole process's, the test client's included: compare runs of this script with each
other, not with the load figures. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import benchlib
import worldgen

#: the server's own threads (certcenter.server): their statements are counted apart
BACKGROUND = "certcenter-"


class Counter:
    """Statements by step: the step running when each statement was sent."""

    def __init__(self) -> None:
        self.step = "-"
        self.on = False
        self.statements: collections.Counter[str] = collections.Counter()
        self.transactions: collections.Counter[str] = collections.Counter()
        self.texts: collections.Counter[str] = collections.Counter()

    def _step(self) -> str:
        if threading.current_thread().name.startswith(BACKGROUND):
            return "(background)"  # the job runner, the audit sealer, the SMS/e-mail sender
        return self.step

    def began(self) -> None:
        if self.on:
            self.transactions[self._step()] += 1

    def __call__(self, statement: str) -> None:
        if not self.on:
            return
        step = self._step()
        self.statements[step] += 1
        self.texts[" ".join(statement.split())[:100]] += 1

    @contextmanager
    def in_step(self, name: str) -> Iterator[None]:
        self.step = name
        try:
            yield
        finally:
            self.step = "-"


def _listen(counter: Counter) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        counter(statement)

    def begin(_conn: Any) -> None:
        counter.began()

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "begin", begin)  # PostgreSQL's BEGIN is the driver's, not a statement


def _measure(counter: Counter, count: int, one: Callable[[int], None]) -> float:
    """CPU seconds per operation for ``count`` calls of ``one``, counted."""
    counter.on = True
    started = time.process_time()
    for i in range(count):
        one(i)
    counter.on = False
    return (time.process_time() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=16, help="operations of each kind")
    parser.add_argument("--warmup", type=int, default=4, help="enrolments not counted")
    parser.add_argument("--top", type=int, default=15, help="most frequent statements shown")
    args = parser.parse_args()
    if args.count < 1 or args.warmup < 0:
        parser.error("--count >= 1, --warmup >= 0")
    with tempfile.TemporaryDirectory(prefix="certcenter-bench-statements-") as tmp:
        run(Path(tmp), args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    people_needed = args.warmup + args.count
    world = worldgen.write_world(tmp / "world.toml", people_needed)
    os.environ.update(
        {
            "CERTCENTER_DATA_DIR": str(tmp / "data"),
            "CERTCENTER_WORLD_FILE": str(world),
            "CERTCENTER_HOST": "127.0.0.1",
            # one client address prepares every enrolment (see run_all.Server)
            "CERTCENTER_POLICY__SMS_MAX_PER_ADDRESS_HOUR": "1000000",
            "CERTCENTER_POLICY__SMS_MAX_PER_ADDRESS_DAY": "1000000",
        }
    )
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

    from certcenter.bootstrap import initialise
    from certcenter.cli.app_session import login
    from certcenter.cli.client import CenterClient
    from certcenter.cli.keystore import Keystore
    from certcenter.config import load_settings

    settings = load_settings()
    initialise(settings)
    from certcenter.server import app_from_environment

    counter = Counter()
    _listen(counter)
    people = benchlib.load_people(world).take(0, people_needed, "the enrolments").people
    benchlib.print_lines(benchlib.machine_facts())
    print(f"database: {settings.database_url.split(':', 1)[0]}, in process", flush=True)
    stop = threading.Event()
    stores: list[Keystore] = []
    app = app_from_environment()
    with TestClient(
        app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000)
    ) as http:  # the center's client address: a domestic one, as a customer's

        def client() -> CenterClient:
            made = CenterClient("http://127.0.0.1", locale="en")
            made.close()  # its own connection pool, unused: the app answers in process
            made.http = http
            return made

        # made before the counted part: a client's TLS context alone costs milliseconds
        ready = [client() for _ in range(args.warmup + 3 * args.count)]

        def enrol(i: int) -> None:
            walk = benchlib.Walk(
                person=people[i], keystore=Keystore(tmp / "apps" / str(i)), move=False
            )
            original = walk.timed

            def timed(name: str, action: Callable[[], Any], deadline: float, s: Any) -> Any:
                with counter.in_step(name):
                    return original(name, action, deadline, s)

            walk.timed = timed  # type: ignore[method-assign]
            app = ready.pop()
            step = app.step

            def with_biometrics(name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
                if name == "credentials":  # as the app does on a phone with biometrics
                    key = walk.keystore.new_biometric_key()
                    body = {**(body or {}), "biometric_public_key": key}
                return step(name, body)

            app.step = with_biometrics  # type: ignore[method-assign]
            deadline = time.monotonic() + 120
            issued = benchlib.walk(app, walk, until="csr", deadline=deadline, stop=stop)
            if issued is not None:  # the app keeps its certificate: it logs in with it next
                walk.keystore.install_certificate(issued["certificate"], issued["chain"])
                stores.append(walk.keystore)

        for i in range(args.warmup):
            enrol(i)
        stores.clear()
        rows = []
        cpu = _measure(counter, args.count, lambda i: enrol(args.warmup + i))
        rows.append(("enrolment", cpu, dict(counter.statements), dict(counter.transactions)))
        for method in ("biometric", "pin"):
            counter.statements.clear()
            counter.transactions.clear()

            def log_in(i: int, method: str = method) -> None:
                with counter.in_step(f"login ({method})"):
                    login(ready.pop(), stores[i % len(stores)], method=method, pin=benchlib.PIN)

            cpu = _measure(counter, args.count, log_in)
            rows.append(
                (f"{method} login", cpu, dict(counter.statements), dict(counter.transactions))
            )
    _report(rows, args.count, counter.texts, args.top)


def _report(
    rows: list[tuple[str, float, dict[str, int], dict[str, int]]],
    count: int,
    texts: collections.Counter[str],
    top: int,
) -> None:
    table = []
    for name, cpu, statements, transactions in rows:
        for step in sorted(statements, key=lambda s: -statements[s]):
            table.append(
                [
                    name,
                    step,
                    f"{statements[step] / count:.1f}",
                    f"{transactions.get(step, 0) / count:.1f}",
                    "",
                ]
            )
        total = sum(statements.values()) / count
        begun = sum(transactions.values()) / count
        table.append([name, "all", f"{total:.1f}", f"{begun:.1f}", f"{cpu * 1000:.1f}"])
    print()
    print(
        benchlib.table(
            ["operation", "step", "statements", "transactions", "process CPU ms"], table, left=2
        )
    )
    print(f"\nthe {top} most frequent statements (per operation, all kinds together):")
    operations = count * len(rows)
    for text, seen in texts.most_common(top):
        print(f"  {seen / operations:6.1f}  {text}")


if __name__ == "__main__":
    main()
