"""The real center and a real Chromium, for the browser tests and scripts/screenshots.py.

    with CenterServer(tmp_dir) as server:           # `certcenter serve`: fresh data, free port
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)   # Debian's /usr/bin/chromium, headless
            page = browser.new_page(locale="ko-KR")
            page.goto(server.url + "/demo")

Playwright never downloads a browser here: it drives the Chromium the system has
(``apt-get install chromium``), by path.

Accessibility: ``assert_accessible(page, "what")`` runs axe-core (vendored in
tests/browser/vendor, injected into the page, never served by the center) on the page as it is
now, WCAG 2.2 A and AA, and fails with each violation's rule, impact and elements;
``widths=(1280, 390)`` checks the same state at each window width.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Playwright

from certcenter.config import Settings, load_settings
from tests.support.policy import SHARED_CENTER_POLICY, policy_environment
from tests.support.ports import address_taken, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-gpu",
)
CERTCENTER = Path(sys.executable).parent / "certcenter"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core 4.14.1, see vendor/README.md
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
_AXE_RUN = """tags => axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
}).then(result => result.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
})))"""


def chromium_args() -> list[str]:
    """The flags for a quiet, offline headless Chromium (no sandbox when run as root, where
    Chromium refuses to start with one)."""
    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    return args


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=chromium_args()
    )


class CenterServer:
    """``certcenter serve`` in its own process on a fresh data directory (the first start
    creates the CA and seeds the demo world), on a free port of 127.0.0.1."""

    def __init__(self, base: Path, *, log_level: str = "warning") -> None:
        self.base = base
        self.data_dir = base / "var"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / "server.log"
        # the server's own configuration only: no CERTCENTER_* of the caller leaks in
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCENTER_")}
        self.env.update(
            CERTCENTER_DATA_DIR=str(self.data_dir),
            CERTCENTER_HOST="127.0.0.1",
            CERTCENTER_PORT=str(self.port),
            CERTCENTER_PUBLIC_BASE_URL=self.url,
            CERTCENTER_LOG_LEVEL=log_level,
        )
        self.env.update(policy_environment(SHARED_CENTER_POLICY))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90, *, attempts: int = 3) -> None:
        """Start it and wait for ``/healthz``; if another program took the port first, start
        again on another one."""
        self.base.mkdir(parents=True, exist_ok=True)
        for attempt in range(attempts):
            offset = self.log.stat().st_size if self.log.exists() else 0
            try:
                self._start_once(timeout)
                return
            except RuntimeError:
                this_try = self.log.read_bytes()[offset:].decode(errors="replace")
                if attempt + 1 == attempts or not address_taken(this_try):
                    raise
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
                self.env.update(CERTCENTER_PORT=str(self.port), CERTCENTER_PUBLIC_BASE_URL=self.url)

    def _start_once(self, timeout: float) -> None:
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [str(CERTCENTER), "serve"],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.base,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the center exited: {self.log.read_text('utf-8')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the center did not come up: {self.log.read_text('utf-8')}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def settings(self) -> Settings:
        """The server's settings, to reach its databases from the test (the simulators)."""
        return load_settings(environ={"CERTCENTER_DATA_DIR": str(self.data_dir)})

    def __enter__(self) -> CenterServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@cache
def _axe_source() -> str:
    return AXE.read_text("utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2.2 A/AA on the page as it is now: each violation's
    ``id``, ``impact``, ``help`` and ``nodes`` (``target`` selectors, ``summary``). The script
    is evaluated in the page (as DevTools would, so the page's CSP does not apply to it) once
    per document."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found: list[dict[str, Any]] = page.evaluate(_AXE_RUN, list(AXE_TAGS))
    return found


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    {' '.join(map(str, node['target']))}")
            lines.extend(f"      {line}" for line in str(node["summary"]).splitlines()[:3])
    return "\n".join(lines)


def assert_accessible(page: Page, where: str = "", *, widths: tuple[int, ...] = ()) -> None:
    """No axe-core violation (WCAG 2.2 A/AA) on this page state; at each of ``widths`` (px,
    the window's height kept) if given, the window's width restored after."""
    # a state reached by a click may still be loading its stylesheet: axe would measure
    # the unstyled page (links 17 px tall, default colours)
    page.wait_for_load_state("load")
    size = page.viewport_size
    for width in widths or (None,):
        if width is not None and size is not None:
            page.set_viewport_size({"width": width, "height": size["height"]})
        violations = axe_violations(page)
        at = f" at {width}px" if width else ""
        assert not violations, (
            f"accessibility of {where or page.url}{at}:\n{describe_violations(violations)}"
        )
    if widths and size is not None:
        page.set_viewport_size(size)
