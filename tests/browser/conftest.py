"""Browser tests: the real server process once per test session, Debian's Chromium driven
by Playwright (sync API). Without /usr/bin/chromium the tests are skipped, unless
CERTCENTER_TEST_REQUIRE_BROWSER=1 (CI) makes that a failure.

Fixtures: ``server`` (the :class:`CenterServer`), ``server_url``, ``browser``, ``page`` (a
new context per test, ko-KR, 1280×800), ``console`` (what the page logged; a CSP violation
fails the test unless it expected one), ``second_browser_context`` (another, independent
browser profile: its own cookies and storage).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from tests.browser.harness import CHROMIUM, CenterServer, launch_chromium

TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CERTCENTER_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser required: {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CenterServer]:
    with CenterServer(tmp_path_factory.mktemp("browser-center")) as running:
        yield running


@pytest.fixture(scope="session")
def server_url(server: CenterServer) -> str:
    return server.url


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is started, and later tests that run their own loop (httpx over ASGI in tests/web)
# must find none. Chromium starts in about a second per module.
@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(locale="ko-KR", **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@dataclass
class Console:
    """What a page logged: console messages and uncaught errors."""

    messages: list[str] = field(default_factory=list)
    expect_csp_violation: bool = False

    def record(self, message: ConsoleMessage) -> None:
        self.messages.append(f"{message.type}: {message.text}")

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if "Content Security Policy" in m]

    @property
    def errors(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("error:", "pageerror:"))]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    context = new_context(browser, viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.on("console", console.record)
    opened.on("pageerror", lambda error: console.messages.append(f"pageerror: {error}"))
    yield opened
    context.close()
    if console.csp_violations and not console.expect_csp_violation:
        pytest.fail(f"Content-Security-Policy violations: {console.csp_violations}")


@pytest.fixture
def second_browser_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Make another browser profile (``second_browser_context()``; options as for
    ``browser.new_context``), independent of ``page``'s; closed after the test."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = new_context(browser, **options)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
