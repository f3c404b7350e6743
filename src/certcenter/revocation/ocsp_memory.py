"""Pre-signed OCSP answers in the server process's memory: a hit reads no database.

    memory = ResponseMemory(max_bytes=32 << 20, max_staleness=timedelta(seconds=1))
    memory.get(request_der, now)          # the answer, or None: ask the responder
    generation = memory.generation        # before reading what to put
    memory.put(request_der, serial, answer, serve_until, generation)
    memory.drop(serial)                   # a status change heard of
    memory.checked(started, started_mono) # the change log was read, as of ``started``

Keys are the request's exact DER (a GET's path decodes to it): a client asks the same bytes
again and again, so a hit parses nothing. Only answers to requests without a nonce are put
(a nonce changes the bytes and the answer). Each entry is served until ``serve_until`` (the
response's nextUpdate less the refresh margin, as for the stored responses), never after.

Bounded: entries are counted by the bytes of key and response (plus a fixed overhead), and
the least recently used leave when ``max_bytes`` is passed.

Never stale past the bound: an entry is served only while the last read of the change log
*started* at most ``max_staleness`` ago, by the injected clock and by the monotonic one
(whichever is stricter). A status change committed before that read started was seen by it and
its serial dropped. An answer read from the database can race a change: ``put`` is refused
when the serial was dropped (or everything was) after the ``generation`` taken before the
read, so it cannot come back once dropped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

__all__ = ["ENTRY_OVERHEAD", "ResponseMemory"]

ENTRY_OVERHEAD = 400  # bytes an entry costs beyond its key and response (objects, indexes)
_DROPPED_KEPT = 10_000  # serials whose drop is remembered; past that, a drop of everything

A = TypeVar("A")


@dataclass(frozen=True)
class _Entry(Generic[A]):
    answer: A
    serial: str
    serve_until: datetime
    size: int


class ResponseMemory(Generic[A]):
    """What one server process holds; safe to use from the event loop and from threads."""

    def __init__(self, *, max_bytes: int, max_staleness: timedelta) -> None:
        self.max_bytes = max_bytes
        self.max_staleness = max_staleness
        self._staleness_s = max_staleness.total_seconds()
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, _Entry[A]] = OrderedDict()
        self._keys_of: dict[str, set[bytes]] = {}
        self._size = 0
        self._generation = 0
        self._floor = 0  # a put read before this generation is refused (everything dropped)
        self._dropped: dict[str, int] = {}  # serial → the generation of its last drop
        self._checked_at: datetime | None = None
        self._checked_mono = 0.0
        self.seen: int | None = None  # the newest change of the log applied here

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def size(self) -> int:
        """Bytes held (as counted for ``max_bytes``)."""
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ serving

    def fresh(self, now: datetime) -> bool:
        """Whether the change log was read recently enough to serve from memory."""
        checked = self._checked_at
        return (
            checked is not None
            and now - checked <= self.max_staleness
            and time.monotonic() - self._checked_mono <= self._staleness_s
        )

    def check_due(self, now: datetime) -> bool:
        """Whether the change log should be read again soon (half the bound has passed), so
        that hits go on without waiting for it."""
        checked = self._checked_at
        return (
            checked is None
            or now - checked > self.max_staleness / 2
            or time.monotonic() - self._checked_mono > self._staleness_s / 2
        )

    def get(self, key: bytes, now: datetime) -> A | None:
        """The answer held for ``key``, if it may be served now."""
        entry = self._entries.get(key)
        if entry is None or not self.fresh(now):
            return None
        if now >= entry.serve_until:
            with self._lock:
                if self._entries.get(key) is entry:
                    self._remove(key)
            return None
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
        return entry.answer

    # ------------------------------------------------------------------ filling

    def put(
        self,
        key: bytes,
        serial: str,
        answer: A,
        *,
        der_size: int,
        serve_until: datetime,
        generation: int,
    ) -> bool:
        """Hold ``answer`` for ``key`` unless ``serial`` (or everything) was dropped after
        ``generation``; whether it is held."""
        size = len(key) + der_size + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return False
        with self._lock:
            if generation < self._floor or self._dropped.get(serial, -1) > generation:
                return False
            if key in self._entries:
                self._remove(key)
            self._entries[key] = _Entry(answer, serial, serve_until, size)
            self._keys_of.setdefault(serial, set()).add(key)
            self._size += size
            while self._size > self.max_bytes:
                self._remove(next(iter(self._entries)))
            return True

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        self._size -= entry.size
        keys = self._keys_of.get(entry.serial)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_of[entry.serial]

    # ------------------------------------------------------------------ forgetting

    def drop(self, serial: str) -> None:
        """Forget every answer about ``serial`` (its status changed)."""
        with self._lock:
            self._generation += 1
            for key in self._keys_of.pop(serial, ()):
                entry = self._entries.pop(key, None)
                if entry is not None:
                    self._size -= entry.size
            self._dropped[serial] = self._generation
            if len(self._dropped) > _DROPPED_KEPT:  # remembering less: refuse every older put
                self._dropped.clear()
                self._floor = self._generation

    def clear(self) -> None:
        """Forget everything (the change log cannot tell what changed)."""
        with self._lock:
            self._generation += 1
            self._floor = self._generation
            self._entries.clear()
            self._keys_of.clear()
            self._dropped.clear()
            self._size = 0

    def checked(self, started: datetime, started_mono: float, seen: int) -> None:
        """The change log was read, in a transaction begun after ``started``, up to ``seen``;
        what it named has been dropped."""
        with self._lock:
            self.seen = seen
            if self._checked_at is None or started > self._checked_at:
                self._checked_at = started
            self._checked_mono = max(self._checked_mono, started_mono)
