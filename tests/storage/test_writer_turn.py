"""SQLite writers take turns before they ask for SQLite's write lock — the threads of one
process, and the processes of one file; the turn is given back however their transaction
ends, and a wait for it is bounded."""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from certcenter.storage import database
from certcenter.storage.database import TURN_FILE_SUFFIX, make_engine, writer_turn

WRITERS = 8
EACH = 25


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    return engine


def test_writers_of_many_threads_each_count_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    def add_one_at_a_time() -> None:
        for _ in range(EACH):
            with engine.begin() as conn:  # read, then write what was read: only safe in turn
                n = conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        for done in [pool.submit(add_one_at_a_time) for _ in range(WRITERS)]:
            done.result()

    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == WRITERS * EACH
    assert not writer_turn(tmp_path / "turns.db").taken
    engine.dispose()


def test_the_turn_is_given_back_on_rollback_and_on_close(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    turn = writer_turn(tmp_path / "turns.db")
    conn = engine.connect()
    trans = conn.begin()
    conn.execute(text("UPDATE counter SET n = 7"))
    assert turn.taken
    trans.rollback()  # the work failed
    assert not turn.taken
    conn.close()

    conn = engine.connect()
    conn.execute(text("UPDATE counter SET n = 8"))
    assert turn.taken
    conn.invalidate()  # the connection is closed in the middle of its transaction
    assert not turn.taken

    with engine.connect() as reader:  # neither change was kept
        assert reader.execute(text("SELECT n FROM counter")).scalar_one() == 0
    with engine.connect().execution_options(certcenter_read_only=True) as reader:
        reader.execute(text("SELECT n FROM counter")).scalar_one()
        assert not turn.taken  # a read-only transaction never takes it
    engine.dispose()


# A writer in another process: it opens a write transaction on the same file, says so, holds
# it until told to end, then commits.
OTHER_WRITER = """
import sys
from sqlalchemy import text
from certcenter.storage.database import make_engine
engine = make_engine(f"sqlite:///{sys.argv[1]}")
with engine.begin() as conn:
    conn.execute(text("UPDATE counter SET n = n + 100 WHERE id = 1"))
    print("holding", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


def test_the_turn_is_shared_with_the_writers_of_other_processes(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    database = tmp_path / "turns.db"
    with subprocess.Popen(
        [sys.executable, "-c", OTHER_WRITER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        _hand_over(engine, other, tmp_path)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 101
    engine.dispose()


def _hand_over(engine: Engine, other: subprocess.Popen[str], tmp_path: Path) -> None:
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline().strip() == "holding"
        turn_file = tmp_path / ("turns.db" + TURN_FILE_SUFFIX)
        assert stat.S_IMODE(turn_file.stat().st_mode) == 0o600
        # the other process's open transaction holds the turn file: nobody else gets it
        with turn_file.open("rb") as probe, pytest.raises(BlockingIOError):
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

        started = threading.Event()
        done: list[float] = []

        def write() -> None:
            started.set()
            with engine.begin() as conn:  # waits for the turn, in the kernel
                conn.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
            done.append(time.monotonic())

        writer = threading.Thread(target=write)
        writer.start()
        started.wait(5)
        time.sleep(0.3)
        assert not done  # still waiting: the other process has not committed
        released = time.monotonic()
        other.stdin.write("go\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "committed"
        writer.join(10)
        assert done, "the writer never got the turn"
        # woken when the turn was given back, not at a busy handler's next try
        assert done[0] - released < 1.0
    finally:
        other.kill()
        other.wait(10)


@contextlib.contextmanager
def _stuck_holder(turn_file: Path) -> Iterator[None]:
    """Another process that holds the turn file's lock and never writes (a stuck tool, say),
    until the block ends."""
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('holding', flush=True); sys.stdin.readline()",
            str(turn_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "holding"
            yield
        finally:
            holder.kill()
            holder.wait(10)


def test_a_writer_past_the_wait_asks_sqlite_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process that keeps the turn file without writing (a stuck tool, say) delays a
    writer by the busy timeout at most: then SQLite's own lock decides, and it is free."""
    engine = _engine(tmp_path)
    turn_file = tmp_path / ("turns.db" + TURN_FILE_SUFFIX)
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    with _stuck_holder(turn_file):
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = 5 WHERE id = 1"))
        assert time.monotonic() - started >= 0.25
        assert not writer_turn(tmp_path / "turns.db").taken
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 5
    engine.dispose()


# A writer whose wait for the turn ran out, in a process that then ends at once
GIVE_UP_AND_EXIT = """
import sys
from sqlalchemy import text
from certcenter.storage import database
database.SQLITE_BUSY_TIMEOUT_MS = 200
engine = database.make_engine(f"sqlite:///{sys.argv[1]}")
with engine.begin() as conn:
    conn.execute(text("UPDATE counter SET n = 9 WHERE id = 1"))
print("written", flush=True)
"""


def test_a_process_does_not_wait_at_its_exit_for_another_process_holding_the_turn(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path)
    engine.dispose()
    turn_file = tmp_path / ("turns.db" + TURN_FILE_SUFFIX)
    with _stuck_holder(turn_file):
        writer = subprocess.run(
            [sys.executable, "-c", GIVE_UP_AND_EXIT, str(tmp_path / "turns.db")],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert writer.returncode == 0, writer.stderr
        assert writer.stdout.strip() == "written"
