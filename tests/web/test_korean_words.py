"""The customer's words are the page's language only: the Korean texts of the catalog and of
texts.toml hold no Latin letters but the words listed in ``allowed_latin.txt`` (product
words, units, codes, the app's commands; protocol words only in the operators' refusals),
and a refusal shown on a page — with the values the center put into it — names its cause
in the page's language: the terms by their titles, a dormant account as dormant, a mistyped
resident number in words, a browser's key without its format's name. (Particles after
inserted values: tests/test_korean.py.)"""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.errors import catalog
from certcenter.errors.catalog import texts
from tests.web.financial_support import WORLD, FinancialWeb, error_code
from tests.web.support import WebClient

_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9+#._/-]*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_BOX = re.compile(r'<section class="error-box".*?</section>', re.S)


def allowed() -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {}
    current = None
    for line in (Path(__file__).parent / "allowed_latin.txt").read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], set())
            continue
        assert current is not None, "a word before the first [section]"
        current.add(line)
    return sections


def latin_words(text: str) -> set[str]:
    return set(_LATIN.findall(_PLACEHOLDER.sub(" ", text)))


def korean_texts() -> dict[str, str]:
    found = {
        f"{code}.{field}": item.text(field, "ko")
        for code, item in catalog().items()
        for field in ("message", "cause", "remedy")
    }
    found.update({key: value["ko"] for key, value in texts().items()})
    return found


def test_korean_texts_use_only_the_listed_latin_words() -> None:
    words = allowed()
    listed = words["customer"] | words["operator"]
    unlisted = {
        where: sorted(latin_words(text) - listed)
        for where, text in korean_texts().items()
        if latin_words(text) - listed
    }
    assert not unlisted, f"Latin words in Korean texts (translate, or list them): {unlisted}"
    used = set().union(*(latin_words(text) for text in korean_texts().values()))
    assert not listed - used, f"listed but used nowhere: {sorted(listed - used)}"
    assert not words["customer"] & words["operator"]


def box(page: httpx.Response) -> str:
    found = _BOX.search(page.text)
    assert found, "no error box on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def customer_words_only(page: httpx.Response) -> str:
    words = box(page)
    shown = latin_words(words.split("오류 코드")[0])  # the code itself is a code
    assert shown <= allowed()["customer"], (shown - allowed()["customer"], words)
    return words


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_refusals_name_the_cause_in_the_pages_language(
    web: WebClient, web_center: Center, locale: str
) -> None:
    browser = FinancialWeb(web, web_center)
    web.get(f"/lang/{locale}?next=/issue")
    shown: list[str] = []

    def seen(page: httpx.Response, code: str) -> str:
        assert error_code(page.text) == code, box(page)
        words = box(page) if locale == "en" else customer_words_only(page)
        shown.append(words)
        return words

    # unticked terms: named by their titles
    terms = seen(
        browser.submit("/issue/start", accepted=["financial_certificate"]), "TERMS_NOT_ACCEPTED"
    )
    assert "privacy_collection" not in terms
    assert ("개인정보 수집·이용 동의" if locale == "ko" else "personal data") in terms

    # a mistyped resident number: which part, in words
    browser.start_issue("C008")
    rrn = WORLD.people["C008"].rrn.digits
    mistyped = rrn[6:12] + str((int(rrn[12]) + 1) % 10)
    cause = seen(browser.follow(browser.identify("C008", rrn_back=mistyped)), "RRN_INVALID")
    assert "check digit does not match" not in cause or locale == "en"
    assert ("검증번호" if locale == "ko" else "check digit") in cause

    # C008's only account is dormant: told so, not "no medium registered"
    browser.follow(browser.identify("C008"))
    browser.through_ars("C008")
    dormant = seen(browser.submit("/issue/medium", medium="account"), "ACCOUNT_DORMANT")
    assert ("휴면" if locale == "ko" else "dormant") in dormant

    if locale == "en":
        for words in shown:
            assert not _HANGUL.search(words), words


def test_a_garbled_browser_key_is_told_without_its_format(
    web: WebClient, web_center: Center
) -> None:
    browser = FinancialWeb(web, web_center)
    browser.start_issue("C001")
    browser.follow(browser.identify("C001"))
    browser.through_ars("C001")
    account = str(WORLD.people["C001"].accounts[0]["number"])
    browser.submit("/issue/medium", medium="account")
    browser.submit("/issue/medium/verify", account_number=account, account_password="2580")
    garbled = browser.follow(browser.details("C001", device_public_key="QUJD"))
    assert error_code(garbled.text) == "FINANCIAL_DEVICE_KEY_INVALID"
    words = customer_words_only(garbled)
    assert "SubjectPublicKeyInfo" not in words and "DER" not in words
    birth = browser.follow(browser.details("C001", birth="1990-15-40"))
    assert error_code(birth.text) == "INVALID_REQUEST"
    assert "19900315" in customer_words_only(birth)
