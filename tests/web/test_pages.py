"""Every page of the web center, in Korean and in English: the frame, the words, the data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from certcenter.bootstrap import Center
from certcenter.errors import Locale
from certcenter.errors.catalog import text
from tests.web.support import WebClient, html_lang, main_text

PAGES = [
    "/",
    "/demo",
    "/demo/phones/01020000001",
    "/demo/accounts/004/12340100000001",
    "/demo/calls/01020000001",
    "/help",
    "/help/terms",
]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_every_page_renders_in_both_languages(
    web: WebClient, web_center: Center, path: str, locale: Locale
) -> None:
    if locale == "en":
        web.get(f"/lang/en?next={path}")
    page = web.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-language"] == locale
    assert html_lang(page.text) == locale
    body = page.text
    assert f'<span class="brand-bank">{web_center.settings.bank_name}</span>' in body
    for key in ("nav.home", "nav.issue", "nav.login", "nav.transfer", "nav.my", "nav.diagnosis"):
        assert f">{text(key, locale)}</a>" in body.replace("&amp;", "&")
    assert text("lang.switch", locale) in body
    assert "{" not in main_text(body), "a placeholder was left unfilled"
    assert "Traceback" not in body
    # no inline script or style: the CSP would refuse them
    assert "<script>" not in body and "<style" not in body and " style=" not in body
    assert " onclick=" not in body.lower()


def test_home_tells_what_the_center_offers(web: WebClient) -> None:
    words = main_text(web.get("/").text)
    for key in ("home.financial.title", "home.mobile.title", "home.use.title", "home.demo.title"):
        assert text(key, "ko") in words
    page = web.get("/").text
    for link in ('href="/issue"', 'href="/login"', 'href="/demo"', 'href="/why"'):
        assert link in page
    assert 'aria-current="page">홈</a>' in page


def test_demo_world_lists_its_people_with_scenarios_and_links(web: WebClient) -> None:
    page = web.get("/demo").text
    words = main_text(page)
    assert "김민준" in words and "정상 발급 (SKT, KB국민은행 계좌, 주민등록증)" in words
    assert text("demo.world.not_customer", "ko") in words  # H004, the mother, and P017
    assert 'href="/demo/phones/01020000001"' in page
    assert 'href="/demo/calls/01020000004"' in page
    assert 'href="/demo/accounts/004/12340100000001"' in page
    web.get("/lang/en")
    english = main_text(web.get("/demo").text)
    assert "Happy path (SKT, KB account, resident card)" in english
    assert "정상 발급 (SKT" not in english


def test_phone_page_shows_inbox_and_spam_folder_apart(web: WebClient, web_center: Center) -> None:
    store, now = web_center.sim_store, web_center.clock.now()
    store.add_sms(
        phone="01020000007",
        sender="1588-0000",
        body="[웹] 인증번호 [482913]",
        folder="inbox",
        at=now,
    )
    store.add_sms(
        phone="01020000007",
        sender="1588-9999",
        body="광고 문자",
        folder="spam",
        at=now + timedelta(seconds=5),
    )
    page = web.get("/demo/phones/01020000007").text
    inbox = page[page.index('id="inbox-title"') : page.index('id="spam-title"')]
    spam = page[page.index('id="spam-title"') :]
    assert "[웹] 인증번호 [482913]" in inbox and "광고 문자" not in inbox
    assert "광고 문자" in spam
    assert "2026-11-23 10:00:00" in inbox  # START (01:00 UTC) shown in Korea time
    assert "010-2000-0007" in page


def test_empty_inbox_and_statement_say_so(web: WebClient) -> None:
    assert text("demo.phone.inbox_empty", "ko") in web.get("/demo/phones/01020000018").text


def test_statement_shows_holder_status_balance_and_entries(
    web: WebClient, web_center: Center
) -> None:
    web_center.sim_store.set_account_status("004", "12340100000003", "dormant")
    words = main_text(web.get("/demo/accounts/004/12340100000003").text)
    assert "박지훈" in words and "휴면" in words and "300,000원" in words
    web.get("/lang/en")
    english = main_text(web.get("/demo/accounts/004/12340100000003").text)
    assert "Dormant" in english and "KRW 300,000" in english


@pytest.mark.parametrize(
    "path",
    [
        "/no/such/page",
        "/certificates/nowhere",
        "/demo/phones/01099999999",
        "/demo/phones/not-a-phone",
        "/demo/calls/1234",
        "/demo/accounts/004/99999999999999",
        "/static/css/missing.css",
    ],
)
def test_unknown_web_paths_are_the_404_page(web: WebClient, path: str) -> None:
    page = web.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    words = main_text(page.text)
    assert text("error.code", "ko") in words and "NOT_FOUND" in words
    assert "요청한 대상을 찾을 수 없습니다." in words
    assert "Content-Security-Policy" in page.headers
    # the message is the page's one title, the summary takes the focus (center.js)
    assert re.findall(r"<h1\b[^>]*>([^<]*)</h1>", page.text) == ["요청한 대상을 찾을 수 없습니다."]
    assert re.search(
        r'<section class="error-box" role="alert" tabindex="-1" data-error-summary', page.text
    )


def test_wrong_method_on_a_page_is_a_page_too(web: WebClient) -> None:
    page = web.post("/", data=web.csrf())
    assert page.status_code == 405
    assert "METHOD_NOT_ALLOWED" in main_text(page.text)


def test_api_paths_keep_their_problem_documents(web: WebClient) -> None:
    for path in ("/v1/nothing-here", "/sim/api/nothing"):
        response = web.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "NOT_FOUND"
        assert "Content-Security-Policy" not in response.headers
    assert web.get("/healthz").json()["status"] == "ok"
    assert web.get("/openapi.json").status_code == 200
    paths = web.get("/openapi.json").json()["paths"]
    assert "/demo" not in paths and "/" not in paths  # pages are not the API


def test_a_bad_language_is_a_validation_page_not_a_trace(web: WebClient) -> None:
    page = web.get("/lang/fr")
    assert page.status_code == 422
    assert "INVALID_REQUEST" in main_text(page.text)
