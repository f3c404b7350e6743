"""The CMP tests' rig (tests/cmp/rig.py) as a fixture, on both databases."""

from __future__ import annotations

import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from tests.cmp.rig import Rig, make_rig


@pytest.fixture
def rig(center: Center, clock: FrozenClock) -> Rig:
    return make_rig(center, clock)
