"""SQLite: the writers of one process take turns (``WriterTurn``) before SQLite's lock, and
every way out of a transaction gives the turn back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from certcenter.storage import database
from certcenter.storage.database import make_engine, make_session_factory


def _holds_the_queue(connection: Connection) -> bool:
    return bool(getattr(connection.connection.dbapi_connection, "_holding", False))


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    # short waits, so a writer that was not let through fails at once instead of in 30 s
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    made = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with made.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield made
    made.dispose()


def _write(connection: Connection, body: str) -> None:
    connection.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})


def test_a_second_writer_waits_for_the_first_and_then_goes_through(engine: Engine) -> None:
    first = engine.connect()
    _write(first, "first")
    assert _holds_the_queue(first)
    with engine.connect() as second, pytest.raises(OperationalError, match="locked"):
        _write(second, "second")  # the first is still open: not let through
    first.commit()
    first.close()
    with engine.connect() as third:
        _write(third, "third")
        assert _holds_the_queue(third)
        third.commit()
    with engine.connect() as reader:
        assert reader.execute(text("SELECT body FROM notes ORDER BY id")).scalars().all() == [
            "first",
            "third",
        ]


def test_rollback_an_error_and_a_session_give_the_queue_back(engine: Engine) -> None:
    with engine.connect() as rolled_back:
        _write(rolled_back, "rolled back")
        rolled_back.rollback()
    with engine.connect() as failed:
        _write(failed, "fine")
        with pytest.raises(OperationalError):
            failed.execute(text("INSERT INTO no_such_table VALUES (1)"))
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.execute(text("INSERT INTO notes (body) VALUES ('by a session')"))
        session.commit()
    with sessions() as session:  # never committed: closing rolls back
        session.execute(text("INSERT INTO notes (body) VALUES ('dropped')"))
    with engine.connect() as last:
        _write(last, "last")
        assert _holds_the_queue(last)
        last.commit()
        assert last.execute(text("SELECT body FROM notes ORDER BY id")).scalars().all() == [
            "by a session",
            "last",
        ]


def test_readers_do_not_queue(engine: Engine) -> None:
    writer = engine.connect()
    _write(writer, "open")
    with database.read_only_engine(engine).connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0
        assert not _holds_the_queue(reader)
    writer.rollback()
    writer.close()
