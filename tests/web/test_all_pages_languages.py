"""Every GET page of the web center — found by walking the page routers, not listed by hand —
renders in Korean and in English: ``<html lang>`` and ``Content-Language`` right, no text key
missing (that would be an error page) or shown raw, no placeholder left unfilled, and no
Korean on the English page except names and data.

What "except names and data" means: Hangul on an English page may stand only
- inside an element marked ``lang="ko"`` (Korean content whatever the page's language: the
  text of an SMS, an ARS prompt, a statement line, the "한국어" switch) or ``translate="no"``
  (a name or a label someone gave: a device's label), or
- as a proper noun of the demo world or of the bank (people's names, banks, the bank's name).

A page whose path has parameters needs sample values in ``SAMPLES`` (a new parameter fails
here until it has one); pages are shown to a logged-in customer. A step of a flow asked for
before the flow began, or a record that does not exist, answers with the catalog's refusal
(409, 404) in the page's frame: checked the same way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from certcenter.bootstrap import Center
from certcenter.errors import Locale
from certcenter.errors.catalog import catalog, text, texts
from certcenter.identity.banks import BANKS
from certcenter.simulators.world import load_world
from certcenter.web import pages
from tests.web.signin import app_fixture, center_fixture, log_in  # noqa: F401 (fixtures)
from tests.web.support import WebClient, html_lang

# Sample values for path parameters: a page with another parameter fails until it has one.
SAMPLES = {
    "phone": "01020000001",
    "bank_code": "004",
    "account_number": "12340100000001",
    "transfer_id": "00000000-0000-4000-8000-000000000000",  # none such: its refusal page
}
# A step of a flow shown before the flow began (409) or a record that is not there (404) is
# a page too: the catalog's refusal in the page's frame, checked like any other.
REFUSAL_STATUSES = {404, 409}
# The OpenID provider's pages asked without the site's request (client, redirect URI, PKCE):
# the OAuth error "invalid request", 400, in the same frame.
BAD_REQUEST_PAGES = {"/oidc/authorize", "/oidc/consent"}
# GET routes that are not pages: the language switch (tests/web/test_language.py), the demo's
# certificate file of another institution (tests/joint/test_my_joint.py)
NOT_PAGES = {"/lang/{locale}", "/demo/other-certificate"}
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def page_paths() -> list[str]:
    """The GET routes of every page router, with their sample values filled in."""
    found = []
    for router in pages.routers():
        for route in router.routes:
            if not isinstance(route, APIRoute):  # a nested router would hide its pages
                found.append(f"not-walked:{type(route).__name__}")
                continue
            if "GET" not in (route.methods or set()):
                continue
            if route.path in NOT_PAGES:
                continue
            missing = [p for p in _PARAM.findall(route.path) if p not in SAMPLES]
            if missing:
                found.append(f"missing-sample:{route.path}")
                continue
            found.append(_PARAM.sub(lambda m: SAMPLES[m.group(1)], route.path))
    return sorted(set(found))


PATHS = page_paths()


@pytest.fixture(name="customer_web", scope="module")
def _customer_web(db_center: Center, db_app: FastAPI) -> Iterator[WebClient]:
    """One logged-in browser for the module (Korean), and data on the demo pages."""
    now = db_center.clock.now()
    db_center.sim_store.add_sms(
        phone="01020000001",
        sender="1588-9999",
        body="[certcenter] 인증번호 [123456]를 입력해 주세요.",
        folder="inbox",
        at=now,
    )
    db_center.sim_store.post_entry(
        bank_code="004", account_number="12340100000001", amount=1, description="인증1234", at=now
    )
    with WebClient(db_app) as web:
        log_in(web, db_center, "C012", label="집 PC")
        yield web


def visible_text(page: str) -> str:
    """The page's words as a person sees them (title included), scripts left out."""
    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(page).split())


def _without_marked(page: str) -> str:
    """The page without the elements marked as Korean content or as not to translate."""
    marked = re.compile(
        r'<((?!html\b)\w+)\b[^>]*\s(?:lang="ko"|translate="no")[^>]*>.*?</\1>', flags=re.DOTALL
    )
    previous = None
    while previous != page:
        previous, page = page, marked.sub(" ", page)
    return page


def proper_nouns(center: Center) -> set[str]:
    world = load_world(center.settings.world_file)
    names = {p.name for p in world.people.values()} | {world.corporate_holder}
    return names | set(BANKS.values()) | {center.settings.bank_name}


_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_KEYISH = re.compile(r"\b([a-z_]+(?:\.[A-Za-z_]+)+)\b")


def korean_left(page: str, allowed: set[str]) -> list[str]:
    """Hangul on the page outside marked elements and the allowed proper nouns."""
    words = visible_text(_without_marked(page))
    for noun in sorted(allowed, key=len, reverse=True):
        words = words.replace(noun, " ")
    return [w for w in words.split() if _HANGUL.search(w)]


def raw_keys(words: str) -> list[str]:
    """Text keys (``nav.home``) or catalog codes' key forms shown instead of words."""
    sections = {key.split(".", 1)[0] for key in texts()}
    return [k for k in _KEYISH.findall(words) if k in texts() or k.split(".", 1)[0] in sections]


def show(web: WebClient, path: str, locale: Locale) -> tuple[int, str, str]:
    web.get(f"/lang/{locale}")
    response = web.get(path)
    for _ in range(3):  # a page that moved, or a step that sends the browser on
        if response.status_code not in (302, 303, 307):
            break
        response = web.get(response.headers["location"])
    return response.status_code, response.headers.get("content-language", ""), response.text


def test_the_routers_have_pages_and_every_parameter_has_a_sample() -> None:
    assert {"/", "/why", "/my", "/demo", "/demo/why"} <= set(PATHS)
    assert not [p for p in PATHS if p.startswith(("missing-sample:", "not-walked:"))]


@pytest.mark.parametrize("locale", ["ko", "en"])
@pytest.mark.parametrize("path", PATHS)
def test_every_page_renders_in_both_languages(
    customer_web: WebClient, db_center: Center, path: str, locale: Locale
) -> None:
    assert not path.startswith("missing-sample:"), f"add a value to SAMPLES for {path}"
    assert not path.startswith("not-walked:"), "add routes to a page router, not a sub-router"
    status, language, page = show(customer_web, path, locale)
    if status != 200:
        expected = REFUSAL_STATUSES | ({400} if path in BAD_REQUEST_PAGES else set())
        assert status in expected, (path, status, visible_text(page)[:300])
        assert 'class="error-box"' in page and text("error.remedy", locale) in page, path
    assert language == locale and html_lang(page) == locale
    words = visible_text(page)
    for code in ("INTERNAL_ERROR", "Traceback", "UndefinedError"):
        assert code not in page, path
    assert not raw_keys(words), (path, raw_keys(words))
    assert not re.search(r"\{[a-z_]+\}", words), (path, "a placeholder was left unfilled")
    assert text("nav.home", locale) in words and text("footer.warning", locale) in words
    if locale == "en":
        left = korean_left(page, proper_nouns(db_center))
        assert not left, (path, left)
    else:
        assert _HANGUL.search(visible_text(_without_marked(page))), path


def test_the_checks_catch_what_they_are_for(db_center: Center) -> None:
    """The helpers above find a raw key, a Korean word and let names and marked data pass."""
    nouns = proper_nouns(db_center)
    page = (
        '<html lang="en"><title>Home</title><p>Hello 김민준, KB국민은행</p>'
        '<p lang="ko">인증번호 [123456]</p><span translate="no">집 PC</span>'
        '<a lang="ko">한국어</a></html>'
    )
    assert korean_left(page, nouns) == []
    assert korean_left(page.replace("Hello", "안녕하세요"), nouns) == ["안녕하세요"]
    assert raw_keys("Menu nav.home and why.item.blocks") == ["nav.home", "why.item.blocks"]
    assert raw_keys("mail c001@customers.example.org, version 5.1.0") == []
    assert "DEVICE_ALREADY_REGISTERED" in catalog()  # codes are shown on purpose, not keys
