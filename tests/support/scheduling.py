"""How pytest-xdist hands the tests to its workers (``--dist loadgroup``, set in pyproject.toml).

One test at a time to whichever worker is free, except for groups that must stay on one
worker: the browser tests (tests/browser) share one server process per worker and run in file
order, so they go to one worker as a whole, first (the longest piece of work).

pytest-xdist's own ``xdist_group`` marks do not reach its scheduler under pytest 9.2 (it marks
the group in the node id, which pytest no longer lets a plugin change: pytest-xdist issue
1386), so the groups are named here by directory. tests/conftest.py installs the scheduler:

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(config, log):
        return make_scheduler(config, log)
"""

from __future__ import annotations

from typing import Any

import pytest

# node id prefix (relative to the project root) → the group its tests form
GROUPS = {"tests/browser/": "browser"}


def group_of(nodeid: str) -> str | None:
    for prefix, group in GROUPS.items():
        if nodeid.startswith(prefix):
            return group
    return None


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """The scheduler for ``--dist loadgroup``; None (pytest-xdist's choice) for the others."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or str(super()._split_scope(nodeid))

    return GroupScheduling(config, log)
