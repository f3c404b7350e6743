"""Time, injected: every rule that depends on time asks a :class:`Clock`.

>>> clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> clock.advance(seconds=181)
>>> clock.now().isoformat()
'2026-01-01T00:03:01+00:00'
>>> today(FrozenClock(datetime(2026, 1, 1, 15, tzinfo=UTC)))  # midnight has passed in Korea
datetime.date(2026, 1, 2)
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

KST = timezone(timedelta(hours=9), "KST")


class Clock(Protocol):
    """Something that tells the current time (always timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that moves only when told to: for tests and scripted demos."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """Databases without time zones (SQLite) hand back naive datetimes stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def today(clock: Clock) -> date:
    """The date in Korea (KST) by the clock: ages, document expiry, departures."""
    return clock.now().astimezone(KST).date()
