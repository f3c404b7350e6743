"""Key generations as a process sees them: read from the table, kept 30 seconds, read again
at once for a generation it does not know, kept when the table cannot be read a moment."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from certcenter.clock import FrozenClock
from certcenter.entities import KeyGeneration
from certcenter.keys.generations import PEPPER, KeyGenerations, generation_label
from tests.conftest import START


class _Table:
    """A stand-in for the unit of work's ``key_generations`` (counts the reads)."""

    def __init__(self) -> None:
        self.rows: list[KeyGeneration] = []
        self.reads = 0
        self.down = False

    def __call__(self, *, read_only: bool = False) -> Any:
        table = self

        class _Uow:
            key_generations = SimpleNamespace(for_name=table.for_name)

            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

        return _Uow()

    def for_name(self, name: str) -> list[KeyGeneration]:
        self.reads += 1
        if self.down:
            raise ConnectionError("the database went away")
        return [row for row in self.rows if row.name == name]


def test_generations_are_read_kept_and_read_again() -> None:
    table, clock = _Table(), FrozenClock(START)
    generations = KeyGenerations(table, PEPPER, clock)  # type: ignore[arg-type]
    assert generations.current().label == "pepper" and table.reads == 1
    table.rows.append(KeyGeneration("pepper", 2, "pepper.2", START))
    assert generations.current().number == 1  # kept for 30 s
    assert generations.label(2) == "pepper.2"  # unknown: read again at once
    assert generations.current().number == 2 and table.reads == 2
    assert generations.label(5) is None

    table.rows.append(KeyGeneration("pepper", 3, "pepper.3", START))
    table.down = True
    clock.advance(seconds=30)
    assert generations.current().number == 2  # the read failed: the last answer is kept
    table.down = False
    clock.advance(seconds=1)
    assert generations.current().number == 3

    table.rows[0] = KeyGeneration("pepper", 2, "pepper.2", START, retired_at=START)
    generations.refresh()
    assert generations.label(2) is None  # retired: destroyed, as if it had never been
    assert [row.generation for row in generations.recorded()] == [1, 2, 3]


def test_generation_labels() -> None:
    assert [generation_label(PEPPER, n) for n in (1, 2, 10)] == ["pepper", "pepper.2", "pepper.10"]
    with pytest.raises(ValueError, match="from 1"):
        generation_label(PEPPER, 0)
