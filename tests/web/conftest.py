"""The web center against the in-process app: a demo center per module (SQLite), a fresh
browser-like client (its own cookies) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import FrozenClock
from certcenter.server import create_app
from tests.conftest import START, make_settings
from tests.support.policy import SHARED_CENTER_POLICY
from tests.web.support import WebClient


@pytest.fixture(scope="module")
def web_center(tmp_path_factory: pytest.TempPathFactory, pki_dir: Path) -> Iterator[Center]:
    settings = make_settings(
        tmp_path_factory.mktemp("web"), pki_dir, None, policy=SHARED_CENTER_POLICY
    )
    clock = FrozenClock(START)
    initialise(settings, clock)
    center = build_center(settings, clock)
    yield center
    center.close()


@pytest.fixture(scope="module")
def web_app(web_center: Center) -> FastAPI:
    return create_app(web_center)


@pytest.fixture
def web(web_app: FastAPI) -> Iterator[WebClient]:
    with WebClient(web_app) as client:
        yield client
