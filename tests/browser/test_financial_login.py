"""Logging in in a real browser: with the financial certificate from two independent browsers
(each registered once by SMS, then only the PIN), and with the mobile certificate by a code
shown on the page and approved by the app (the CLI device client).

The certificates are issued over the API first, the financial one with a device key held by
Python, so neither browser profile is registered to begin with.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from certcenter.cli.demo import DEMO_PIN
from certcenter.errors import CertCenterError
from tests.browser.financial_support import (
    ACCOUNT_PASSWORD,
    has_device_key,
    inbox_texts,
    issue_over_api,
    log_in_with_pin,
    person,
    register_and_log_in,
    sms_code,
)
from tests.browser.harness import CERTCENTER, CenterServer, assert_accessible
from tests.support.flow import Flow

pytestmark = pytest.mark.browser


def test_a_second_browser_registers_by_sms_and_the_first_needs_only_the_pin(
    page: Page, server: CenterServer, second_browser_context: Callable[..., BrowserContext]
) -> None:
    url, who = server.url, person("C007")
    issue_over_api(url, "C007")

    # the first browser: no device key yet → registered by name, phone, birth date + SMS
    register_and_log_in(page, url, "C007", check=True)
    assert has_device_key(page)

    # a second, independent profile: no key of its own → registered by SMS too
    other = second_browser_context().new_page()
    other.goto(url + "/login")
    expect(other.locator("[data-if-absent]")).to_be_visible()  # "not registered yet"
    assert_accessible(other, "/login", widths=(1280, 390))
    register_and_log_in(other, url, "C007")
    expect(other.locator("main")).to_contain_text("금융인증서로 로그인했습니다")

    # the header: who is logged in, the time left counting down, 연장 and 로그아웃
    header = page.locator("[data-session-bar]")
    expect(header.locator("[data-session-name]")).to_have_text(who.name)
    left = header.locator("[data-session-left]")
    first = left.inner_text()
    assert re.fullmatch(r"\d+:\d\d", first), first
    expect(left).not_to_have_text(first, timeout=3000)  # counted down by the page's script
    assert_accessible(page, "the session bar", widths=(1280, 390))
    for button in header.locator("button").all():
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44, box
    here = page.url
    header.get_by_role("button", name="연장").click()
    expect(page.locator(".flash")).to_contain_text("연장했습니다")
    assert page.url == here  # back on the page it was on

    # the first browser again, after logging out: its key is known → only the PIN, no SMS
    header.get_by_role("button", name="로그아웃").click()
    expect(page.locator(".flash")).to_have_text("로그아웃했습니다.")
    texts_before = len(inbox_texts(page.context, url, who.phone))
    page.goto(url + "/login")
    expect(page.locator("[data-if-present]")).to_be_visible()
    assert_accessible(page, "/login with this browser's key")
    page.get_by_role("button", name="금융인증서로 로그인").click()
    expect(page).to_have_url(url + "/login/pin")
    expect(page.locator(".steps")).to_have_count(0)  # no registration steps this time
    # a wrong PIN: the catalog's words, still on the PIN page with a fresh signing request
    page.get_by_label("비밀번호 (숫자 6자리)").fill("000000")
    page.get_by_role("button", name="로그인", exact=True).click()
    refusal = CertCenterError("FINANCIAL_AUTH_FAILED", tries_left=4)
    expect(page.locator(".error-box .error-message")).to_have_text(refusal.message("ko"))
    expect(page.locator(".error-box .error-remedy")).to_have_text(refusal.remedy("ko"))
    assert_accessible(page, "/login/pin refused", widths=(1280, 390))
    # the refusal came by a GET (Post/Redirect/Get): a reload sends no PIN again
    expect(page).to_have_url(url + "/login/pin")
    page.reload()
    expect(page.locator("section.error-box")).to_have_count(0)
    log_in_with_pin(page, url, who)
    assert len(inbox_texts(page.context, url, who.phone)) == texts_before


def test_logging_in_with_the_mobile_certificate_by_a_code_approved_in_the_app(
    page: Page, server: CenterServer, tmp_path: Path
) -> None:
    url, who = server.url, person("C018")
    app = Flow(url, tmp_path, "C018")  # the phone app holds C018's mobile certificate
    try:
        app.through("csr")
    finally:
        app.client.close()

    page.goto(url + "/login")
    page.get_by_role("link", name="승인번호로 로그인").click()
    page.get_by_role("button", name="승인번호 받기").click()
    code = page.locator("[data-approval-code]").inner_text().strip()
    assert re.fullmatch(r"\d{8}", code)
    expect(page.locator(".fin-command")).to_have_text(f"certcenter app approve {code}")
    expect(page.locator("[data-poll-status]")).to_be_visible()  # the page polls
    assert_accessible(page, "/login/mobile with the approval code")

    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCENTER_")}
    approved = subprocess.run(
        [
            str(CERTCENTER),
            "app",
            "approve",
            code,
            "--keystore",
            str(app.keystore.directory),
            "--url",
            url,
        ],
        input=f"{DEMO_PIN}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "웹 로그인" in approved.stdout

    # the page notices by itself and logs in
    expect(page.locator("[data-signed-in]")).to_have_text(f"{who.name}님, 로그인되었습니다")
    expect(page).to_have_url(url + "/login")
    expect(page.locator("main")).to_contain_text("KB국민인증서(앱 승인)로 로그인했습니다")
    # the key is on the phone: the transfer page says to sign in the app
    page.goto(url + "/transfer")
    expect(page.locator(".error-code code")).to_have_text("WEB_TRANSFER_NOT_SIGNABLE_HERE")
    expect(page.locator(".fin-command")).to_contain_text("certcenter app transfer")
    assert_accessible(page, "/transfer (in the app)")


def test_without_scripts_the_device_steps_cannot_be_posted_unsigned(
    server: CenterServer, second_browser_context: Callable[..., BrowserContext]
) -> None:
    """The financial login needs this browser's device key, which only device-key.js can use:
    without scripts its button stays disabled and the page says why, instead of posting a form
    the center must refuse. With scripts the same button is enabled once the key script runs."""
    url = server.url
    without = second_browser_context(java_script_enabled=False).new_page()
    without.goto(url + "/login")
    button = without.get_by_role("button", name="금융인증서로 로그인")
    expect(button).to_be_disabled()
    # Chromium keeps parsing <noscript> as if scripts ran when only their execution is off, so
    # the explanation is read from the page as served, next to the disabled button.
    served = httpx.get(url + "/login").text
    explained = r"data-device-wait>[^<]*</button><noscript><p[^>]*>[^<]*스크립트\(JavaScript\)"
    assert re.search(explained, served)

    with_scripts = second_browser_context().new_page()
    with_scripts.goto(url + "/login")
    expect(with_scripts.get_by_role("button", name="금융인증서로 로그인")).to_be_enabled()


def test_a_locked_pin_is_reset_with_the_sms_code_and_the_account(
    page: Page, server: CenterServer
) -> None:
    url, who = server.url, person("C011")
    issue_over_api(url, "C011")
    register_and_log_in(page, url, "C011")
    page.locator("[data-session-bar]").get_by_role("button", name="로그아웃").click()

    # five wrong PINs lock it; the PIN page offers the reset
    page.goto(url + "/login")
    page.get_by_role("button", name="금융인증서로 로그인").click()
    expect(page).to_have_url(url + "/login/pin")
    answers = [CertCenterError("FINANCIAL_AUTH_FAILED", tries_left=n) for n in (4, 3, 2)]
    answers += [CertCenterError("FINANCIAL_PIN_LAST_TRY"), CertCenterError("FINANCIAL_PIN_LOCKED")]
    for answer in answers:
        page.get_by_label("비밀번호 (숫자 6자리)").fill("000000")
        with page.expect_navigation():
            page.get_by_role("button", name="로그인", exact=True).click()
        expect(page.locator("section.error-box")).to_have_attribute(
            "aria-labelledby", f"error-title-{answer.code}"
        )
    # locked: no PIN field or button is left, only the reset (done online, not a re-issue)
    expect(page.get_by_label("비밀번호 (숫자 6자리)")).to_have_count(0)
    expect(page.get_by_role("button", name="로그인", exact=True)).to_have_count(0)
    assert_accessible(page, "/login/pin locked")
    page.get_by_role("link", name="비밀번호 재설정").first.click()

    # name, phone, birth date → the code page says a code went out if the details match
    expect(page).to_have_url(url + "/login/pin-reset")
    page.get_by_label("이름").fill(who.name)
    page.get_by_label("휴대폰 번호").fill(who.phone)
    page.get_by_label("생년월일").fill(who.birth)
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page).to_have_url(url + "/login/pin-reset/code")
    expect(page.locator("main")).to_contain_text("입력한 정보가 은행에 등록된 정보와 같다면")
    assert_accessible(page, "/login/pin-reset/code")
    code = sms_code(page.context, url, who.phone, "비밀번호 재설정")
    page.get_by_label("인증번호", exact=True).fill(code)
    page.get_by_role("button", name="다음").click()

    # the SMS code alone is not enough: the account and its password, and the new PIN
    expect(page).to_have_url(url + "/login/pin-reset/medium")
    expect(page.locator("main")).to_contain_text("휴대폰만으로는 비밀번호를 재설정할 수 없습니다")
    assert_accessible(page, "/login/pin-reset/medium")
    page.get_by_label("출금계좌 인증").check()
    page.get_by_role("button", name="선택", exact=True).click()
    page.get_by_label("계좌번호", exact=True).fill(who.account)
    page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_label("새 비밀번호 (숫자 6자리)").fill("592864")
    page.get_by_label("비밀번호 확인").fill("592864")
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/login/pin")
    expect(page.locator(".flash")).to_contain_text("비밀번호를 재설정했습니다")
    log_in_with_pin(page, url, who, "592864")
    # the customer is told on their phone, with what to do if it was not them
    told = [t for t in inbox_texts(page.context, url, who.phone) if "재설정되어" in t]
    assert told and "본인이 하지 않았다면" in told[0]
