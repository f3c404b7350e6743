"""The web center in a real browser: Chromium against the real server process.

Korean by default and English by the header's toggle; an SMS the center sends appears in
the demo phone's inbox page; a ringing ARS call is answered on its page; a form without its
CSRF token is refused with the catalog's words; a phone-sized screen never scrolls sideways;
the Content-Security-Policy is sent and nothing on the pages violates it (a code's countdown
runs from its own script file, speaks once a minute, and offers a new code at zero).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from certcenter.clock import SystemClock
from certcenter.errors import CertCenterError
from certcenter.simulators.ars import SimulatedArs
from certcenter.storage.database import make_engine
from certcenter.storage.simulator_store import SimulatorStore
from tests.browser.conftest import Console
from tests.browser.harness import CenterServer, assert_accessible
from tests.support.flow import Flow

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/demo",
    "/demo/phones/01020000001",
    "/demo/accounts/004/12340100000001",
    "/demo/calls/01020000001",
    "/no/such/page",
]


def _ars(server: CenterServer) -> tuple[SimulatedArs, Callable[[], None]]:
    """The ARS simulator on the server's own simulator database (the telco's side)."""
    engine = make_engine(server.settings().simulator_database_url)
    return SimulatedArs(SimulatorStore(engine), SystemClock()), engine.dispose


def test_korean_first_and_english_with_the_toggle(page: Page, server_url: str) -> None:
    page.goto(server_url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("인증서 발급부터 이용·관리까지, 한곳에서")
    expect(page.locator(".site-nav")).to_contain_text("금융인증서 발급/재발급")
    assert_accessible(page, "/", widths=(1280, 390))

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(server_url + "/")
    expect(page.locator("h1")).to_have_text("Get, use and manage your certificates in one place")
    expect(page.locator(".site-nav")).to_contain_text("Get a financial certificate")
    assert_accessible(page, "/ in English", widths=(1280, 390))

    page.get_by_role("link", name="Open the demo world").click()
    expect(page.locator("h1")).to_have_text("The demo world")  # the choice stays
    assert_accessible(page, "/demo in English")
    page.get_by_role("link", name="한국어").click()
    expect(page).to_have_url(server_url + "/demo")
    expect(page.locator("h1")).to_have_text("데모 세계")
    assert_accessible(page, "/demo", widths=(1280, 390))


def test_an_sms_the_center_sends_shows_in_the_inbox(
    page: Page, server_url: str, tmp_path: Path
) -> None:
    flow = Flow(server_url, tmp_path, "C007")  # the app starts an issuance…
    try:
        flow.through("phone")  # …and the center texts a code to 010-2000-0007
        code = flow.sms_code()
    finally:
        flow.client.close()
    page.goto(server_url + "/demo")
    page.locator("#person-C007").get_by_role("link", name=re.compile("문자함")).click()
    expect(page).to_have_url(server_url + "/demo/phones/01020000007")
    inbox = page.locator("section", has=page.locator("#inbox-title"))
    expect(inbox.locator(".message-body").first).to_contain_text(f"[{code}]")
    assert_accessible(page, "an SMS inbox")
    # the simulators' own plain pages, for scripts and the CLI
    for plain in ("/sim", "/sim/phones/01020000007", "/sim/banks/004/accounts/12340100000007"):
        page.goto(server_url + plain)
        expect(page.locator("main h1")).to_be_visible()
        assert_accessible(page, plain)


def test_answering_a_ringing_ars_call(page: Page, server: CenterServer) -> None:
    ars, close = _ars(server)
    try:
        call = ars.place_call(phone="01020000014", prompt="화면에 보이는 번호 2자리를 누르세요")
        page.goto(server.url + "/demo/calls/01020000014")
        expect(page.locator("#ringing-title")).to_have_text("전화가 왔습니다")
        expect(page.locator(".prompt")).to_have_text("화면에 보이는 번호 2자리를 누르세요")
        assert_accessible(page, "a ringing ARS call")
        page.get_by_label("누를 번호").fill("58")
        page.get_by_role("button", name="번호 누르기").click()
        expect(page.locator(".flash")).to_have_text("ARS 전화에 58을 눌렀습니다.")
        expect(page.locator("table.calls tbody tr").first).to_contain_text("응답함")
        assert_accessible(page, "an answered ARS call")
        assert ars.outcome(call).status == "answered" and ars.outcome(call).keyed == "58"
    finally:
        close()


def test_a_form_without_its_token_is_refused_with_the_catalogs_words(
    page: Page,
    server: CenterServer,
    second_browser_context: Callable[..., BrowserContext],
) -> None:
    ars, close = _ars(server)
    calls = server.url + "/demo/calls/01020000018"
    try:
        call = ars.place_call(phone="01020000018", prompt="번호를 누르세요")
        page.goto(calls)
        page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
        page.get_by_label("누를 번호").fill("11")
        with page.expect_response(re.compile("/answer$")) as answer:
            page.get_by_role("button", name="번호 누르기").click()
        assert answer.value.status == 403
        refusal = CertCenterError("WEB_CSRF_INVALID")
        expect(page.locator(".error-message")).to_have_text(refusal.message("ko"))
        expect(page.locator(".error-remedy")).to_have_text(refusal.remedy("ko"))
        expect(page.locator(".error-code code")).to_have_text("WEB_CSRF_INVALID")
        assert_accessible(page, "the refusal page", widths=(1280, 390))

        # another browser's token is no better: it belongs to that browser's session
        other = second_browser_context().new_page()
        other.goto(calls)
        stolen = other.locator("input[name=csrf_token]").input_value()
        page.goto(calls)
        page.locator("input[name=csrf_token]").evaluate("(input, v) => input.value = v", stolen)
        page.get_by_label("누를 번호").fill("22")
        page.get_by_role("button", name="번호 누르기").click()
        expect(page.locator(".error-code code")).to_have_text("WEB_CSRF_INVALID")
        assert ars.outcome(call).status == "ringing"

        # scripts send the token in a header (certcenter.fetch); a bare fetch is refused
        page.goto(calls)
        statuses = page.evaluate(
            """async (url) => {
                const body = () => new URLSearchParams({keyed: "7"});
                const bare = await fetch(url, {method: "POST", body: body()});
                const sent = await certcenter.fetch(url, {method: "POST", body: body()});
                return [bare.status, sent.status, sent.redirected];
            }""",
            calls + "/answer",
        )
        assert statuses == [403, 200, True]
        assert ars.outcome(call).keyed == "7"
    finally:
        close()


def test_a_phone_sized_screen_never_scrolls_sideways(
    second_browser_context: Callable[..., BrowserContext], server_url: str
) -> None:
    phone = second_browser_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    ).new_page()
    for path in PAGES:
        phone.goto(server_url + path)
        widths = phone.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1] == 375, (path, widths)
        assert_accessible(phone, path)
    # the menu folds behind its button, and opens
    phone.goto(server_url + "/")
    expect(phone.locator("#site-nav")).to_be_hidden()
    for tool in (".lang-switch", ".menu-toggle"):  # the header's buttons are a thumb's size
        box = phone.locator(tool).bounding_box()
        assert box is not None and box["height"] >= 44, (tool, box)
    phone.get_by_role("button", name="메뉴").click()
    expect(phone.get_by_role("link", name="데모", exact=True)).to_be_visible()
    phone.get_by_role("link", name="데모", exact=True).click()
    expect(phone).to_have_url(server_url + "/demo")


def test_the_policy_is_sent_and_nothing_violates_it(
    page: Page, server_url: str, console: Console
) -> None:
    for path in PAGES:
        response = page.goto(server_url + path)
        assert response is not None
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY"
        expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
        # the stylesheet applied (a CSP refusal would leave the header unstyled)
        background = page.locator(".site-header").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert background == "rgb(26, 75, 140)", path
    assert_accessible(page, "the page not found")
    assert not console.csp_violations, console.messages
    assert page.evaluate("typeof window.certcenter.fetch") == "function"  # the script ran
    assert not [m for m in console.errors if "404" not in m], console.messages

    # a time-limited code counts down (static/js/countdown.js, a file the policy allows)
    page.clock.install()  # from here the page's timers run on a clock the test moves
    page.goto(server_url + "/login/mobile")
    page.get_by_role("button", name="승인번호 받기").click()
    box = page.locator("[data-countdown]")
    expect(box).to_be_visible()
    seconds = int(box.get_attribute("data-seconds-left") or "0")
    assert 170 <= seconds <= 180 and box.get_attribute("data-expires-at")
    expect(box.locator("[data-countdown-clock]")).to_have_text(re.compile(r"0[23]:[0-5][0-9]"))
    expect(page.locator(".fin-code-box .hint").first).to_contain_text("180초")  # the static words
    live = box.locator("[data-countdown-live]")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_have_text("")  # not a word each second
    assert_accessible(page, "a code counting down")
    page.clock.run_for((seconds - 100) * 1000)  # into the next minute
    expect(live).to_have_text("2분 남았습니다.")
    page.clock.run_for(101 * 1000)
    expired = box.locator("[data-countdown-expired]")
    expect(expired).to_be_visible()
    expect(expired).to_contain_text("승인번호의 유효시간이 지났습니다")
    expect(box.locator("[data-countdown-running]")).to_be_hidden()
    expect(live).to_contain_text("유효시간이 지났습니다")
    expect(expired.get_by_role("button", name="새 승인번호 받기")).to_be_visible()
    assert_accessible(page, "an expired code")
    assert not console.csp_violations, console.messages

    # and it is enforced: an injected inline script does not run
    console.expect_csp_violation = True
    ran = page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.injected = true";
            document.body.appendChild(s);
            return window.injected === true;
        }"""
    )
    assert ran is False
    page.wait_for_timeout(100)  # the violation report reaches the console
    assert console.csp_violations
