"""Engines and sessions for SQLite (default, WAL) and PostgreSQL.

    engine = make_engine("sqlite:///var/certcenter.db")
    sessions = make_session_factory(engine)

On SQLite every transaction that may write starts with ``BEGIN IMMEDIATE``: writers queue
behind one another (``busy_timeout``) instead of failing when a read snapshot turns out to be
stale. Within one process they queue on a lock of the engine first (:class:`_Writers`), taken
before ``BEGIN IMMEDIATE`` and given back when the connection returns to the pool: the next
writer of the process starts the moment the last one is done, instead of polling SQLite's
lock with the busy handler's growing sleeps (1 ms up to 100 ms), which left the database idle
while requests slept and made a signing's p99 seconds under 16 concurrent requests. On
PostgreSQL, repositories lock the rows they are about to change (``SELECT … FOR UPDATE``).

Read-only transactions: a connection of :func:`read_only_engine` (the execution option
``certcenter_read_only``) begins a plain deferred ``BEGIN`` on SQLite, with
``PRAGMA query_only`` on — it reads the WAL's snapshot without waiting for the write lock
and cannot write — and ``SET TRANSACTION READ ONLY`` on PostgreSQL. A write in one raises
:class:`~certcenter.ports.ReadOnlyWriteError` (a fault of the code, not ``STORAGE_READ_ONLY``).
SQLite files run in WAL mode (readers and the writer do not block each other); a file that
cannot is logged.

Two driver errors become the catalog's refusals wherever they happen (:func:`catalog_error`,
installed on every engine made here): a write to a read-only database — SQLite's
``SQLITE_READONLY`` ("attempt to write a readonly database"), PostgreSQL's SQLSTATE 25006
(``read_only_sql_transaction``: a standby, ``default_transaction_read_only``) — is
``STORAGE_READ_ONLY`` (503), and an audit entry whose number is already taken (the sealer
sealed it as skipped while the writer's transaction stayed open) is ``AUDIT_CHAIN_BROKEN``,
never a generic 500.

A SQLite database file is the center's alone: its directory is made 0700 when it is made
here, the file 0600 before SQLite first opens it (SQLite gives its ``-wal`` and ``-shm``
files the database file's mode), and files of an older start are made 0600 again.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from certcenter.errors import CertCenterError
from certcenter.ports import ReadOnlyWriteError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "certcenter_read_only"
_QUERY_ONLY = "certcenter_query_only"  # the PRAGMA's value on a SQLite connection


@dataclass(frozen=True)
class PoolOptions:
    """The connection pool of one process on PostgreSQL (the settings ``database_pool_*``).

    Each server worker is a process with its own pool: at most ``size + max_overflow``
    connections each, so a host opens up to ``workers * (size + max_overflow)`` (plus the
    same for the simulators' database when it is PostgreSQL too): keep that below the
    server's ``max_connections``. A request that finds every connection taken waits
    ``timeout`` seconds for one. ``recycle`` replaces a connection older than that many
    seconds (-1: never), before a firewall or a pooler in between drops it silently;
    ``pre_ping`` tests a connection as it is taken from the pool (one round trip), so a
    restarted database server costs no failed request.
    """

    size: int = 5
    max_overflow: int = 10
    timeout: float = 30.0
    recycle: int = 1800
    pre_ping: bool = True

    def engine_arguments(self) -> dict[str, Any]:
        return {
            "pool_size": self.size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.timeout,
            "pool_recycle": self.recycle,
            "pool_pre_ping": self.pre_ping,
        }


def make_engine(url: str, *, pool: PoolOptions | None = None, **kwargs: Any) -> Engine:
    """An engine with the pragmas and driver the center expects; on PostgreSQL with the
    connection pool ``pool`` (default :class:`PoolOptions`). Explicit ``kwargs`` win."""
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
        _catalog_refusals(engine)
        return engine
    engine = create_engine(parsed, **((pool or PoolOptions()).engine_arguments() | kwargs))
    _postgresql_read_only(engine)
    _catalog_refusals(engine)
    return engine


def read_only_engine(engine: Engine) -> Engine:
    """``engine`` (same pool and events) whose transactions only read: see the docstring."""
    return engine.execution_options(**{READ_ONLY: True})


def _read_only(connection: Any) -> bool:
    return bool(connection.get_execution_options().get(READ_ONLY, False))


_SQLITE_READONLY = 8  # the primary result code; extended codes keep it in the low byte
_SQLITE_CONSTRAINT = 19
_PG_READ_ONLY_TRANSACTION = "25006"
_PG_UNIQUE_VIOLATION = "23505"


def catalog_error(error: BaseException) -> CertCenterError | None:
    """The catalog's refusal for a driver error, or None for any other error."""
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlite_code, int) and sqlite_code & 0xFF == _SQLITE_READONLY:
        return CertCenterError("STORAGE_READ_ONLY")
    if sqlstate == _PG_READ_ONLY_TRANSACTION:
        return CertCenterError("STORAGE_READ_ONLY")
    table = getattr(getattr(error, "diag", None), "table_name", None)
    duplicate_entry = (sqlstate == _PG_UNIQUE_VIOLATION and table == "audit_log") or (
        isinstance(sqlite_code, int)
        and sqlite_code & 0xFF == _SQLITE_CONSTRAINT
        and "audit_log.seq" in str(error)
    )
    if duplicate_entry:
        return CertCenterError(
            "AUDIT_CHAIN_BROKEN",
            entry="-",
            detail="the entry's number is taken: the sealer sealed it as skipped while "
            "the transaction that wrote it stayed open",
        )
    return None


def _catalog_refusals(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if context.is_pre_ping:
            return
        refusal = catalog_error(context.original_exception)
        if refusal is None:
            return
        connection = context.connection
        ours = connection is not None and _read_only(connection)
        if refusal.code == "STORAGE_READ_ONLY" and ours:  # our fault, not the database's
            message = "a read-only unit of work tried to write"
            raise ReadOnlyWriteError(message) from context.original_exception
        raise refusal from context.original_exception


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


_WRITING = "certcenter_writing"  # this pooled connection holds its engine's writer lock


class _Writers:
    """One SQLite writer of the process at a time, handed over as soon as it is done.

    Taken before ``BEGIN IMMEDIATE`` (waiting at most as long as SQLite's ``busy_timeout``,
    after which ``BEGIN IMMEDIATE`` decides as before) and given back when the connection
    goes back to the pool (after its commit or rollback), or is closed, invalidated or
    detached. Other processes on the same file still meet at SQLite's lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def take(self, info: dict[Any, Any]) -> None:
        if info.get(_WRITING):
            return  # a connection that began again before going back to the pool
        if self._lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            info[_WRITING] = True

    def give_back(self, info: dict[Any, Any] | None) -> None:
        if info is not None and info.pop(_WRITING, False):
            self._lock.release()


def _sqlite_pragmas(engine: Engine) -> None:
    writers = _Writers()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
        if mode is not None and str(mode[0]).lower() not in ("wal", "memory"):
            log.warning("SQLite: journal mode %s, not WAL: readers wait for writers", mode[0])
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = _read_only(connection)
        if connection.info.get(_QUERY_ONLY, False) != read_only:  # a pooled connection's
            connection.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            connection.info[_QUERY_ONLY] = read_only
        if not read_only:
            writers.take(connection.info)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    def _release(_dbapi_connection: Any, record: Any, *_rest: Any) -> None:
        writers.give_back(getattr(record, "info", None))

    for name in ("checkin", "close", "detach", "invalidate", "soft_invalidate"):
        event.listen(engine, name, _release)


def _postgresql_read_only(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _read_only(connection):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
