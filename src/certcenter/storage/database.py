"""Engines and sessions for SQLite (default, WAL) and PostgreSQL.

    engine = make_engine("sqlite:///var/certcenter.db")
    sessions = make_session_factory(engine)

On SQLite every transaction that may write starts with ``BEGIN IMMEDIATE``: writers queue
behind one another (``busy_timeout``) instead of failing when a read snapshot turns out to be
stale. The writers of a database file first take turns (:class:`WriterTurn`: a lock of the
process, then a ``flock`` on ``<database>-turn`` shared by every process of the file) and
only then ask SQLite: SQLite's busy handler sleeps between its tries (1 ms, 2 ms, … up to
100 ms), so threads or processes polling for the one write lock spend most of their time
asleep while it is free; a writer waiting for the turn is woken the moment the writer before
it commits. Only one writer at a time asks SQLite.
On PostgreSQL, repositories lock the rows they are about to change
(``SELECT … FOR UPDATE``).

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

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: the writers' turn is the process's alone
    fcntl = None  # type: ignore[assignment]

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
        connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if database and database != ":memory:" and not database.startswith("file:"):
            connect_args["factory"] = _TurnTakingConnection
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
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
TURN_FILE_SUFFIX = "-turn"  # the writers' turn across processes (WriterTurn)
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", TURN_FILE_SUFFIX)


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


class WriterTurn:
    """The turn of the writers of one SQLite file: one at a time asks SQLite for its write
    lock. Within the process a plain lock (not a re-entrant one: a connection can be closed,
    and its turn given back, by another thread); across processes — the server's workers,
    a command run beside them — an exclusive ``flock`` on a file beside the database
    (``<database>-turn``), so that a writer of another process is woken by the kernel the
    moment the lock is given back instead of sleeping in SQLite's busy handler (1, 2, 5 …
    100 ms between tries) while one process's writers hand the lock to one another.

    The turn only orders the writers; SQLite's own lock still decides. Waiting for either
    part is bounded by the busy timeout: past it the writer asks SQLite anyway, as before.
    Where ``flock`` is missing (not a POSIX system) or the file cannot be opened, the turn
    is the process's alone."""

    def __init__(self, lock_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._lock_file = lock_file if fcntl is not None else None
        self._fd: int | None = None
        self._pid = 0
        self._holding_file = False  # read and written by the turn's holder only
        self._waiter: _FileWaiter | None = None

    def take(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            return False
        if self._lock_file is not None:
            self._holding_file = self._take_file(max(deadline - time.monotonic(), 0.0))
        return True

    def give_back(self) -> None:
        if self._holding_file:
            self._holding_file = False
            self._unlock_file()
        self._lock.release()

    @property
    def taken(self) -> bool:
        return self._lock.locked()

    def _take_file(self, timeout: float) -> bool:
        fd = self._descriptor()
        if fd is None or fcntl is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        except OSError:
            return False
        # another process's writer holds it: wait in the kernel, in a thread of the turn's
        # own, so that the wait can end at the timeout
        if self._waiter is None:
            self._waiter = _FileWaiter(fd, self._unlock_file)
        return self._waiter.wait(timeout)

    def _unlock_file(self) -> None:
        if fcntl is not None and self._fd is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int | None:
        """The lock file, opened once per process (a forked child opens its own)."""
        if self._fd is not None and self._pid == os.getpid():
            return self._fd
        if self._lock_file is None:
            return None
        try:
            self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        except OSError as exc:
            log.warning("SQLite: the writers' turn file %s: %s", self._lock_file, exc)
            self._lock_file = None
            return None
        self._pid = os.getpid()
        self._waiter = None
        return self._fd


class _FileWaiter:
    """A daemon thread that waits in the kernel for the turn file's lock on behalf of the
    turn's holder, who waits for it at most the busy timeout. A lock it gets after the holder
    gave up is given back at once. A daemon, so a process never waits at its exit for another
    process's writer."""

    def __init__(self, fd: int, unlock: Callable[[], None]) -> None:
        self._fd = fd
        self._unlock = unlock
        self._asked: queue.SimpleQueue[_Wait] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="sqlite-writer-turn", daemon=True).start()

    def wait(self, timeout: float) -> bool:
        """True once this process holds the file's lock; False if ``timeout`` passed first."""
        asked = _Wait()
        self._asked.put(asked)
        if asked.done.wait(timeout):
            return asked.error is None
        with asked.lock:
            if asked.done.is_set():  # taken just now
                return asked.error is None
            asked.abandoned = True
        return False

    def _run(self) -> None:
        while True:
            asked = self._asked.get()
            try:
                if fcntl is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
            except OSError as exc:
                asked.error = exc
            with asked.lock:
                if asked.abandoned:
                    if asked.error is None:
                        self._unlock()
                    continue
                asked.done.set()


@dataclass
class _Wait:
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    abandoned: bool = False
    error: OSError | None = None


def writer_turn(database: Path) -> WriterTurn:
    """The writers' turn of this process for the SQLite file ``database``."""
    return _TurnTakingConnection.turns_for(str(database.resolve()))


_TURNS: dict[str, WriterTurn] = {}
_TURNS_LOCK = threading.Lock()


class _TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection that holds its process's :class:`WriterTurn` from ``BEGIN
    IMMEDIATE`` until its commit, rollback or close."""

    _turn: WriterTurn | None = None
    _holding = False

    @staticmethod
    def turns_for(path: str) -> WriterTurn:
        with _TURNS_LOCK:
            turn = _TURNS.get(path)
            if turn is None:
                turn = _TURNS[path] = WriterTurn(Path(path + TURN_FILE_SUFFIX))
            return turn

    def take_turn(self, turn: WriterTurn) -> None:
        if self._holding:
            return
        if turn.take(SQLITE_BUSY_TIMEOUT_MS / 1000):
            self._turn, self._holding = turn, True

    def give_back_turn(self) -> None:
        if self._holding and self._turn is not None:
            self._holding = False
            self._turn.give_back()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back_turn()


def _sqlite_pragmas(engine: Engine) -> None:
    database = engine.url.database
    turn = (
        writer_turn(Path(database))
        if database and database != ":memory:" and not database.startswith("file:")
        else None
    )

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
        if read_only:
            connection.exec_driver_sql("BEGIN")
            return
        raw = connection.connection.dbapi_connection
        if isinstance(raw, _TurnTakingConnection) and turn is not None:
            raw.take_turn(turn)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(raw, _TurnTakingConnection):
                raw.give_back_turn()
            raise


def _postgresql_read_only(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _read_only(connection):
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
