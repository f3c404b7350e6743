"""Korean by default, English with one click on every page, and back; ``next`` stays local."""

from __future__ import annotations

import re

import pytest

from certcenter.web.pages.language import local_path
from tests.web.support import WebClient, html_lang


def _switch_href(page: str) -> str:
    found = re.search(r'<a class="lang-switch" href="([^"]+)"', page)
    assert found
    return found.group(1).replace("&amp;", "&")


def test_korean_first_then_english_with_one_click_and_back(web: WebClient) -> None:
    page = web.get("/demo/phones/01020000001").text
    assert html_lang(page) == "ko" and ">English</a>" in page
    href = _switch_href(page)
    assert href == "/lang/en?next=/demo/phones/01020000001"
    switched = web.get(href)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/demo/phones/01020000001"
    cookie = switched.headers["set-cookie"].lower()
    assert cookie.startswith("lang=en;") and "httponly" in cookie and "samesite=lax" in cookie
    english = web.follow(switched).text
    assert html_lang(english) == "en" and ">한국어</a>" in english
    assert "Messages of 010-2000-0001" in english
    back = web.follow(web.get(_switch_href(english)))
    assert html_lang(back.text) == "ko"


def test_the_query_of_the_page_survives_the_switch(web: WebClient) -> None:
    href = _switch_href(web.get("/demo?person=C004").text)
    assert href == "/lang/en?next=/demo%3Fperson%3DC004"
    assert web.get(href).headers["location"] == "/demo?person=C004"


def test_a_language_the_center_does_not_speak_is_ignored(web: WebClient) -> None:
    web.cookies.set("lang", "fr")
    assert html_lang(web.get("/").text) == "ko"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/demo\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_next_elsewhere_goes_home_instead(web: WebClient, target: str) -> None:
    response = web.get("/lang/en", params={"next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "x=1" not in response.headers.get("set-cookie", "")


def test_an_encoded_backslash_stays_a_path_here(web: WebClient) -> None:
    response = web.get("/lang/en", params={"next": "/%5Cevil.example"})
    assert response.headers["location"] == "/%5Cevil.example"  # a (missing) page of this site
    assert web.follow(response).status_code == 404


def test_local_path_keeps_local_paths_only() -> None:
    assert local_path("/demo/calls/01020000001?x=1#top") == "/demo/calls/01020000001?x=1#top"
    assert local_path("/") == "/"
    for bad in ("//x", "/\\x", "https://x", "x", "/a\\b", "/a\x00b", None, "/" + "a" * 3000):
        assert local_path(bad) == "/", bad


def test_the_answer_to_a_post_switches_to_the_home_page(web: WebClient) -> None:
    refused = web.post("/demo/calls/01020000001/answer", data={"keyed": "1"})
    assert refused.status_code == 403
    assert _switch_href(refused.text) == "/lang/en?next=/"
