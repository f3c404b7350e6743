"""SQLite writers of one process take turns before they ask for SQLite's write lock; the turn
is given back however their transaction ends."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from sqlalchemy import Engine, text

from certcenter.storage.database import make_engine, writer_turn

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
