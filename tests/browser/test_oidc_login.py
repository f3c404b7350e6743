"""In Chromium: 정부24 (데모) -> the center's consent -> approved in the app -> back at the site,
logged in. The app is the CLI (``certcenter app approve``) holding C014's mobile certificate.
Then the same with the financial certificate: C005's browser, registered, enters the PIN."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from playwright.sync_api import Page, expect

from certcenter.cli.demo import DEMO_PIN, scripted_answers
from certcenter.errors import CertCenterError
from tests.browser.financial_support import PIN, issue_over_api, person, register_and_log_in
from tests.browser.harness import CERTCENTER, CenterServer, assert_accessible
from tests.support.flow import Flow


def test_the_demo_site_logs_in_through_the_center_approved_in_the_app(
    page: Page, server: CenterServer, tmp_path: Path
) -> None:
    url = server.url
    app = Flow(url, tmp_path, "C014")  # the phone app holds C014's mobile certificate
    try:
        app.through("csr")
    finally:
        app.client.close()

    page.goto(url + "/sim/gov24")
    assert_accessible(page, "/sim/gov24", widths=(1280, 390))
    page.get_by_role("link", name="인증서로 로그인").click()
    # at the center: which site asks for what, Korean first
    expect(page).to_have_url(re.compile(re.escape(url) + r"/oidc/authorize\?"))
    expect(page.locator("h1")).to_have_text("정부24 (데모)에 로그인")
    expect(page.locator("[data-oidc-claims]")).to_contain_text("이름")
    assert_accessible(page, "/oidc/authorize", widths=(1280, 390))
    page.get_by_role("button", name="승인번호 받기").click()
    code = page.locator("[data-approval-code]").inner_text().strip()
    assert re.fullmatch(r"\d{8}", code)
    assert_accessible(page, "/oidc/authorize with the approval code")

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
    assert "다른 사이트 로그인" in approved.stdout

    # the page notices the approval by itself: the consent, per claim
    expect(page).to_have_url(url + "/oidc/consent")
    expect(page.locator("h2")).to_contain_text("정부24 (데모)에 제공할 정보")
    for claim in ("name", "phone", "birthdate"):
        expect(page.locator(f'[data-oidc-claim="{claim}"]')).to_be_checked()
    assert_accessible(page, "/oidc/consent", widths=(1280, 390))
    page.get_by_role("button", name="동의하고 계속").click()

    # back at the site, logged in, with what the center vouched for
    name = scripted_answers("C014").name
    expect(page.locator("[data-logged-in]")).to_have_text(f"{name}님, 로그인되었습니다")
    expect(page).to_have_url(url + "/sim/gov24")
    expect(page.locator('[data-claim="amr"]')).to_have_text("hwk pin")
    expect(page.locator('[data-claim="acr"]')).to_have_text("urn:certcenter:acr:mobile-certificate")
    assert_accessible(page, "/sim/gov24 logged in")


def test_the_demo_site_logs_in_with_the_financial_certificate_in_the_browser(
    page: Page, server: CenterServer
) -> None:
    url, who = server.url, person("C005")
    issue_over_api(url, "C005")
    register_and_log_in(page, url, "C005")  # this browser holds a registered device key
    page.locator("[data-session-bar]").get_by_role("button", name="로그아웃").click()
    expect(page.locator(".flash")).to_have_text("로그아웃했습니다.")

    page.goto(url + "/sim/gov24")
    page.get_by_role("link", name="인증서로 로그인").click()
    expect(page.locator("h1")).to_have_text("정부24 (데모)에 로그인")
    expect(page.locator('[data-oidc-method="financial"] [data-if-present]')).to_be_visible()
    page.get_by_role("button", name="금융인증서로 로그인").click()
    expect(page).to_have_url(url + "/oidc/authorize/pin")
    # a wrong PIN: the catalog's words on the OpenID login's PIN page, by a GET
    page.get_by_label("비밀번호 (숫자 6자리)").fill("000000")
    page.get_by_role("button", name="로그인", exact=True).click()
    refusal = CertCenterError("FINANCIAL_AUTH_FAILED", tries_left=4)
    expect(page.locator(".error-box .error-message")).to_have_text(refusal.message("ko"))
    expect(page).to_have_url(url + "/oidc/authorize/pin")
    assert_accessible(page, "/oidc/authorize/pin, a wrong PIN refused")
    page.get_by_label("비밀번호 (숫자 6자리)").fill(PIN)
    page.get_by_role("button", name="로그인", exact=True).click()

    expect(page).to_have_url(url + "/oidc/consent")
    page.get_by_role("button", name="동의하고 계속").click()
    expect(page.locator("[data-logged-in]")).to_have_text(f"{who.name}님, 로그인되었습니다")
    expect(page.locator('[data-claim="amr"]')).to_have_text("swk pin")
    expect(page.locator('[data-claim="acr"]')).to_have_text(
        "urn:certcenter:acr:financial-certificate"
    )
    # the center itself stays logged out: the site's login opened no session here
    page.goto(url + "/login")
    expect(page.locator("[data-signed-in]")).to_have_count(0)
