"""The header's session bar: who is logged in, the time left before the idle logout, 연장
(which keeps the login open another idle period and comes back to the page) and 로그아웃;
after the idle logout the page says so and links 로그인. (The countdown in the browser:
tests/browser/test_financial_login.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.server import create_app
from tests.web.financial_support import error_code
from tests.web.signin import csrf, install_test_login, log_in
from tests.web.support import WebClient, main_text


@pytest.fixture(scope="module")
def signin_app(web_center: Center) -> FastAPI:
    app = create_app(web_center)
    install_test_login(app)
    return app


@pytest.fixture
def browser(signin_app: FastAPI) -> Iterator[WebClient]:
    with WebClient(signin_app) as client:
        yield client


def bar(page: str) -> str | None:
    found = re.search(r'<div class="session-bar" data-session-bar>.*?</div>', page, re.S)
    return found.group(0) if found else None


def test_the_header_shows_who_the_time_left_and_extends_it(
    browser: WebClient, web_center: Center
) -> None:
    clock = web_center.clock
    assert isinstance(clock, FrozenClock)
    idle = web_center.settings.policy.session_idle_minutes
    assert bar(browser.get("/").text) is None  # nobody logged in

    log_in(browser, web_center, "C001")
    shown = bar(browser.get("/my").text)
    assert shown is not None
    assert "data-session-name>김민준<" in shown and 'translate="no"' in shown
    assert f'data-session-left="{idle * 60}"' in shown and f">{idle}:00<" in shown
    assert 'action="/session/extend"' in shown and 'value="/my"' in shown
    assert 'action="/logout"' in shown and "로그아웃" in shown and "연장" in shown

    # 연장 after most of the idle period: back to the page, a full period again
    clock.advance(minutes=idle - 1)
    extended = browser.post("/session/extend", data={"csrf_token": csrf(browser), "next": "/my"})
    assert extended.status_code == 303 and extended.headers["location"] == "/my"
    page = browser.follow(extended)
    assert page.status_code == 200 and f"{idle}분 연장했습니다" in main_text(page.text)
    clock.advance(minutes=idle - 1)  # past the first deadline: still logged in
    assert browser.get("/my").status_code == 200
    away = browser.post("/session/extend", data={"csrf_token": csrf(browser), "next": "//evil"})
    assert away.headers["location"] == "/"  # only a path of this site

    english = browser.follow(browser.get("/lang/en?next=/my"))
    shown = bar(english.text)
    assert shown is not None and "Logged in:" in shown and "Extend" in shown

    # the idle logout: the page says so and links the login; the bar is gone
    clock.advance(minutes=idle + 1)
    expired = browser.get("/my")
    assert expired.status_code == 401 and error_code(expired.text) == "SESSION_EXPIRED"
    assert 'href="/login?next=/my" data-login-link' in expired.text
    assert bar(expired.text) is None
    late = browser.post("/session/extend", data={"csrf_token": csrf(browser), "next": "/my"})
    assert error_code(late.text) in ("WEB_LOGIN_REQUIRED", "SESSION_EXPIRED")
