"""Issuing the financial certificate in a real browser, as a customer does it.

C001 walks the eight steps: terms (the "accept all" box is a script), user ID and resident
number, the ARS call answered on the demo phone's ARS page in another tab, the withdrawal
account with its password — first a wrong one, refused with the catalog's words and remedy,
and the customer stays on the step — name, phone and birth date (this browser makes its
non-extractable WebCrypto key), the SMS code read from the demo inbox, a weak PIN refused,
then a good one twice. The browser now holds the registered device key. The pages fit a
phone-sized screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from certcenter.errors import CertCenterError
from tests.browser.financial_support import (
    ACCOUNT_PASSWORD,
    PIN,
    has_device_key,
    person,
    sms_code,
)
from tests.browser.harness import CenterServer, assert_accessible

pytestmark = pytest.mark.browser


def expect_refusal(page: Page, refusal: CertCenterError) -> None:
    """The error box says what the catalog says, in Korean: message, remedy, code."""
    expect(page.locator(".error-box .error-message")).to_have_text(refusal.message("ko"))
    expect(page.locator(".error-box .error-remedy")).to_have_text(refusal.remedy("ko"))
    expect(page.locator(".error-box .error-code code")).to_have_text(refusal.code)


def test_issuing_in_the_browser_with_ars_and_the_account(page: Page, server: CenterServer) -> None:
    url, who = server.url, person("C001")
    page.goto(url + "/issue")
    expect(page.locator(".steps-position")).to_have_text("전체 8단계 중 1단계")
    assert_accessible(page, "/issue", widths=(1280, 390))
    page.get_by_text("전체 동의").click()  # ticks the three required terms
    expect(page.locator("input[name=accepted]:checked")).to_have_count(3)
    page.get_by_role("button", name="동의하고 시작").click()

    # 2. who: the internet-banking user ID and the resident number (never shown back)
    expect(page).to_have_url(url + "/issue/identify")
    assert_accessible(page, "/issue/identify")
    page.get_by_label("사용자 ID").fill(who.user_id)
    page.get_by_label("앞 6자리").fill(who.rrn_front)
    page.get_by_label("뒤 7자리").fill(who.rrn_back)
    page.get_by_role("button", name="다음").click()

    # 3. ARS: the code is on the screen; the phone rings in the other tab
    expect(page).to_have_url(url + "/issue/verify")
    expect(page.locator(".steps-position")).to_have_text("전체 8단계 중 3단계")
    assert_accessible(page, "/issue/verify")
    page.get_by_role("button", name="ARS 전화 요청").click()
    code = page.locator("[data-ars-code]").inner_text().strip()
    assert re.fullmatch(r"\d{2}", code)
    assert_accessible(page, "/issue/verify with the ARS code")
    with page.expect_popup() as popup:
        page.locator("[data-demo-calls]").click()
    phone = popup.value
    expect(phone.locator("#ringing-title")).to_have_text("전화가 왔습니다")
    expect(phone.locator(".prompt")).to_contain_text("금융인증서 발급")
    phone.get_by_label("누를 번호").fill(code)
    phone.get_by_role("button", name="번호 누르기").click()
    expect(phone.locator(".flash")).to_contain_text(code)
    phone.close()
    page.get_by_role("button", name="통화 완료").click()

    # 4. the withdrawal account: a wrong password is refused, the customer stays on the step
    expect(page).to_have_url(url + "/issue/medium")
    page.get_by_label("출금계좌 인증").check()
    page.get_by_role("button", name="선택", exact=True).click()
    expect(page.locator(".fin-accounts")).to_contain_text("1234*******001")
    assert_accessible(page, "/issue/medium")
    page.get_by_label("계좌번호", exact=True).fill("12340100000001")
    page.get_by_label("계좌 비밀번호", exact=True).fill("1111")
    page.get_by_role("button", name="다음").click()
    expect_refusal(page, CertCenterError("AUTH_FAILED", tries_left=4))
    expect(page.locator(".error-box .error-cause")).to_contain_text("남은 입력 횟수: 4회")
    assert_accessible(page, "/issue/medium refused", widths=(1280, 390))
    # the error summary has the focus: the keyboard and the screen reader start there
    expect(page.locator("section.error-box")).to_be_focused()
    expect(page.locator(".steps-position")).to_have_text("전체 8단계 중 4단계")
    page.get_by_label("계좌번호", exact=True).fill(
        "12340100000001"
    )  # the remedy: check and enter again
    page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="다음").click()

    # 5. details: this browser makes its device key
    expect(page).to_have_url(url + "/issue/details")
    assert_accessible(page, "/issue/details")
    assert not has_device_key(page)
    page.get_by_label("이름").fill(who.name)
    page.get_by_label("휴대폰 번호").fill(who.phone)
    page.get_by_label("생년월일").fill(who.birth)
    page.get_by_role("button", name="인증번호 받기").click()

    # 6. the SMS code, from the demo inbox
    expect(page).to_have_url(url + "/issue/code")
    expect(page.locator("main")).to_contain_text("010-****-0001")
    assert_accessible(page, "/issue/code")
    page.get_by_label("인증번호", exact=True).fill(
        sms_code(page.context, url, who.phone, "발급 인증번호")
    )
    page.get_by_role("button", name="다음").click()

    # 7. the PIN: a guessable one is refused with the remedy, then a good one twice
    expect(page).to_have_url(url + "/issue/pin")
    assert_accessible(page, "/issue/pin")
    page.get_by_label("비밀번호 (숫자 6자리)").fill("111111")
    page.get_by_label("비밀번호 확인").fill("111111")
    page.get_by_role("button", name="발급하기").click()
    expect_refusal(page, CertCenterError("PIN_WEAK", reason="-"))
    assert_accessible(page, "/issue/pin refused")
    page.get_by_label("비밀번호 (숫자 6자리)").fill(PIN)
    page.get_by_label("비밀번호 확인").fill(PIN)
    page.get_by_role("button", name="발급하기").click()

    # 8. done: the serial; this browser holds the registered key
    expect(page).to_have_url(url + "/issue/done")
    expect(page.locator("#step-title")).to_have_text("금융인증서가 발급되었습니다")
    assert_accessible(page, "/issue/done")
    assert re.fullmatch(r"[0-9A-F]{20,40}", page.locator("[data-serial]").inner_text())
    assert has_device_key(page)
    assert "token" not in page.url and "?" not in page.url
    page.get_by_role("link", name="English").click()
    expect(page.locator("#step-title")).to_have_text("Your financial certificate is ready")
    assert_accessible(page, "/issue/done in English")


@pytest.mark.parametrize(
    "path", ["/issue", "/login", "/login/register", "/login/mobile", "/login/pin-reset"]
)
def test_the_pages_fit_a_phone(
    second_browser_context: Callable[..., BrowserContext], server_url: str, path: str
) -> None:
    phone = second_browser_context(
        viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
    ).new_page()
    phone.goto(server_url + path)
    widths = phone.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == 375, (path, widths)
    button = phone.locator("main button[type=submit]").first
    assert button.bounding_box() is not None and button.bounding_box()["height"] >= 44
    assert_accessible(phone, path)
