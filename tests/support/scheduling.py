"""How the tests share the machine under pytest-xdist (``-n auto --dist loadgroup``, set in
pyproject.toml).

One test at a time to whichever worker is free, except for groups that must stay on one
worker: the browser tests (tests/browser) share one server process per worker and run in file
order, so they go to one worker as a whole, first (the longest piece of work).

The longest tests start first (:func:`longest_first`, from ``pytest_collection_modifyitems``):
in file order, a few minutes-long ones came late, and one worker finished them alone while the
other had nothing left to do.

A test that compares durations (marked ``timing``) runs while no other test of the run does:
every test holds a shared lock on a file of the run, a timing test an exclusive one
(:func:`alone_if_timing`, around each test's setup, call and teardown).

pytest-xdist's own ``xdist_group`` marks do not reach its scheduler under pytest 9.2 (it marks
the group in the node id, which pytest no longer lets a plugin change: pytest-xdist issue
1386), so the groups are named here by directory. tests/conftest.py installs the scheduler:

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(config, log):
        return make_scheduler(config, log)
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# node id prefix (relative to the project root) → the group its tests form
GROUPS = {"tests/browser/": "browser"}


def group_of(nodeid: str) -> str | None:
    for prefix, group in GROUPS.items():
        if nodeid.startswith(prefix):
            return group
    return None


# Tests that take a minute or more, longest first (each about the time on an idle 2-core
# machine); then the rest of ``slow`` and ``server``, then everything else in file order.
LONGEST = (
    "tests/readme/test_readme_walk.py::test_every_command_of_the_readme_runs_in_order",  # 2 min
    "tests/contract/test_fuzz.py::",  # the fuzzer's time budget and its world: 1.5 min
    "tests/server/test_fault_campaign.py::test_two_kills_under_load_lose_nothing",  # 70 s
    "tests/server/test_transfer_crash_process.py::",
)


def _rank(item: pytest.Item) -> int:
    """0 first: ``timing`` (it waits for every running test: better before the long ones
    start), then :data:`LONGEST` in its order, then ``slow``, then ``server``, then the rest."""
    if item.get_closest_marker("timing") is not None:
        return 0
    for place, prefix in enumerate(LONGEST, start=1):
        if item.nodeid.startswith(prefix):
            return place
    if item.get_closest_marker("slow") is not None:
        return len(LONGEST) + 1
    if item.get_closest_marker("server") is not None:
        return len(LONGEST) + 2
    return len(LONGEST) + 3


def longest_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place so that the long tests are handed out first; the order is
    otherwise kept (a stable sort), the same on every worker as pytest-xdist requires. A
    group of :data:`GROUPS` is handed out as one unit, before single tests, whatever its place.
    """
    items.sort(key=_rank)


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The scheduler for ``--dist loadgroup``; None (pytest-xdist's choice) for the others."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or str(super()._split_scope(nodeid))

    return GroupScheduling(config, log)


@contextmanager
def alone_if_timing(item: pytest.Item) -> Iterator[None]:
    """Hold the run's lock for ``item``: shared, or exclusive for a ``timing`` test.

    A gate lock in front keeps a waiting timing test from being overtaken by the next tests
    of the other workers. Without workers (``-n 0``) there is nothing to wait for."""
    basetemp = item.config.option.basetemp
    if not hasattr(item.config, "workerinput") or not basetemp:
        yield
        return
    run_dir = Path(basetemp).parent  # shared by the workers of this run, removed with it
    exclusive = item.get_closest_marker("timing") is not None
    with (run_dir / "gate.lock").open("a") as gate, (run_dir / "tests.lock").open("a") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if not exclusive:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(gate, fcntl.LOCK_UN)
