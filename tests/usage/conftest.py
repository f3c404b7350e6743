from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.usage.support import OPENED


@pytest.fixture(autouse=True)
def _close_app_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()
