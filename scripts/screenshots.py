#!/usr/bin/env python3
"""Screenshots of the web center for docs/screenshots/ (PNG, commit-ready).

    .venv/bin/python scripts/screenshots.py            # all shots
    .venv/bin/python scripts/screenshots.py home-en    # only these

Starts the real center on a fresh data directory (the browser tests' harness), lets the demo
world receive an SMS, a 1-won deposit and an ARS call, and photographs the pages with
Debian's Chromium: every page 1200 px wide for a desktop and again 390 px wide for a phone
(``<name>-phone.png``). To add a page, add a
``Shot`` to ``SHOTS``. Korean text needs a CJK font (``apt-get install fonts-noto-cjk``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the harness lives with the browser tests

from playwright.sync_api import Browser, FloatRect, Page, sync_playwright  # noqa: E402
from tests.browser.financial_support import (  # noqa: E402
    issue_over_api,
    person,
    register_and_log_in,
)
from tests.browser.harness import CenterServer, launch_chromium  # noqa: E402
from tests.support.flow import Flow  # noqa: E402

from certcenter.clock import SystemClock  # noqa: E402
from certcenter.simulators.ars import SimulatedArs  # noqa: E402
from certcenter.storage.database import make_engine  # noqa: E402
from certcenter.storage.simulator_store import SimulatorStore  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
MAX_HEIGHT = 1500  # long pages are cut here: the top tells the story


@dataclass(frozen=True)
class Shot:
    name: str  # the file: docs/screenshots/<name>.png
    path: str
    locale: str = "ko"
    width: int = 1200
    height: int = 800
    full_page: bool = True
    # what the person does before the photo (instead of opening ``path``): fill a form, log in
    act: Callable[[Page, str], None] | None = None


def diagnose(key: str) -> Callable[[Page, str], None]:
    """Type the demo customer's user ID and resident number on /why and send them."""

    def act(page: Page, url: str) -> None:
        who = person(key)
        page.goto(url + "/why")
        page.locator("#field-user_id").fill(who.user_id)
        page.locator("#field-rrn").fill(f"{who.rrn_front}-{who.rrn_back}")
        page.locator("form.why-form button[type=submit]").click()
        page.wait_for_selector(".checklist")

    return act


def logged_in(key: str, then: Callable[[Page, str], None]) -> Callable[[Page, str], None]:
    """Register this browser for ``key``'s financial certificate, log in, then ``then``."""

    def act(page: Page, url: str) -> None:
        register_and_log_in(page, url, key)
        then(page, url)

    return act


def my_page(page: Page, url: str) -> None:
    page.goto(url + "/my")


def transfer_confirmation(page: Page, url: str) -> None:
    page.goto(url + "/transfer")
    page.locator("#field-to_bank").select_option("088")
    page.locator("#field-to_account").fill("110000000002")
    page.locator("#field-amount").fill("350000")
    page.locator("#field-memo").fill("12월 관리비")
    page.locator("form.fin-form button[type=submit]").click()
    page.wait_for_selector("form[data-device-sign]")  # the confirmation, with what is signed


def my_media(page: Page, url: str) -> None:
    page.goto(url + "/my/media")


def my_password(page: Page, url: str) -> None:
    page.goto(url + "/my/password")


PHONE = {"width": 390, "height": 844}

# each page at 1200 px; every one of them at 390 px too (a ``-phone`` shot, below)
DESKTOP = [
    Shot("home", "/"),
    Shot("home-en", "/", locale="en"),
    Shot("demo-world", "/demo"),
    Shot("demo-phone-inbox", "/demo/phones/01020000001"),
    Shot("demo-account-statement", "/demo/accounts/004/12340100000001"),
    Shot("demo-ars-call", "/demo/calls/01020000001"),
    Shot("error-not-found", "/no/such/page"),
    Shot("issue-terms", "/issue"),
    Shot("login", "/login"),
    Shot("login-joint", "/login/joint"),
    Shot("joint", "/joint"),
    Shot("why-form", "/why"),
    Shot("why-checklist", "/why", act=diagnose("C004")),
    Shot("why-checklist-en", "/why", locale="en", act=diagnose("C016")),
    Shot("demo-why", "/demo/why"),
    Shot("help", "/help"),
    Shot("help-terms", "/help/terms"),
    Shot("gov24", "/sim/gov24"),
    Shot("my-certificates", "/my", act=logged_in("C012", my_page)),
    Shot("my-media", "/my/media", act=logged_in("C012", my_media)),
    Shot("my-password", "/my/password", act=logged_in("C013", my_password)),
    Shot("banking-join", "/banking/join"),
    Shot("banking-find-id", "/banking/find-id"),
    Shot("transfer-confirmation", "/transfer", act=logged_in("C012", transfer_confirmation)),
]
# every logged-in shot registers a browser, and a customer may have at most 5 devices (the
# app's included): C012 takes three desktop shots and the transfer's phone shot, C013 the
# password page and the other phone shots (not the transfer: C013's account holds less than
# the 350,000 won typed)
PHONE_ACTS = {
    "my-certificates": logged_in("C013", my_page),
    "my-media": logged_in("C013", my_media),
    "my-password": logged_in("C013", my_password),
    "transfer-confirmation": logged_in("C012", transfer_confirmation),
}
SHOTS = DESKTOP + [
    Shot(
        f"{shot.name}-phone",
        shot.path,
        locale=shot.locale,
        act=PHONE_ACTS.get(shot.name, shot.act),
        full_page=shot.name != "home",  # the home page's first screen, as a phone shows it
        **PHONE,
    )
    for shot in DESKTOP
]


def demo_traffic(server: CenterServer, scratch: Path) -> None:
    """What the pages show: C001 starts an issuance as the app does (an SMS code, then a
    1-won deposit), the bank's ARS calls C001's phone, and C012 holds a financial
    certificate (issued over the API)."""
    flow = Flow(server.url, scratch, "C001")
    try:
        flow.through("account")
    finally:
        flow.client.close()
    engine = make_engine(server.settings().simulator_database_url)
    try:
        SimulatedArs(SimulatorStore(engine), SystemClock()).place_call(
            phone="01020000001", prompt="화면에 보이는 번호 2자리를 누른 뒤 # 버튼을 눌러 주세요."
        )
    finally:
        engine.dispose()
    for key in ("C012", "C013"):  # a financial certificate each for /my and /transfer
        issue_over_api(server.url, key)


def photograph(browser: Browser, url: str, shot: Shot, out: Path) -> Path:
    context = browser.new_context(
        locale="ko-KR", viewport={"width": shot.width, "height": shot.height}
    )
    try:
        page = context.new_page()
        if shot.locale != "ko":
            page.goto(f"{url}/lang/{shot.locale}?next={shot.path}")
        if shot.act is None:
            page.goto(url + shot.path)
        else:
            shot.act(page, url)
        height = page.evaluate("document.documentElement.scrollHeight")
        clip: FloatRect | None = None
        if shot.full_page and height > MAX_HEIGHT:
            clip = {"x": 0, "y": 0, "width": shot.width, "height": MAX_HEIGHT}
        target = out / f"{shot.name}.png"
        page.screenshot(path=str(target), full_page=shot.full_page, clip=clip)
        return target
    finally:
        context.close()


def take(shots: list[Shot], out: Path, prepare: Callable[[CenterServer, Path], None]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="certcenter-shots-") as scratch,
        CenterServer(Path(scratch) / "center") as server,
    ):
        prepare(server, Path(scratch))
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            for shot in shots:
                target = photograph(browser, server.url, shot, out)
                print(f"{target.relative_to(ROOT)}  {target.stat().st_size // 1024} KiB")
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these shots (default: all)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    shots = [s for s in SHOTS if not args.names or s.name in args.names]
    if not shots:
        parser.error(f"no such shot; known: {', '.join(s.name for s in SHOTS)}")
    fc_list = shutil.which("fc-list")
    if fc_list:
        fonts = subprocess.run(  # noqa: S603 - fc-list from PATH, fixed arguments
            [fc_list, ":lang=ko"], capture_output=True, text=True, check=False
        )
        if not fonts.stdout.strip():
            print("warning: no Korean font; install fonts-noto-cjk", file=sys.stderr)
    take(shots, args.out, demo_traffic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
