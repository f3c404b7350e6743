"""The OpenID provider's tests: the center's issuer is the live server's address, and the
clock starts at the real time (outside clients check the ID token against their own clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certcenter.clock import FrozenClock
from certcenter.config import Settings
from tests.conftest import LiveServer, _reset_postgres, make_settings, marked_policy
from tests.usage.support import OPENED


@pytest.fixture
def settings(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pki_dir: Path,
    live_server: LiveServer,
) -> Settings:
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    return make_settings(
        tmp_path, pki_dir, url, public_base_url=live_server.url, **marked_policy(request)
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(autouse=True)
def _close_app_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()
