"""Headers, the session cookie and CSRF: what every web response and every form relies on."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError, Locale
from certcenter.errors.catalog import text
from certcenter.simulators.ars import SimulatedArs
from certcenter.web import pages
from certcenter.web.routing import WebRoute
from certcenter.web.security import CONTENT_SECURITY_POLICY, cookie_secure, verify_csrf
from tests.conftest import make_settings
from tests.web.support import WebClient, csrf_token, main_text

CALLS = "/demo/calls/01020000001"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ANSWER = "/demo/calls/01020000001/answer"


@pytest.mark.parametrize(
    "path", ["/", "/demo", "/no/such/page", "/static/css/center.css", "/lang/en"]
)
def test_every_web_response_carries_the_security_headers(web: WebClient, path: str) -> None:
    response = web.get(path)
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    expected_cache = "no-cache" if path.startswith("/static/") else "no-store"
    assert response.headers["cache-control"] == expected_cache


def test_the_api_keeps_its_own_headers(web: WebClient) -> None:
    response = web.get("/healthz")
    assert "content-security-policy" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


def test_session_cookie_is_httponly_lax_secure_and_signed(web: WebClient) -> None:
    response = web.get("/")
    cookie = next(c for c in response.headers.get_list("set-cookie") if "certcenter_web=" in c)
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "secure", "path=/"} <= flags
    assert any(flag.startswith("max-age=") for flag in flags)
    # a forged cookie is not believed: a new session (and a new token) instead
    token = csrf_token(response.text)
    web.cookies.set("certcenter_web", "eyJjc3JmIjogIngifQ==.forged.signature")
    assert csrf_token(web.get("/").text) != token


def test_pages_put_no_secret_in_a_url(web: WebClient) -> None:
    page = web.get(CALLS).text
    token = csrf_token(page)
    hrefs = re.findall(r'(?:href|action|src)="([^"]*)"', page)
    assert hrefs and not any(token in href for href in hrefs)
    assert not re.search(r'<form[^>]*method="get"', page, re.IGNORECASE)


@pytest.mark.parametrize(
    ("public_base_url", "secure"),
    [
        ("https://cert.bank.example", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://192.168.0.10:8000", False),
        ("http://cert.bank.example", False),
    ],
)
def test_secure_flag_follows_the_configured_address(
    tmp_path: Path, pki_dir: Path, public_base_url: str, secure: bool
) -> None:
    settings = make_settings(tmp_path, pki_dir, None, public_base_url=public_base_url)
    assert cookie_secure(settings) is secure


def _ring(web_app: FastAPI, phone: str = "01020000001") -> None:
    center: Center = web_app.state.center
    SimulatedArs(center.sim_store, center.clock).place_call(phone=phone, prompt="번호 2자리")


def _is_csrf_refusal(response: httpx.Response, locale: Locale = "ko") -> None:
    assert response.status_code == 403
    words = main_text(response.text)
    assert "WEB_CSRF_INVALID" in words
    assert text("error.remedy", locale) in words
    assert CertCenterError("WEB_CSRF_INVALID").message(locale) in words


def test_a_post_without_the_token_is_refused(web: WebClient, web_app: FastAPI) -> None:
    _ring(web_app)
    web.get(CALLS)  # the browser has a session, but the form below carries no token
    _is_csrf_refusal(web.post(ANSWER, data={"keyed": "12"}))
    _is_csrf_refusal(web.post(ANSWER, data={"keyed": "12", "csrf_token": "x" * 43}))
    _is_csrf_refusal(web.post(ANSWER, json={"keyed": "12"}))
    _is_csrf_refusal(web.post(ANSWER, headers={"X-CSRF-Token": ""}, data={"keyed": "12"}))
    web.get("/lang/en")
    _is_csrf_refusal(web.post(ANSWER, data={"keyed": "12"}), "en")
    # nothing was keyed into the ringing call
    assert "ringing-title" in web.get(CALLS).text


def test_a_token_from_another_browser_is_refused(web_app: FastAPI) -> None:
    with WebClient(web_app) as mine, WebClient(web_app) as theirs:
        stolen = mine.csrf(CALLS)
        theirs.get(CALLS)
        _is_csrf_refusal(theirs.post(ANSWER, data={"keyed": "12", **stolen}))
        # and without any session cookie at all
    with WebClient(web_app) as fresh:
        _is_csrf_refusal(fresh.post(ANSWER, data={"keyed": "12", **stolen}))


def test_the_form_field_or_the_header_carries_the_token(web: WebClient, web_app: FastAPI) -> None:
    _ring(web_app)
    token = web.csrf(CALLS)["csrf_token"]
    assert web.post(ANSWER, data={"keyed": "12", "csrf_token": token}).status_code == 303
    _ring(web_app)
    response = web.post(ANSWER, data={"keyed": "34"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 303


def test_every_page_route_is_a_web_route_and_checks_the_token_when_it_changes_state() -> None:
    routes = [route for router in pages.routers() for route in router.routes]
    unsafe = [r for r in routes if isinstance(r, APIRoute) and (r.methods or set()) & UNSAFE]
    assert unsafe, "the check must see the web's POST routes"
    for route in routes:
        assert isinstance(route, WebRoute), f"{route}: make routers with page_router()"
    for route in unsafe:
        assert any(dep.dependency is verify_csrf for dep in route.dependencies), route.path


def test_the_policy_is_the_one_documented() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    )
