"""Back, reload and a second tab in the issuance's steps, in Chromium.

C009 walks into the issuance: a refused resident number leaves the browser on a page it got by
GET (reloading it sends no form); the ARS page reloaded shows the same code and the phone has
rung once; Back goes to the step the flow is at without "Confirm Form Resubmission" and
without sending any form. Then a second tab of the same browser starts the issuance again:
the first tab's "통화 완료" is not applied to the new flow, and the tab is told why
(``WEB_FLOW_TAKEN_OVER``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, expect

from certcenter.errors import CertCenterError
from tests.browser.financial_support import person
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
    sent = len(posts)
    page.reload()
    expect(page.locator("[data-ars-code]")).to_have_text(code)
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
