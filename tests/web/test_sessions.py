"""The helpers later pages use: who is logged in on this browser, signing in and out, and a
fault in a page. Against the center on SQLite and PostgreSQL (the sessions are in its DB)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from starlette.requests import Request

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.server import create_app
from certcenter.web import (
    current_customer,
    page_router,
    require_customer,
    sign_in,
    sign_out,
    web_session_token,
)
from tests.web.support import WebClient, csrf_token, main_text


def _test_pages(app: FastAPI) -> None:
    """Pages a login page would be made of, for these tests only."""
    router = page_router(prefix="/test")

    @router.get("/who")
    def who(request: Request) -> PlainTextResponse:
        session = current_customer(request)
        return PlainTextResponse(session.customer_id if session else "nobody")

    @router.get("/mine")
    def mine(request: Request) -> PlainTextResponse:
        return PlainTextResponse(require_customer(request).customer_id)

    @router.post("/sign-in")
    def do_sign_in(request: Request) -> RedirectResponse:
        center: Center = request.app.state.center
        with center.uow_factory() as uow:
            customer = uow.customers.by_number("C001")
            assert customer is not None
        opened = center.sessions.open(
            customer_id=customer.id, device_id="browser", certificate_serial="AB", method="pin"
        )
        sign_in(request, opened)
        return RedirectResponse("/test/who", status_code=303)

    @router.post("/sign-out")
    def do_sign_out(request: Request) -> RedirectResponse:
        assert web_session_token(request) is not None
        sign_out(request)
        return RedirectResponse("/test/who", status_code=303)

    @router.get("/broken")
    def broken(request: Request) -> HTMLResponse:
        raise RuntimeError("secret detail 9003151512541")

    app.include_router(router)


@pytest.fixture
def web_app_for(center: Center) -> FastAPI:
    app = create_app(center)
    _test_pages(app)
    return app


@pytest.fixture
def browser(web_app_for: FastAPI) -> Iterator[WebClient]:
    with WebClient(web_app_for) as client:
        yield client


def _customer_id(center: Center) -> str:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        return customer.id


def test_sign_in_current_customer_and_sign_out(
    browser: WebClient, center: Center, web_app_for: FastAPI
) -> None:
    assert browser.get("/test/who").text == "nobody"
    refused = browser.get("/test/mine")
    assert refused.status_code == 401 and "WEB_LOGIN_REQUIRED" in main_text(refused.text)

    before = csrf_token(browser.get("/").text)
    signed = browser.post("/test/sign-in", data={"csrf_token": before})
    assert browser.follow(signed).text == _customer_id(center)
    assert browser.get("/test/mine").text == _customer_id(center)
    after = csrf_token(browser.get("/").text)
    assert after != before  # a new web session: no fixation of the old token
    assert browser.post("/test/sign-out", data={"csrf_token": before}).status_code == 403

    with WebClient(web_app_for) as other:
        assert other.get("/test/who").text == "nobody"  # another browser is not logged in

    out = browser.post("/test/sign-out", data={"csrf_token": after})
    assert browser.follow(out).text == "nobody"
    assert browser.get("/test/mine").status_code == 401


def test_the_api_session_ends_with_sign_out(
    browser: WebClient, center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser.post("/test/sign-in", data={"csrf_token": csrf_token(browser.get("/").text)})
    token = csrf_token(browser.get("/").text)
    closed: list[str] = []
    original = center.sessions.close

    def spy(value: str) -> None:
        closed.append(value)
        original(value)

    monkeypatch.setattr(center.sessions, "close", spy)
    browser.post("/test/sign-out", data={"csrf_token": token})
    assert len(closed) == 1
    with pytest.raises(CertCenterError) as refused:
        center.sessions.resolve(closed[0])
    assert refused.value.code == "SESSION_INVALID"


def test_an_idle_session_is_forgotten(
    browser: WebClient, center: Center, clock: FrozenClock
) -> None:
    browser.post("/test/sign-in", data={"csrf_token": csrf_token(browser.get("/").text)})
    assert browser.get("/test/who").text == _customer_id(center)
    clock.advance(minutes=center.settings.policy.session_idle_minutes + 1)
    expired = browser.get("/test/mine")
    assert expired.status_code == 401 and "SESSION_EXPIRED" in main_text(expired.text)
    assert browser.get("/test/who").text == "nobody"
    assert browser.get("/test/mine").status_code == 401
    assert "WEB_LOGIN_REQUIRED" in main_text(browser.get("/test/mine").text)


def test_a_fault_in_a_page_is_an_incident_page_without_a_trace(
    browser: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="certcenter.web"):
        page = browser.get("/test/broken")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    words = main_text(page.text)
    assert "INTERNAL_ERROR" in words and "Traceback" not in page.text
    assert "9003151512541" not in page.text and "RuntimeError" not in page.text
    incident = next(r for r in caplog.records if r.getMessage().startswith("incident "))
    assert incident.getMessage().split()[1].rstrip(":") in words
