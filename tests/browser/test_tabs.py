"""Two tabs of one browser on the transfer and on /my: the second tab starting the same flow
does not let the first one's older form act; the first tab, when it sends, is told in Korean
that another window took over (``WEB_FLOW_TAKEN_OVER``) and is shown where to carry on.

C006 has two tabs open. Each prepares a transfer; the first tab's signature is not applied to
its (older) transfer: it lands on the second tab's confirmation, told why, and carries on
from there. On /my the first tab chooses to renew, the second to revoke; the first tab's PIN
renews nothing and it is shown the revocation the other window chose, the certificate still
in use.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from certcenter.errors import CertCenterError
from tests.browser.financial_support import PIN, issue_over_api, register_and_log_in
from tests.browser.harness import CenterServer, assert_accessible

pytestmark = pytest.mark.browser
TAKEN_OVER = CertCenterError("WEB_FLOW_TAKEN_OVER")


def prepare(tab: Page, url: str, amount: str) -> str:
    tab.goto(url + "/transfer")
    tab.get_by_label("받는 은행").select_option("088")
    tab.get_by_label("받는 계좌번호").fill("110000000002")
    tab.get_by_label("보낼 금액 (원)").fill(amount)
    tab.get_by_role("button", name="받는 분 확인").click()
    expect(tab.locator("[data-amount]")).to_have_text(f"{int(amount):,}원")
    return tab.url


def told_taken_over(tab: Page) -> None:
    expect(tab.locator(".error-box .error-message")).to_have_text(TAKEN_OVER.message("ko"))
    expect(tab.locator(".error-box .error-remedy")).to_have_text(TAKEN_OVER.remedy("ko"))


def test_a_second_tab_takes_over_the_transfer_and_the_change_on_my_page(
    page: Page, server: CenterServer
) -> None:
    url = server.url
    issue_over_api(url, "C006")
    register_and_log_in(page, url, "C006")
    second = page.context.new_page()  # the same browser: the same session

    # the transfer: the first tab's older confirmation signs nothing
    first_transfer = prepare(page, url, "10000")
    second_transfer = prepare(second, url, "20000")
    assert first_transfer != second_transfer
    page.get_by_label("비밀번호 (숫자 6자리)").fill(PIN)
    page.get_by_role("button", name="서명하고 이체").click()
    expect(page).to_have_url(second_transfer)
    told_taken_over(page)
    expect(page.locator("[data-amount]")).to_have_text("20,000원")  # where to carry on
    assert_accessible(page, "/transfer/confirm taken over", widths=(1280, 390))
    page.goto(first_transfer)  # the older transfer's page leads to the newer one
    expect(page).to_have_url(second_transfer)
    told_taken_over(page)
    page.get_by_label("비밀번호 (숫자 6자리)").fill(PIN)  # the way forward works
    page.get_by_role("button", name="서명하고 이체").click()
    expect(page.locator("#step-title")).to_have_text("이체가 완료되었습니다", timeout=30_000)
    expect(page.locator("[data-amount]")).to_have_text("20,000원")

    # /my: the first tab renews, the second chooses to revoke meanwhile
    page.goto(url + "/my")
    page.get_by_role("button", name="지금 갱신").click()
    expect(page.locator("h1")).to_have_text("금융인증서 갱신")
    second.goto(url + "/my")
    second.locator("#financial summary", has_text="인증서 폐기").click()
    second.get_by_role("button", name="폐기 계속하기").click()
    expect(second.locator("h1")).to_have_text("금융인증서 폐기")
    page.get_by_label("금융인증서 비밀번호 (6자리)").fill(PIN)
    page.get_by_role("button", name="갱신하기").click()
    expect(page).to_have_url(url + "/my/financial/confirm")
    told_taken_over(page)
    expect(page.locator("h1")).to_have_text("금융인증서 폐기")  # what the other window chose
    assert_accessible(page, "/my/financial/confirm taken over", widths=(1280, 390))
    page.goto(url + "/my")  # nothing renewed, nothing revoked
    expect(page.locator('tr.certificate[data-status="active"]')).to_have_count(1)
    expect(page.locator('tr.certificate[data-status="superseded"]')).to_have_count(0)
