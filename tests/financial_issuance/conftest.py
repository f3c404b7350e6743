from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.financial_issuance.support import OPENED
from tests.usage.support import OPENED as APP_CLIENTS


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for opened in (OPENED, APP_CLIENTS):
        while opened:
            opened.pop().close()
