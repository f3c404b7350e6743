"""Back, reload and a second tab in the issuance's steps, in Chromium.

C009 walks into the issuance: a refused resident number leaves the browser on a page it got by
GET (reloading it sends no form); the ARS page reloaded shows the same code and the phone has
rung once; Back goes to the step the flow is at without "Confirm Form Resubmission" and
without sending any form. Then a second tab of the same browser starts the issuance again:
the first tab's "통화 완료" is not applied to the new flow, and the tab is told why
(``WEB_FLOW_TAKEN_OVER``).

C013 then confirms a transfer and resets the PIN: the confirmation reloaded shows the same
document, Back and Forward reach GETs only, a refused PIN is shown by a GET, and after the
last step Back sends nothing again.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Request, expect

from certcenter.errors import CertCenterError
from tests.browser.financial_support import (
    ACCOUNT_PASSWORD,
    PIN,
    inbox_texts,
    issue_over_api,
    person,
    register_and_log_in,
    sms_code,
)
from tests.browser.harness import CenterServer, assert_accessible

pytestmark = pytest.mark.browser


def start(page: Page, url: str) -> None:
    page.goto(url + "/issue")
    page.get_by_text("전체 동의").click()
    page.get_by_role("button", name="동의하고 시작").click()
    expect(page).to_have_url(url + "/issue/identify")


def test_back_reload_and_a_second_tab_send_no_form_again(page: Page, server: CenterServer) -> None:
    url, who = server.url, person("C009")
    posts: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.resource_type == "document":
            posts.append(request.url)

    page.on("request", record)
    start(page, url)

    # a refusal is shown by a GET: reloading it sends nothing
    page.get_by_label("사용자 ID").fill(who.user_id)
    page.get_by_label("앞 6자리").fill(who.rrn_front)
    wrong = who.rrn_back[:6] + str((int(who.rrn_back[6]) + 1) % 10)  # its check digit
    page.get_by_label("뒤 7자리").fill(wrong)
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/issue/identify")
    expect(page.locator(".error-box .error-code code")).to_have_text("RRN_INVALID")
    assert_accessible(page, "/issue/identify refused")
    sent = len(posts)
    page.reload()
    assert len(posts) == sent
    expect(page.get_by_label("사용자 ID")).to_have_value(who.user_id)

    page.get_by_label("앞 6자리").fill(who.rrn_front)
    page.get_by_label("뒤 7자리").fill(who.rrn_back)
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/issue/verify")

    # the ARS page reloaded: the same code, no second call
    page.get_by_role("button", name="ARS 전화 요청").click()
    expect(page).to_have_url(url + "/issue/verify")
    code = page.locator("[data-ars-code]").inner_text().strip()
    countdown = page.locator(".fin-code-box [data-countdown]")
    expect(countdown).to_be_visible()  # the number's time left, counted to the stored expiry
    expect(countdown.locator("[data-countdown-clock]")).to_have_text(re.compile(r"0[23]:[0-5]\d"))
    expires_at = countdown.get_attribute("data-expires-at")
    sent = len(posts)
    page.reload()
    expect(page.locator("[data-ars-code]")).to_have_text(code)
    expect(countdown).to_have_attribute("data-expires-at", str(expires_at))  # the same call
    assert_accessible(page, "/issue/verify with the ARS number", widths=(1280, 390))
    assert len(posts) == sent
    calls = page.context.new_page()
    calls.goto(f"{url}/demo/calls/{who.phone}")
    expect(calls.locator("table.calls tbody tr")).to_have_count(1)

    # Back: the previous entry is a GET; it leads to the step the flow is at
    page.go_back()
    expect(page).to_have_url(url + "/issue/verify")
    expect(page.locator("[data-ars-code]")).to_have_text(code)
    assert len(posts) == sent

    # a second tab starts again: the first tab's form is not applied to the new flow
    start(calls, url)
    page.get_by_role("button", name="통화 완료").click()
    expect(page).to_have_url(url + "/issue/identify")
    taken = CertCenterError("WEB_FLOW_TAKEN_OVER")
    expect(page.locator(".error-box .error-message")).to_have_text(taken.message("ko"))
    expect(page.locator(".error-box .error-remedy")).to_have_text(taken.remedy("ko"))
    assert_accessible(page, "/issue/identify taken over")


def test_back_and_reload_on_the_transfer_confirmation_and_the_pin_reset(
    page: Page, server: CenterServer
) -> None:
    """C013 confirms a transfer and resets the PIN: every POST answered 303, so the pages
    Back and reload reach are GETs — no form is sent again, nothing happens twice."""
    url, who = server.url, person("C013")
    issue_over_api(url, "C013")
    register_and_log_in(page, url, "C013")
    posts: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.resource_type == "document":
            posts.append(request.url)

    page.on("request", record)

    # the form shows the balance; the confirmation is reached by a 303
    page.goto(url + "/transfer")
    expect(page.locator(f'[data-allowance="004:{who.account}"] [data-balance]')).to_have_text(
        "150,000원"
    )
    page.get_by_label("받는 은행").select_option("088")
    page.get_by_label("받는 계좌번호").fill("110000000002")
    page.get_by_label("보낼 금액 (원)").fill("50000")
    page.get_by_role("button", name="받는 분 확인").click()
    expect(page.locator("[data-amount]")).to_have_text("50,000원")
    confirmation = page.url
    assert confirmation.startswith(url + "/transfer/") and len(posts) == 1
    document = page.locator("[data-document]").text_content()
    page.reload()
    assert page.locator("[data-document]").text_content() == document and len(posts) == 1
    page.go_back()
    expect(page).to_have_url(url + "/transfer")
    page.go_forward()
    expect(page).to_have_url(confirmation)
    assert len(posts) == 1

    # a wrong PIN: the refusal on the confirmation, got by GET; then the right one
    page.get_by_label("비밀번호 (숫자 6자리)").fill("000000")
    page.get_by_role("button", name="서명하고 이체").click()
    expect(page.locator(".error-box .error-code code")).to_have_text("FINANCIAL_AUTH_FAILED")
    expect(page).to_have_url(confirmation)
    page.reload()
    expect(page.locator(".error-box .error-code")).to_have_count(0)
    assert len(posts) == 2
    page.get_by_label("비밀번호 (숫자 6자리)").fill(PIN)
    page.get_by_role("button", name="서명하고 이체").click()
    expect(page.locator("main")).to_contain_text("이체가 완료되었습니다")
    page.reload()
    page.go_back()
    expect(page).to_have_url(confirmation)  # the transfer as it stands: done, not sent again
    expect(page.locator("main")).to_contain_text("이체가 완료되었습니다")
    assert len(posts) == 3

    # the PIN reset: the code page and the medium's question reloaded send nothing
    page.goto(url + "/login/pin-reset")
    page.get_by_label("이름").fill(who.name)
    page.get_by_label("휴대폰 번호").fill(who.phone)
    page.get_by_label("생년월일").fill(who.birth.replace("-", ""))
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page).to_have_url(url + "/login/pin-reset/code")
    page.reload()
    assert len(posts) == 4 and len(inbox_texts(page.context, url, who.phone)) >= 1
    code = sms_code(page.context, url, who.phone, "비밀번호 재설정")
    page.get_by_label("인증번호", exact=True).fill(code)
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/login/pin-reset/medium")
    page.get_by_label("출금계좌 인증").check()
    page.get_by_role("button", name="선택", exact=True).click()
    expect(page.locator(".fin-accounts")).to_contain_text(who.account[:4] + "*" * 7)
    page.reload()
    expect(page.locator(".fin-accounts")).to_contain_text(who.account[:4] + "*" * 7)
    page.go_back()  # the code page's GET: the flow is at the medium, nothing is sent
    page.go_forward()
    expect(page).to_have_url(url + "/login/pin-reset/medium")
    assert len(posts) == 6
    page.get_by_label("계좌번호", exact=True).fill(who.account)
    page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_label("새 비밀번호 (숫자 6자리)").fill("592864")
    page.get_by_label("비밀번호 확인", exact=True).fill("592864")
    page.get_by_role("button", name="다음").click()
    expect(page.locator(".flash")).to_contain_text("비밀번호를 재설정했습니다")
    after = page.url
    page.reload()
    page.go_back()  # the medium page's GET: the reset is done, the first page again
    expect(page).to_have_url(url + "/login/pin-reset")
    expect(page.locator(".error-box .error-code")).to_have_count(0)
    page.go_forward()
    expect(page).to_have_url(after)
    assert len(posts) == 7
