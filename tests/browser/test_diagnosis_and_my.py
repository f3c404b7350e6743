"""'Why can't I get a certificate?' and 'my certificates and devices' in a real Chromium.

Two demo customers diagnose themselves on a phone-sized screen: C004 types her user ID and
resident number and reads the problem (her mother's phone) with the catalog's remedy; C008
is tried from the demo page's list in English (a dormant account). C010 holds a financial
certificate in two browsers; on /my the first browser removes the second, which then cannot
sign, renews the certificate with its WebCrypto device key and the PIN, and changes the PIN
(a wrong old PIN refused first), which opens the next login.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from certcenter.errors import CertCenterError, entry
from tests.browser.financial_support import (
    PIN,
    issue_over_api,
    log_in_with_pin,
    person,
    register_and_log_in,
)
from tests.browser.harness import CenterServer, assert_accessible

pytestmark = pytest.mark.browser

NEW_PIN = "730516"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


CARD_LABELS = ["일련번호", "상태", "유효기간 시작", "유효기간 만료", "마지막 사용"]


def on_a_phone_each_certificate_is_a_card(page: Page) -> None:
    """At 375 px: no sideways scroll, each certificate row a card (as wide as the screen
    allows, not a row of a scrolled table) showing its fields with their names."""
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 812})
    no_sideways_scroll(page)
    rows = page.locator("tr.certificate")
    assert rows.count() >= 1
    for index in range(rows.count()):
        row = rows.nth(index)
        labels = row.locator(".cell-label")
        expect(labels.first).to_be_visible()
        assert [text.strip() for text in labels.all_inner_texts()] == CARD_LABELS
        box = row.bounding_box()
        assert box is not None and box["width"] <= 375
        assert row.evaluate("r => getComputedStyle(r).display") == "block"
        serial = row.get_attribute("data-serial")
        expect(row.locator(".serial")).to_have_text(str(serial))
        shown = row.locator(".serial").bounding_box()
        assert shown is not None and shown["x"] >= 0 and shown["x"] + shown["width"] <= 375
    assert (
        page.locator("table.certificates thead").evaluate("h => h.getBoundingClientRect().width")
        <= 1
    )  # the column names only for screen readers
    page.set_viewport_size(size or {"width": 1280, "height": 800})
    expect(page.locator(".cell-label").first).to_be_hidden()  # a table again


def test_two_customers_read_their_checklist_on_a_phone(
    second_browser_context: Callable[..., BrowserContext], server_url: str
) -> None:
    phone = second_browser_context(**PHONE).new_page()
    c004 = person("C004")
    phone.goto(server_url + "/why")
    expect(phone.locator("h1")).to_have_text("왜 발급이 안 되나요?")
    expect(phone.get_by_label("주민등록번호")).to_have_attribute("type", "password")
    assert_accessible(phone, "/why")
    phone.get_by_label("인터넷뱅킹 아이디").fill(c004.user_id)
    phone.get_by_label("주민등록번호").fill(f"{c004.rrn_front}-{c004.rrn_back}")
    phone.get_by_role("button", name="진단하기").click()

    expect(phone.locator(".why-summary h2")).to_have_text("1가지를 해결해야 합니다")
    row = phone.locator('[data-key="phone_own_name"]')
    expect(row).to_have_attribute("data-status", "problem")
    expect(row.locator(".check-state")).to_have_text("문제")
    refusal = CertCenterError("PHONE_NOT_OWN_NAME")
    expect(row.locator(".check-remedy")).to_have_text(refusal.remedy("ko"))
    expect(phone.locator('.check[data-status="ok"]')).to_have_count(11)
    assert_accessible(phone, "the checklist")
    assert c004.rrn_back not in phone.content()
    no_sideways_scroll(phone)

    # the second customer from the demo page's list, in English
    phone.goto(server_url + "/demo/why")
    phone.get_by_role("link", name="English").click()
    card = phone.locator("#why-C008")
    expect(card).to_contain_text("c008user")
    assert_accessible(phone, "/demo/why in English")
    card.get_by_role("button", name="Diagnose this customer").click()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(phone.locator(".why-summary h2")).to_have_text("To fix first: 1")
    account = phone.locator('[data-key="account_usable"]')
    expect(account).to_have_attribute("data-status", "problem")
    expect(account.locator(".check-state")).to_have_text("Problem")
    assert_accessible(phone, "the checklist in English")
    expect(account.locator(".check-remedy")).to_have_text(
        entry("ACCOUNT_DORMANT").render("remedy", "en", {})
    )
    no_sideways_scroll(phone)


def test_removing_a_device_on_my_page_and_renewing_with_the_device_key(
    page: Page,
    server: CenterServer,
    second_browser_context: Callable[..., BrowserContext],
) -> None:
    url = server.url
    issue_over_api(url, "C010")
    register_and_log_in(page, url, "C010")  # this browser
    laptop = second_browser_context().new_page()
    register_and_log_in(laptop, url, "C010")  # and another one

    laptop.goto(url + "/my")  # each browser knows itself
    other_id = laptop.locator("li.device", has=laptop.locator(".tag-this")).get_attribute(
        "data-device"
    )
    page.goto(url + "/my")
    # the API's issuance registered its own (Python) device too: three
    expect(page.locator("li.device")).to_have_count(3)
    expect(page.locator(".device-count")).to_have_text("3 / 5대")
    assert_accessible(page, "/my", widths=(1280, 390, 375))
    on_a_phone_each_certificate_is_a_card(page)
    mine = page.locator("li.device", has=page.locator(".tag-this"))
    expect(mine).to_have_count(1)
    assert other_id and mine.get_attribute("data-device") != other_id
    other = page.locator(f'li.device[data-device="{other_id}"]')

    other.get_by_text("기기 삭제").click()  # opens the confirmation
    assert_accessible(page, "/my with a removal to confirm")
    other.get_by_role("button", name="삭제합니다").click()
    expect(page).to_have_url(url + "/my")
    expect(page.locator(".flash")).to_contain_text("더 이상 서명할 수 없습니다")
    expect(page.locator("li.device")).to_have_count(2)
    expect(page.locator(".device-count")).to_have_text("2 / 5대")
    expect(page.locator(f'li.device[data-device="{other_id}"]')).to_have_count(0)

    # the removed browser's key opens nothing any more
    refused = httpx.post(
        url + "/v1/financial/activations",
        json={"device_id": other_id, "purpose": "document", "data_b64": "aGVsbG8="},
        timeout=10,
    )
    assert refused.status_code == 404
    assert refused.json()["code"] == "FINANCIAL_DEVICE_NOT_REGISTERED"

    # renewing: this browser's WebCrypto key signs, the PIN is asked again
    old_serial = page.locator('tr.certificate[data-status="active"]').get_attribute("data-serial")
    page.get_by_role("button", name="지금 갱신").click()
    expect(page.locator("h1")).to_have_text("금융인증서 갱신")
    assert_accessible(page, "/my/financial/confirm")
    page.get_by_label("금융인증서 비밀번호 (6자리)").fill(PIN)
    page.get_by_role("button", name="갱신하기").click()
    expect(page).to_have_url(url + "/my")
    expect(page.locator(".flash")).to_contain_text("금융인증서를 갱신했습니다")
    assert_accessible(page, "/my after renewing")
    expect(page.locator(f'tr[data-serial="{old_serial}"]')).to_have_attribute(
        "data-status", "superseded"
    )
    no_sideways_scroll(page)

    # 비밀번호 변경: the old PIN with this browser's device key, the new one twice
    page.get_by_role("link", name="비밀번호 변경").click()
    expect(page).to_have_url(url + "/my/password")
    expect(page.locator("h1")).to_have_text("비밀번호 변경")
    assert_accessible(page, "/my/password", widths=(1280, 390))
    page.get_by_label("지금 비밀번호 (6자리)").fill("000000")
    page.get_by_label("새 비밀번호 (6자리)").fill(NEW_PIN)
    page.get_by_label("새 비밀번호 다시 입력").fill(NEW_PIN)
    page.get_by_role("button", name="비밀번호 변경").click()
    expect(page).to_have_url(url + "/my/password")  # PRG: the refusal on a GET
    expect(page.locator(".error-box")).to_contain_text("FINANCIAL_AUTH_FAILED")
    assert_accessible(page, "/my/password refused", widths=(1280, 390))
    page.reload()  # a reload asks nothing again and counts nothing
    expect(page.locator(".error-box")).to_have_count(0)
    page.get_by_label("지금 비밀번호 (6자리)").fill(PIN)
    page.get_by_label("새 비밀번호 (6자리)").fill(NEW_PIN)
    page.get_by_label("새 비밀번호 다시 입력").fill(NEW_PIN)
    page.get_by_role("button", name="비밀번호 변경").click()
    expect(page.locator(".flash")).to_contain_text("금융인증서 비밀번호를 바꿨습니다")
    page.go_back()  # Back: the form again, with a fresh activation; nothing sent twice
    expect(page.locator("h1")).to_have_text("비밀번호 변경")

    # the new PIN opens the next login
    page.locator("[data-session-bar]").get_by_role("button", name="로그아웃").click()
    page.goto(url + "/login")
    page.get_by_role("button", name="금융인증서로 로그인").click()
    expect(page).to_have_url(url + "/login/pin")
    log_in_with_pin(page, url, person("C010"), NEW_PIN)
