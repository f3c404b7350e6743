"""인터넷뱅킹 가입 and 아이디 찾기 in a real Chromium, with axe-core at 1280 and 390 px.

C003 (박지훈) has an account at the bank but no internet banking. He joins from the
certificate center — name, phone, birth date, the SMS code from the demo inbox, his account
and its password, a user ID, a password twice and the terms; a password without a symbol is
refused first — and lands on the page that sends him on to the certificates. Reloading it and
going Back send nothing again. Then, on a phone-sized screen, 아이디 찾기 shows his new ID
partly masked.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.financial_support import ACCOUNT_PASSWORD, person, sms_code
from tests.browser.harness import CenterServer, assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
WIDTHS = (1280, 390)


def test_c003_joins_internet_banking_and_finds_the_id_on_a_phone(
    page: Page,
    server: CenterServer,
    second_browser_context: Callable[..., BrowserContext],
) -> None:
    url, who = server.url, person("C003")
    page.goto(url + "/")
    page.get_by_role("link", name="인터넷뱅킹 가입·아이디 찾기").click()
    expect(page.locator("h1")).to_have_text("인터넷뱅킹 가입")
    assert_accessible(page, "/banking/join", widths=WIDTHS)
    page.get_by_label("이름").fill(who.name)
    page.get_by_label("휴대폰 번호").fill(who.phone)
    page.get_by_label("생년월일").fill(who.birth.replace("-", ""))
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page).to_have_url(url + "/banking/join/code")
    code = sms_code(page.context, url, who.phone, "인터넷뱅킹 가입")
    page.get_by_label("인증번호", exact=True).fill(code)
    page.get_by_role("button", name="다음").click()

    expect(page).to_have_url(url + "/banking/join/medium")
    page.get_by_label("출금계좌 인증").check()
    page.get_by_role("button", name="선택", exact=True).click()
    assert_accessible(page, "/banking/join/medium", widths=WIDTHS)

    def choose(password: str) -> None:
        page.get_by_label("계좌번호", exact=True).fill(who.account)
        page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
        page.get_by_label("사용자 ID").fill("jihun95")
        page.get_by_label("비밀번호", exact=True).fill(password)
        page.get_by_label("비밀번호 다시 입력").fill(password)
        for box in page.locator('input[name="terms"]').all():
            box.check()
        page.get_by_role("button", name="다음").click()

    choose("Park2026xyz")  # no symbol
    expect(page).to_have_url(url + "/banking/join/medium")  # PRG: the refusal on a GET
    expect(page.locator(".error-box")).to_contain_text("PASSWORD_RULES")
    assert_accessible(page, "/banking/join/medium refused")
    choose("Park!2026x")
    expect(page).to_have_url(url + "/banking/join/done")
    expect(page.locator("h1")).to_have_text("인터넷뱅킹에 가입했습니다")
    expect(page.locator("[data-user-id]")).to_have_text("jihun95")
    assert_accessible(page, "/banking/join/done", widths=WIDTHS)
    page.reload()  # nothing is sent again
    expect(page.locator("[data-user-id]")).to_have_text("jihun95")
    page.go_back()  # the medium step of a finished sign-up: back to its start
    expect(page.locator("h1")).to_have_text("인터넷뱅킹 가입")
    expect(page.get_by_role("link", name="금융인증서 발급받기")).to_have_count(0)

    # 아이디 찾기 on a phone-sized screen
    phone = second_browser_context(**PHONE).new_page()
    phone.goto(url + "/banking/find-id")
    expect(phone.locator("h1")).to_have_text("아이디 찾기")
    assert_accessible(phone, "/banking/find-id", widths=WIDTHS)
    phone.get_by_label("이름").fill(who.name)
    phone.get_by_label("주민등록번호").fill(f"{who.rrn_front}-{who.rrn_back}")
    phone.get_by_label("휴대폰 번호").fill(who.phone)
    phone.get_by_role("button", name="인증번호 받기").click()
    expect(phone).to_have_url(url + "/banking/find-id/code")
    phone.get_by_label("인증번호", exact=True).fill(
        sms_code(phone.context, url, who.phone, "아이디 찾기")
    )
    phone.get_by_role("button", name="다음").click()
    expect(phone).to_have_url(url + "/banking/find-id/done")
    expect(phone.locator("[data-user-id]")).to_have_text("jih***5")
    assert who.rrn_back not in phone.content()
    assert_accessible(phone, "/banking/find-id/done", widths=WIDTHS)
    phone.reload()
    expect(phone.locator("[data-user-id]")).to_have_text("jih***5")
