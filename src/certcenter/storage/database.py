"""Engines and sessions for SQLite (default, WAL) and PostgreSQL.

    engine = make_engine("sqlite:///var/certcenter.db")
    sessions = make_session_factory(engine)

On SQLite every transaction starts with ``BEGIN IMMEDIATE``: writers queue behind one another
(``busy_timeout``) instead of failing when a read snapshot turns out to be stale. On
PostgreSQL, repositories lock the rows they are about to change (``SELECT … FOR UPDATE``).

A SQLite database file is the center's alone: its directory is made 0700 when it is made
here, the file 0600 before SQLite first opens it (SQLite gives its ``-wal`` and ``-shm``
files the database file's mode), and files of an older start are made 0600 again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and driver the center expects."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_database_file(Path(database))
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _sqlite_pragmas(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_database_file(path: Path) -> None:
    """Make ``path`` (and a directory it needs) readable by this user only, before SQLite
    opens it; tighten the modes of files an earlier start left."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for name in (path, *(path.with_name(path.name + side) for side in _SQLITE_SIDE_FILES)):
        if name.exists() and name.stat().st_mode & 0o777 != PRIVATE_FILE:
            name.chmod(PRIVATE_FILE)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
