"""In production: no Swagger UI from a CDN (``/docs`` is off), ``Strict-Transport-Security``
on every answer, and ``SIMULATORS_DISABLED`` for every method under ``/sim``. HSTS is sent on
https in any environment, and not on the demo's plain http."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import FrozenClock
from tests.conftest import START, LiveServer, make_settings
from tests.security.support import assert_problem


def _client(tmp_path: Path, pki_dir: Path, **extra: object) -> Iterator[httpx.Client]:
    """A real server (its own: the app is built from the settings) over a new center."""
    settings = make_settings(tmp_path, pki_dir, None, **extra)
    initialise(settings, FrozenClock(START))
    center: Center = build_center(settings, FrozenClock(START))
    server = LiveServer()
    try:
        server.serve(center)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()
        center.close()


@pytest.fixture
def production(tmp_path: Path, pki_dir: Path) -> Iterator[httpx.Client]:
    yield from _client(
        tmp_path,
        pki_dir,
        environment="production",
        public_base_url="https://cert.example.com",
        bank_name="Example Bank",
        bank_oid_arc="1.2.410.999999.1",
        cps_url="https://cert.example.com/cps",
    )


@pytest.fixture
def demo(tmp_path: Path, pki_dir: Path) -> Iterator[httpx.Client]:
    yield from _client(tmp_path, pki_dir)


def test_docs_are_off_in_production(production: httpx.Client) -> None:
    assert production.get("/docs").status_code == 404
    assert "cdn" not in production.get("/docs").text.lower()


def test_hsts_on_every_answer_in_production(production: httpx.Client) -> None:
    for path in ("/healthz", "/", "/v1/certificates/NOPE", "/sim/people"):
        hsts = production.get(path).headers.get("strict-transport-security", "")
        assert hsts.startswith("max-age=31536000"), path


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_simulators_are_disabled_for_every_method(production: httpx.Client, method: str) -> None:
    response = production.request(method, "/sim/api/people/C001/line")
    assert_problem(response, 404, "SIMULATORS_DISABLED")


def test_the_demo_on_plain_http_sends_no_hsts_and_keeps_its_docs(demo: httpx.Client) -> None:
    assert "strict-transport-security" not in demo.get("/healthz").headers
    assert demo.get("/docs").status_code == 200


def test_https_in_the_demo_sends_hsts(tmp_path: Path, pki_dir: Path) -> None:
    for client in _client(tmp_path, pki_dir, public_base_url="https://demo.example.com"):
        assert "strict-transport-security" in client.get("/healthz").headers
